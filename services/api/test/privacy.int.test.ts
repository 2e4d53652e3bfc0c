import { createHash, randomUUID } from 'node:crypto';
import t from 'tap';
import { requestHash } from '@vru/api';
import { eventDefinition } from '@vru/contracts';
import { Harness, PROGRAMME, event, publishedFor } from '@vru/testkit';
import { demoSubmissions } from '@vru/testkit/demo-data';

// Personal data kept out of the places free text once reached: records of refusals, read models, the demo data.
const h = await Harness.start();
t.teardown(() => h.close());

const PERSON = 'Jane Doe 2009-03-04 DE23 1AB';
/** An unkeyed digest of a session id, as an attacker holding a guess would compute it (what was once stored). */
const sessionKey = (sessionId: string) => createHash('sha256').update(sessionId).digest('hex').slice(0, 32);

t.test("a refusal records only what the schema defines: never the client's own property or type names", async (t) => {
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

t.test("the attendance read model keeps no text of the provider's session ids", async (t) => {
  const ref = `PRIV-${Date.now()}`;
  const attended = event.attended(ref, `MEN-${ref}-S1`);
  for (const e of [event.referred(ref), event.consent(ref), event.enrolled(ref), attended]) {
    t.equal((await h.post('/v1/events', e, h.keys.providerA)).statusCode, 202);
  }
  const again = await h.post('/v1/events', event.attended(ref, `MEN-${ref}-S1`), h.keys.providerA);
  t.equal(again.statusCode, 409, 'the same session twice is still refused');
  t.equal(again.json().code, 'session-already-recorded');
  // A snapshot of an older state version (unkeyed digests) is rebuilt from the events, its sealed session ids opened.
  const [{ stream_id: streamId } = { stream_id: '' }] = await h.sql<{ stream_id: string }[]>`
    select stream_id from events where event_id = ${attended.eventId as string}`;
  await h.sql`update streams set state = jsonb_set(state, '{sessionKeys}', '[]'), state_version = 3 where stream_id = ${streamId}`;
  const afterUpgrade = await h.post('/v1/events', event.attended(ref, `MEN-${ref}-S1`), h.keys.providerA);
  t.equal(afterUpgrade.json().code, 'session-already-recorded', 'refused again once the old snapshot is rebuilt');
  const snapshots = JSON.stringify(await h.sql`select * from streams`, (_k, v) =>
    typeof v === 'bigint' ? v.toString() : v,
  );
  t.notOk(snapshots.includes('MEN-'), "the decider's stored snapshot keeps no session id text");
  t.notOk(snapshots.includes(sessionKey(`MEN-${ref}-S1`)), 'nor a digest a guess of the session id would confirm');
  await h.startRelay();
  await h.startProjectors();
  await h.waitForProjections(['attendance'], 1);
  const rows = JSON.stringify(await h.sql`select * from rm_attendance.sessions`);
  t.ok(rows.length > 2, 'the session is projected');
  t.notOk(rows.includes(ref), 'the participant reference inside the session id is not in the read model');
  t.notOk(rows.includes('MEN-'), 'nor any part of the session id');
  t.notOk(rows.includes(sessionKey(`MEN-${ref}-S1`)), 'nor a digest of it');
  const report = await h.get(`/v1/reports/attendance?programmeId=${PROGRAMME}`, h.keys.providerA);
  t.equal(report.statusCode, 200, 'attendance figures still answer');
});

t.test("erasure removes the match-index entry that links the stream to the person's identifiers", async (t) => {
  const ref = `ERASE-${Date.now()}`;
  const token = 'ab'.repeat(32);
  const recorded = {
    ...event.consent(ref, 'service-delivery'),
    type: 'MatchTokenRecorded',
    data: { matchToken: token },
  };
  await h.postAccepted([event.referred(ref), recorded], h.keys.providerA);
  const indexed = async () => (await h.sql`select count(*)::int as n from match_index`)[0]!.n;
  const before = await indexed();
  t.ok(before >= 1, 'the token is indexed');
  t.equal(
    (await h.post(`/v1/participants/${ref}/erasure`, { programmeId: PROGRAMME }, h.keys.providerA)).statusCode,
    202,
  );
  t.equal(await indexed(), before - 1, 'the entry is gone with the erasure');
});

t.test('the demo data models good practice: no session id carries the participant reference', async (t) => {
  const offending = demoSubmissions().filter((s) => {
    const body = s.body as { participantRef?: string; data?: { sessionId?: string } };
    return body.participantRef && body.data?.sessionId?.includes(body.participantRef);
  });
  t.equal(offending.length, 0);
});

/** Everything of one participant's stream as stored: its events' data and the decider's snapshot. */
async function storedText(streamId: string): Promise<string> {
  const rows = await h.sql`select data::text from events where stream_id = ${streamId} order by stream_version`;
  const snapshot = await h.sql`select * from streams where stream_id = ${streamId}`;
  return JSON.stringify([rows, snapshot], (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

t.test(
  'session ids and offence details are sealed in the log and on the topic, and gone with the erasure',
  async (t) => {
    if (!h.relay) await h.startRelay();
    if (h.projectors.length === 0) await h.startProjectors();
    const ref = `SEAL-${Date.now()}`;
    const attendedId = `MEN-${ref}-S1`;
    const missedId = `MEN-${ref}-S2`;
    const offence = {
      offenceDate: '2026-03-02',
      provenDate: '2026-03-27',
      disposal: 'conviction',
      offenceCategory: 'knife-or-sharp-object-enabled',
      seriousViolence: true,
      custodial: true,
    };
    await h.postAccepted(
      [
        event.referred(ref),
        event.consent(ref),
        event.enrolled(ref),
        event.attended(ref, attendedId),
        event.missed(ref, missedId),
      ],
      h.keys.providerA,
    );
    const offenceId = randomUUID();
    const recorded = await h.post(
      '/v1/events',
      {
        eventId: offenceId,
        type: 'OffenceRecorded',
        schemaVersion: 2,
        occurredAt: '2026-03-28T10:00:00Z',
        providerId: 'prov-a',
        programmeId: PROGRAMME,
        participantRef: ref,
        data: offence,
      },
      h.keys.dataPartner,
    );
    t.equal(recorded.statusCode, 202, recorded.body);
    const [{ stream_id: streamId } = { stream_id: '' }] = await h.sql<{ stream_id: string }[]>`
    select stream_id from events where event_id = ${recorded.json().eventId}`;
    const clear = [
      ref,
      'MEN-',
      'knife-or-sharp-object-enabled',
      '2026-03-02',
      '2026-03-27',
      '"disposal"',
      '"custodial"',
      '"seriousViolence"',
    ];
    const stored = await storedText(streamId);
    for (const text of clear)
      t.notOk(stored.includes(text), `${text} is not in clear in the event log or the snapshot`);
    t.equal(stored.match(/\$sealed/g)?.length, 4, 'the referral, both sessions and the offence carry a sealed part');
    for (const id of [attendedId, missedId])
      t.notOk(stored.includes(sessionKey(id)), "the snapshot's session digests are keyed");
    // The hash that tells a retry from a reused eventId sits next to the event id: unkeyed, it would confirm a guess.
    const offenceBody = {
      eventId: offenceId,
      type: 'OffenceRecorded',
      schemaVersion: 2,
      occurredAt: '2026-03-28T10:00:00Z',
      providerId: 'prov-a',
      programmeId: PROGRAMME,
      participantRef: ref,
      data: offence,
    };
    const [{ request_hash: storedHash } = { request_hash: '' }] = await h.sql<{ request_hash: string }[]>`
    select request_hash from events where event_id = ${offenceBody.eventId}`;
    t.not(
      storedHash,
      requestHash(offenceBody as never),
      'a guess of the whole submission cannot be confirmed from the stored hash',
    );
    const retried = await h.post('/v1/events', offenceBody, h.keys.dataPartner);
    t.equal(retried.json().status, 'duplicate', 'a retry is still recognised');
    const published = await publishedFor(h, streamId, 6);
    for (const text of clear)
      t.notOk(
        published.some((m) => m.includes(text)),
        `${text} is not in clear on the topic`,
      );

    const history = (await h.get(`/v1/participants/${ref}/events`, h.keys.providerA)).json<{
      events: { type: string; data: object }[];
    }>();
    t.match(
      history.events.find((e) => e.type === 'SessionAttended')?.data,
      { sessionId: attendedId },
      'the provider reads its session id',
    );
    // Before erasure the read models count as before: one attended and one missed session, one serious violence offence.
    const sessions = () => h.sql<{ event_id: string; attended: boolean }[]>`
    select event_id, attended from rm_attendance.sessions where stream_id = ${streamId} order by attended`;
    const offences = () => h.sql<
      { offence_date: string; serious_violence: boolean; custodial: boolean; offence_category: string }[]
    >`
    select offence_date::text, serious_violence, custodial, offence_category from rm_offences.offences where stream_id = ${streamId}`;
    await h.waitFor('the sessions and the offence projected', async () =>
      (await sessions()).length === 2 && (await offences()).length === 1 ? true : undefined,
    );
    t.same(
      (await sessions()).map((r) => r.attended),
      [false, true],
    );
    t.same(await offences(), [
      {
        offence_date: '2026-03-02',
        serious_violence: true,
        custodial: true,
        offence_category: offence.offenceCategory,
      },
    ]);

    const erased = await h.post(`/v1/participants/${ref}/erasure`, { programmeId: PROGRAMME }, h.keys.providerA);
    t.equal(erased.statusCode, 202, erased.body);
    await h.waitFor('the read models to let go of the person', async () =>
      (await offences()).length === 0 ? true : undefined,
    );
    t.same(
      (await sessions()).map((r) => r.attended),
      [false, true],
      'the sessions still count',
    );
    const digests = JSON.stringify(await h.sql`select * from rm_attendance.sessions where stream_id = ${streamId}`);
    t.notOk(
      digests.includes(sessionKey(attendedId)) || digests.includes(sessionKey(missedId)),
      'no digest of a session id is left',
    );
    const after = await storedText(streamId);
    for (const text of clear) t.notOk(after.includes(text), `${text} is not in clear after the erasure`);
    t.notOk(after.includes(sessionKey(attendedId)), 'the snapshot drops the session digests');
    t.equal(
      (await h.sql`select 1 from participant_keys where stream_id = ${streamId}`).length,
      0,
      'the key that sealed them is destroyed',
    );
    const afterHistory = (await h.get(`/v1/participants/${ref}/events`, h.keys.providerA)).json<{
      events: { data: object }[];
    }>();
    const readable = JSON.stringify(afterHistory.events);
    for (const text of ['MEN-', 'knife-or-sharp-object-enabled', '2026-03-02', '"disposal"']) {
      t.notOk(readable.includes(text), `${text} cannot be read back through the API`);
    }
    const opened = await h.vault.open(
      h.sql,
      (
        await h.sql<{ data: Record<string, unknown> }[]>`
    select data from events where stream_id = ${streamId}`
      ).map((r) => ({ streamId, data: r.data }) as never),
    );
    t.notOk(JSON.stringify(opened).includes('MEN-'), 'the vault itself cannot open the sealed parts any more');

    // A rebuild from the log, where the sealed parts can no longer be opened, gives the rows the live erasure left.
    const { rebuildProjection, attendanceProjection, offencesProjection } = await import('@vru/projector');
    const rebuilt = [
      [attendanceProjection, 'rm_attendance.sessions', 'event_id'],
      [offencesProjection, 'rm_offences.offences', 'event_id'],
    ] as const;
    for (const [projection, table, key] of rebuilt) {
      const rows = () => h.sql.unsafe(`select * from ${table} order by stream_id, ${key}`);
      const live = await rows();
      await rebuildProjection(h.sql, projection, h.logger, { vault: h.vault });
      t.same(await rows(), live, `${table} rebuilt equals the live rows`);
    }
  },
);

t.test('an event stored before its field became personal still reads, projects and counts', async (t) => {
  const ref = `LEGACY-${Date.now()}`;
  await h.postAccepted([event.referred(ref), event.consent(ref), event.enrolled(ref)], h.keys.providerA);
  const definition = eventDefinition('SessionAttended') as { personalFields?: readonly string[] };
  const personal = definition.personalFields;
  const legacy = event.attended(ref, 'S-2026-02-01-A');
  try {
    definition.personalFields = undefined; // as the store did before session ids were sealed
    const [outcome] = await h.app.commands.handle([
      {
        submission: legacy as never,
        definition: eventDefinition('SessionAttended')!,
        principal: { keyId: h.keys.providerA.split('_')[1]!, role: 'provider', providerId: 'prov-a' },
        requestId: 'legacy',
        source: 'api',
      },
    ]);
    t.equal(outcome!.status, 'accepted');
  } finally {
    definition.personalFields = personal;
  }
  const [row] = await h.sql<{ stream_id: string; data: string }[]>`
    select stream_id, data::text from events where event_id = ${legacy.eventId as string}`;
  t.match(row!.data, /"sessionId": "S-2026-02-01-A"/, 'stored in clear, as before');
  const history = (await h.get(`/v1/participants/${ref}/events`, h.keys.providerA)).json<{
    events: { type: string; data: object }[];
  }>();
  t.match(history.events.find((e) => e.type === 'SessionAttended')?.data, {
    sessionId: 'S-2026-02-01-A',
    deliveredBy: 'staff',
  });
  const again = await h.post('/v1/events', event.attended(ref, 'S-2026-02-01-A'), h.keys.providerA);
  t.equal(again.statusCode, 409, 'the decider still knows the session');
  const projected = async () => {
    const rows = await h.sql<
      { event_id: string }[]
    >`select event_id from rm_attendance.sessions where stream_id = ${row!.stream_id}`;
    return rows.length === 1 && rows[0]!.event_id === legacy.eventId ? true : undefined;
  };
  await h.waitFor('the legacy session projected', projected);
  t.equal(
    (await h.post(`/v1/participants/${ref}/erasure`, { programmeId: PROGRAMME }, h.keys.providerA)).statusCode,
    202,
  );
  await h.waitFor('the erasure applied by the attendance projection', async () => {
    const [applied] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from rm_attendance.stream_positions p join events e using (stream_id)
      where p.stream_id = ${row!.stream_id} and e.type = 'ParticipantErased' and p.version >= e.stream_version`;
    return applied!.n === 1 ? true : undefined;
  });
  t.ok(await projected(), 'the legacy session still counts after the erasure');
});
