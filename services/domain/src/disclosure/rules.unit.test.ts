import t from 'tap';
import { seededRandom } from '../testing/random.js';
import {
  alignPeriod,
  childPeriods,
  CountedCells,
  financialYearOf,
  MIN_POPULATION,
  periodIssues,
  PopulationCells,
  rowPublished,
  siblingChain,
  type AlignedPeriod,
  type Member,
} from './rules.js';

t.test('aligned periods: a month, a quarter or a financial year, nothing else', async (t) => {
  t.same(alignPeriod('2026-02-01', '2026-02-28'), { from: '2026-02-01', to: '2026-02-28', level: 'month' });
  t.same(alignPeriod('2024-02-01', '2024-02-29')?.level, 'month', 'leap February');
  t.same(alignPeriod('2026-07-01', '2026-09-30')?.level, 'quarter');
  t.same(alignPeriod('2026-04-01', '2027-03-31')?.level, 'financial-year');
  for (const [from, to] of [
    ['2026-07-01', '2026-07-01'],
    ['2026-07-02', '2026-07-31'],
    ['2026-07-01', '2026-07-30'],
    ['2026-01-01', '2026-12-31'],
    ['2026-07-01', '2026-08-31'],
    ['2026-02-01', '2026-04-30'],
    ['2026-04-01', '2028-03-31'],
  ] as const) {
    t.equal(alignPeriod(from, to), null, `${from}..${to} refused`);
  }
  t.same(financialYearOf('2026-03-31'), { from: '2025-04-01', to: '2026-03-31' });
  t.same(
    childPeriods({ from: '2026-04-01', to: '2027-03-31', level: 'financial-year' }).map((p) => p.from),
    ['2026-04-01', '2026-07-01', '2026-10-01', '2027-01-01'],
  );
  t.same(
    siblingChain({ from: '2026-08-01', to: '2026-08-31', level: 'month' }).map((s) => s.length),
    [1, 4, 3],
  );
});

t.test('period issues name the field and the rule', async (t) => {
  const fields = { from: '/querystring/from', to: '/querystring/to' };
  t.same(periodIssues('2026-07-01', '2026-07-31', fields, true), []);
  t.same(periodIssues(undefined, undefined, fields, false), []);
  t.same(
    periodIssues(undefined, undefined, fields, true).map((i) => [i.field, i.rule]),
    [['/querystring/from', 'period-required']],
  );
  t.same(
    periodIssues('2026-07-01', undefined, fields, false).map((i) => [i.field, i.rule]),
    [['/querystring/to', 'period-required']],
  );
  t.same(
    periodIssues('2026-07-14', '2026-07-14', fields, true).map((i) => [i.field, i.rule]),
    [['/querystring/from', 'period-not-aligned']],
  );
  t.same(
    periodIssues('2026-07-01', '2026-07-14', fields, true).map((i) => [i.field, i.rule]),
    [['/querystring/to', 'period-not-aligned']],
  );
});

const people = (n: number, key: string, date: string, prefix = key + date): Member[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, key, date }));
const month = (m: string): AlignedPeriod =>
  alignPeriod(`${m}-01`, new Date(Date.UTC(Number(m.slice(0, 4)), Number(m.slice(5)), 0)).toISOString().slice(0, 10))!;
const FY: AlignedPeriod = { from: '2026-04-01', to: '2027-03-31', level: 'financial-year' };
const Q2: AlignedPeriod = { from: '2026-07-01', to: '2026-09-30', level: 'quarter' };

t.test(
  'a row is withheld when its population is small, and when a sibling cell could be differenced out',
  async (t) => {
    const cells = new PopulationCells([
      ...people(12, 'a', '2026-07-10'),
      ...people(11, 'b', '2026-08-10'),
      ...people(10, 'a', '2026-09-10'),
    ]);
    t.equal(rowPublished(cells, Q2, null), true, 'quarter of 33');
    t.equal(rowPublished(cells, month('2026-07'), null), true, 'months of 12, 11, 10');
    t.equal(rowPublished(cells, month('2026-10'), null), false, 'an empty month: withheld, zero included');
    t.equal(
      rowPublished(cells, Q2, 'a'),
      true,
      'groups of 22 and 11 in the quarter, every month cell 0 or at least 10',
    );
    t.equal(
      rowPublished(cells, month('2026-08'), 'a'),
      false,
      'group a has nobody in August: withheld, not answered 0',
    );
    const small = new PopulationCells([
      ...people(30, 'a', '2026-07-10'),
      ...people(1, 'b', '2026-08-10'),
      ...people(12, 'a', '2026-09-10'),
    ]);
    t.equal(rowPublished(small, Q2, null), true, 'the quarter of 43 is published');
    t.equal(
      rowPublished(small, month('2026-07'), null),
      false,
      "July of 30 is withheld: the quarter less July and September is August's one person",
    );
    t.equal(
      rowPublished(small, Q2, 'a'),
      false,
      "the breakdown is withheld whole: total less group a would be group b's one person",
    );
  },
);

/**
 * The adversary: every answer a suppressed role can get (each month, quarter and the year; the whole
 * population and each group) is a sum over cells (month × group). A cell is recoverable when its indicator
 * is a linear combination of the published answers. For random small populations, no cell holding 1 to 9
 * people may be recoverable.
 */
function recoverable(published: number[][], target: number[]): boolean {
  const rows = published.map((r) => [...r]);
  const basis: number[][] = [];
  const pivots: number[] = [];
  const reduce = (v: number[]) => {
    const x = [...v];
    basis.forEach((b, i) => {
      const f = x[pivots[i]!]!;
      if (Math.abs(f) > 1e-9) for (let j = 0; j < x.length; j++) x[j]! -= f * b[j]!;
    });
    return x;
  };
  for (const r of rows) {
    const x = reduce(r);
    const p = x.findIndex((v) => Math.abs(v) > 1e-9);
    if (p < 0) continue;
    const scaled = x.map((v) => v / x[p]!);
    basis.forEach((b) => {
      const f = b[p]!;
      if (Math.abs(f) > 1e-9) for (let j = 0; j < b.length; j++) b[j]! -= f * scaled[j]!;
    });
    basis.push(scaled);
    pivots.push(p);
  }
  return reduce(target).every((v) => Math.abs(v) < 1e-9);
}

t.test('no combination of published answers isolates a small cell (200 random populations)', async (t) => {
  const random = seededRandom(15);
  const months = Array.from({ length: 12 }, (_, i) =>
    month(`${i < 9 ? 2026 : 2027}-${String(((i + 3) % 12) + 1).padStart(2, '0')}`),
  );
  const keys = ['a', 'b', 'c'];
  const quarters = childPeriods(FY);
  const periods = [FY, ...quarters, ...months];
  let published = 0;
  let smallCells = 0;
  for (let world = 0; world < 200; world++) {
    const members: Member[] = [];
    const sizes = months.map(() =>
      keys.map(() => {
        const r = random();
        return r < 0.35 ? 0 : r < 0.5 ? 1 + Math.floor(random() * 9) : 10 + Math.floor(random() * 30);
      }),
    );
    sizes.forEach((row, m) =>
      row.forEach((n, k) => members.push(...people(n, keys[k]!, months[m]!.from, `w${world}m${m}${keys[k]}`))),
    );
    const cells = new PopulationCells(members);
    const vector = (p: AlignedPeriod, key: string | null) =>
      months.flatMap((m) => keys.map((k) => (m.from >= p.from && m.to <= p.to && (key === null || key === k) ? 1 : 0)));
    const answers: number[][] = [];
    for (const p of periods)
      for (const key of [null, ...keys]) if (rowPublished(cells, p, key)) answers.push(vector(p, key));
    published += answers.length;
    sizes.forEach((row, m) =>
      row.forEach((n, k) => {
        if (n === 0 || n >= MIN_POPULATION) return;
        smallCells += 1;
        const target = months.flatMap((_, mm) => keys.map((_, kk) => (mm === m && kk === k ? 1 : 0)));
        if (recoverable(answers, target))
          t.fail(`world ${world}: the cell of ${n} in month ${m}, group ${keys[k]}, is recoverable`);
      }),
    );
  }
  t.ok(smallCells > 500, `${smallCells} small cells attacked`);
  t.ok(published > 200, `${published} answers published`);
});

t.test('people counted per cell and month judge every row as the people themselves do', async (t) => {
  const random = seededRandom(27);
  const keys = ['a', 'b', 'c'];
  const dates = ['2026-04-03', '2026-05-31', '2026-07-01', '2026-08-15', '2026-12-31', '2027-01-01', '2027-03-31'];
  const quarters = childPeriods(FY);
  const periods = [FY, ...quarters, ...quarters.flatMap((q) => childPeriods(q))];
  let published = 0;
  for (let world = 0; world < 100; world++) {
    const members: Member[] = [];
    for (const key of keys)
      for (const date of [...dates, null]) {
        const r = random();
        const n = r < 0.4 ? 0 : r < 0.7 ? 1 + Math.floor(random() * 9) : 10 + Math.floor(random() * 20);
        for (let i = 0; i < n; i++) members.push({ id: `${world}${key}${date}${i}`, key, date });
      }
    const months = new Map<string, { key: string; month: string | null; people: number }>();
    for (const m of members) {
      const month = m.date === null ? null : `${m.date.slice(0, 7)}-01`;
      const cell = months.get(`${m.key} ${month}`) ?? { key: m.key, month, people: 0 };
      cell.people += 1;
      months.set(`${m.key} ${month}`, cell);
    }
    const people = new PopulationCells(members);
    const counted = CountedCells.fromMonths(months.values());
    t.same(counted.keys().sort(), people.keys().sort(), `world ${world}: the same cells`);
    for (const p of [null, ...periods])
      for (const key of [null, ...keys]) {
        if (counted.count(key, p) !== people.count(key, p))
          t.fail(`world ${world}: ${key} in ${p?.from}..${p?.to} counted ${counted.count(key, p)}`);
        const row = rowPublished(counted, p, key);
        if (row !== rowPublished(people, p, key)) t.fail(`world ${world}: ${key} ${p?.from}`);
        if (row) published += 1;
      }
  }
  t.ok(published > 100, `${published} rows published, the rest withheld, alike`);
});
