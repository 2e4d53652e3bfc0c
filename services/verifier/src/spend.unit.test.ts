import t from 'tap';
import { foldGrantEvents, quarterOf, spendFigures, SpendError, type GrantStreamEvent } from './spend.js';

let version = 0;
const event = (type: string, data: Record<string, unknown>, eventId = `e-${version + 1}`): GrantStreamEvent => ({
  eventId,
  streamVersion: ++version,
  type,
  schemaVersion: 1,
  data,
});
const awarded = () =>
  event('GrantAwarded', {
    providerId: 'prov-a',
    programmeId: 'mentoring',
    amountPence: 5_000_000,
    startDate: '2025-04-01',
    endDate: '2026-03-31',
    targetParticipants: 40,
  });
const spent = (id: string, amountPence: number, category: string, periodStart: string) =>
  event('SpendRecorded', { amountPence, category, periodStart, periodEnd: periodStart, evidenceRef: `INV-${id}` }, id);

t.test('quarters are calendar quarters of the spend period start', async (t) => {
  t.equal(quarterOf('2025-07-01'), '2025-Q3');
  t.equal(quarterOf('2026-03-31'), '2026-Q1');
  t.equal(quarterOf('2025-12-31'), '2025-Q4');
  t.throws(() => quarterOf('2025-7-1'), RangeError);
});

t.test('spend figures: awarded, spent by category and by quarter (in order), remaining', async (t) => {
  const figures = spendFigures(1_000, [
    { amountPence: 100, category: 'staff', periodStart: '2025-10-01' },
    { amountPence: 250, category: 'venue', periodStart: '2025-04-15' },
    { amountPence: 50, category: 'staff', periodStart: '2025-05-01' },
  ]);
  t.same(figures, {
    awardedPence: 1_000,
    spentPence: 400,
    remainingPence: 600,
    spentByCategory: { staff: 150, venue: 250 },
    spentByQuarter: { '2025-Q2': 300, '2025-Q4': 100 },
  });
  t.same(Object.keys(figures.spentByQuarter), ['2025-Q2', '2025-Q4']);
  t.same(spendFigures(7, []), {
    awardedPence: 7,
    spentPence: 0,
    remainingPence: 7,
    spentByCategory: {},
    spentByQuarter: {},
  });
});

t.test('a grant stream folds into its terms and its spend with every correction applied', async (t) => {
  version = 0;
  const ledger = foldGrantEvents([
    awarded(),
    spent('s1', 120_000, 'staff', '2025-04-01'),
    spent('s2', 30_000, 'venue', '2025-07-01'),
    event('SpendCorrected', {
      correctsEventId: 's1',
      amountPence: 100_000,
      category: 'staff',
      reason: 'invoice credited',
    }),
    event('SpendCorrected', { correctsEventId: 's2', amountPence: 0, category: 'venue', reason: 'duplicate' }),
    event('SpendCorrected', { correctsEventId: 's1', amountPence: 90_000, category: 'materials', reason: 'recoded' }),
    event('SomethingElse', {}),
    { ...spent('s3', 5_000, 'staff', '2025-10-01'), schemaVersion: 2 },
    event('SpendCorrected', {
      correctsEventId: 's3',
      amountPence: 4_000,
      category: 'staff',
      $sealed: 'v1.sealed-reason',
    }),
  ]);
  t.same(ledger.terms, {
    providerId: 'prov-a',
    programmeId: 'mentoring',
    amountPence: 5_000_000,
    startDate: '2025-04-01',
    endDate: '2026-03-31',
  });
  t.same(
    ledger.lines.map((l) => [l.eventId, l.amountPence, l.category, l.corrections]),
    [
      ['s1', 90_000, 'materials', 2],
      ['s2', 0, 'venue', 1],
      ['s3', 4_000, 'staff', 1],
    ],
    'a version 2 spend and a correction with its reason sealed fold the same way',
  );
  t.same(spendFigures(ledger.terms!.amountPence, ledger.lines), {
    awardedPence: 5_000_000,
    spentPence: 94_000,
    remainingPence: 4_906_000,
    spentByCategory: { materials: 90_000, venue: 0, staff: 4_000 },
    spentByQuarter: { '2025-Q2': 90_000, '2025-Q3': 0, '2025-Q4': 4_000 },
  });
});

t.test('what the fold cannot interpret is refused, never guessed', async (t) => {
  version = 0;
  const cases: [string, GrantStreamEvent[]][] = [
    ['spend before the award', [spent('s1', 1, 'staff', '2025-04-01')]],
    [
      'a correction of an unknown spend',
      [awarded(), event('SpendCorrected', { correctsEventId: 'nope', amountPence: 1, category: 'staff', reason: 'r' })],
    ],
    ['two awards', [awarded(), awarded()]],
    ['the same spend twice', [awarded(), spent('s1', 1, 'staff', '2025-04-01'), spent('s1', 1, 'staff', '2025-04-01')]],
    ['an amount that is not whole pence', [awarded(), spent('s1', 1.5, 'staff', '2025-04-01')]],
    ['an amount as text', [awarded(), spent('s1', '100' as unknown as number, 'staff', '2025-04-01')]],
    ['a date that is not ISO', [awarded(), spent('s1', 1, 'staff', '01/04/2025')]],
    ['an unknown schema version', [{ ...awarded(), schemaVersion: 2 }]],
    ['an unknown spend version', [awarded(), { ...spent('s1', 1, 'staff', '2025-04-01'), schemaVersion: 3 }]],
  ];
  for (const [what, events] of cases) t.throws(() => foldGrantEvents(events), SpendError, what);
});
