import { randomUUID } from 'node:crypto';
import t from 'tap';
import { eventDefinition, matchToken } from '@vru/contracts';
import { applyRetention, CommandHandler } from '@vru/api';
import { participantsProjection, rebuildProjection } from '@vru/projector';
import { Harness, PROGRAMME, event, journey, topicReader } from '@vru/testkit';

/**
 * On the real services: role and tenant isolation on every endpoint, key lifecycle, crypto-shredding
 * erasure, data-partner matching, retention and the funders' evidence trail.
 */
const h = await Harness.start();
t.teardown(() => h.close());

type Json = Record<string, unknown>;
const MATCHING_KEY = 'shared-by-providers-and-police-never-by-the-vru';
const grantEvent = (type: string, grantRef: string, data: Json): Json => ({
  eventId: randomUUID(),
  type,
  schemaVersion: eventDefinition(type)!.latest,
  occurredAt: '2026-02-10T10:00:00Z',
  grantRef,
  data,
});
const offence = (data: Partial<Json> = {}): Json => ({
  offenceDate: '2026-03-01',
  provenDate: '2026-03-20',
  disposal: 'conviction',
  offenceCategory: 'robbery',
  seriousViolence: true,
  ...data,
});
const streamVersion = async (ref: string, key = h.keys.providerA) =>
  (await h.get(`/v1/participants/${ref}/events`, key)).json().streamVersion as number;

// Provider A's world: two participants and a grant with spend. Provider B has one participant of its own.
await h.postAccepted(
  [...journey('P-A1', { attended: 2, missed: 1 }), ...journey('P-A2', { attended: 1, missed: 0 })],
  h.keys.providerA,
);
await h.postAccepted(journey('P-B1', { attended: 1, missed: 0 }), h.keys.providerB);
await h.postAccepted(
  [
    grantEvent('GrantAwarded', 'G-A', {
      providerId: 'prov-a',
      programmeId: PROGRAMME,
      amountPence: 5_000_000,
      startDate: '2026-01-01',
      endDate: '2026-12-31',
      targetParticipants: 10,
    }),
  ],
  h.keys.commissioner,
);
await h.postAccepted(
  [
    grantEvent('SpendRecorded', 'G-A', {
      amountPence: 120_000,
      category: 'staff',
      periodStart: '2026-01-01',
      periodEnd: '2026-03-31',
      evidenceRef: 'INV-7',
    }),
  ],
  h.keys.providerA,
);
await h.startRelay();
await h.startProjectors();

const keyOf: Record<string, string> = {
  provider: h.keys.providerB,
  'data-partner': h.keys.dataPartner,
  commissioner: h.keys.commissioner,
  funder: h.keys.funder,
  admin: h.keys.admin,
};
/** A request that passes a route's schema for the role checks to be the only thing that can refuse it. */
const QUERY: Record<string, string> = {
  '/v1/audit/events': 'grantRef=G-A',
  '/v1/audit/evidence-pack': 'grantRef=G-A',
  '/v1/audit/log/consistency': 'from=1&to=1',
  '/v1/audit/log/inclusion': 'eventId=00000000-0000-4000-8000-000000000000',
  '/v1/reports/reoffending': 'cohortFrom=2026-01-01&cohortTo=2026-12-31',
  '/v1/imports': 'eventType=SessionAttended',
  '/v1/reports/quarterly-return': 'quarter=2026Q1',
};
const urlFor = (route: string, extra = '') => {
  const path = route
    .replace(':participantRef', 'P-A1')
    .replace(':eventType', 'SessionAttended')
    .replace(':keyId', '0123456789abcdef')
    .replace(':providerId', 'prov-z')
    .replace(':programmeId', 'prog-z');
  const query = [QUERY[route], extra].filter(Boolean).join('&');
  return query ? `${path}?${query}` : path;
};
const call = (method: string, route: string, key: string | null, extra = '') =>
  h.app.inject({
    method: method as 'GET',
    url: urlFor(route, extra),
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json' },
    ...(method === 'GET' ? {} : { payload: '{}' }),
  });

await t.test(
  'every protected endpoint refuses a missing key (401) and every role outside its list (403)',
  async (t) => {
    const routes = h.app.protectedRoutes;
    t.ok(routes.length >= 20, `${routes.length} protected routes enumerated from the app`);
    for (const r of routes) {
      const anonymous = await call(r.method, r.url, null);
      t.equal(anonymous.statusCode, 401, `${r.method} ${r.url} without a key`);
      for (const [role, key] of Object.entries(keyOf)) {
        if (r.roles.includes(role as never)) continue;
        const res = await call(r.method, r.url, key);
        t.equal(res.statusCode, 403, `${r.method} ${r.url} as ${role}`);
        t.match(res.headers['content-type'], /application\/problem\+json/);
      }
    }
  },
);

await t.test('a provider can read nothing of another provider, on every endpoint it may call', async (t) => {
  await h.waitForProjections(['participants', 'attendance', 'spend'], 1);
  await h.waitFor('provider A figures projected', async () =>
    (await h.getReport('/v1/reports/attendance', h.keys.providerA)).body.rows[0]?.participants === 2 ? true : undefined,
  );
  const readable = h.app.protectedRoutes.filter((r) => r.method === 'GET' && r.roles.includes('provider'));
  t.ok(readable.length >= 8, `${readable.length} GET endpoints open to provider keys`);
  for (const r of readable) {
    // Naming another provider is refused centrally, whatever the route.
    const named = await call('GET', r.url, h.keys.providerB, 'providerId=prov-a');
    t.equal(named.statusCode, 403, `${r.url}?providerId=prov-a as provider B`);
    t.equal(named.json().code, 'other-provider');
    // Without naming one, provider B's answer holds nothing of provider A's.
    const own = await call('GET', r.url, h.keys.providerB);
    t.ok([200, 404].includes(own.statusCode), `${r.url} as provider B answers ${own.statusCode}`);
    // (A 404 echoes the requested path, which is provider B's own request, not provider A's data.)
    const shown = own.statusCode === 404 ? '' : own.body;
    for (const marker of ['prov-a', 'P-A1', 'G-A"', 'INV-7'])
      t.notOk(shown.includes(marker), `${r.url} shows no ${marker} to provider B`);
  }
  // And the same report, for provider A, does show A's own figures (so the check above could have failed).
  t.equal((await h.getReport('/v1/reports/attendance', h.keys.providerA)).body.rows[0].participants, 2);
  t.equal((await h.getReport('/v1/reports/attendance', h.keys.providerB)).body.rows[0].participants, 1);
});

await t.test('a provider can write nothing to another provider, on every endpoint it may write to', async (t) => {
  const writable = h.app.protectedRoutes
    .filter((r) => r.method !== 'GET' && r.roles.includes('provider'))
    .map((r) => `${r.method} ${r.url}`)
    .sort();
  // A new write endpoint open to providers must be added to the attempts below: this list is the contract.
  t.same(writable, [
    'POST /v1/events',
    'POST /v1/events/batch',
    'POST /v1/imports',
    'POST /v1/participants/:participantRef/erasure',
  ]);
  const before = await streamVersion('P-A1');
  const single = await h.post('/v1/events', event.attended('P-A1', 'S-B-1', '2026-02-20'), h.keys.providerB);
  t.equal(single.statusCode, 409, "A's reference from B names B's own (unknown) participant");
  t.equal(single.json().code, 'unknown-participant');
  const spend = await h.post(
    '/v1/events',
    grantEvent('SpendRecorded', 'G-A', {
      amountPence: 1,
      category: 'staff',
      periodStart: '2026-01-01',
      periodEnd: '2026-01-31',
      evidenceRef: 'X',
    }),
    h.keys.providerB,
  );
  t.equal(spend.statusCode, 409);
  t.equal(spend.json().code, 'unknown-grant');
  const batch = await h.post(
    '/v1/events/batch',
    { events: [event.attended('P-A1', 'S-B-2', '2026-02-21')] },
    h.keys.providerB,
  );
  t.equal(batch.json().rejected, 1);
  const csv = await h.app.inject({
    method: 'POST',
    url: '/v1/imports?eventType=SessionAttended',
    headers: { authorization: `Bearer ${h.keys.providerB}`, 'content-type': 'text/csv' },
    payload: `programmeId,participantRef,sessionId,sessionDate,durationMinutes,sessionType,deliveredBy\n${PROGRAMME},P-A1,S-B-3,2026-02-22,60,group,staff\n`,
  });
  t.equal(csv.json().rejected, 1, "CSV row for A's reference refused");
  const erase = await h.post('/v1/participants/P-A1/erasure', { programmeId: PROGRAMME }, h.keys.providerB);
  t.equal(erase.statusCode, 409);
  t.equal(await streamVersion('P-A1'), before, "provider A's participant is unchanged");
  t.equal(await h.count(`participant_keys`), 3, 'no key destroyed');
});

await t.test(
  'personal fields are stored and published only encrypted; erasure destroys them and keeps the counts',
  async (t) => {
    const [stored] = await h.sql<{ data: string }[]>`
    select data::text from events where type = 'ParticipantReferred' order by position limit 1`;
    t.notMatch(
      stored!.data,
      /white-british|DE23|school-exclusion|"gender"/,
      'no personal field in clear in the event log',
    );
    t.match(stored!.data, /"\$sealed": "v1\./);
    // What the relay published: read the topic back from the start with a consumer of our own.
    const published: string[] = [];
    const consumer = topicReader(h, 'trust-reader');
    await consumer.connect();
    await consumer.subscribe({ topic: h.config.KAFKA_TOPIC, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void published.push(message.value?.toString() ?? '') });
    const referrals = await h.waitFor('the referrals on the topic', async () => {
      const found = published.filter((m) => m.includes('"ParticipantReferred"'));
      return found.length >= 3 ? found : undefined;
    });
    await consumer.disconnect();
    for (const m of referrals)
      t.notMatch(m, /white-british|DE23|school-exclusion|"gender"/, 'no personal field in clear on Kafka');
    const history = (await h.get('/v1/participants/P-A1/events', h.keys.providerA)).json();
    t.match(
      history.events[0].data,
      { gender: 'male', ethnicity: 'white-british', postcodeDistrict: 'DE23' },
      'the provider reads its own participant in clear',
    );

    const engagementBefore = (await h.getReport('/v1/reports/engagement', h.keys.providerA)).body;
    t.ok(engagementBefore.rows.length > 0, 'provider A has engagement figures');
    const res = await h.post(
      '/v1/participants/P-A1/erasure',
      { programmeId: PROGRAMME, requestedOn: '2026-05-01' },
      h.keys.providerA,
    );
    t.equal(res.statusCode, 202, res.body);
    const again = await h.post(
      '/v1/participants/P-A1/erasure',
      { programmeId: PROGRAMME, requestedOn: '2026-05-01' },
      h.keys.providerA,
    );
    t.equal(again.json().status, 'duplicate', 'a retried erasure is a duplicate');
    t.equal(
      (
        await h.sql`select 1 from participant_keys k join events e using (stream_id) where e.event_id = ${history.events[0].eventId}`
      ).length,
      0,
      'the key is gone',
    );

    const after = (await h.get('/v1/participants/P-A1/events', h.keys.providerA)).json();
    t.same(
      Object.keys(after.events[0].data).sort(),
      ['$erased', 'referralDate', 'referralSource'],
      'only the non-personal fields are left, marked erased',
    );
    t.equal(after.events.length, history.events.length + 1, 'no event removed: the log is append-only');
    const later = await h.post('/v1/events', event.attended('P-A1', 'S-9', '2026-02-25'), h.keys.providerA);
    t.equal(later.statusCode, 409);
    t.equal(later.json().code, 'participant-erased');

    await h.waitFor('the read model to drop the demographics', async () => {
      const [row] = await h.sql<{ gender: string | null; referral_date: string | null }[]>`
      select p.gender, p.referral_date::text from rm_participants.participants p
      join events e on e.stream_id = p.stream_id where e.event_id = ${history.events[0].eventId}`;
      return row?.gender === null ? row : undefined;
    });
    const engagementAfter = (await h.getReport('/v1/reports/engagement', h.keys.providerA)).body;
    t.same(engagementAfter.rows, engagementBefore.rows, 'reported counts are unchanged by the erasure');

    // A rebuild after erasure replays the sealed event without its key: it must not fail, and must agree.
    const live = await h.sql`select * from rm_participants.participants order by stream_id`;
    await rebuildProjection(h.sql, participantsProjection, h.logger, { vault: h.vault });
    const rebuilt = await h.sql`select * from rm_participants.participants order by stream_id`;
    t.same(rebuilt, live, 'the rebuilt read model equals the live one');
  },
);

await t.test(
  "data partners link offences by match token, without seeing or sending the provider's reference",
  async (t) => {
    const token = matchToken(MATCHING_KEY, { familyName: "O'Brien", givenName: 'Zoë', dateOfBirth: '2010-04-02' });
    t.equal(
      token,
      matchToken(MATCHING_KEY, { familyName: 'obrien', givenName: 'ZOE', dateOfBirth: '2010-04-02' }),
      'normalised the same on both sides',
    );
    await h.postAccepted(
      [{ ...event.consent('P-A2', 'service-delivery'), type: 'MatchTokenRecorded', data: { matchToken: token } }],
      h.keys.providerA,
    );
    const [row] = await h.sql<{ data: string }[]>`select data::text from events where type = 'MatchTokenRecorded'`;
    t.notOk(row!.data.includes(token), 'the token itself is stored encrypted');
    t.notOk(
      (await h.sql`select 1 from match_index where lookup = ${token}`).length,
      'the index holds a keyed hash, not the token',
    );

    const submit = (body: Json) =>
      h.post(
        '/v1/events',
        {
          eventId: randomUUID(),
          type: 'OffenceRecorded',
          schemaVersion: 1,
          occurredAt: '2026-03-21T10:00:00Z',
          ...body,
        },
        h.keys.dataPartner,
      );
    const matched = await submit({ matchToken: token, data: offence() });
    t.equal(matched.statusCode, 202, matched.body);
    const [stored] = await h.sql<
      { provider_id: string; programme_id: string }[]
    >`select provider_id, programme_id from events where type = 'OffenceRecorded'`;
    t.same(stored, { provider_id: 'prov-a', programme_id: PROGRAMME }, "recorded on provider A's participant");

    const unknown = await submit({ matchToken: 'f'.repeat(64), data: offence() });
    t.equal(unknown.statusCode, 422);
    t.same(unknown.json().errors[0], {
      field: '/matchToken',
      rule: 'no-match',
      message: unknown.json().errors[0].message,
    });
    const neither = await submit({ data: offence() });
    t.equal(neither.statusCode, 422);
    t.equal(neither.json().errors[0].field, '/matchToken');

    // The same person with provider B too: ambiguous until the partner says which provider's participant it means.
    await h.postAccepted(
      [{ ...event.consent('P-B1', 'service-delivery'), type: 'MatchTokenRecorded', data: { matchToken: token } }],
      h.keys.providerB,
    );
    const ambiguous = await submit({ matchToken: token, data: offence({ offenceDate: '2026-03-02' }) });
    t.equal(ambiguous.statusCode, 409);
    t.equal(ambiguous.json().code, 'ambiguous-match');
    const narrowed = await submit({
      matchToken: token,
      providerId: 'prov-b',
      data: offence({ offenceDate: '2026-03-02' }),
    });
    t.equal(narrowed.statusCode, 202, narrowed.body);
    const providerB = await h.post(
      '/v1/events',
      { ...event.consent('P-B1', 'service-delivery'), type: 'OffenceRecorded', providerId: 'prov-b', data: offence() },
      h.keys.providerB,
    );
    t.equal(providerB.statusCode, 403, 'providers cannot submit offences');
  },
);

await t.test(
  'API keys: issued, listed by prefix only, rotated with a grace period, revoked, and each use attributable',
  async (t) => {
    const escalation = await h.post(
      '/v1/admin/keys',
      { role: 'provider', providerId: 'prov-b', label: 'case system' },
      h.keys.commissioner,
    );
    t.equal(
      escalation.statusCode,
      403,
      "a commissioner cannot mint a provider key (it would read that provider's figures unsuppressed)",
    );
    t.equal(escalation.json().errors[0].rule, 'role-not-grantable');
    const issued = await h.post(
      '/v1/admin/keys',
      { role: 'provider', providerId: 'prov-b', label: 'case system' },
      h.keys.admin,
    );
    t.equal(issued.statusCode, 201, issued.body);
    const { apiKey, key } = issued.json();
    t.match(apiKey, /^vru_[a-f0-9]{16}_/);
    t.equal((await h.get('/v1/reports/attendance', apiKey)).statusCode, 200, 'the new key works');

    const listed = await h.get('/v1/admin/keys?role=provider', h.keys.commissioner);
    t.ok(
      listed
        .json()
        .keys.some((k: Json) => k.keyId === key.keyId && k.prefix === `vru_${key.keyId}_` && k.lastUsedAt !== null),
    );
    const secret = (apiKey as string).slice(key.prefix.length);
    t.equal(secret.length, 43);
    t.notOk(listed.body.includes(secret), 'the secret is never listed');
    const [stored] = await h.sql<
      { row: string }[]
    >`select row(k.*)::text as row from api_keys k where key_id = ${key.keyId}`;
    t.notOk(stored!.row.includes(secret), 'only a keyed hash is stored');

    t.equal(
      (await h.post('/v1/admin/keys', { role: 'admin' }, h.keys.commissioner)).statusCode,
      403,
      'a commissioner cannot mint an admin key',
    );
    t.equal((await h.post('/v1/admin/keys', { role: 'provider' }, h.keys.admin)).json().errors[0].field, '/providerId');
    t.equal(
      (await h.post('/v1/admin/keys', { role: 'provider', providerId: 'nobody' }, h.keys.admin)).json().errors[0].rule,
      'unknown-provider',
    );

    t.equal(
      (await h.post(`/v1/admin/keys/${key.keyId}/rotate`, { graceHours: 0 }, h.keys.commissioner)).statusCode,
      403,
      'nor rotate one (a rotation issues a new key)',
    );
    const rotated = await h.post(`/v1/admin/keys/${key.keyId}/rotate`, { graceHours: 0 }, h.keys.admin);
    t.equal(rotated.statusCode, 201, rotated.body);
    t.equal(rotated.json().key.rotatedFrom, key.keyId);
    t.equal(
      (await h.get('/v1/reports/attendance', apiKey)).statusCode,
      401,
      'the old key stops at the end of its (zero) grace period',
    );
    const replacement = rotated.json().apiKey as string;
    t.equal((await h.get('/v1/reports/attendance', replacement)).statusCode, 200);

    const graced = await h.post(`/v1/admin/keys/${rotated.json().key.keyId}/rotate`, { graceHours: 1 }, h.keys.admin);
    t.equal(
      (await h.get('/v1/reports/attendance', replacement)).statusCode,
      200,
      'within the grace period the old key still works',
    );
    const revoked = await h.post(`/v1/admin/keys/${graced.json().key.keyId}/revoke`, {}, h.keys.commissioner);
    t.ok(revoked.json().revokedAt, 'a commissioner may still revoke a provider key');
    t.equal(
      (await h.get('/v1/reports/attendance', graced.json().apiKey)).statusCode,
      401,
      'a revoked key is refused at once',
    );

    const used = await h.post('/v1/events', event.referred('P-B9'), replacement);
    t.equal(used.statusCode, 202);
    const [meta] = await h.sql<
      { metadata: Json }[]
    >`select metadata from events where event_id = ${used.json().eventId}`;
    t.equal(meta!.metadata.keyId, rotated.json().key.keyId, 'the event records which key submitted it');
  },
);

await t.test('funders get the evidence trail behind a grant: who submitted what, when, with which key', async (t) => {
  const res = await h.get('/v1/audit/events?grantRef=G-A', h.keys.funder);
  t.equal(res.statusCode, 200, res.body);
  const trail = res.json();
  t.equal(trail.providerId, 'prov-a');
  t.same(
    trail.events.map((e: Json) => e.type),
    ['GrantAwarded', 'SpendRecorded'],
  );
  t.match(trail.events[1], {
    data: { evidenceRef: 'INV-7' },
    submittedBy: { role: 'provider', keyLabel: 'test', source: 'api' },
  });
  t.equal((await h.get('/v1/audit/events?grantRef=G-A', h.keys.providerA)).statusCode, 403);
});

await t.test('retention erases participants idle past the period, once, and deletes old refusal records', async (t) => {
  const commands = new CommandHandler(h.sql, h.config.PSEUDONYM_SECRET, h.config.PERSONAL_DATA_KEY);
  await h.sql`insert into rejected_submissions (key_id, rule, source, received_at) values ('k', 'r', 'api', now() - interval '400 days')`;
  // Every participant here last had an event in early 2026: idle for more than six months by now.
  const dry = await applyRetention(h.sql, commands, { retentionMonths: 6, rejectionRetentionDays: 365, dryRun: true });
  const keysBefore = await h.count('participant_keys');
  t.ok(dry.participantsErased >= 2, `dry run would erase ${dry.participantsErased}`);
  t.equal(await h.count('participant_keys'), keysBefore, 'a dry run changes nothing');
  const done = await applyRetention(h.sql, commands, { retentionMonths: 6, rejectionRetentionDays: 365 });
  t.equal(done.participantsErased, dry.participantsErased);
  t.ok(done.rejectionsDeleted >= 1);
  t.equal(await h.count('participant_keys'), keysBefore - done.participantsErased);
  const [erasure] = await h.sql<{ metadata: Json; data: Json }[]>`
    select metadata, data from events where type = 'ParticipantErased' and metadata->>'keyId' = 'system:retention' limit 1`;
  t.match(erasure, { metadata: { source: 'system' }, data: { basis: 'retention-period-ended' } });
  const twice = await applyRetention(h.sql, commands, { retentionMonths: 6, rejectionRetentionDays: 365 });
  t.equal(twice.participantsErased, 0, 'idempotent');
});

t.end();
