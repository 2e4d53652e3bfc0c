/** One reason a submission was refused: a JSON Pointer to the field and the rule it broke. */
export interface FieldError {
  field: string;
  rule: string;
  message: string;
}

/**
 * A JSON Schema validation error as both validators report it (TypeBox for events, Ajv for Fastify's routes):
 * the keyword that failed, where, and its parameters. The two differ only in how they name missing and unknown
 * properties.
 */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  schemaPath?: string;
  params: Record<string, unknown> | object;
  message?: string;
}

/** The rule names a refusal uses, one vocabulary for every route: JSON Schema keywords, kebab-cased, with the
 * string checks named for what they check. */
const RULES: Record<string, string> = {
  additionalProperties: 'unknown-property',
  format: 'string-format',
  pattern: 'string-pattern',
};

const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
const pointerSegment = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

function messageOf(e: SchemaError, rule: string): string {
  const params = e.params as Record<string, unknown>;
  if (rule === 'unknown-property') return 'Property is not part of the schema';
  if (rule === 'required') return 'Required property';
  if (rule === 'string-format') return `Expected a valid ${String(params.format)}`;
  if (rule === 'enum') {
    const allowed = (params.allowedValues as unknown[] | undefined) ?? [];
    return `Expected one of: ${allowed.join(', ')}`;
  }
  if (rule === 'const') {
    const literal = params as { allowedValue?: unknown; const?: unknown };
    return `Expected ${JSON.stringify(literal.allowedValue ?? literal.const)}`;
  }
  return e.message ?? rule;
}

/** Fields named in one refusal: enough to fix a submission, and the answer's size stays bounded whatever was sent. */
export const MAX_FIELD_ERRORS = 50;

/**
 * Field errors from schema errors: one per field (a value failing several keywords, or each branch of a union,
 * is reported once, by the first), missing and unknown properties named by their own pointer; at most
 * MAX_FIELD_ERRORS of them.
 */
export function schemaFieldErrors(errors: Iterable<SchemaError>, prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  const add = (path: string, e: SchemaError) => {
    const field = `${prefix}${path}` || '/';
    if (seen.has(field)) return;
    seen.add(field);
    const type = (e.params as { type?: unknown }).type;
    // A wrong type is named by the type expected (`integer`, `string`), as the CSV and JSON refusals always have.
    const rule = e.keyword === 'type' && typeof type === 'string' ? type : RULES[e.keyword] ?? kebab(e.keyword);
    out.push({ field, rule, message: messageOf(e, rule) });
  };
  const list = [...errors];
  // A union of literals fails once per literal: its field is named once, as an enum of all of them.
  const literals = new Map<string, unknown[]>();
  for (const e of list) {
    if (e.keyword !== 'const') continue;
    const params = e.params as { allowedValue?: unknown; const?: unknown };
    const value = 'allowedValue' in params ? params.allowedValue : params.const;
    literals.set(e.instancePath, [...(literals.get(e.instancePath) ?? []), value]);
  }
  for (const [path, values] of literals) {
    if (values.length > 1) add(path, { keyword: 'enum', instancePath: path, params: { allowedValues: [...new Set(values)] } });
  }
  for (const e of list) {
    if (out.length >= MAX_FIELD_ERRORS) break;
    // TypeBox also reports each unknown property as its own `false` schema, at the property's own pointer: the same
    // field as the additionalProperties error names, and the one that remains when the errors are cut short.
    if (e.keyword === 'boolean' && e.schemaPath?.endsWith('/additionalProperties')) {
      add(e.instancePath, { ...e, keyword: 'additionalProperties' });
      continue;
    }
    const params = e.params as Record<string, unknown>;
    const named = (e.keyword === 'required' ? params.requiredProperties ?? [params.missingProperty]
      : e.keyword === 'additionalProperties' ? params.additionalProperties ?? [params.additionalProperty] : null) as unknown[] | null;
    if (named) for (const key of named.slice(0, MAX_FIELD_ERRORS)) add(`${e.instancePath}/${pointerSegment(String(key))}`, e);
    else add(e.instancePath, e);
  }
  return out;
}
