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
/** A property name as one JSON Pointer segment. */
export const pointerSegment = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');
/** Property names and array indexes from the root as a JSON Pointer; built only for an error, not for every field checked. */
export const pointerOf = (path: readonly string[]) => path.map((s) => `/${pointerSegment(s)}`).join('');

/** What to enter in a field whose pattern it broke, in plain words with an example (GOV.UK error message style). */
const PATTERN_MESSAGES: Record<string, string> = {
  postcodeDistrict: 'Enter the postcode district only, like DE22 — not the full postcode',
  birthYearMonth: 'Enter the year and month of birth only, like 2010-06',
  quarter: 'Enter the quarter as the year, Q and the quarter number, like 2026Q3',
  matchToken: 'Enter the match token as 64 letters and digits (0-9, a-f), as your matching tool gives it',
  scale:
    'Enter the scale as its id: lowercase words joined by dashes, like making-a-difference or resilience-2 — not a name or a sentence',
  evidenceRef:
    'Enter the invoice or evidence number only: up to 64 letters, digits, dots, dashes, slashes or underscores, ' +
    'like INV-2026-0042 — no spaces, never a name',
};
const IDENTIFIER_MESSAGE =
  'Enter a reference of up to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit, ' +
  'like P-000123 — no spaces';
const IDENTIFIERS = new Set(['programmeId', 'participantRef', 'providerId', 'grantRef', 'sessionId']);

const FORMAT_MESSAGES: Record<string, string> = {
  date: 'Enter a real date as year-month-day, like 2026-09-14',
  'date-time': 'Enter a date and time with a time zone, like 2026-09-14T16:30:00Z',
  uuid: 'Enter a UUID, like 3f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a10 (in a file, leave eventId blank to have one made for you)',
};

/** The field's own name: the last segment of its pointer, or the property named by the error. */
const nameOf = (field: string): string =>
  field.split('/').filter(Boolean).at(-1)?.replaceAll('~1', '/').replaceAll('~0', '~') ?? 'the value';

/**
 * What to enter, in plain words with an example, the way GOV.UK error messages put it; the machine-readable rule
 * travels beside it. Used by the API's `message`, the upload page and the workbook results alike.
 */
function messageOf(e: SchemaError, rule: string, field: string): string {
  const params = e.params as Record<string, unknown>;
  const name = nameOf(field);
  switch (rule) {
    case 'unknown-property':
      return `Remove ${name}: it is not part of this event`;
    case 'required':
      return `Enter ${name}: it is required`;
    case 'string-format':
      return FORMAT_MESSAGES[String(params.format)] ?? `Enter ${name} in the ${String(params.format)} format`;
    case 'string-pattern':
      return (
        PATTERN_MESSAGES[name] ?? (IDENTIFIERS.has(name) ? IDENTIFIER_MESSAGE : `Enter ${name} in the expected form`)
      );
    case 'enum': {
      const allowed = (params.allowedValues as unknown[] | undefined) ?? [];
      return `Choose ${name} from: ${allowed.join(', ')}`;
    }
    case 'integer':
      return `Enter ${name} as a whole number, like 12`;
    case 'number':
      return `Enter ${name} as a number, like 19.5`;
    case 'boolean':
      return `Enter ${name} as true or false (in a file, yes or no also work)`;
    case 'string':
      return `Enter ${name} as text`;
    case 'array':
      return `Enter ${name} as a list (in a file, values separated by ";")`;
    case 'minimum':
      return `Enter ${name} as ${String(params.limit)} or more`;
    case 'maximum':
      return `Enter ${name} as ${String(params.limit)} or less`;
    case 'exclusive-minimum':
      return `Enter ${name} as more than ${String(params.limit)}`;
    case 'min-length':
      return Number(params.limit) <= 1
        ? `Enter ${name}: it cannot be blank`
        : `Enter ${name} with at least ${String(params.limit)} characters`;
    case 'max-length':
      return `Enter ${name} with ${String(params.limit)} characters or fewer`;
    case 'max-items':
      return `Enter at most ${String(params.limit)} values for ${name}`;
    case 'unique-items':
      return `Enter each value of ${name} once`;
    case 'const':
      return `Enter ${name} as ${JSON.stringify(params.allowedValue ?? params.const)}`;
    default:
      return e.message ? `${name}: ${e.message}` : rule;
  }
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
    const rule = e.keyword === 'type' && typeof type === 'string' ? type : (RULES[e.keyword] ?? kebab(e.keyword));
    out.push({ field, rule, message: messageOf(e, rule, field) });
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
    if (values.length > 1)
      add(path, { keyword: 'enum', instancePath: path, params: { allowedValues: [...new Set(values)] } });
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
    const named = (
      e.keyword === 'required'
        ? (params.requiredProperties ?? [params.missingProperty])
        : e.keyword === 'additionalProperties'
          ? (params.additionalProperties ?? [params.additionalProperty])
          : null
    ) as unknown[] | null;
    if (named)
      for (const key of named.slice(0, MAX_FIELD_ERRORS)) add(`${e.instancePath}/${pointerSegment(String(key))}`, e);
    else add(e.instancePath, e);
  }
  return out;
}
