import { createHash } from 'node:crypto';
import { eventDefinition, type EventDefinition } from './catalogue.js';
import { isIsoDate } from './formats.js';
import type { FieldError } from './field-errors.js';

/**
 * CSV submission, for organisations that keep their records in a spreadsheet. One file holds one event type
 * (the latest schema version); one row is one event. The layout is derived from the catalogue's schemas, so a
 * new field in a schema is a new column without further work, and every row is then checked by
 * `checkSubmission` with exactly the rules of the JSON API.
 *
 * Columns, in template order:
 * - `eventId` (optional): when blank, derived from the row (see `deriveEventId`), so uploading the same file
 *   again stores nothing twice.
 * - `occurredAt` (optional where the event has a date field): blank means the row's fact date (the first date
 *   field of the schema, e.g. sessionDate) at 00:00Z.
 * - `providerId` (data-partner events only), `programmeId` and `participantRef` for participant events;
 *   `grantRef` for grant events.
 * - one column per data field; a nested object's fields as `object.field` (e.g. `customRange.min`).
 *
 * Cells: surrounding spaces are ignored; a blank cell means the field is absent (or the schema's default, e.g. an
 * empty list of risk factors); lists are `;`-separated (`school-exclusion;victim-of-violence`); booleans are
 * `true`, `false`, `yes` or `no`; numbers are plain decimals (`19.5`, no thousands separators). A cell that does
 * not read as its type is passed on as text, so the row fails with the schema's own rule for that column.
 */

export type CsvKind = 'text' | 'integer' | 'number' | 'boolean' | 'list';

export interface CsvColumn {
  name: string;
  /** JSON Pointer of the field in the submission, e.g. /data/customRange/min. */
  pointer: string;
  kind: CsvKind;
  /** Must appear in the header; a blank cell may still be refused by the schema. */
  required: boolean;
  description: string;
  /** The allowed values, for enumerations (and each item of a list). */
  values?: readonly (string | number)[];
  /** Used for a blank cell. */
  default?: unknown;
  /** Dates and date-times: a spreadsheet may hold them as dates rather than text. */
  format?: 'date' | 'date-time';
  /** Bounds of a number, from the schema. */
  minimum?: number;
  maximum?: number;
}

/** A row's refusal in the terms of the file: the column, and the same rule and message as the JSON API. */
export interface CsvCellError {
  column: string;
  rule: string;
  message: string;
}

export const CSV_BOOLEANS: Readonly<Record<string, boolean>> = { true: true, false: false, yes: true, no: false };

const CSV_EXAMPLE_ENVELOPE = {
  occurredAt: '2026-09-14T16:30:00Z',
  providerId: 'safe-spaces-trust',
  programmeId: 'mentoring-derby',
  participantRef: 'P-000123',
  grantRef: 'VRU-2026-MENT-01',
  dataPartnerId: 'derbyshire-police',
  comparisonRef: 'CMP-0001842',
};

/** Namespace of derived eventIds (UUIDv5), fixed forever: changing it would make re-uploads store rows twice. */
const CSV_EVENT_ID_NAMESPACE = '6f0d2a8e-3b7c-4e5f-9a1d-2c4b6e8f0a13';

function definitionOf(type: string): EventDefinition {
  const def = eventDefinition(type);
  if (!def) throw new Error(`unknown event type ${type}`);
  return def;
}

/** The JSON Schema keywords the CSV columns are derived from. */
interface SchemaNode {
  type?: string;
  enum?: unknown[];
  anyOf?: SchemaNode[];
  const?: unknown;
  description?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  required?: string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  default?: unknown;
}

/** A vocabulary's values: an `enum`, or a union of constants. */
function enumValues(schema: SchemaNode): (string | number)[] | undefined {
  const values = schema.enum ?? schema.anyOf?.map((s) => s.const);
  if (!values) return undefined;
  return values.every((v) => typeof v === 'string' || typeof v === 'number') ? values : undefined;
}

function kindOf(schema: SchemaNode): CsvKind {
  const values = enumValues(schema);
  if (values)
    return values.every((v) => typeof v === 'number')
      ? values.every(Number.isInteger)
        ? 'integer'
        : 'number'
      : 'text';
  switch (schema.type) {
    case 'integer':
      return 'integer';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array':
      return 'list';
    default:
      return 'text';
  }
}

function describe(schema: SchemaNode, kind: CsvKind): string {
  const parts: string[] = [];
  if (schema.description) parts.push(schema.description);
  if (schema.format === 'date') parts.push('Date as YYYY-MM-DD.');
  if (schema.format === 'date-time') parts.push('Date and time with a zone, e.g. 2026-09-14T16:30:00Z.');
  if (schema.format === 'uuid') parts.push('A UUID.');
  if (kind === 'list') parts.push('Values separated by ";".');
  if (kind === 'boolean') parts.push('true, false, yes or no.');
  return parts.join(' ');
}

function dataColumns(schema: SchemaNode, pointer: string, prefix: string, parentRequired: boolean): CsvColumn[] {
  const required = new Set<string>(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).flatMap(([key, prop]) => {
    const isRequired = parentRequired && required.has(key) && prop.default === undefined;
    if (prop.type === 'object' && prop.properties)
      return dataColumns(prop, `${pointer}/${key}`, `${prefix}${key}.`, isRequired);
    const kind = kindOf(prop);
    const values = kind === 'list' ? enumValues(prop.items ?? {}) : enumValues(prop);
    return [
      {
        name: `${prefix}${key}`,
        pointer: `${pointer}/${key}`,
        kind,
        required: isRequired,
        description: describe(prop, kind),
        ...(values ? { values } : {}),
        ...(prop.default !== undefined ? { default: prop.default } : {}),
        ...(prop.format === 'date' || prop.format === 'date-time' ? { format: prop.format } : {}),
        ...(typeof prop.minimum === 'number' ? { minimum: prop.minimum } : {}),
        ...(typeof prop.maximum === 'number' ? { maximum: prop.maximum } : {}),
      },
    ];
  });
}

/** The first date field of the event's data: the default day for occurredAt. */
export function csvFactDateColumn(type: string): string | undefined {
  const def = definitionOf(type);
  const props = (def.versions[def.latest] as SchemaNode).properties ?? {};
  return Object.entries(props).find(([, p]) => p.format === 'date')?.[0];
}

/** The documented columns of one event type's CSV file, in template order. */
export function csvColumns(type: string): CsvColumn[] {
  const def = definitionOf(type);
  const factDate = csvFactDateColumn(type);
  const columns: CsvColumn[] = [
    {
      name: 'eventId',
      pointer: '/eventId',
      kind: 'text',
      required: false,
      description:
        'Optional UUID. When blank, derived from the row, so the same row uploaded again is recognised as a duplicate.',
    },
    {
      name: 'occurredAt',
      pointer: '/occurredAt',
      kind: 'text',
      required: factDate === undefined,
      format: 'date-time',
      description: factDate
        ? `Optional date and time with a zone; when blank, ${factDate} at 00:00Z.`
        : 'Date and time with a zone, e.g. 2026-09-14T16:30:00Z.',
    },
  ];
  if (def.stream === 'grant') {
    columns.push({
      name: 'grantRef',
      pointer: '/grantRef',
      kind: 'text',
      required: true,
      description: 'The grant reference as issued by the VRU.',
    });
  } else if (def.stream === 'comparison') {
    columns.push(
      {
        name: 'dataPartnerId',
        pointer: '/dataPartnerId',
        kind: 'text',
        required: true,
        description: 'The data partner sharing the record.',
      },
      {
        name: 'comparisonRef',
        pointer: '/comparisonRef',
        kind: 'text',
        required: true,
        description: "The data partner's own opaque reference; never a name or a PNC number.",
      },
    );
  } else {
    if (def.submittedBy.includes('data-partner')) {
      columns.push(
        {
          name: 'matchToken',
          pointer: '/matchToken',
          kind: 'text',
          required: false,
          description:
            "The person's match token (docs/matching.md); or leave blank and give providerId, programmeId and participantRef.",
        },
        {
          name: 'providerId',
          pointer: '/providerId',
          kind: 'text',
          required: false,
          description: 'The provider whose participant this is (narrows a match token; needed with participantRef).',
        },
        {
          name: 'programmeId',
          pointer: '/programmeId',
          kind: 'text',
          required: false,
          description: 'The programme, with participantRef.',
        },
        {
          name: 'participantRef',
          pointer: '/participantRef',
          kind: 'text',
          required: false,
          description: "The provider's own reference, where a data-sharing agreement allows it.",
        },
      );
    } else
      columns.push(
        {
          name: 'programmeId',
          pointer: '/programmeId',
          kind: 'text',
          required: true,
          description: 'The programme, as registered by the VRU.',
        },
        {
          name: 'participantRef',
          pointer: '/participantRef',
          kind: 'text',
          required: true,
          description: "The provider's own pseudonymous reference for the participant; never a name.",
        },
      );
  }
  return [...columns, ...dataColumns(def.versions[def.latest]!, '/data', '', true)];
}

/** One CSV cell, quoted when it has to be. */
function csvCell(value: string): string {
  return /[",\r\n]/.test(value) || value !== value.trim() ? `"${value.replace(/"/g, '""')}"` : value;
}

function valueAt(object: Record<string, unknown>, pointer: string): unknown {
  return pointer
    .split('/')
    .slice(1)
    .reduce<unknown>(
      (o, key) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined),
      object,
    );
}

function toCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.join(';');
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  // An object would print as [object Object]; its JSON is what a reader can type back.
  return JSON.stringify(value);
}

/** A header line and one example row (from the catalogue's example), ready to open in a spreadsheet. */
export function csvTemplate(type: string): string {
  const def = definitionOf(type);
  const columns = csvColumns(type);
  const example: Record<string, unknown> = { ...CSV_EXAMPLE_ENVELOPE, data: def.example };
  const row = columns.map((c) => {
    if (c.name === 'eventId') return '';
    if (c.name === 'occurredAt' && !c.required) return '';
    return toCell(valueAt(example, c.pointer));
  });
  return `${columns.map((c) => csvCell(c.name)).join(',')}\r\n${row.map(csvCell).join(',')}\r\n`;
}

/** A header's problems: columns the layout does not know, required columns it lacks, and repeated names. */
export function checkCsvHeader(
  type: string,
  header: readonly string[],
): { unknown: string[]; missing: string[]; duplicate: string[] } {
  const columns = csvColumns(type);
  const known = new Set(columns.map((c) => c.name));
  const given = header.map((h) => h.trim());
  return {
    unknown: given.filter((h) => !known.has(h)),
    missing: columns.filter((c) => c.required && !given.includes(c.name)).map((c) => c.name),
    duplicate: [...new Set(given.filter((h, i) => given.indexOf(h) !== i))],
  };
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function readCell(column: CsvColumn, raw: string): unknown {
  switch (column.kind) {
    case 'integer':
    case 'number':
      return NUMBER.test(raw) ? Number(raw) : raw;
    case 'boolean':
      return CSV_BOOLEANS[raw.toLowerCase()] ?? raw;
    case 'list':
      return raw
        .split(';')
        .map((v) => v.trim())
        .filter((v) => v !== '');
    default:
      return raw;
  }
}

function setAt(object: Record<string, unknown>, pointer: string, value: unknown): void {
  const keys = pointer.split('/').slice(1);
  let o = object;
  for (const key of keys.slice(0, -1)) o = (o[key] ??= {}) as Record<string, unknown>;
  o[keys[keys.length - 1]!] = value;
}

/** The UUIDv5 of `name` in `namespace` (RFC 9562 section 5.5). */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The eventId of a row uploaded without one: a UUIDv5 of the event type, the participant or grant reference and
 * the row's content (every other column after reading, in layout order, so column order and spacing in the file
 * do not matter). The same row always gives the same id, which is what makes a re-upload harmless; any change
 * to the row gives a new id. `scope` is the uploading organisation: participant references are only unique
 * within a provider, so two providers' identical rows must not share an id (the second would be taken for a
 * duplicate of the first and never stored).
 */
export function deriveEventId(type: string, submission: Record<string, unknown>, scope = ''): string {
  const columns = csvColumns(type).filter((c) => c.name !== 'eventId');
  const stream = definitionOf(type).stream;
  const ref =
    stream === 'grant'
      ? submission.grantRef
      : stream === 'comparison'
        ? [submission.dataPartnerId, submission.comparisonRef]
        : (submission.participantRef ?? submission.matchToken);
  const content = columns.map((c) => [c.name, valueAt(submission, c.pointer) ?? null]);
  return uuidV5(CSV_EVENT_ID_NAMESPACE, JSON.stringify([scope, type, ref ?? null, content]));
}

/**
 * One CSV record (header name → cell) as a submission of the latest schema version, for `checkSubmission`.
 * Unknown columns are ignored here: the header is checked once per file by `checkCsvHeader`.
 */
export function csvRowToSubmission(
  type: string,
  record: Readonly<Record<string, string | undefined>>,
  options: { scope?: string } = {},
): Record<string, unknown> {
  const def = definitionOf(type);
  const submission: Record<string, unknown> = { type: def.type, schemaVersion: def.latest, data: {} };
  for (const column of csvColumns(type)) {
    const raw = (record[column.name] ?? '').trim();
    if (raw === '') {
      if (column.default !== undefined) setAt(submission, column.pointer, structuredClone(column.default));
      continue;
    }
    setAt(submission, column.pointer, readCell(column, raw));
  }
  const factDate = csvFactDateColumn(type);
  const day = factDate ? (submission.data as Record<string, unknown>)[factDate] : undefined;
  if (submission.occurredAt === undefined && typeof day === 'string' && isIsoDate(day))
    submission.occurredAt = `${day}T00:00:00Z`;
  if (submission.eventId === undefined) submission.eventId = deriveEventId(type, submission, options.scope);
  // Keys in envelope order, as a JSON submitter would write them.
  const { eventId, type: t, schemaVersion, occurredAt, data, ...refs } = submission;
  return { eventId, type: t, schemaVersion, ...(occurredAt !== undefined ? { occurredAt } : {}), ...refs, data };
}

/** The column a field error is about: the field's own column, the list it is an item of, or an object's first column. */
export function csvColumnOf(type: string, pointer: string): string {
  const columns = csvColumns(type);
  const own =
    columns.find((c) => c.pointer === pointer) ??
    columns.find((c) => pointer.startsWith(`${c.pointer}/`)) ??
    columns.find((c) => c.pointer.startsWith(`${pointer}/`));
  return own?.name ?? pointer;
}

/**
 * Field errors (from `checkSubmission` or the event store) in terms of columns. A missing occurredAt that was left
 * blank because the fact date is itself wrong is not reported twice: the fact date's column says what to fix.
 */
export function csvRowErrors(
  type: string,
  record: Readonly<Record<string, string | undefined>>,
  errors: readonly FieldError[],
): CsvCellError[] {
  const factDate = csvFactDateColumn(type);
  const mapped = errors.map((e) => ({ column: csvColumnOf(type, e.field), rule: e.rule, message: e.message }));
  const occurredAtBlank = (record.occurredAt ?? '').trim() === '';
  const factDateWrong = factDate !== undefined && mapped.some((e) => e.column === factDate);
  return occurredAtBlank && factDateWrong ? mapped.filter((e) => e.column !== 'occurredAt') : mapped;
}

/** The layout rules and one event type's columns as Markdown, for the API description. */
export function csvLayoutMarkdown(type: string): string {
  const lines = csvColumns(type).map((c) => {
    const values = c.values ? ` One of: ${c.values.join(', ')}.` : '';
    return `- \`${c.name}\` (${c.kind}${c.required ? ', required column' : ''}): ${c.description}${values}`.trimEnd();
  });
  return [`**${type}**`, ...lines].join('\n');
}
