import t from 'tap';
import type { Principal } from '@vru/contracts';
import { EngagementReport } from '@vru/contracts';
import { disclosedRows, disclosureScope, monthCells, periodsWithin, withheld, type MonthCell } from './disclosure.js';
import { schemaColumns, toCsv } from './csv.js';
import { HttpProblem } from './problem.js';

const commissioner: Principal = { keyId: 'k', role: 'commissioner', providerId: null };
const provider: Principal = { keyId: 'p', role: 'provider', providerId: 'prov-a' };

t.test("the scope: a provider's own figures bypass the layer, every other role goes through it", async (t) => {
  const own = disclosureScope(provider, undefined, { from: '2026-07-14', to: '2026-07-14', required: true });
  t.same([own.applied, own.provider, own.stamp], [false, 'prov-a', { rules: 'vru-sdc-1', applied: false }]);
  const dc = disclosureScope(commissioner, 'prov-b', { from: '2026-07-01', to: '2026-09-30', required: true });
  t.same(
    [dc.applied, dc.provider, dc.sqlProvider, dc.period?.level],
    [true, 'prov-b', null, 'quarter'],
    'siblings are read: no provider filter in SQL',
  );
  t.same(
    dc.window('2026-07-01', '2026-09-30'),
    { from: '2026-04-01', to: '2027-03-31' },
    'the whole financial year is read',
  );
  try {
    disclosureScope(commissioner, undefined, {
      from: '2026-07-14',
      to: '2026-07-14',
      required: true,
      fields: { from: '/querystring/cohortFrom', to: '/querystring/cohortTo' },
    });
    t.fail('a single day is refused');
  } catch (err) {
    t.ok(err instanceof HttpProblem);
    t.same(
      [
        (err as HttpProblem).statusCode,
        (err as HttpProblem).errors?.[0]?.field,
        (err as HttpProblem).errors?.[0]?.rule,
      ],
      [422, '/querystring/cohortFrom', 'period-not-aligned'],
    );
  }
});

t.test('breakdowns: every value answered, published whole or not at all', async (t) => {
  const dc = disclosureScope(commissioner, undefined, { from: '2026-04-01', to: '2027-03-31', required: true });
  const cell = (group: string | null, people: number, month = '2026-05-01'): MonthCell => ({
    provider_id: 'prov-a',
    group,
    month,
    people,
  });
  const many = [cell('male', 12), cell('female', 10)];
  const rows = disclosedRows(dc, many, 'gender', ['female', 'male', 'other'], []);
  t.same(
    rows.map((r) => [r.group, r.published]),
    [
      ['female', true],
      ['male', true],
      ['other', false],
    ],
  );
  const withOne = disclosedRows(dc, [...many, cell('other', 1)], 'gender', ['female', 'male', 'other'], []);
  t.same(
    withOne.map((r) => r.published),
    [false, false, false],
    'one person in a group withholds the breakdown whole',
  );
  const quarters = disclosedRows(dc, [cell(null, 22)], 'quarter', null, []);
  t.same(
    quarters.map((r) => [r.group, r.published]),
    [
      ['2026-Q2', true],
      ['2026-Q3', false],
      ['2026-Q4', false],
      ['2027-Q1', false],
    ],
  );
  const smallMonth = disclosedRows(dc, [cell(null, 22), cell(null, 3, '2026-08-01')], 'quarter', null, []);
  t.same(
    smallMonth.map((r) => r.published),
    [false, false, false, false],
    'a quarter of under ten people withholds every quarter (the year less the others would give it back)',
  );
  t.same(
    disclosedRows(dc, [cell(null, 22), cell(null, 3, '2026-08-01')], undefined, null, []).map((r) => r.published),
    [true],
    'the year without a breakdown is judged by its own population',
  );
  const own = disclosureScope(provider, undefined, { required: true });
  t.same(
    disclosedRows(own, [], 'gender', null, ['male', 'female']).map((r) => [r.group, r.published]),
    [
      ['female', true],
      ['male', true],
    ],
    "a provider's own figures: the groups it has, in order",
  );
  t.same(
    periodsWithin({ from: '2026-07-01', to: '2026-09-30', level: 'quarter' }, 'month').map((p) => p.from),
    ['2026-07-01', '2026-08-01', '2026-09-01'],
  );
  t.same(
    periodsWithin({ from: '2026-07-01', to: '2026-07-31', level: 'month' }, 'quarter').map((p) => p.from),
    ['2026-07-01'],
  );
});

t.test('people counted per provider and month are judged as the people themselves', async (t) => {
  // A seeded generator, so that a failure can be replayed.
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  const providers = ['prov-a', 'prov-b', 'prov-c'];
  const queries = [
    { from: '2025-04-01', to: '2026-03-31' },
    { from: '2025-07-01', to: '2025-09-30' },
    { from: '2026-01-01', to: '2026-01-31' },
  ];
  t.same(
    monthCells(
      [
        { provider_id: 'prov-a', date: '2025-05-09' },
        { provider_id: 'prov-a', date: '2025-05-31' },
        { provider_id: 'prov-b', date: null },
      ],
      (p) => p.date,
    ),
    [
      { provider_id: 'prov-a', group: null, month: '2025-05-01', people: 2 },
      { provider_id: 'prov-b', group: null, month: null, people: 1 },
    ],
    'one cell per provider and month, undated people in a cell of their own',
  );
  let published = 0;
  for (let i = 0; i < 100; i++) {
    // Small populations around the thresholds (0, under 5, under 10), some months and providers empty.
    const people = Array.from({ length: random(60) }, (_, n) => ({
      id: `person-${n}`,
      provider_id: providers[random(providers.length)]!,
      date:
        random(20) === 0
          ? null
          : `202${5 + random(2)}-${String(1 + random(12)).padStart(2, '0')}-${String(1 + random(28)).padStart(2, '0')}`,
    }));
    for (const q of queries) {
      for (const named of [undefined, ...providers]) {
        const dc = disclosureScope(commissioner, named, { ...q, required: true });
        const fromPeople = dc.published(
          people.map((p) => ({ id: p.id, key: dc.key(p.provider_id, null), date: p.date })),
          null,
        );
        const fromCounts = disclosedRows(
          dc,
          monthCells(people, (p) => p.date),
          undefined,
          null,
          [],
        )[0]!.published;
        if (fromPeople !== fromCounts) t.fail(`case ${i}, ${q.from} to ${q.to}, provider ${named ?? 'none'}`);
        if (fromCounts) published++;
      }
    }
  }
  t.ok(published > 0, `some populations published (${published} of 1,200), so both answers were exercised`);
});

t.test('a withheld row keeps its identifiers and the keys of its breakdowns', async (t) => {
  t.same(
    withheld(
      { programmeId: 'p', referrals: 3, rate: { value: 1 }, exitReasons: { completed: 0, other: 2 } },
      ['programmeId'],
      ['exitReasons'],
    ),
    { programmeId: 'p', referrals: null, rate: null, exitReasons: { completed: null, other: null } },
  );
});

t.test("an empty report's CSV keeps its header line, from the row schema", async (t) => {
  const columns = schemaColumns(EngagementReport.properties.rows.items);
  t.match(columns.slice(0, 3), ['programmeId', 'group', 'referrals']);
  t.ok(columns.includes('completionRate.lower'), 'nullable objects are flattened as in the rows');
  t.equal(toCsv([], ['a', 'b.c']), 'a,b.c\r\n');
});
