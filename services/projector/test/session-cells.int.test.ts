import t from 'tap';
import { financialYearOf, monthOf, quarterPeriodOf } from '@vru/domain';
import {
  attendanceProjection,
  compareWithRebuild,
  ensureProjectionSchema,
  submissionsProjection,
} from '@vru/projector';
import { Harness, event } from '@vru/testkit';

/**
 * The disclosure cells the attendance projection keeps (distinct people per programme, provider or every provider,
 * month, quarter and financial year; people with a session and attenders) equal the distinct people counted from
 * the sessions themselves: now, and at every earlier position, with streams applied out of position order and
 * every event delivered twice. A replay, which stores the sessions and submissions alone (copied from the log in SQL
 * where no upcasting is needed) and derives the cells, the submission counts and the stream positions once at its end,
 * leaves every table as the live path does.
 */
const h = await Harness.start();
t.teardown(() => h.close());

type Json = Record<string, unknown>;

/** Sessions over March to July 2026: across a financial year's end, two quarters' ends and several months. */
const DATES = ['2026-03-05', '2026-03-30', '2026-04-02', '2026-05-15', '2026-06-30', '2026-07-01'];

function person(ref: string, seed: number): Json[] {
  const out: Json[] = [event.referred(ref), event.consent(ref, 'evaluation'), event.enrolled(ref)];
  for (let i = 0; i < 1 + (seed % 4); i++) {
    const date = DATES[(seed * 7 + i * 3) % DATES.length]!;
    // Some attended sessions stored at their first version, which a replay upcasts rather than copies from the log.
    const attended = (seed + i) % 5 === 1 ? event.attendedV1 : event.attended;
    out.push((seed + i) % 3 === 0 ? event.missed(ref, `s-${i}`, date) : attended(ref, `s-${i}`, date));
  }
  return out;
}

interface Session {
  stream_id: string;
  provider_id: string;
  programme_id: string;
  session_date: string;
  attended: boolean;
  valid_from: string;
}

/** Distinct people per cell counted from sessions at or below `position`, keyed like the cells. */
function expected(sessions: readonly Session[], position: bigint) {
  const cells = new Map<string, { people: Set<string>; attenders: Set<string>; attended: number; missed: number }>();
  for (const s of sessions) {
    if (BigInt(s.valid_from) > position) continue;
    const periods = [
      ['month', monthOf(s.session_date).from],
      ['quarter', quarterPeriodOf(s.session_date).from],
      ['financial-year', financialYearOf(s.session_date).from],
    ];
    for (const [level, from] of periods) {
      for (const provider of [s.provider_id, '']) {
        const key = [from, s.programme_id, level, provider].join('|');
        let c = cells.get(key);
        if (!c) cells.set(key, (c = { people: new Set(), attenders: new Set(), attended: 0, missed: 0 }));
        c.people.add(s.stream_id);
        if (s.attended) c.attenders.add(s.stream_id);
        if (s.attended) c.attended += 1;
        else c.missed += 1;
      }
    }
  }
  return new Map(
    [...cells].map(([k, c]) => [
      k,
      { people: c.people.size, attenders: c.attenders.size, attended: c.attended, missed: c.missed },
    ]),
  );
}

await t.test('cells kept as events arrive equal distinct people counted from the sessions', async (t) => {
  await ensureProjectionSchema(h.sql, attendanceProjection);
  const a = await h.postBatchAccepted(
    Array.from({ length: 14 }, (_, i) => person(`CA-${i}`, i)).flat(),
    h.keys.providerA,
  );
  const b = await h.postBatchAccepted(
    Array.from({ length: 9 }, (_, i) => person(`CB-${i}`, i + 5)).flat(),
    h.keys.providerB,
  );
  const ids = [...a.results, ...b.results].map((r) => r.eventId);
  const stored = await h.storedInOrder(ids);
  // Streams applied out of position order (as partitions may be), then everything again (a redelivery).
  await h.applyOutOfOrderThenAgain(attendanceProjection, stored);

  const sessions = await h.sql<Session[]>`
    select stream_id, provider_id, programme_id, session_date::text, attended, valid_from::text
    from rm_attendance.sessions_versions`;
  t.ok(sessions.length > 40, `${sessions.length} sessions`);
  const upcast = await h.sql<{ n: number }[]>`
    select count(*)::int as n from events where type = 'SessionAttended' and schema_version = 1`;
  t.ok(upcast[0]!.n > 0, `${upcast[0]!.n} sessions stored at their first version`);
  const head = stored.reduce((p, e) => (BigInt(e.position) > p ? BigInt(e.position) : p), 0n);

  const kept = await h.sql<{ key: string; people: number; attenders: number; attended: number; missed: number }[]>`
    select concat_ws('|', period_from::text, programme_id, period_level, provider_id) as key, people, attenders, attended, missed
    from rm_attendance.session_cells`;
  t.same(
    new Map(kept.map(({ key, ...c }) => [key, c])),
    expected(sessions, head),
    'the running counts: people, attenders, sessions attended and missed per cell',
  );

  const positions = [...new Set(sessions.map((s) => BigInt(s.valid_from)))].sort((x, y) => (x < y ? -1 : 1));
  for (const p of [positions[0]!, positions[Math.floor(positions.length / 3)]!, positions.at(-2)!, head]) {
    const atP = await h.sql<{ key: string; people: number; attenders: number }[]>`
      select concat_ws('|', period_from::text, programme_id, period_level, provider_id) as key,
        count(*) filter (where kind = 'session')::int as people, count(*) filter (where kind = 'attended')::int as attenders
      from rm_attendance.session_people_versions where valid_from <= ${p.toString()}::bigint group by 1`;
    const want = new Map([...expected(sessions, p)].map(([k, c]) => [k, { people: c.people, attenders: c.attenders }]));
    t.same(new Map(atP.map(({ key, ...c }) => [key, c])), want, `the people of every cell at position ${p}`);
  }

  t.same(
    await compareWithRebuild(h.sql, attendanceProjection, h.vault),
    [],
    'a replay stores the same attendance rows',
  );
  t.same(
    await compareWithRebuild(h.sql, attendanceProjection, h.vault, 7),
    [],
    'a replay over chunks of 7 events stores the same attendance rows',
  );
  await ensureProjectionSchema(h.sql, submissionsProjection);
  await h.applyOutOfOrderThenAgain(submissionsProjection, stored);
  t.ok((await h.count('rm_submissions.submission_counts')) > 0, 'submissions are counted');
  t.same(
    await compareWithRebuild(h.sql, submissionsProjection, h.vault),
    [],
    'a replay stores the same submission rows',
  );
});
