import t from 'tap';
import { countCells } from '@vru/api';
import {
  childPeriods,
  financialYearOf,
  PopulationCells,
  rowPublished,
  type AlignedPeriod,
  type Member,
} from '@vru/domain';
import { createRng } from '@vru/testkit/fuzz';
import { createSql } from '@vru/runtime';

// The cells counted in PostgreSQL (countCells) must answer what PopulationCells answers over the same members in
// memory: every key, every aligned period and no period, and so every disclosure decision.
const sql = createSql(process.env.DATABASE_URL!, { max: 1, applicationName: 'vru-test' });
t.teardown(() => sql.end());

const rng = createRng(20261202);
const providers = ['prov-a', 'prov-b', 'prov-c'];
const groups = ['female', 'male', 'unknown'];
const years = ['2025-04-01', '2026-04-01'].map((from) => ({
  ...financialYearOf(from),
  level: 'financial-year' as const,
}));
const periods: AlignedPeriod[] = years.flatMap((y) => {
  const quarters = childPeriods(y);
  return [y, ...quarters, ...quarters.flatMap((q) => childPeriods(q))];
});
const dateIn = (p: AlignedPeriod) => {
  const from = Date.parse(`${p.from}T00:00:00Z`);
  const days = (Date.parse(`${p.to}T00:00:00Z`) - from) / 86_400_000;
  return new Date(from + rng.int(days + 1) * 86_400_000).toISOString().slice(0, 10);
};

interface Row {
  part: string;
  provider: string;
  grp: string;
  id: string;
  d: string | null;
}
// Two parts; people appear in several cells and dates (repeat attenders), some undated, small and large cells.
const rows: Row[] = Array.from({ length: 1500 }, () => ({
  part: rng.pick(['prog-1', 'prog-2']),
  provider: rng.pick(providers),
  grp: rng.pick(groups),
  id: `p${rng.int(400)}`,
  d: rng.chance(0.05) ? null : dateIn(rng.pick(years)),
}));
// A few sparse cells (1–9 people) so that some decisions go each way.
for (let i = 0; i < 6; i++)
  rows.push({ part: 'prog-2', provider: 'prov-d', grp: 'male', id: `q${i}`, d: '2025-07-10' });

const key = (provider: string, group: string) => `${provider}\u0000${group}`;

t.test('counted in SQL, every count and decision is the in-memory one', async (t) => {
  const counted = await countCells(
    sql,
    sql`select * from json_to_recordset(${JSON.stringify(rows)}::text::json) as m(part text, provider text, grp text, id text, d date)`,
    key,
    { levels: ['month', 'quarter', 'financial-year'], totals: true },
  );
  for (const part of ['prog-1', 'prog-2']) {
    const members: Member[] = rows
      .filter((r) => r.part === part)
      .map((r) => ({ id: r.id, key: key(r.provider, r.grp), date: r.d }));
    const memory = new PopulationCells(members);
    const sqlCells = counted.get(part)!;
    t.same(sqlCells.keys().sort(), memory.keys().sort(), `${part}: the same keys`);
    let decisions = 0;
    let published = 0;
    for (const k of [null, ...memory.keys(), key('prov-z', 'none')]) {
      for (const p of [null, ...periods]) {
        t.equal(
          sqlCells.count(k, p),
          memory.count(k, p),
          `${part} ${k?.replace('\u0000', '/') ?? 'all'} ${p ? `${p.from}..${p.to}` : 'any'}`,
        );
        const shown = rowPublished(sqlCells, p, k);
        t.equal(shown, rowPublished(memory, p, k));
        decisions++;
        if (shown) published++;
      }
    }
    t.ok(published > 0 && published < decisions, `${part}: decisions go both ways (${published} of ${decisions})`);
  }
});

t.test('a period that is not a whole month, quarter or financial year was not counted', async (t) => {
  const counted = await countCells(
    sql,
    sql`select * from json_to_recordset(${JSON.stringify(rows)}::text::json) as m(part text, provider text, grp text, id text, d date)`,
    key,
    { levels: ['quarter'], totals: false },
  );
  t.throws(() => counted.get('prog-1')!.count(null, { from: '2025-07-01', to: '2025-07-15' }));
});
