import t from 'tap';
import { addMonths, isProvenReoffence, RELIABLE_CHANGE, reliablyImproved } from '@vru/domain';
import { Harness } from '@vru/testkit';
import { provenReoffenceSql, reliablyImprovedSql } from '@vru/api';

/**
 * Rules the reports apply in SQL, each decided there and by the domain's function on the same cases.
 *
 * The reoffending report counts proven reoffences in SQL; the rule is the domain's `isProvenReoffence`. Every case
 * here is decided by both, on the anniversaries and the days either side of them, at month ends (where a month has no
 * such day and the date falls back to the month's last) and leap days, against several `asOf` dates.
 */
const h = await Harness.start();
t.teardown(() => h.close());

const day = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
const around = (date: string) => [day(date, -1), date, day(date, 1)];

const indexDates = [
  '2023-01-31',
  '2023-03-31',
  '2023-08-31',
  '2023-12-31',
  '2024-02-29',
  '2024-01-29',
  '2024-06-15',
  '2024-08-30',
  '2025-02-28',
  '2025-04-01',
];
const cases: { i: number; enrolled_on: string; offence_date: string; proven_date: string }[] = [];
for (const index of indexDates) {
  const followUpEnds = addMonths(index, 12);
  const waitingEnds = addMonths(index, 18);
  for (const offence of [...around(index), ...around(followUpEnds), day(index, 100)]) {
    for (const proven of [offence, ...around(waitingEnds), day(offence, 30)]) {
      cases.push({ i: cases.length, enrolled_on: index, offence_date: offence, proven_date: proven });
    }
  }
}

t.test('the SQL rule decides every case as isProvenReoffence does', async (t) => {
  for (const asOf of ['2024-03-01', '2025-02-28', '2025-08-31', '2026-03-31', '2027-12-31']) {
    const rows = await h.sql<{ i: number; proven: boolean }[]>`
      select p.i, ${provenReoffenceSql(h.sql, asOf)} as proven
      from jsonb_to_recordset(${h.sql.json(cases)}) as p(i int, enrolled_on date)
        join jsonb_to_recordset(${h.sql.json(cases)}) as o(i int, offence_date date, proven_date date) using (i)
      order by p.i`;
    t.equal(rows.length, cases.length, `${asOf}: every case answered`);
    const differing = rows.filter(
      (r) =>
        r.proven !==
        isProvenReoffence(
          cases[r.i]!.enrolled_on,
          { offenceDate: cases[r.i]!.offence_date, provenDate: cases[r.i]!.proven_date, seriousViolence: false },
          asOf,
        ),
    );
    t.same(
      differing.map((r) => cases[r.i]),
      [],
      `${asOf}: no case decided differently`,
    );
    t.ok(rows.some((r) => r.proven) && rows.some((r) => !r.proven), `${asOf}: both answers occur`);
  }
});

t.test('the SQL reliable-change rule decides every pair as reliablyImproved does', async (t) => {
  // Around each threshold in both directions, fractions whose float difference falls just short of it, and the
  // values a float8 column can hold that no validated event carries (NaN, infinities).
  const scores = ['0', '1', '2.5', '3', '5.9', '6', '8', '20.3', '23.3', '1.1', '4.1', '0.2', '2.2', '8.2', '14', '26'];
  const odd = ['NaN', 'Infinity', '-Infinity', '1e308', '-1e308', '9e307', '-9e307', '1e299'];
  const values = [...scores, ...odd];
  const cases: { instrument: string; baseline: string; exit: string }[] = [];
  for (const instrument of [...Object.keys(RELIABLE_CHANGE), 'unknown-instrument'])
    for (const baseline of values) for (const exit of values) cases.push({ instrument, baseline, exit });
  const rows = await h.sql<{ i: number; improved: boolean }[]>`
    select i::int - 1 as i, ${reliablyImprovedSql(h.sql)} as improved
    from unnest(${cases.map((c) => c.instrument)}::text[], ${cases.map((c) => c.baseline)}::float8[],
                ${cases.map((c) => c.exit)}::float8[]) with ordinality as o(instrument, baseline_score, exit_score, i)
    order by i`;
  t.equal(rows.length, cases.length, 'every pair answered');
  const differing = rows.filter((r) => {
    const c = cases[r.i]!;
    return (
      r.improved !== (reliablyImproved(c.instrument, { baseline: Number(c.baseline), exit: Number(c.exit) }) === true)
    );
  });
  t.same(
    differing.map((r) => cases[r.i]),
    [],
    'no pair decided differently',
  );
  t.ok(rows.some((r) => r.improved) && rows.some((r) => !r.improved), 'both answers occur');
  const decided = (instrument: string, baseline: string, exit: string) =>
    rows.find((r) => {
      const c = cases[r.i]!;
      return c.instrument === instrument && c.baseline === baseline && c.exit === exit;
    })?.improved;
  // 4.1 − 1.1 is 2.9999999999999996 in floats, 23.3 − 20.3 exactly 3; 8.2 − 2.2 is 5.999999999999999.
  t.equal(decided('swemwbs', '1.1', '4.1'), false, 'a change floats make 2.999… is short of 3 points');
  t.equal(decided('swemwbs', '20.3', '23.3'), true, 'a change of exactly 3 points is reliable');
  t.equal(decided('sdq-total', '8.2', '2.2'), false, 'a fall floats make 5.999… is short of 6 points');
});
