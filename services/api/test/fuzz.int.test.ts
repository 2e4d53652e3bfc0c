import { randomInt } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { eventDefinition } from '@vru/contracts';
import { Harness, PROGRAMME, event } from '@vru/testkit';
import { GARBAGE_AUTHORIZATION, SQL_FRAGMENTS, generateCases, type FuzzCase } from '@vru/testkit/fuzz';

// Replay a failure with the seed it printed: FUZZ_SEED=123 FUZZ_COUNT=3000.
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : randomInt(2 ** 31);
const count = process.env.FUZZ_COUNT ? Number(process.env.FUZZ_COUNT) : 3000;
// A small body limit keeps "just over the limit" cheap; the rate limit is out of the way so every input meets the validators.
const BODY_LIMIT = 256 * 1024;

const h = await Harness.start({ env: { BODY_LIMIT_BYTES: String(BODY_LIMIT), RATE_LIMIT_PER_MINUTE: '10000000' } });
t.teardown(() => h.close());
t.comment(`fuzz: FUZZ_SEED=${seed} FUZZ_COUNT=${count}`);

// Raw bytes and content types matter here, so the app listens and is spoken to over real HTTP.
await h.app.listen({ host: '127.0.0.1', port: 0 });
const { port } = h.app.server.address() as AddressInfo;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
t.teardown(() => agent.destroy());

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

function send(method: string, path: string, headers: Record<string, string>, body: Buffer | null): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'] ?? '',
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 15 s')));
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

function headersFor(c: FuzzCase): Record<string, string> {
  const headers: Record<string, string> = {};
  if (c.contentType !== null) headers['content-type'] = c.contentType;
  if (c.key === 'garbage') headers.authorization = GARBAGE_AUTHORIZATION[c.index % GARBAGE_AUTHORIZATION.length]!;
  else if (c.key !== 'none') headers.authorization = `Bearer ${h.keys[c.key]}`;
  return headers;
}

type Json = Record<string, any>;

/** Whether a field an error names is the one the case broke, or contains it, or lies inside it. */
const names = (errors: { field?: unknown }[], field: string) =>
  errors.some(
    (e) =>
      typeof e.field === 'string' &&
      (e.field === field || e.field.startsWith(`${field}/`) || field.startsWith(`${e.field}/`) || e.field === '/'),
  );

/** What is wrong with an answer, or null when it is a proper refusal. */
function fault(c: FuzzCase, a: Answer): string | null {
  let body: Json;
  try {
    body = JSON.parse(a.body);
  } catch {
    return `body is not JSON: ${a.body.slice(0, 120)}`;
  }
  if (a.status === 200 && c.itemised) {
    // Batch and CSV answers list each item; a refusal is then a 200 where nothing was accepted.
    if (body.accepted !== 0) return `accepted ${body.accepted} item(s)`;
    if (!Array.isArray(body.results) || body.results.some((r: Json) => r.status === 'accepted'))
      return 'an item is not refused';
    return null;
  }
  if (a.status < 400 || a.status >= 500) return `status ${a.status}`;
  if (!a.contentType.startsWith('application/problem+json')) return `content-type ${a.contentType}`;
  if (typeof body.type !== 'string' || typeof body.title !== 'string' || body.status !== a.status)
    return 'not a problem (type/title/status)';
  if (body.code === 'validation-failed') {
    if (!Array.isArray(body.errors) || body.errors.length === 0) return 'validation-failed without errors';
    if (body.errors.some((e: Json) => typeof e.field !== 'string' || typeof e.rule !== 'string'))
      return 'an error without field or rule';
    if (c.field && !names(body.errors, c.field))
      return `errors do not name ${c.field}: ${JSON.stringify(body.errors).slice(0, 200)}`;
  }
  return null;
}

/** Count and checksum of every table the store writes, to prove a refused request wrote nothing. */
async function storeSnapshot() {
  const out: Record<string, string> = {};
  for (const table of ['streams', 'events', 'outbox', 'audit_log_leaves']) {
    const [row] = await h.sql.unsafe<{ n: number; sum: string }[]>(
      `select count(*)::int as n, coalesce(md5(string_agg(t::text, '|' order by t::text)), '-') as sum from ${table} t`,
    );
    out[table] = `${row!.n} rows, md5 ${row!.sum}`;
  }
  return out;
}

const prototypeNames = () => ({
  object: Object.getOwnPropertyNames(Object.prototype).sort(),
  array: Object.getOwnPropertyNames(Array.prototype).sort(),
});

// Something to protect: a grant and an enrolled participant, so refusals meet real streams.
await h.postAccepted([event.referred('FUZZ-1'), event.consent('FUZZ-1'), event.enrolled('FUZZ-1')], h.keys.providerA);
await h.postAccepted(
  [
    {
      eventId: '6c1b0a1e-2f57-4a5b-9d59-2b1d2d6f0a01',
      type: 'GrantAwarded',
      schemaVersion: 1,
      occurredAt: '2026-01-01T10:00:00Z',
      grantRef: 'G-FUZZ',
      data: {
        providerId: 'prov-a',
        programmeId: PROGRAMME,
        amountPence: 1_000_000,
        startDate: '2026-01-01',
        endDate: '2026-12-31',
        targetParticipants: 10,
      },
    },
  ],
  h.keys.commissioner,
);

await t.test(
  `${count} malformed and hostile requests are each refused with a problem, and change nothing`,
  async (t) => {
    const cases = generateCases({
      seed,
      count,
      bodyLimit: BODY_LIMIT,
      programmeId: PROGRAMME,
      participantRef: 'FUZZ-1',
      grantRef: 'G-FUZZ',
      providerId: 'prov-a',
    });
    const before = await storeSnapshot();
    const prototypesBefore = prototypeNames();
    const faults: string[] = [];
    const statuses = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        let answer: Answer;
        try {
          answer = await send(c.method, c.path, headersFor(c), c.body);
        } catch (err) {
          faults.push(`#${c.index} ${c.kind} (${c.description}): ${(err as Error).message}`);
          continue;
        }
        const tally = `${c.kind} ${answer.status}`;
        statuses.set(tally, (statuses.get(tally) ?? 0) + 1);
        const wrong = fault(c, answer);
        if (wrong)
          faults.push(
            `#${c.index} ${c.kind} ${c.method} ${c.path.slice(0, 80)} (${c.description.slice(0, 200)}): ${wrong}`,
          );
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    t.comment(
      [...statuses]
        .sort()
        .map(([k, n]) => `${k}: ${n}`)
        .join(', '),
    );
    if (faults.length > 0 && process.env.FUZZ_VERBOSE) process.stderr.write(`${faults.join('\n')}\n`);
    t.same(faults.slice(0, 25), [], `every answer is a 4xx problem (seed ${seed}; ${faults.length} faults)`);

    const health = await send('GET', '/healthz', {}, null);
    t.equal(health.status, 200, 'the process is still up');
    t.same(await storeSnapshot(), before, 'the event store is unchanged: streams, events, outbox, audit log');
    t.same(prototypeNames(), prototypesBefore, 'Object.prototype and Array.prototype have no new properties');
    t.equal(({} as Json).polluted, undefined);
    t.equal(({} as Json).isAdmin, undefined);
  },
);

/** Asserts a problem answer over HTTP: status, content type and code. */
function isProblem(t: Test, a: Answer, status: number, code: string) {
  t.equal(a.status, status, a.body.slice(0, 200));
  t.match(a.contentType, /^application\/problem\+json/);
  const body = JSON.parse(a.body) as Json;
  t.equal(body.status, status);
  t.equal(body.code, code);
}

await t.test(
  'hostile text in an evidence reference is refused by name, never a 5xx; a reference of the pattern is stored',
  async (t) => {
    const references = ['INV-2026/0042', 'a.b_c-1'];
    const texts = [
      ...SQL_FRAGMENTS,
      'INV\u0000',
      'INV\ud800',
      'INV\udfff\ud800',
      '\u202eINV',
      '<script>alert(1)</script>',
      'INV\u0001\u001f',
      '🧨',
      '\\u0000',
      'Jane Doe 2009-03-04',
      'INV 42',
      '-INV',
      'I'.repeat(65),
      ...references,
    ];
    const reference = new RegExp(
      (eventDefinition('SpendRecorded')!.versions[2]!.properties.evidenceRef as { pattern: string }).pattern,
    );
    for (const [i, evidenceRef] of texts.entries()) {
      const eventId = `6c1b0a1e-2f57-4a5b-9d59-2b1d2d6f1${String(i).padStart(3, '0')}`;
      const answer = await send(
        'POST',
        '/v1/events',
        { 'content-type': 'application/json', authorization: `Bearer ${h.keys.providerA}` },
        Buffer.from(
          JSON.stringify({
            eventId,
            type: 'SpendRecorded',
            schemaVersion: 2,
            occurredAt: '2026-10-01T10:00:00Z',
            grantRef: 'G-FUZZ',
            data: {
              amountPence: 100,
              category: 'staff',
              periodStart: '2026-07-01',
              periodEnd: '2026-09-30',
              evidenceRef,
            },
          }),
        ),
      );
      const what = `evidenceRef ${JSON.stringify(evidenceRef)}`;
      if (reference.test(evidenceRef)) {
        t.equal(answer.status, 202, `${what} fits the pattern: ${answer.body.slice(0, 200)}`);
        const [row] = await h.sql<{ data: Json }[]>`select data from events where event_id = ${eventId}`;
        t.equal(row?.data.evidenceRef, evidenceRef, `${what} is stored verbatim`);
      } else {
        t.equal(answer.status, 422, `${what}: ${answer.body.slice(0, 200)}`);
        t.match(answer.contentType, /^application\/problem\+json/);
        t.ok(names(JSON.parse(answer.body).errors ?? [], '/data/evidenceRef'), `${what} is refused by name`);
      }
    }
  },
);

// Regressions the fuzz test found: answers Fastify and Node wrote themselves, as plain application/json.
await t.test('a path with malformed percent-encoding is a 400 problem', async (t) => {
  isProblem(
    t,
    await send('GET', '/v1/participants/%zz/events', { authorization: `Bearer ${h.keys.providerA}` }, null),
    400,
    'bad-request',
  );
  isProblem(
    t,
    await send('GET', '/v1/imports/templates/%C0%AF', { authorization: `Bearer ${h.keys.providerA}` }, null),
    400,
    'bad-request',
  );
});

await t.test('a path parameter over the length limit is a 414 problem', async (t) => {
  isProblem(
    t,
    await send(
      'GET',
      `/v1/imports/templates/${'a'.repeat(200)}`,
      { authorization: `Bearer ${h.keys.providerA}` },
      null,
    ),
    414,
    'uri-too-long',
  );
});

await t.test(
  'a request line over 16 KiB is a 431 problem that closes the connection, and the next request is served',
  async (t) => {
    const answer = await send(
      'GET',
      `/v1/reports/spend?programmeId=${'a'.repeat(20_000)}`,
      { authorization: `Bearer ${h.keys.commissioner}` },
      null,
    );
    isProblem(t, answer, 431, 'headers-too-large');
    const next = await send('GET', '/healthz', {}, null);
    t.equal(next.status, 200);
  },
);

t.end();
