import t from 'tap';
import { addMonths, isProvenReoffence } from '@vru/domain';
import { Harness } from '@vru/testkit';
import { provenReoffenceSql } from '@vru/api';

/**
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
