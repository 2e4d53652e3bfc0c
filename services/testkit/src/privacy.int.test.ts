import t from 'tap';
import { Harness, PROGRAMME, event } from './index.js';
import { demoSubmissions } from './demo-data.js';

// Personal data kept out of the places free text once reached: records of refusals, read models, the demo data.
const h = await Harness.start();
t.teardown(() => h.close());

const PERSON = 'Jane Doe 2009-03-04 DE23 1AB';

t.test('a refusal records only what the schema defines: never the client\'s own property or type names', async (t) => {
  const before = await h.count('rejected_submissions');
  const named = await h.post('/v1/events', event.referred('PRIV-1', { data: { [PERSON]: true } }), h.keys.providerA);
  t.equal(named.statusCode, 422);
  const typed = await h.post('/v1/events', { ...event.referred('PRIV-2'), type: 'JaneDoe20090304' }, h.keys.providerA);
  t.equal(typed.statusCode, 422);
  const nested = event.referred('PRIV-3', { data: { nested: { [PERSON]: 1 } } });
  const batch = await h.post('/v1/events/batch', { events: [nested] }, h.keys.providerA);
  t.equal(batch.statusCode, 200);
  const rows = await h.sql<{ event_type: string | null; field: string; rule: string }[]>`
    select event_type, field, rule from rejected_submissions order by id offset ${before}`;
  t.same(rows, [
    { event_type: 'ParticipantReferred', field: '/data', rule: 'unknown-property' },
    { event_type: null, field: '/', rule: 'enum' },
    { event_type: 'ParticipantReferred', field: '/data', rule: 'unknown-property' },
  ]);
  const everything = JSON.stringify(await h.sql`select event_type, rule, field, source from rejected_submissions`);
  t.notOk(everything.includes('Jane'), 'no trace of the name');
});

t.test('the attendance read model keeps no text of the provider\'s session ids', async (t) => {
  const ref = `PRIV-${Date.now()}`;
  for (const e of [event.referred(ref), event.consent(ref), event.enrolled(ref), event.attended(ref, `MEN-${ref}-S1`)]) {
    t.equal((await h.post('/v1/events', e, h.keys.providerA)).statusCode, 202);
  }
  const again = await h.post('/v1/events', event.attended(ref, `MEN-${ref}-S1`), h.keys.providerA);
  t.equal(again.statusCode, 409, 'the same session twice is still refused');
  t.equal(again.json().code, 'session-already-recorded');
  const snapshots = JSON.stringify(await h.sql`select * from streams`, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  t.notOk(snapshots.includes('MEN-'), 'the decider\'s stored snapshot keeps no session id text');
  await h.startRelay();
  await h.startProjectors();
  await h.waitForProjections(['attendance'], 1);
  const rows = JSON.stringify(await h.sql`select * from rm_attendance.sessions`);
  t.ok(rows.length > 2, 'the session is projected');
  t.notOk(rows.includes(ref), 'the participant reference inside the session id is not in the read model');
  t.notOk(rows.includes('MEN-'), 'nor any part of the session id');
  const report = await h.get(`/v1/reports/attendance?programmeId=${PROGRAMME}`, h.keys.providerA);
  t.equal(report.statusCode, 200, 'attendance figures still answer');
});

t.test('erasure removes the match-index entry that links the stream to the person\'s identifiers', async (t) => {
  const ref = `ERASE-${Date.now()}`;
  const token = 'ab'.repeat(32);
  const recorded = { ...event.consent(ref, 'service-delivery'), type: 'MatchTokenRecorded', data: { matchToken: token } };
  await h.postAccepted([event.referred(ref), recorded], h.keys.providerA);
  const indexed = async () => (await h.sql`select count(*)::int as n from match_index`)[0]!.n;
  const before = await indexed();
  t.ok(before >= 1, 'the token is indexed');
  t.equal((await h.post(`/v1/participants/${ref}/erasure`, { programmeId: PROGRAMME }, h.keys.providerA)).statusCode, 202);
  t.equal(await indexed(), before - 1, 'the entry is gone with the erasure');
});

t.test('the demo data models good practice: no session id carries the participant reference', async (t) => {
  const offending = demoSubmissions().filter((s) => {
    const body = s.body as { participantRef?: string; data?: { sessionId?: string } };
    return body.participantRef && body.data?.sessionId?.includes(body.participantRef);
  });
  t.equal(offending.length, 0);
});
