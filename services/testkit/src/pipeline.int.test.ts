import t from 'tap';
import { projectorGroupId, projections } from '@vru/projector';
import { Harness, PROGRAMME, PROGRAMME_2, event, journey } from './index.js';

const h = await Harness.start();
t.teardown(() => h.close());

async function postAll(events: Record<string, unknown>[], key = h.keys.providerA) {
  await h.postAccepted(events, key);
}

/** Provider A's own attendance (unsuppressed: across providers these few people would be withheld). */
async function attendanceWhenProjected(expectedEvents: number, key = h.keys.providerA, query = '') {
  return h.waitFor('attendance projection', async () => {
    const res = await h.get(`/v1/reports/attendance${query}`, key);
    const body = res.json();
    return Number(body.computedAt[0].eventsApplied) >= expectedEvents ? body : undefined;
  });
}

await t.test('events posted over HTTP reach the attendance report through Kafka and PostgreSQL', async (t) => {
  await h.startRelay();
  await h.startProjectors();
  await postAll(journey('P-1', { attended: 3, missed: 1 }));
  await postAll(journey('P-2', { attended: 1, missed: 1 }));
  await postAll(journey('P-3', { attended: 2, missed: 0 }, PROGRAMME_2));
  await postAll(journey('P-9', { attended: 4, missed: 0 }), h.keys.providerB);
  const total = 7 + 5 + 5 + 7;
  const report = await attendanceWhenProjected(total);
  t.same(report.rows, [
    { programmeId: PROGRAMME, participants: 2, sessionsAttended: 4, sessionsMissed: 2, attendanceRate: 0.6667 },
    { programmeId: PROGRAMME_2, participants: 1, sessionsAttended: 2, sessionsMissed: 0, attendanceRate: 1 },
  ]);
  t.equal(report.computedAt[0].eventsApplied, String(total), 'the report says which log position it reflects');

  const filtered = (
    await h.get(`/v1/reports/attendance?programmeId=${PROGRAMME}&from=2026-02-02&to=2026-02-28`, h.keys.providerA)
  ).json();
  t.same(
    filtered.rows.map((r: { sessionsAttended: number }) => r.sessionsAttended),
    [2],
    'date filters apply to session dates',
  );
  const across = (
    await h.get(`/v1/reports/attendance?programmeId=${PROGRAMME}&from=2026-02-01&to=2026-02-28`, h.keys.commissioner)
  ).json();
  t.same(
    across.rows,
    [
      {
        programmeId: PROGRAMME,
        participants: null,
        sessionsAttended: null,
        sessionsMissed: null,
        attendanceRate: null,
      },
    ],
    'across providers three people are withheld',
  );

  const own = (await h.get('/v1/reports/attendance', h.keys.providerB)).json();
  t.same(
    own.rows,
    [{ programmeId: PROGRAMME, participants: 1, sessionsAttended: 4, sessionsMissed: 0, attendanceRate: 1 }],
    'a provider sees only its own participants',
  );
  t.equal(await h.count('outbox'), 0, 'the relay emptied the outbox');

  const csv = await h.get('/v1/reports/attendance', h.keys.providerA, { accept: 'text/csv' });
  t.match(csv.headers['content-type'], /text\/csv/);
  t.same(
    csv.body.trim().split('\r\n'),
    [
      'programmeId,participants,sessionsAttended,sessionsMissed,attendanceRate',
      `${PROGRAMME},2,4,2,0.6667`,
      `${PROGRAMME_2},1,2,0,1`,
    ],
    'the same report as CSV',
  );
});

await t.test('a restarted projector does not count anything twice', async (t) => {
  const before = (await h.get('/v1/reports/attendance', h.keys.providerA)).json();
  await h.stopProjectors();
  await postAll([event.attended('P-1', 's-extra', '2026-02-20')]);
  // Redelivery: forget Kafka's committed offsets so the whole topic is consumed again.
  const admin = h.kafka.admin();
  await admin.connect();
  await admin.resetOffsets({
    groupId: projectorGroupId(h.config.PROJECTOR_GROUP_PREFIX, projections),
    topic: h.config.KAFKA_TOPIC,
    earliest: true,
  });
  await admin.disconnect();
  await h.startProjectors();
  const after = await attendanceWhenProjected(Number(before.computedAt[0].eventsApplied) + 1);
  const row = after.rows.find((r: { programmeId: string }) => r.programmeId === PROGRAMME);
  t.equal(row.sessionsAttended, 5, 'one more session, none doubled');
  t.equal(row.sessionsMissed, 2);
  t.equal(
    after.computedAt[0].eventsApplied,
    String(Number(before.computedAt[0].eventsApplied) + 1),
    'each event applied exactly once',
  );
});

await t.test('the relay catches up after the broker was stopped and started again', async (t) => {
  const before = (await h.get('/v1/reports/attendance', h.keys.providerA)).json();
  await h.withBrokerStopped(async () => {
    // The API does not need Kafka to accept: events wait in the outbox.
    await postAll([
      event.attended('P-2', 's-while-down-1', '2026-02-21'),
      event.attended('P-2', 's-while-down-2', '2026-02-22'),
    ]);
    t.equal(await h.count('outbox'), 2, 'acknowledged events wait in the outbox while Kafka is down');
  });
  const after = await attendanceWhenProjected(Number(before.computedAt[0].eventsApplied) + 2);
  t.equal(after.rows.find((r: { programmeId: string }) => r.programmeId === PROGRAMME).sessionsAttended, 7);
  await h.waitFor('outbox drained', async () => ((await h.count('outbox')) === 0 ? true : undefined));
});

await t.test('rebuilding the read model from the log gives the same rows', async (t) => {
  const { rebuildProjection, attendanceProjection } = await import('@vru/projector');
  const live = await h.sql`select * from rm_attendance.sessions order by stream_id, event_id`;
  await rebuildProjection(h.sql, attendanceProjection, h.logger, { vault: h.vault });
  const rebuilt = await h.sql`select * from rm_attendance.sessions order by stream_id, event_id`;
  t.same(rebuilt, live);
  t.ok(live.length > 0);
});

// The root test ends here, not at process exit: the open pools would otherwise keep the process alive.
t.end();
