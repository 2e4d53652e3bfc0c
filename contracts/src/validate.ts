import { Compile, type Validator } from 'typebox/compile';
import './formats.js';
import { EventCatalogue, envelopeSchema, eventDefinition, type EventDefinition, type EventType } from './catalogue.js';
import { InstrumentRanges } from './events/vocabulary.js';
import { MAX_FIELD_ERRORS, pointerOf, schemaFieldErrors, type FieldError, type SchemaError } from './field-errors.js';

export interface ValidSubmission {
  eventId: string;
  type: EventType;
  schemaVersion: number;
  occurredAt: string;
  programmeId?: string;
  participantRef?: string;
  providerId?: string;
  matchToken?: string;
  grantRef?: string;
  dataPartnerId?: string;
  comparisonRef?: string;
  expectedVersion?: number;
  data: Record<string, unknown>;
}

export type SubmissionCheck =
  { ok: true; submission: ValidSubmission; definition: EventDefinition } | { ok: false; errors: FieldError[] };

/** One version's schema and its compiled check. */
interface Checker {
  schema: ShapeSchema;
  check: Validator;
}
const compiled = new Map<string, Checker>();
function checker(def: EventDefinition, version: number): Checker {
  const key = `${def.type}@${version}`;
  let c = compiled.get(key);
  if (!c) {
    const schema = envelopeSchema(def, version);
    c = { schema, check: Compile(schema) };
    compiled.set(key, c);
  }
  return c;
}
// Compile every schema once at load so the first request does not pay for it.
for (const def of Object.values(EventCatalogue)) for (const v of Object.keys(def.versions)) checker(def, Number(v));

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The parts of a JSON Schema the size pass below follows (TypeBox schemas are JSON Schema). */
interface ShapeSchema {
  type?: unknown;
  properties?: Record<string, ShapeSchema>;
  additionalProperties?: unknown;
  items?: ShapeSchema;
  maxItems?: number;
}

/**
 * What the schema check would spend time on in proportion to what was sent rather than to the schema, found in one
 * cheap pass first: an array longer than its maxItems (the check still compares every pair of its items for
 * uniqueness, and reports each bad item), and more unknown properties in one object than a refusal names (each is an
 * error the check builds). A body with neither goes to the check, whose work is then bounded by the schema's size.
 */
function oversizedErrors(schema: ShapeSchema, value: unknown, path: string[], out: SchemaError[]): SchemaError[] {
  if (out.length >= MAX_FIELD_ERRORS) return out;
  if (Array.isArray(value)) {
    if (schema.type !== 'array') return out;
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      out.push({ keyword: 'maxItems', instancePath: pointerOf(path), params: { limit: schema.maxItems } });
    } else if (schema.items) {
      for (let i = 0; i < value.length; i++) {
        path.push(String(i));
        oversizedErrors(schema.items, value[i], path, out);
        path.pop();
      }
    }
    return out;
  }
  if (!isRecord(value) || schema.type !== 'object') return out;
  const unknown: string[] = [];
  for (const key of Object.keys(value)) {
    const property = schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
    if (property) {
      path.push(key);
      oversizedErrors(property, value[key], path, out);
      path.pop();
    } else if (schema.additionalProperties === false) unknown.push(key);
  }
  if (unknown.length > MAX_FIELD_ERRORS) {
    out.push({
      keyword: 'additionalProperties',
      instancePath: pointerOf(path),
      params: { additionalProperties: unknown.slice(0, MAX_FIELD_ERRORS) },
    });
  }
  return out;
}

/** A data partner names the participant one way: by match token, or by provider and the provider's reference. */
function envelopeErrors(def: EventDefinition, body: Record<string, unknown>): FieldError[] {
  if (def.stream !== 'participant' || !def.submittedBy.includes('data-partner')) return [];
  if (body.matchToken !== undefined) {
    return body.participantRef === undefined
      ? []
      : [
          {
            field: '/participantRef',
            rule: 'one-participant-identifier',
            message: 'Give matchToken or participantRef, not both',
          },
        ];
  }
  const errors: FieldError[] = [];
  if (body.participantRef === undefined) {
    const message = 'Name the participant with matchToken, or with providerId + programmeId + participantRef';
    errors.push(
      { field: '/matchToken', rule: 'one-of-required', message },
      { field: '/participantRef', rule: 'one-of-required', message },
    );
  } else {
    if (body.providerId === undefined)
      errors.push({
        field: '/providerId',
        rule: 'required',
        message: 'participantRef needs the providerId it belongs to',
      });
    if (body.programmeId === undefined)
      errors.push({ field: '/programmeId', rule: 'required', message: 'participantRef needs the programmeId' });
  }
  return errors;
}

/** NUL, or half of a UTF-16 surrogate pair: valid in a JSON string, but PostgreSQL's jsonb cannot store either. */
// eslint-disable-next-line no-control-regex -- matching NUL is the point: jsonb rejects it
const UNSTORABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Every string (and key) in a body that PostgreSQL could not store, by JSON Pointer: events and admin bodies alike. */
export function unstorableTextErrors(value: unknown): FieldError[] {
  return collectUnstorableText(value, [], []);
}

const unstorableTextError = (path: readonly string[]): FieldError => ({
  field: pointerOf(path) || '/',
  rule: 'unsupported-character',
  message: 'Text may not contain the NUL character or an unpaired UTF-16 surrogate',
});

function collectUnstorableText(value: unknown, path: string[], out: FieldError[]): FieldError[] {
  if (typeof value === 'string') {
    if (UNSTORABLE_TEXT.test(value)) out.push(unstorableTextError(path));
    return out;
  }
  if (value === null || typeof value !== 'object') return out;
  for (const key of Object.keys(value)) {
    path.push(key);
    if (UNSTORABLE_TEXT.test(key)) out.push(unstorableTextError(path));
    else collectUnstorableText((value as Record<string, unknown>)[key], path, out);
    path.pop();
  }
  return out;
}

/** Bounds of a custom instrument's range (and so of its scores): wider than any published scale, far from overflow. */
export const MAX_CUSTOM_SCORE = 1_000_000;

/** Rules that cross fields and cannot be said in JSON Schema. */
function crossFieldErrors(type: string, data: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  if (type === 'ParticipantReferred' && data.ageAtReferral === undefined && data.birthYearMonth === undefined) {
    errors.push({
      field: '/data/ageAtReferral',
      rule: 'age-or-birth-month-required',
      message: 'Give ageAtReferral or birthYearMonth',
    });
  }
  if (type === 'OutcomeMeasured') {
    const instrument = data.instrument as keyof typeof InstrumentRanges | 'custom';
    const score = data.score as number;
    const range =
      instrument === 'custom'
        ? (data.customRange as { min: number; max: number } | undefined)
        : InstrumentRanges[instrument];
    if (instrument === 'custom' && !range) {
      errors.push({
        field: '/data/customRange',
        rule: 'required',
        message: 'A custom instrument must declare its range',
      });
    } else if (instrument === 'custom' && !data.scale) {
      errors.push({ field: '/data/scale', rule: 'required', message: 'A custom instrument must be named in scale' });
    } else if (instrument === 'outcomes-star' && !data.scale) {
      errors.push({ field: '/data/scale', rule: 'required', message: 'Outcomes Star measures must name the scale' });
    }
    if (
      instrument === 'custom' &&
      range &&
      (Math.abs(range.min) > MAX_CUSTOM_SCORE || Math.abs(range.max) > MAX_CUSTOM_SCORE)
    ) {
      errors.push({
        field: '/data/customRange',
        rule: 'range-bound',
        message: `A custom range lies within ±${MAX_CUSTOM_SCORE}`,
      });
    } else if (range && range.min >= range.max) {
      errors.push({ field: '/data/customRange', rule: 'range-order', message: 'min must be below max' });
    } else if (range && (score < range.min || score > range.max)) {
      errors.push({
        field: '/data/score',
        rule: 'instrument-range',
        message: `Score must be between ${range.min} and ${range.max} for ${instrument}`,
      });
    }
  }
  if (type === 'GrantAwarded' && String(data.startDate) > String(data.endDate)) {
    errors.push({ field: '/data/endDate', rule: 'date-order', message: 'endDate must not be before startDate' });
  }
  if (type === 'SpendRecorded' && String(data.periodStart) > String(data.periodEnd)) {
    errors.push({ field: '/data/periodEnd', rule: 'date-order', message: 'periodEnd must not be before periodStart' });
  }
  if (type === 'ComparisonRecordSubmitted') {
    if (data.ageAtIndex === undefined && data.birthYearMonth === undefined) {
      errors.push({
        field: '/data/ageAtIndex',
        rule: 'age-or-birth-month-required',
        message: 'Give ageAtIndex or birthYearMonth',
      });
    }
    if ((data.postcodeDistrict === undefined) === (data.policeDistrict === undefined)) {
      errors.push({
        field: '/data/postcodeDistrict',
        rule: 'one-area-required',
        message: 'Give exactly one of postcodeDistrict or policeDistrict',
      });
    }
  }
  if (
    (type === 'OffenceRecorded' || type === 'ComparisonOffenceRecorded') &&
    String(data.offenceDate) > String(data.provenDate)
  ) {
    errors.push({
      field: '/data/provenDate',
      rule: 'date-order',
      message: 'provenDate must not be before offenceDate',
    });
  }
  return errors;
}

/** Checks a submitted event against the catalogue: known type, supported version, exact shape, cross-field rules. */
export function checkSubmission(body: unknown): SubmissionCheck {
  if (!isRecord(body)) return { ok: false, errors: [{ field: '/', rule: 'type', message: 'Expected a JSON object' }] };
  const def = typeof body.type === 'string' ? eventDefinition(body.type) : undefined;
  if (!def) {
    return {
      ok: false,
      errors: [
        {
          field: '/type',
          rule: body.type === undefined ? 'required' : 'enum',
          message: `Expected one of: ${Object.keys(EventCatalogue).join(', ')}`,
        },
      ],
    };
  }
  const version = body.schemaVersion;
  if (typeof version !== 'number' || !Object.hasOwn(def.versions, version)) {
    return {
      ok: false,
      errors: [
        {
          field: '/schemaVersion',
          rule: version === undefined ? 'required' : 'supported-version',
          message: `${def.type} supports schemaVersion ${Object.keys(def.versions).join(', ')}`,
        },
      ],
    };
  }
  if (def.retiredVersions?.includes(version)) {
    return {
      ok: false,
      errors: [
        {
          field: '/schemaVersion',
          rule: 'retired-version',
          message: `${def.type} version ${version} is retired (it allowed free text); send schemaVersion ${def.latest}`,
        },
      ],
    };
  }
  const { schema, check } = checker(def, version);
  const oversized = oversizedErrors(schema, body, [], []);
  if (oversized.length > 0) return { ok: false, errors: schemaFieldErrors(oversized) };
  if (!check.Check(body)) {
    return { ok: false, errors: schemaFieldErrors(check.Errors(body)) };
  }
  const errors = [
    ...unstorableTextErrors(body),
    ...envelopeErrors(def, body),
    ...crossFieldErrors(def.type, body.data as Record<string, unknown>),
  ];
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, submission: body as unknown as ValidSubmission, definition: def };
}

/** The schema node a JSON Pointer segment leads to (object property, array item, any branch of a union), if any. */
function childSchema(schema: Record<string, unknown>, segment: string): Record<string, unknown> | undefined {
  const branches = [schema, ...((schema.anyOf as Record<string, unknown>[] | undefined) ?? [])];
  for (const branch of branches) {
    const properties = branch.properties as Record<string, Record<string, unknown>> | undefined;
    if (properties && Object.hasOwn(properties, segment)) return properties[segment];
    if (branch.items && /^(0|[1-9]\d{0,5})$/.test(segment)) return branch.items as Record<string, unknown>;
  }
  return undefined;
}

/**
 * The part of a refusal's pointer that the catalogue defines: the whole pointer when every segment is a field of the
 * event type's schema (any version), else its longest known prefix ('/' at worst). A client's own property names
 * (an unknown key can be anything, a name or a date of birth) are never kept in records of refusals.
 */
export function schemaKnownPointer(type: string | null, pointer: string): string {
  const def = type ? eventDefinition(type) : undefined;
  const segments = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  let best = 0;
  const roots = def
    ? Object.keys(def.versions).map((v) => envelopeSchema(def, Number(v)) as unknown as Record<string, unknown>)
    : [];
  for (const root of roots) {
    let node: Record<string, unknown> | undefined = root;
    let depth = 0;
    for (const segment of segments) {
      node = childSchema(node, segment);
      if (!node) break;
      depth++;
    }
    best = Math.max(best, depth);
  }
  // Segments of a known pointer are schema names: they need no escaping back.
  return best === 0 ? '/' : `/${segments.slice(0, best).join('/')}`;
}
