import {
  checkSubmission,
  csvColumns,
  csvRowToSubmission,
  EventCatalogue,
  EventTypes,
  type EventType,
} from '@vru/contracts';

/**
 * Generates malformed and hostile requests for the fuzz test, from a seed, so that any failure can be replayed
 * (FUZZ_SEED). Pure: no I/O, no clock, no Math.random. Every generated request must be refused — a body that
 * the contract (checkSubmission) would accept is thrown away and another drawn — so the event store must not move.
 */

export type FuzzKey = 'providerA' | 'dataPartner' | 'commissioner' | 'none' | 'garbage';

export interface FuzzCase {
  index: number;
  /** The class of input, e.g. mutated-event or invalid-utf8. */
  kind: string;
  /** What was done to the input, to read a failure without replaying it. */
  description: string;
  method: 'GET' | 'POST' | 'PUT';
  /** Path and query string, exactly as sent on the wire. */
  path: string;
  /** null: no content-type header at all. */
  contentType: string | null;
  body: Buffer | null;
  key: FuzzKey;
  /** A field (JSON pointer or CSV column) the answer's errors must name, for schema errors. */
  field?: string;
  /** Batch and CSV answers may be a 200 listing every item as rejected, rather than a 4xx. */
  itemised?: boolean;
}

export interface FuzzContext {
  seed: number;
  count: number;
  /** The API's body limit, to send bodies just under and just over it. */
  bodyLimit: number;
  programmeId: string;
  participantRef: string;
  grantRef: string;
  /** The providerId a data partner names, and the scope CSV event ids are derived with. */
  providerId: string;
}

/** mulberry32: small, fast and good enough to draw test inputs. */
export function createRng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
  };
}
export type Rng = ReturnType<typeof createRng>;

type Json = Record<string, unknown>;

export const SQL_FRAGMENTS = [
  "' OR '1'='1",
  "'; DROP TABLE events; --",
  '1; DELETE FROM outbox',
  "' UNION SELECT * FROM api_keys --",
  "\\'; TRUNCATE streams CASCADE; --",
  '$$; DROP TABLE events; $$',
  "') OR 1=1 --",
  "x'::jsonb",
];
const HOSTILE_STRINGS = [
  ...SQL_FRAGMENTS,
  '',
  ' ',
  '\n',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\u202eevil',
  '<script>alert(1)</script>',
  '${jndi:ldap://x/a}',
  '../../../etc/passwd',
  '%00',
  '\\u0000',
  '🧨'.repeat(40),
  'a'.repeat(10_000),
  "=cmd|' /C calc'!A0",
  '__proto__',
  'constructor',
  'null',
  'NaN',
  '-1',
  '1e309',
  'true',
];
const NUMBER_EDGES = [0, -1, -0.5, 0.5, 2 ** 31, 2 ** 53 + 2, 1e308, -1e308, 1e-300];
const DATE_EDGES = [
  '2026-02-30',
  '2026-13-01',
  '26-01-01',
  '2026-1-1',
  '2026-01-01T25:00:00Z',
  '9999-99-99',
  '2026-01-01 10:00',
  'yesterday',
];
const WRONG_TYPES: unknown[] = [123, -1.5, 'text', true, false, null, [], {}, [1, 'a'], { value: 1 }];
const UNKNOWN_KEYS = ['extra', 'isAdmin', 'role', "'; DROP TABLE events; --", 'a'.repeat(300), ''];
const INVALID_UTF8 = [
  [0xff],
  [0xfe, 0xff],
  [0xc3, 0x28],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
  [0x80],
];
const REPORT_PATHS = [
  '/v1/reports/attendance',
  '/v1/reports/engagement',
  '/v1/reports/outcomes',
  '/v1/reports/reoffending',
  '/v1/reports/spend',
  '/v1/reports/data-quality',
  '/v1/reports/quarterly-return',
];
const WRONG_CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'text/csv',
  'application/octet-stream',
  'a/b/c',
  ';;;',
  'application/json-patch+json',
  'image/png',
  'text/html; charset=utf-8',
];

/** A valid submission of the type's latest version, from the catalogue's example, pointing at the context's ids. */
export function validEvent(rng: Rng, type: EventType, ctx: FuzzContext): Json {
  const def = EventCatalogue[type];
  const data: Json = structuredClone(def.example);
  if ('providerId' in data) data.providerId = ctx.providerId;
  if ('programmeId' in data) data.programmeId = ctx.programmeId;
  const envelope = { eventId: uuid(rng), type, schemaVersion: def.latest, occurredAt: '2026-02-10T10:00:00Z' };
  if (def.stream === 'grant') return { ...envelope, grantRef: ctx.grantRef, data };
  if (def.stream === 'comparison')
    return { ...envelope, dataPartnerId: 'fuzz-partner', comparisonRef: ctx.participantRef, data };
  const targetsProvider = !def.submittedBy.includes('provider');
  return {
    ...envelope,
    ...(targetsProvider ? { providerId: ctx.providerId } : {}),
    programmeId: ctx.programmeId,
    participantRef: ctx.participantRef,
    data,
  };
}

/** The test key allowed to submit this type, so that refusals are about the input and not the role. */
export function keyFor(type: EventType): FuzzKey {
  const role = EventCatalogue[type].submittedBy[0];
  return role === 'data-partner' ? 'dataPartner' : role === 'provider' ? 'providerA' : 'commissioner';
}

function uuid(rng: Rng): string {
  const hex = Array.from({ length: 32 }, () => rng.int(16).toString(16));
  hex[12] = '4';
  hex[16] = '89ab'[rng.int(4)]!;
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/** JSON pointers of every field of an event (envelope and data, nested), each with its parent. */
function fieldPointers(value: unknown, pointer = ''): string[] {
  if (value === null || typeof value !== 'object') return [pointer];
  const keys = Array.isArray(value) ? value.map((_, i) => String(i)) : Object.keys(value);
  return [...(pointer ? [pointer] : []), ...keys.flatMap((k) => fieldPointers((value as Json)[k], `${pointer}/${k}`))];
}

function parentOf(root: Json, pointer: string): { parent: Json | unknown[]; key: string } {
  const parts = pointer.split('/').slice(1);
  const key = parts.pop()!;
  let parent: unknown = root;
  for (const p of parts) parent = (parent as Json)[p];
  return { parent: parent as Json, key };
}

/** Sets a key as an own, enumerable property even when it is __proto__, so JSON.stringify writes it. */
function defineOwn(target: object, key: string, value: unknown) {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The server reads bodies as UTF-8 (bad bytes become U+FFFD) and then parses JSON: the same here. */
function wouldBeAccepted(bytes: Buffer): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return false;
  }
  return checkSubmission(parsed).ok;
}

interface Mutation {
  event: Json;
  description: string;
  field?: string;
}

/** Changes one field of a valid event; returns null when the result is still valid (it could be stored). */
function mutateOnce(rng: Rng, valid: Json): Mutation | null {
  const event = structuredClone(valid);
  const pointer = rng.pick(fieldPointers(event));
  const { parent, key } = parentOf(event, pointer);
  const current = (parent as Json)[key];
  const op = rng.pick([
    'remove',
    'wrong-type',
    'wrong-type',
    'hostile-string',
    'hostile-string',
    'number-edge',
    'date-edge',
    'unknown-sibling',
    'pollution',
  ] as const);
  let description = `${op} at ${pointer}`;
  let field: string | undefined = pointer;
  switch (op) {
    case 'remove':
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else Reflect.deleteProperty(parent, key);
      break;
    case 'wrong-type': {
      const replacement = rng.pick(
        WRONG_TYPES.filter((v) => typeof v !== typeof current || Array.isArray(v) !== Array.isArray(current)),
      );
      (parent as Json)[key] = structuredClone(replacement);
      description += ` = ${JSON.stringify(replacement)}`;
      break;
    }
    case 'hostile-string': {
      const s = rng.pick(HOSTILE_STRINGS);
      (parent as Json)[key] = s;
      description += ` = ${JSON.stringify(s.slice(0, 40))}`;
      break;
    }
    case 'number-edge': {
      const n = rng.pick(NUMBER_EDGES);
      (parent as Json)[key] = n;
      description += ` = ${n}`;
      break;
    }
    case 'date-edge': {
      const d = rng.pick(DATE_EDGES);
      (parent as Json)[key] = d;
      description += ` = ${d}`;
      break;
    }
    case 'unknown-sibling': {
      const target =
        current !== null && typeof current === 'object' && !Array.isArray(current)
          ? (current as Json)
          : Array.isArray(parent)
            ? event
            : parent;
      const name = rng.pick(UNKNOWN_KEYS);
      target[name] = 'x';
      field = undefined; // which object the unknown key sits in is checked by the 422's own errors
      description = `unknown property ${JSON.stringify(name.slice(0, 40))} near ${pointer}`;
      break;
    }
    case 'pollution': {
      const target =
        current !== null && typeof current === 'object' && !Array.isArray(current)
          ? (current as Json)
          : Array.isArray(parent)
            ? event
            : parent;
      if (rng.chance(0.5)) defineOwn(target, '__proto__', { polluted: 'yes', isAdmin: true });
      else defineOwn(target, 'constructor', { prototype: { polluted: 'yes' } });
      field = undefined; // refused by the JSON parser (400) before any schema runs
      description = `prototype-pollution key near ${pointer}`;
      break;
    }
  }
  if (checkSubmission(JSON.parse(JSON.stringify(event))).ok) return null;
  return { event, description, ...(field !== undefined ? { field } : {}) };
}

function mutatedEvent(rng: Rng, ctx: FuzzContext): { type: EventType; mutation: Mutation } {
  for (;;) {
    const type = rng.pick(EventTypes);
    const mutation = mutateOnce(rng, validEvent(rng, type, ctx));
    if (mutation) return { type, mutation };
  }
}

function nested(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) || value !== value.trim() ? `"${value.replaceAll('"', '""')}"` : value;
}

function cellOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.join(';');
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a nested value goes in as String() writes it, for the importer to refuse
  return String(value);
}

/** A CSV file of one valid row with one cell changed; null when the row is still valid. */
function mutatedCsv(
  rng: Rng,
  ctx: FuzzContext,
): { type: EventType; text: string; column: string; description: string } | null {
  const type = rng.pick(EventTypes);
  const event = validEvent(rng, type, ctx);
  const columns = csvColumns(type);
  const record: Record<string, string> = {};
  for (const c of columns) {
    const parts = c.pointer.split('/').slice(1);
    let v: unknown = event;
    for (const p of parts) v = (v as Json | undefined)?.[p];
    record[c.name] = cellOf(v);
  }
  const column = rng.pick(columns).name;
  const value = rng.pick([
    ...HOSTILE_STRINGS,
    ...DATE_EDGES,
    ...NUMBER_EDGES.map(String),
    'abc',
    'yes-ish',
    '1;2;3',
    'x'.repeat(600),
  ]);
  // As the server will read it: the file goes as UTF-8, where a lone surrogate becomes U+FFFD.
  record[column] = Buffer.from(value).toString('utf8');
  const scope = EventCatalogue[type].submittedBy.includes('provider') ? ctx.providerId : '';
  if (checkSubmission(csvRowToSubmission(type, record, { scope })).ok) return null;
  const names = columns.map((c) => c.name);
  const text = `${names.map(csvCell).join(',')}\r\n${names.map((n) => csvCell(record[n]!)).join(',')}\r\n`;
  return { type, text, column, description: `CSV ${type} cell ${column} = ${JSON.stringify(value.slice(0, 40))}` };
}

type Draft = Omit<FuzzCase, 'index'>;
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const post = (
  kind: string,
  description: string,
  path: string,
  body: Buffer | string | null,
  contentType: string | null = 'application/json',
  key: FuzzKey = 'providerA',
  extra: Partial<Draft> = {},
): Draft => ({
  kind,
  description,
  method: 'POST',
  path,
  contentType,
  body: typeof body === 'string' ? Buffer.from(body) : body,
  key,
  ...extra,
});
const get = (kind: string, description: string, path: string, key: FuzzKey = 'commissioner'): Draft => ({
  kind,
  description,
  method: 'GET',
  path,
  contentType: null,
  body: null,
  key,
});

/**
 * The other write endpoints (keys, reference data, erasure): a valid body with one property made invalid in a way
 * Ajv's coercion cannot repair (objects, two-item arrays, over-long or out-of-pattern strings, unknown or missing
 * properties, prototype keys), so nothing is ever issued, registered or erased.
 */
const ADMIN_BODIES: [method: 'POST' | 'PUT', path: string, key: FuzzKey, valid: Json, constrained: string[]][] = [
  ['POST', '/v1/admin/keys', 'commissioner', { role: 'funder', label: 'fuzz' }, ['role']],
  ['POST', '/v1/admin/keys/0123456789abcdef/rotate', 'commissioner', { graceHours: 1 }, ['graceHours']],
  ['PUT', '/v1/admin/providers/fuzz-provider', 'commissioner', { name: 'Fuzz provider' }, []],
  [
    'PUT',
    '/v1/admin/programmes/fuzz-programme',
    'commissioner',
    { name: 'Fuzz', interventionType: 'mentoring', startsOn: '2026-01-01' },
    ['startsOn'],
  ],
  [
    'POST',
    '/v1/participants/P-FUZZ-1/erasure',
    'providerA',
    { programmeId: 'mentoring-test', requestedOn: '2026-05-01' },
    ['programmeId', 'requestedOn'],
  ],
];

const ADMIN_REQUIRED = new Set(['role', 'name', 'interventionType', 'startsOn', 'programmeId']);

function adminMutation(rng: Rng, valid: Json, constrained: string[]): { description: string; body: string } {
  const key = rng.pick(Object.keys(valid));
  const hostile = rng.pick(HOSTILE_STRINGS).replace(/^[A-Za-z0-9]*$/, '$&;drop table events');
  const { [key]: _removed, ...without } = valid;
  const [description, body] = rng.pick<[string, Json | string]>([
    [`${key} as an object`, { ...valid, [key]: { $gt: '' } }],
    [`${key} as a two-item array`, { ...valid, [key]: ['a', 'b'] }],
    [`${key} over-long`, { ...valid, [key]: 'x'.repeat(5000) }],
    // Removing an optional property is valid, so it also gets an unknown neighbour.
    [`${key} missing`, ADMIN_REQUIRED.has(key) ? without : { ...without, unknown: 1 }],
    ['unknown property', { ...valid, isAdmin: true }],
    ['__proto__ property', JSON.stringify(valid).replace('{', '{"__proto__":{"role":"admin"},')],
    [
      'constructor.prototype property',
      JSON.stringify(valid).replace('{', '{"constructor":{"prototype":{"role":"admin"}},'),
    ],
    ...constrained.map((k): [string, Json] => [
      `${k} hostile: ${JSON.stringify(hostile).slice(0, 40)}`,
      { ...valid, [k]: hostile },
    ]),
  ]);
  return { description, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

/** Each generator draws one case of its class; weights favour mutated valid events, the most telling class. */
const generators: { weight: number; make: (rng: Rng, ctx: FuzzContext) => Draft }[] = [
  {
    weight: 5,
    make: (rng) => {
      const [method, path, key, valid, constrained] = rng.pick(ADMIN_BODIES);
      const { description, body } = adminMutation(rng, valid, constrained);
      return { ...post('admin-body', description, path, body, 'application/json', key), method };
    },
  },
  {
    weight: 30,
    make: (rng, ctx) => {
      const { type, mutation } = mutatedEvent(rng, ctx);
      return post(
        'mutated-event',
        `${type}: ${mutation.description}`,
        '/v1/events',
        json(mutation.event),
        'application/json',
        keyFor(type),
        mutation.field !== undefined ? { field: mutation.field } : {},
      );
    },
  },
  {
    weight: 12,
    make: (rng, ctx) => {
      const items = Array.from({ length: 1 + rng.int(4) }, () => mutatedEvent(rng, ctx));
      const type = items[0]!.type;
      return post(
        'mutated-batch',
        `batch of ${items.length}: ${items.map((i) => `${i.type}: ${i.mutation.description}`).join(' | ')}`,
        '/v1/events/batch',
        json({ events: items.map((i) => i.mutation.event) }),
        'application/json',
        keyFor(type),
        { itemised: true },
      );
    },
  },
  {
    weight: 8,
    make: (rng, ctx) => {
      for (;;) {
        const csv = mutatedCsv(rng, ctx);
        if (csv)
          return post(
            'mutated-csv',
            csv.description,
            `/v1/imports?eventType=${csv.type}`,
            csv.text,
            'text/csv',
            keyFor(csv.type),
            { itemised: true },
          );
      }
    },
  },
  {
    weight: 6,
    make: (rng, ctx) => {
      const value = rng.pick<unknown>([
        123,
        'event',
        null,
        true,
        [],
        [{}],
        [validEvent(rng, 'ParticipantReferred', ctx)],
        0,
        -1,
        {},
        { events: null },
      ]);
      const path = rng.pick(['/v1/events', '/v1/events/batch']);
      return post(
        'wrong-shape',
        `${path} body ${JSON.stringify(value).slice(0, 60)}`,
        path,
        json(value),
        'application/json',
        'providerA',
        { itemised: path.endsWith('batch') },
      );
    },
  },
  {
    weight: 4,
    make: (rng, ctx) => {
      const valid = validEvent(rng, 'ParticipantReferred', ctx);
      const [description, body] = rng.pick<[string, unknown]>([
        ['batch with no events property', {}],
        ['batch with empty events', { events: [] }],
        ['batch events as object', { events: { 0: valid } }],
        ['batch with an extra property', { events: [{ ...valid, type: 'Nope' }], extra: 1 }],
        ['batch over the item limit', { events: Array.from({ length: 1001 }, () => ({ type: 'Nope' })) }],
        ['batch events as string', { events: JSON.stringify([valid]) }],
      ]);
      // Ajv coerces a string to a one-item array (coerceTypes: 'array', for repeated query parameters), so that item is refused on its own.
      return post('batch-structure', description, '/v1/events/batch', json(body), 'application/json', 'providerA', {
        itemised: true,
      });
    },
  },
  {
    weight: 6,
    make: (rng, ctx) => {
      const path = rng.pick(['/v1/events', '/v1/events/batch', '/v1/imports?eventType=ParticipantReferred']);
      const contentType = rng.pick([
        ...WRONG_CONTENT_TYPES,
        null,
        'application/json; charset=utf-16',
        'application/json; charset=latin1',
      ]);
      const body = rng.chance(0.5)
        ? json(validEvent(rng, 'ParticipantReferred', ctx))
        : Buffer.from('programmeId,participantRef\r\nx,y\r\n');
      // A JSON body to the CSV route, or a CSV body to a JSON route, with the right type, is refused further in.
      if (path.startsWith('/v1/imports') && contentType === 'text/csv')
        return post('content-type', 'JSON sent as text/csv', path, json({ events: [] }), contentType);
      if (!path.startsWith('/v1/imports') && contentType?.startsWith('application/json')) {
        return post(
          'content-type',
          `CSV sent as ${contentType}`,
          path,
          'programmeId,participantRef\r\nx,y\r\n',
          contentType,
        );
      }
      return post('content-type', `${contentType ?? 'no content-type'} to ${path}`, path, body, contentType);
    },
  },
  {
    weight: 4,
    make: (rng) => {
      const path = rng.pick(['/v1/events', '/v1/events/batch', '/v1/imports?eventType=SessionAttended']);
      const contentType = path.startsWith('/v1/imports')
        ? rng.pick(['text/csv', null])
        : rng.pick(['application/json', null]);
      const body = rng.pick(['', ' ', '\r\n', '\u0000']);
      return post(
        'empty-body',
        `${JSON.stringify(body)} as ${contentType ?? 'no content-type'} to ${path}`,
        path,
        body,
        contentType,
      );
    },
  },
  {
    weight: 6,
    make: (rng, ctx) => {
      const valid = JSON.stringify(validEvent(rng, 'SessionAttended', ctx));
      const [description, text] = rng.pick<[string, string]>([
        ['truncated JSON', valid.slice(0, 1 + rng.int(valid.length - 1))],
        ['trailing comma', valid.replace(/}$/, ',}')],
        ['single quotes', valid.replaceAll('"', "'")],
        ['comment', `/* x */${valid}`],
        ['NaN', valid.replace(/"durationMinutes":\d+/, '"durationMinutes":NaN')],
        ['Infinity', valid.replace(/"durationMinutes":\d+/, '"durationMinutes":Infinity')],
        // A UTF-8 byte order mark before JSON may be ignored (RFC 8259), so the event after it must be invalid on its own.
        ['byte order mark', `\ufeff${valid.replace('"SessionAttended"', '"Nope"')}`],
        ['two documents', `${valid}${valid}`],
        ['raw NUL byte', valid.replace('"data"', '"da\u0000ta"')],
        ['raw control characters in a string', valid.replace('"staff"', '"st\u0001\u0008aff"')],
        ['unquoted key', valid.replace('"type"', 'type')],
        ['bare words', 'undefined'],
        ['lone bracket', '{'],
        [
          'duplicate keys, the second invalid',
          valid.replace('"type":"SessionAttended"', '"type":"SessionAttended","type":"DropTables"'),
        ],
      ]);
      return post('invalid-json', description, rng.pick(['/v1/events', '/v1/events/batch']), text);
    },
  },
  {
    weight: 6,
    make: (rng, ctx) => {
      const bad = Buffer.from(rng.pick(INVALID_UTF8));
      if (rng.chance(0.3)) {
        // A CSV file whose participantRef cell holds bytes that are not UTF-8 (they read as U+FFFD, outside the pattern).
        const row = `${ctx.programmeId},`;
        const text = Buffer.concat([
          Buffer.from(`programmeId,participantRef,scope,recordedOn\r\n${row}`),
          bad,
          Buffer.from(',evaluation,2026-01-11\r\n'),
        ]);
        return post(
          'invalid-utf8',
          `CSV cell bytes ${bad.toString('hex')}`,
          '/v1/imports?eventType=ConsentRecorded',
          text,
          'text/csv',
          'providerA',
          { itemised: true },
        );
      }
      for (;;) {
        const type = rng.pick(EventTypes);
        const text = JSON.stringify(validEvent(rng, type, ctx));
        const pointer = rng.pick([
          '"type":"',
          '"participantRef":"',
          '"grantRef":"',
          '"occurredAt":"',
          '"eventId":"',
          '{"',
          '"data":{"',
        ]);
        const at = text.indexOf(pointer);
        if (at < 0) continue;
        const cut = at + pointer.length;
        const body = Buffer.concat([Buffer.from(text.slice(0, cut)), bad, Buffer.from(text.slice(cut))]);
        if (wouldBeAccepted(body)) continue;
        const path = rng.chance(0.7) ? '/v1/events' : '/v1/events/batch';
        const wrapped =
          path === '/v1/events' ? body : Buffer.concat([Buffer.from('{"events":['), body, Buffer.from(']}')]);
        return post(
          'invalid-utf8',
          `${type}: bytes ${bad.toString('hex')} after ${pointer}`,
          path,
          wrapped,
          'application/json',
          keyFor(type),
          { itemised: path !== '/v1/events' },
        );
      }
    },
  },
  {
    weight: 3,
    make: (rng, ctx) => {
      const depth = rng.pick([1000, 10_000, 100_000]);
      const valid = JSON.stringify(validEvent(rng, 'ParticipantReferred', ctx));
      const [description, path, text] = rng.pick<[string, string, string]>([
        [`arrays nested ${depth} deep`, '/v1/events', nested(depth, '[', ']')],
        [
          `objects nested ${depth} deep in data`,
          '/v1/events',
          valid.replace('"data":{', `"data":{"deep":${nested(depth, '{"a":', '}')},`),
        ],
        [`arrays nested ${depth} deep as a batch item`, '/v1/events/batch', `{"events":[${nested(depth, '[', ']')}]}`],
        [
          `objects nested ${depth} deep as a batch item`,
          '/v1/events/batch',
          `{"events":[${nested(depth, '{"a":', '}')}]}`,
        ],
        [`unclosed nesting ${depth} deep`, '/v1/events', '['.repeat(depth)],
      ]);
      return post(
        'deep-nesting',
        description,
        path,
        text,
        'application/json',
        'providerA',
        path.endsWith('batch') ? { itemised: true } : {},
      );
    },
  },
  {
    weight: 3,
    make: (rng, ctx) => {
      const over = rng.chance(0.5);
      const valid = validEvent(rng, 'SpendRecorded', ctx);
      const base = JSON.stringify({ ...valid, data: { ...(valid.data as Json), evidenceRef: '' } }).length;
      const size = over ? ctx.bodyLimit + 1 + rng.int(1000) : ctx.bodyLimit - 16 - rng.int(1000);
      const filler = rng.pick(['a', 'é', ' ', '\u0000']);
      const unit = JSON.stringify(filler).length - 2;
      const evidenceRef = filler.repeat(Math.max(1, Math.floor((size - base) / unit)));
      const body = json({ ...valid, data: { ...(valid.data as Json), evidenceRef } });
      return post(
        'huge-string',
        `${over ? 'over' : 'just under'} the body limit: ${body.length} bytes of ${JSON.stringify(filler)}`,
        '/v1/events',
        body,
        'application/json',
        'providerA',
        over ? {} : { field: '/data/evidenceRef' },
      );
    },
  },
  {
    weight: 4,
    make: (rng, ctx) => {
      const valid = JSON.stringify(validEvent(rng, 'ParticipantEnrolled', ctx));
      const [description, path, text] = rng.pick<[string, string, string]>([
        ['__proto__ at the top', '/v1/events', valid.replace('{', '{"__proto__":{"polluted":"yes"},')],
        ['__proto__ in data', '/v1/events', valid.replace('"data":{', '"data":{"__proto__":{"polluted":"yes"},')],
        [
          'constructor.prototype at the top',
          '/v1/events',
          valid.replace('{', '{"constructor":{"prototype":{"polluted":"yes"}},'),
        ],
        [
          '__proto__ in a batch item',
          '/v1/events/batch',
          `{"events":[${valid.replace('{', '{"__proto__":{"isAdmin":true},')}]}`,
        ],
        ['__proto__ beside events', '/v1/events/batch', `{"__proto__":{"polluted":"yes"},"events":[${valid}]}`],
        [
          'escaped __proto__ key',
          '/v1/events',
          valid.replace('{', '{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":"yes"},'),
        ],
      ]);
      return post(
        'prototype-pollution',
        description,
        path,
        text,
        'application/json',
        'providerA',
        path.endsWith('batch') ? { itemised: true } : {},
      );
    },
  },
  {
    weight: 3,
    make: (rng, ctx) => {
      const [description, type, text] = rng.pick<[string, string, string]>([
        [
          'unclosed quote',
          'ConsentRecorded',
          `programmeId,participantRef,scope,recordedOn\r\n${ctx.programmeId},"P-1,evaluation,2026-01-11\r\n`,
        ],
        [
          'ragged row',
          'ConsentRecorded',
          `programmeId,participantRef,scope,recordedOn\r\n${ctx.programmeId},P-1,evaluation\r\n`,
        ],
        ['header only', 'ConsentRecorded', 'programmeId,participantRef,scope,recordedOn\r\n'],
        [
          '__proto__ column',
          'ConsentRecorded',
          `programmeId,participantRef,scope,recordedOn,__proto__\r\n${ctx.programmeId},P-1,evaluation,2026-01-11,x\r\n`,
        ],
        [
          'constructor.prototype column',
          'ConsentRecorded',
          `programmeId,participantRef,scope,recordedOn,constructor.prototype.polluted\r\n${ctx.programmeId},P-1,evaluation,2026-01-11,x\r\n`,
        ],
        [
          'duplicate column',
          'ConsentRecorded',
          `programmeId,programmeId,participantRef,scope,recordedOn\r\n${ctx.programmeId},x,P-1,evaluation,2026-01-11\r\n`,
        ],
        ['binary', 'ConsentRecorded', '\u0000\u0001\u0002\u00ff\r\n\u0000'],
        [
          'semicolon separated',
          'ConsentRecorded',
          `programmeId;participantRef;scope;recordedOn\r\n${ctx.programmeId};P-1;evaluation;2026-01-11\r\n`,
        ],
        ['SQL in the header', 'ConsentRecorded', `"'; DROP TABLE events; --",participantRef\r\nx,y\r\n`],
        ['JSON instead of CSV', 'ConsentRecorded', '{"events":[]}'],
        ['event type not in the catalogue', "Nope'; DROP TABLE events; --", 'a,b\r\n1,2\r\n'],
        [
          'too many rows',
          'ConsentRecorded',
          `programmeId,participantRef,scope,recordedOn\r\n${`${ctx.programmeId},P-1,evaluation,2026-13-01\r\n`.repeat(5001)}`,
        ],
      ]);
      return post(
        'invalid-csv',
        description,
        `/v1/imports?eventType=${encodeURIComponent(type)}`,
        text,
        'text/csv',
        'providerA',
        { itemised: true },
      );
    },
  },
  {
    weight: 3,
    make: (rng) => {
      const type = rng.pick([
        '',
        'Nope',
        'participantreferred',
        SQL_FRAGMENTS[0]!,
        '__proto__',
        'ParticipantReferred&eventType=SessionAttended',
        'ParticipantReferred&extra=1',
      ]);
      const query = type.includes('&') ? type : encodeURIComponent(type);
      return post('import-query', `eventType=${type}`, `/v1/imports?eventType=${query}`, 'a\r\n1\r\n', 'text/csv');
    },
  },
  {
    weight: 6,
    make: (rng) => {
      const path = rng.pick(REPORT_PATHS);
      const param = rng.pick([
        'programmeId',
        'providerId',
        'from',
        'to',
        'groupBy',
        'cohortFrom',
        'unknown',
        '__proto__',
        'constructor[prototype][polluted]',
        '__proto__[polluted]',
        'format',
      ]);
      // 20,000 characters is past Node's 16 KiB limit on the request line and headers: refused before Fastify routes it.
      const identifier = param === 'programmeId' || param === 'providerId';
      // Each value is wrong for the parameter: some date edges ('yesterday', '2026-1-1') are well-formed identifiers.
      const value = rng.pick([
        ...SQL_FRAGMENTS,
        ...(identifier ? [] : DATE_EDGES),
        '%00',
        '\u0000',
        'a'.repeat(5000),
        'a'.repeat(20_000),
        '[]',
        '{}',
        'x'.repeat(70),
      ]);
      let query = `${param}=${encodeURIComponent(value)}`;
      // A well-formed date would be a valid query: make the value wrong, or send the parameter twice.
      if (rng.chance(0.2)) query += `&${query}`;
      return get('hostile-query', `${path}?${param}=${JSON.stringify(value.slice(0, 40))}`, `${path}?${query}`);
    },
  },
  {
    weight: 3,
    make: (rng) => {
      const raw = rng.pick([
        '%FF',
        '%E0%A4%A',
        '%',
        '%zz',
        '%00',
        "'%20OR%20'1'='1",
        '..%2F..%2Fetc%2Fpasswd',
        'a'.repeat(200),
        '%C0%AF',
        '__proto__',
        '_constructor',
      ]);
      const path = rng.pick([
        `/v1/participants/${raw}/events`,
        `/v1/imports/templates/${raw}`,
        `/v1/reports/attendance?programmeId=${raw}`,
      ]);
      return get('hostile-path', path, path, path.startsWith('/v1/participants') ? 'providerA' : 'commissioner');
    },
  },
  {
    weight: 3,
    make: (rng, ctx) => {
      const key = rng.pick<FuzzKey>(['none', 'garbage']);
      const path = rng.pick([
        '/v1/events',
        '/v1/events/batch',
        '/v1/imports?eventType=ConsentRecorded',
        '/v1/reports/spend',
        '/v1/audit/verify',
      ]);
      const isGet = path.startsWith('/v1/reports') || path.startsWith('/v1/audit');
      if (isGet) return get('unauthenticated', `${key} key to ${path}`, path, key);
      const body = path.startsWith('/v1/imports')
        ? Buffer.from('a\r\n1\r\n')
        : json(validEvent(rng, 'ParticipantReferred', ctx));
      return post(
        'unauthenticated',
        `${key} key to ${path}`,
        path,
        body,
        path.startsWith('/v1/imports') ? 'text/csv' : 'application/json',
        key,
      );
    },
  },
];

const totalWeight = generators.reduce((n, g) => n + g.weight, 0);

/** `count` cases from `seed`; the same seed and context always give the same cases, byte for byte. */
export function generateCases(ctx: FuzzContext): FuzzCase[] {
  const rng = createRng(ctx.seed);
  const cases: FuzzCase[] = [];
  for (let index = 0; index < ctx.count; index++) {
    let roll = rng.int(totalWeight);
    const generator = generators.find((g) => (roll -= g.weight) < 0)!;
    cases.push({ index, ...generator.make(rng, ctx) });
  }
  return cases;
}

/** Garbage bearer tokens: wrong scheme, SQL, the right shape with the wrong secret. */
export const GARBAGE_AUTHORIZATION = [
  "Bearer ' OR '1'='1",
  'Bearer vru_0123456789abcdef_x',
  'Basic YWRtaW46YWRtaW4=',
  'Bearer',
  'vru_',
  'Bearer vru_%00_%00',
  'Bearer ' + 'a'.repeat(4000),
];
