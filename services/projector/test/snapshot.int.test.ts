import { randomUUID } from 'node:crypto';
import t from 'tap';
import { EVENT_APPEND_LOCK } from '@vru/event-store';
import { applyBatch, attendanceProjection, ensureProjectionSchema, rebuildProjection } from '@vru/projector';
import { Harness, PROGRAMME, event, journey } from '@vru/testkit';

/**
 * Reports at one consistent position P: the projector's consistent position (every event at or below P applied),
 * uploads that answer their positions, one snapshot per report at P, and asOf. Real PostgreSQL and Kafka.
 */
const h = await Harness.start();
t.teardown(() => h.close());

type Json = Record<string, unknown>;
const postBatch = (events: Json[], key = h.keys.providerA) => h.postBatchAccepted(events, key);
const storedInOrder = (eventIds: string[]) => h.storedInOrder(eventIds);

const consistentPosition = async (schema: string): Promise<string> => {
  const [row] = await h.sql.unsafe<{ p: string }[]>(`select consistent_position::text as p from ${schema}.checkpoint`);
  return row!.p;
};

await t.test("a batch answers each stored event's position and the highest", async (t) => {
  const events = journey('U1', { attended: 1, missed: 0 });
  const body = await postBatch(events);
  const positions = body.results.map((r) => BigInt(r.position!));
  t.equal(body.results.length, 4);
  t.ok(
    body.results.every((r) => r.status === 'accepted' && /^\d+$/.test(r.position ?? '')),
    'every stored event has its position',
  );
  t.equal(
    body.highestPosition,
    positions.reduce((a, b) => (b > a ? b : a)).toString(),
    'highestPosition is the largest of them',
  );
  const again = await postBatch(events);
  t.ok(
    again.results.every((r) => r.status === 'duplicate'),
    'sent again: duplicates',
  );
  t.same(
    [again.results.map((r) => r.position), again.highestPosition],
    [body.results.map((r) => r.position), body.highestPosition],
    'duplicates answer the positions they were stored at',
  );
});

await t.test('appends wait for the append lock, so positions commit in the order they are allocated', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let held!: () => void;
  const holding = new Promise<void>((resolve) => {
    held = resolve;
  });
  // A transaction that holds the lock, as a slow appender between its insert and its commit would.
  const slow = h.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${EVENT_APPEND_LOCK})`;
    held();
    await released;
  });
  await holding;
  const before = await h.count('events');
  const posting = h.post('/v1/events', event.referred(`L-${randomUUID().slice(0, 8)}`), h.keys.providerA);
  await h.waitFor('the append to wait for the lock', async () => {
    const [row] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = ${EVENT_APPEND_LOCK} and not granted`;
    return row!.n > 0 ? true : undefined;
  });
  t.equal(await h.count('events'), before, 'nothing committed while the lock is held');
  release();
  await slow;
  t.equal((await posting).statusCode, 202, 'the append goes through once the lock is free');
  t.equal(await h.count('events'), before + 1);
});

await t.test(
  'the consistent position stops below the first event not applied, whatever the partitions did',
  async (t) => {
    // Two participants' streams; the projector is not running, so the test applies them in the order a lagging
    // partition would: all of P2's first, then the first test's U1, then P1's (only its session is attendance's).
    const body = await postBatch([
      ...journey('P1', { attended: 1, missed: 0 }),
      ...journey('P2', { attended: 1, missed: 0 }),
    ]);
    const positions = body.results.map((r) => r.position!);
    const events = await storedInOrder(body.results.map((r) => r.eventId));
    await ensureProjectionSchema(h.sql, attendanceProjection);
    const [{ first } = { first: '0' }] = await h.sql<
      { first: string }[]
    >`select min(position)::text as first from events`;
    const below = (position: string) => (BigInt(position) - 1n).toString();

    await applyBatch(h.sql, attendanceProjection, events.slice(4));
    t.equal(
      await consistentPosition('rm_attendance'),
      below(first),
      'nothing applied from the first event on: P stays below it although later ones are applied',
    );
    const u1 = await h.sql<
      { event_id: string }[]
    >`select event_id from events where position < ${positions[0]!}::bigint`;
    await applyBatch(h.sql, attendanceProjection, await storedInOrder(u1.map((r) => r.event_id)));
    t.equal(
      await consistentPosition('rm_attendance'),
      below(positions[0]!),
      "below P1's referral, the first event not applied",
    );
    await applyBatch(h.sql, attendanceProjection, events.slice(0, 3));
    t.equal(
      await consistentPosition('rm_attendance'),
      below(positions[3]!),
      'event types the read model ignores count as applied',
    );
    await applyBatch(h.sql, attendanceProjection, events.slice(3, 4));
    t.equal(
      await consistentPosition('rm_attendance'),
      positions[7],
      'everything applied: the highest committed position',
    );

    await rebuildProjection(h.sql, attendanceProjection, h.logger, { vault: h.vault });
    t.equal(await consistentPosition('rm_attendance'), positions[7], 'a rebuild reaches the same position');
  },
);

await t.test('every report is computed at one position P and says so; the same P gives the same figures', async (t) => {
  await h.startRelay();
  await h.startProjectors();
  const body = await postBatch([
    ...journey('S1', { attended: 2, missed: 1 }),
    ...journey('S2', { attended: 1, missed: 0 }),
  ]);
  const q = '/v1/reports/attendance?from=2026-02-01&to=2026-02-28';
  const first = await h.waitFor('the attendance report to reach the batch', async () => {
    const r = await h.getReport(q, h.keys.providerA);
    return BigInt(r.body.position) >= BigInt(body.highestPosition!) ? r : undefined;
  });
  const position = first.body.position as string;
  t.same(
    first.body.computedAt.map((c: { position: string }) => c.position),
    [position],
    'computedAt carries P',
  );
  // U1 1, P1 1, P2 1, S1 2, S2 1 attended in February: every one of them is at or below P.
  t.equal(first.body.rows[0].sessionsAttended, 6);

  const csv = await h.getReport(q, h.keys.providerA, { accept: 'text/csv' });
  const json = await h.getReport(q, h.keys.providerA);
  t.equal(json.body.position, position, 'nothing new: the position has not moved');
  t.equal(
    JSON.stringify(json.body),
    JSON.stringify(first.body),
    'the same request at the same P gives the same answer',
  );
  t.equal(csv.headers['x-report-position'], position, 'the CSV says P');
  // U1, P1, P2, S1 and S2 had sessions in February.
  t.match(String(csv.body).split('\r\n')[1], new RegExp(`^${PROGRAMME},5,6,`), 'the CSV has the same figures');

  for (const report of [
    '/v1/reports/engagement?from=2026-01-01&to=2026-01-31',
    '/v1/reports/outcomes',
    '/v1/reports/spend',
    '/v1/reports/data-quality',
    '/v1/reports/quarterly-return?quarter=2026Q1',
    '/v1/reports/performance',
    '/v1/reports/reoffending?cohortFrom=2026-01-01&cohortTo=2026-03-31',
  ]) {
    const r = await h.getReport(report, h.keys.providerA);
    t.equal(r.status, 200, report);
    const positions = new Set(r.body.computedAt.map((c: { position: string }) => c.position));
    t.same([...positions], [r.body.position], `${report}: one position, in computedAt too`);
  }

  // Later events move the position on, and the report counts them.
  const later = await postBatch([event.attended('S2', 's-a-9', '2026-02-20')]);
  const after = await h.waitFor('the report to count the late session', async () => {
    const r = await h.getReport(q, h.keys.providerA);
    return BigInt(r.body.position) >= BigInt(later.highestPosition!) ? r : undefined;
  });
  t.ok(BigInt(after.body.position) > BigInt(position), 'the position increased');
  t.equal(after.body.rows[0].sessionsAttended, 7);
});

await t.test('asOf fixes the date consent is judged on; a future asOf is refused naming the field', async (t) => {
  const ref = `W-${randomUUID().slice(0, 8)}`;
  const body = await postBatch([
    event.referred(ref),
    event.consent(ref, 'evaluation'),
    { ...event.referred(ref), type: 'ConsentWithdrawn', data: { scope: 'evaluation', withdrawnOn: '2026-02-01' } },
  ]);
  const q = '/v1/reports/engagement?from=2026-01-01&to=2026-01-31';
  const now = await h.waitFor('the engagement report to reach the withdrawal', async () => {
    const r = await h.getReport(q, h.keys.providerA);
    return BigInt(r.body.position) >= BigInt(body.highestPosition!) ? r : undefined;
  });
  const before = await h.getReport(`${q}&asOf=2026-01-31`, h.keys.providerA);
  t.equal(before.body.asOf, '2026-01-31', 'asOf is echoed');
  t.ok(now.body.asOf > '2026-01-31' && /^\d{4}-\d{2}-\d{2}$/.test(now.body.asOf), 'default: today');
  t.equal(
    before.body.rows[0].consented - now.body.rows[0].consented,
    1,
    'consent was in force on 31 January, not today',
  );
  t.equal(before.body.rows[0].referrals, now.body.rows[0].referrals);

  const future = await h.getReport(`${q}&asOf=2999-01-01`, h.keys.providerA);
  t.equal(future.status, 422);
  t.match(String(future.headers['content-type']), /application\/problem\+json/);
  t.same(
    future.body.errors.map((e: { field: string }) => e.field),
    ['/querystring/asOf'],
  );
});
