import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { Harness, event } from '@vru/testkit';

const h = await Harness.start();
t.teardown(() => h.close());

type Json = Record<string, unknown>;

const writes = async () => ({ events: await h.count('events'), outbox: await h.count('outbox') });

/** Asserts an RFC 9457 answer: status, content type, code and (when given) the [field, rule] pairs. */
function problem(t: Test, res: LightMyRequestResponse, status: number, code: string, errors?: [string, string][]) {
  t.equal(res.statusCode, status, `answers ${status}: ${res.body.slice(0, 300)}`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'as problem+json');
  const body = res.json();
  t.equal(body.code, code);
  t.equal(body.status, status);
  if (errors)
    t.same(
      body.errors.map((e: { field: string; rule: string }) => [e.field, e.rule]),
      errors,
    );
  return body;
}

async function accepted(body: Json, key = h.keys.providerA) {
  const res = await h.post('/v1/events', body, key);
  if (res.statusCode !== 202) throw new Error(`${String(body.type)} answered ${res.statusCode}: ${res.body}`);
  return res.json<{ status: string; eventId: string; streamVersion: number; position: string }>();
}

async function lastRejection() {
  const [row] = await h.sql<Json[]>`select * from rejected_submissions order by id desc limit 1`;
  return row;
}

await t.test('When the same event is sent twice', async (t) => {
  const referral = event.referred('P-DUP');
  const first = await accepted(referral);
  t.equal(first.status, 'accepted');
  const before = await writes();

  const again = await h.post('/v1/events', referral, h.keys.providerA);
  t.equal(again.statusCode, 202, 'should answer 202');
  t.same(
    again.json(),
    { ...first, status: 'duplicate' },
    'should answer duplicate with the stored version and position',
  );
  t.same(await writes(), before, 'should store nothing');

  const rejectionsBefore = await h.count('rejected_submissions');
  const changed = { ...referral, data: { ...(referral.data as Json), ageAtReferral: 16 } };
  const reused = await h.post('/v1/events', changed, h.keys.providerA);
  problem(t, reused, 409, 'event-id-reused', [['/eventId', 'event-id-reused']]);
  t.same(await writes(), before, 'a reused eventId stores nothing');
  t.equal(await h.count('rejected_submissions'), rejectionsBefore + 1, 'the refusal is recorded');
  t.match(await lastRejection(), {
    rule: 'event-id-reused',
    field: '/eventId',
    event_type: 'ParticipantReferred',
    source: 'api',
  });

  // expectedVersion is a precondition, not part of the fact: re-sending with it is still a duplicate.
  const withVersion = await h.post('/v1/events', { ...referral, expectedVersion: 0 }, h.keys.providerA);
  t.equal(withVersion.json().status, 'duplicate');
});

await t.test('When expectedVersion is given', async (t) => {
  await accepted(event.referred('P-VER'));
  const stale = await h.post(
    '/v1/events',
    event.consent('P-VER', 'evaluation', { expectedVersion: 0 }),
    h.keys.providerA,
  );
  problem(t, stale, 409, 'version-conflict', [['/expectedVersion', 'version-conflict']]);
  const current = await h.post(
    '/v1/events',
    event.consent('P-VER', 'evaluation', { expectedVersion: 1 }),
    h.keys.providerA,
  );
  t.equal(current.statusCode, 202, 'should accept when it matches the stream');
  t.equal(current.json().streamVersion, 2);
  const fresh = await h.post('/v1/events', event.referred('P-VER-NEW', { expectedVersion: 0 }), h.keys.providerA);
  t.equal(fresh.statusCode, 202, 'should accept 0 for a new stream');
});

await t.test('When the input is bad, should refuse it with problem+json and write nothing', async (t) => {
  const before = await writes();
  const valid = event.referred('P-BAD');
  const withData = (data: Json) => ({ ...valid, data: { ...(valid.data as Json), ...data } });
  const { referralDate: _d, ...missing } = valid.data as Json;

  const cases: {
    name: string;
    send: () => Promise<LightMyRequestResponse>;
    status: number;
    code: string;
    errors?: [string, string][];
    recorded?: string;
  }[] = [
    {
      name: 'invalid JSON',
      send: () => h.post('/v1/events', '{"eventId": ', h.keys.providerA),
      status: 400,
      code: 'bad-request',
    },
    {
      name: 'a text/plain body',
      send: () => h.post('/v1/events', JSON.stringify(valid), h.keys.providerA, { 'content-type': 'text/plain' }),
      status: 415,
      code: 'unsupported-media-type',
    },
    {
      name: 'an XML body',
      send: () => h.post('/v1/events', '<event/>', h.keys.providerA, { 'content-type': 'application/xml' }),
      status: 415,
      code: 'unsupported-media-type',
    },
    {
      name: 'a body over the limit',
      send: () =>
        h.post(
          '/v1/events',
          JSON.stringify({ ...valid, pad: 'x'.repeat(h.config.BODY_LIMIT_BYTES) }),
          h.keys.providerA,
        ),
      status: 413,
      code: 'body-too-large',
    },
    {
      name: 'a __proto__ key',
      send: () =>
        h.post('/v1/events', `{"__proto__": {"isAdmin": true}, ${JSON.stringify(valid).slice(1)}`, h.keys.providerA),
      status: 400,
      code: 'forbidden-property-name',
      errors: [['/__proto__', 'forbidden-property-name']],
    },
    {
      name: 'an array body',
      send: () => h.post('/v1/events', [valid], h.keys.providerA),
      status: 422,
      code: 'validation-failed',
      errors: [['/', 'type']],
      recorded: 'type',
    },
    {
      name: 'an unknown type',
      send: () => h.post('/v1/events', { ...valid, type: 'ParticipantVanished' }, h.keys.providerA),
      status: 422,
      code: 'validation-failed',
      errors: [['/type', 'enum']],
      recorded: 'enum',
    },
    {
      name: 'a missing field',
      send: () => h.post('/v1/events', { ...valid, data: missing }, h.keys.providerA),
      status: 422,
      code: 'validation-failed',
      errors: [['/data/referralDate', 'required']],
      recorded: 'required',
    },
    {
      name: 'an unknown property',
      send: () => h.post('/v1/events', withData({ fullName: 'Jo Bloggs' }), h.keys.providerA),
      status: 422,
      code: 'validation-failed',
      errors: [['/data/fullName', 'unknown-property']],
      recorded: 'unknown-property',
    },
    {
      name: 'a value outside an enum',
      send: () => h.post('/v1/events', withData({ referralSource: 'parish-council' }), h.keys.providerA),
      status: 422,
      code: 'validation-failed',
      errors: [['/data/referralSource', 'enum']],
      recorded: 'enum',
    },
    {
      name: 'a date not on the calendar',
      send: () => h.post('/v1/events', withData({ referralDate: '2026-02-30' }), h.keys.providerA),
      status: 422,
      code: 'validation-failed',
      errors: [['/data/referralDate', 'string-format']],
      recorded: 'string-format',
    },
  ];
  for (const c of cases) {
    await t.test(`should refuse ${c.name}`, async (t) => {
      const rejections = await h.count('rejected_submissions');
      const res = await c.send();
      const body = problem(t, res, c.status, c.code, c.errors);
      t.equal(body.requestId, res.headers['x-request-id'], 'the problem names the request');
      if (c.recorded) {
        t.equal(await h.count('rejected_submissions'), rejections + 1, 'one rejected_submissions row');
        t.equal((await lastRejection())!.rule, c.recorded, 'recording the rule');
      }
    });
  }
  t.same(await writes(), before, 'no row in events or outbox');
  const columns = await h.sql<{ column_name: string }[]>`
    select column_name from information_schema.columns where table_name = 'rejected_submissions' order by ordinal_position`;
  t.same(
    columns.map((c) => c.column_name),
    ['id', 'provider_id', 'key_id', 'event_type', 'rule', 'field', 'source', 'received_at'],
    'rejected_submissions keeps no body',
  );
});

await t.test('When the key is missing, unknown or of the wrong role', async (t) => {
  const before = await writes();
  const body = event.referred('P-AUTH');
  problem(t, await h.post('/v1/events', body, null), 401, 'unauthenticated');
  problem(
    t,
    await h.post('/v1/events', body, null, { authorization: h.keys.providerA }),
    401,
    'unauthenticated',
    undefined,
  );
  problem(t, await h.post('/v1/events', body, 'vru_not_a_real_key_0000000000000000'), 401, 'unauthenticated');
  problem(t, await h.post('/v1/events', body, `${h.keys.providerA}x`), 401, 'unauthenticated');
  problem(t, await h.post('/v1/events', body, h.keys.funder), 403, 'forbidden');

  const offence = {
    eventId: randomUUID(),
    type: 'OffenceRecorded',
    schemaVersion: 1,
    occurredAt: '2026-02-10T10:00:00Z',
    providerId: 'prov-a',
    programmeId: 'mentoring-test',
    participantRef: 'P-AUTH',
    data: {
      offenceDate: '2026-01-02',
      provenDate: '2026-02-01',
      disposal: 'caution',
      offenceCategory: 'robbery',
      seriousViolence: true,
    },
  };
  const rejections = await h.count('rejected_submissions');
  problem(t, await h.post('/v1/events', offence, h.keys.providerA), 403, 'role-not-permitted', [
    ['/type', 'role-not-permitted'],
  ]);
  t.match(await lastRejection(), { rule: 'role-not-permitted', event_type: 'OffenceRecorded' });
  const grant = {
    eventId: randomUUID(),
    type: 'GrantAwarded',
    schemaVersion: 1,
    occurredAt: '2026-02-10T10:00:00Z',
    grantRef: 'VRU-TEST-01',
    data: {
      providerId: 'prov-a',
      programmeId: 'mentoring-test',
      amountPence: 100_000,
      startDate: '2026-01-01',
      endDate: '2026-12-31',
      targetParticipants: 10,
    },
  };
  problem(t, await h.post('/v1/events', grant, h.keys.providerA), 403, 'role-not-permitted', [
    ['/type', 'role-not-permitted'],
  ]);
  t.equal(await h.count('rejected_submissions'), rejections + 2);
  t.same(await writes(), before, 'should write nothing');
});

await t.test('When an event breaks a business rule', async (t) => {
  await accepted(event.referred('P-RULE'));
  const before = await writes();
  const res = await h.post('/v1/events', event.attended('P-RULE', 'S-1'), h.keys.providerA);
  problem(t, res, 409, 'session-before-enrolment', [['/data/sessionDate', 'session-before-enrolment']]);
  t.same(await writes(), before, 'should write nothing');
  t.match(await lastRejection(), {
    rule: 'session-before-enrolment',
    field: '/data/sessionDate',
    event_type: 'SessionAttended',
    provider_id: 'prov-a',
  });
});

await t.test('When a batch mixes valid, invalid and duplicate events', async (t) => {
  const known = event.referred('P-BATCH-0');
  await accepted(known);
  const referral = event.referred('P-BATCH');
  const { sessionDate: _d, ...noDate } = event.attended('P-BATCH', 'S-1').data as Json;
  const batch = [
    referral,
    { ...event.attended('P-BATCH', 'S-1'), data: noDate },
    known,
    event.consent('P-BATCH'),
    event.attended('P-BATCH', 'S-2'),
    referral,
  ];
  const before = await writes();
  const rejections = await h.count('rejected_submissions');
  const res = await h.post('/v1/events/batch', { events: batch }, h.keys.providerA);
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.same(
    body.results.map((r: { index: number; status: string }) => [r.index, r.status]),
    [
      [0, 'accepted'],
      [1, 'rejected'],
      [2, 'duplicate'],
      [3, 'accepted'],
      [4, 'rejected'],
      [5, 'duplicate'],
    ],
    'should answer per event, in input order',
  );
  t.same([body.accepted, body.duplicates, body.rejected], [2, 2, 2]);
  t.same(
    body.results[1].problem.errors.map((e: { field: string; rule: string }) => [e.field, e.rule]),
    [['/data/sessionDate', 'required']],
  );
  t.equal(body.results[4].problem.code, 'session-before-enrolment');
  t.same(
    body.results.map((r: { eventId: string }) => r.eventId),
    batch.map((e) => e.eventId),
  );
  t.same(await writes(), { events: before.events + 2, outbox: before.outbox + 2 }, 'should store only the accepted');
  t.equal(await h.count('rejected_submissions'), rejections + 2, 'one rejected_submissions row per refused event');

  const retry = (await h.post('/v1/events/batch', { events: batch }, h.keys.providerA)).json();
  t.same(
    retry.results.map((r: { status: string }) => r.status),
    ['duplicate', 'rejected', 'duplicate', 'duplicate', 'rejected', 'duplicate'],
    'a retry changes nothing',
  );
  t.same(
    [retry.results[0].streamVersion, retry.results[3].streamVersion],
    [body.results[0].streamVersion, body.results[3].streamVersion],
  );
  t.same(await writes(), { events: before.events + 2, outbox: before.outbox + 2 });
});

await t.test('When a batch has more than 1000 events', async (t) => {
  const before = await writes();
  const events = Array.from({ length: 1001 }, (_, i) => event.referred(`P-BIG-${i}`));
  problem(t, await h.post('/v1/events/batch', { events }, h.keys.providerA), 422, 'validation-failed');
  t.same(await writes(), before, 'should write nothing');
});

await t.test("When a provider reads a participant's history", async (t) => {
  const ref = 'P-HIST';
  const history = [event.referred(ref), event.consent(ref), event.enrolled(ref), event.attendedV1(ref, 'S-1')];
  for (const e of history) await accepted(e);
  const [stored] = await h.sql<
    { schema_version: number }[]
  >`select schema_version from events where event_id = ${history[3]!.eventId as string}`;
  t.equal(stored!.schema_version, 1, 'the v1 session is stored as sent');

  const res = await h.get(`/v1/participants/${ref}/events`, h.keys.providerA);
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.equal(body.streamVersion, 4);
  t.same(
    body.events.map((e: { eventId: string }) => e.eventId),
    history.map((e) => e.eventId),
    'should list the events in order',
  );
  t.match(
    body.events[3],
    { type: 'SessionAttended', schemaVersion: 2, data: { sessionId: 'S-1', deliveredBy: 'not-recorded' } },
    'should upcast v1 to v2',
  );
  t.notOk(
    'providerId' in body.events[0] || 'streamId' in body.events[0],
    'should not expose the stream id or provider',
  );

  problem(t, await h.get(`/v1/participants/${ref}/events`, h.keys.providerB), 404, 'not-found');
  await accepted(event.referred(ref), h.keys.providerB);
  const own = (await h.get(`/v1/participants/${ref}/events`, h.keys.providerB)).json();
  t.equal(own.events.length, 1, 'the same reference at another provider is another participant');
  t.equal((await h.get(`/v1/participants/${ref}/events`, h.keys.providerA)).json().events.length, 4);
  problem(t, await h.get(`/v1/participants/${ref}/events`, h.keys.commissioner), 403, 'forbidden');
});

await t.test('When a request carries x-request-id', async (t) => {
  const requestId = `it-${randomUUID()}`;
  const referral = event.referred('P-REQ');
  const res = await h.post('/v1/events', referral, h.keys.providerA, { 'x-request-id': requestId });
  t.equal(res.statusCode, 202);
  t.equal(res.headers['x-request-id'], requestId, 'should echo it');
  const [row] = await h.sql<
    { metadata: { requestId: string; source: string } }[]
  >`select metadata from events where event_id = ${referral.eventId as string}`;
  t.equal(row!.metadata.requestId, requestId, 'should store it with the event');
  t.equal(row!.metadata.source, 'api');

  const generated = await h.post('/v1/events', event.referred('P-REQ-2'), null);
  t.match(generated.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'should give every response one, problems included');
  const malformed = await h.post('/v1/events', event.referred('P-REQ-3'), null, {
    'x-request-id': 'bad id with spaces',
  });
  t.not(malformed.headers['x-request-id'], 'bad id with spaces', 'should replace a malformed one');
});

// The root test ends here, not at process exit: the open pools would otherwise keep the process alive.
t.end();
