import t from 'tap';
import { isProvenReoffence, provenReoffending, type ReoffendingParticipant } from './reoffending.js';

const off = (offenceDate: string, provenDate: string, seriousViolence = false) => ({
  offenceDate,
  provenDate,
  seriousViolence,
});

// Cohort Q1 2025. By hand, as of 2026-11-25:
//  A (2025-01-15): offence on 2026-01-14, the last day of the 12-month follow-up, counts; one on 2026-01-15
//     (the anniversary) does not.                                             → 1 reoffence, not serious violence
//  B (2025-02-10): offence before the index date does not count; 2025-03-01 counts; 2025-12-01 proven 2026-08-09
//     (last day of the 6-month waiting period) counts, serious violence; 2025-12-05 proven 2026-08-10 does not. → 2, 1 SV
//  C (2025-03-01): withdrew evaluation consent on 2026-06-01 → excluded from computations as of that date on.
//  D (2025-03-31): last day of the period, no offences.                      → 0
//  E (2025-04-01): outside the period.
const people: ReoffendingParticipant[] = [
  {
    indexDate: '2025-01-15',
    evaluationConsentWithdrawnOn: null,
    offences: [off('2026-01-14', '2026-03-01'), off('2026-01-15', '2026-02-01', true)],
  },
  {
    indexDate: '2025-02-10',
    evaluationConsentWithdrawnOn: null,
    offences: [
      off('2025-02-01', '2025-02-20', true),
      off('2025-03-01', '2025-04-01'),
      off('2025-12-01', '2026-08-09', true),
      off('2025-12-05', '2026-08-10', true),
    ],
  },
  {
    indexDate: '2025-03-01',
    evaluationConsentWithdrawnOn: '2026-06-01',
    offences: [off('2025-06-01', '2025-07-01', true)],
  },
  { indexDate: '2025-03-31', evaluationConsentWithdrawnOn: null, offences: [] },
  { indexDate: '2025-04-01', evaluationConsentWithdrawnOn: null, offences: [off('2025-05-01', '2025-06-01')] },
  { indexDate: '2026-02-01', evaluationConsentWithdrawnOn: null, offences: [off('2026-05-01', '2026-06-01', true)] },
];
const Q1_2025 = { from: '2025-01-01', to: '2025-03-31' };

t.test('the 12-month follow-up and the 6-month waiting period', async (t) => {
  t.ok(isProvenReoffence('2025-01-15', off('2025-01-15', '2025-02-01'), '2026-11-25'), 'on the index date');
  t.notOk(
    isProvenReoffence('2025-01-15', off('2025-01-14', '2025-02-01'), '2026-11-25'),
    'the day before the index date',
  );
  t.ok(
    isProvenReoffence('2025-01-15', off('2026-01-14', '2026-07-14'), '2026-11-25'),
    'last day of follow-up, last day of waiting',
  );
  t.notOk(
    isProvenReoffence('2025-01-15', off('2026-01-15', '2026-02-01'), '2026-11-25'),
    '12-month anniversary is outside',
  );
  t.notOk(
    isProvenReoffence('2025-01-15', off('2025-06-01', '2026-07-15'), '2026-11-25'),
    'proven on the 18-month anniversary is too late',
  );
  t.notOk(isProvenReoffence('2025-01-15', off('2025-06-01', '2025-09-01'), '2025-08-31'), 'not yet proven at asOf');
});

t.test('a final cohort with a withdrawn consent', async (t) => {
  const r = provenReoffending(people, Q1_2025, '2026-11-25');
  t.equal(r.cohortSize, 3, 'A, B and D; C withdrew, E is outside the period');
  t.equal(r.excludedWithdrawn, 1);
  t.equal(r.reoffenders, 2);
  t.equal(r.reoffences, 3);
  t.equal(r.frequencyPerPerson, 1);
  t.equal(r.frequencyPerReoffender, 1.5);
  t.equal(r.binaryRate!.numerator, 2);
  t.equal(r.binaryRate!.denominator, 3);
  t.ok(
    Math.abs(r.binaryRate!.lower - 0.2077) < 5e-4 && Math.abs(r.binaryRate!.upper - 0.9385) < 5e-4,
    'Wilson interval of 2/3',
  );
  t.equal(r.seriousViolence.reoffenders, 1, 'only B has a counted serious violence offence');
  t.equal(r.seriousViolence.reoffences, 1);
  t.equal(r.seriousViolence.frequencyPerPerson, 1 / 3);
  t.equal(r.seriousViolence.frequencyPerReoffender, 1);
  t.equal(r.finalOn, '2026-09-30', 'last index date 2025-03-31 + 18 months');
  t.equal(r.provisional, false);
});

t.test('as of a date before the withdrawal the participant is still in, and later proofs are unknown', async (t) => {
  const r = provenReoffending(people, Q1_2025, '2026-05-31');
  t.equal(r.cohortSize, 4);
  t.equal(r.excludedWithdrawn, 0);
  // A: 2026-01-14 proven 2026-03-01; B: 2025-03-01 only (2025-12-01 is proven after asOf); C: 2025-06-01.
  t.equal(r.reoffenders, 3);
  t.equal(r.reoffences, 3);
  t.equal(r.seriousViolence.reoffenders, 1, 'C');
  t.equal(r.provisional, true, 'asOf is before 2026-09-30');
});

t.test('a provisional cohort', async (t) => {
  const r = provenReoffending(people, { from: '2026-01-01', to: '2026-03-31' }, '2026-11-25');
  t.equal(r.cohortSize, 1);
  t.equal(r.reoffenders, 1);
  t.equal(r.seriousViolence.reoffenders, 1);
  t.equal(r.finalOn, '2027-08-01');
  t.equal(r.provisional, true);
});

t.test('an empty cohort', async (t) => {
  const r = provenReoffending(people, { from: '2024-01-01', to: '2024-06-30' }, '2026-11-25');
  t.equal(r.cohortSize, 0);
  t.equal(r.binaryRate, null);
  t.equal(r.frequencyPerPerson, null);
  t.equal(r.frequencyPerReoffender, null);
  t.equal(r.finalOn, '2025-12-30', 'the period end + 18 months');
  t.equal(r.provisional, false);
});
