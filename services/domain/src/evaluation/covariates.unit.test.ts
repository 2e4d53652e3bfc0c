import t from 'tap';
import { ageOn } from '../metrics/age.js';
import {
  buildDesign,
  ethnicityGroupOf,
  participantCovariates,
  POOLED_LEVEL,
  priorOffending,
  type Covariates,
  type OffenceHistoryEntry,
} from './covariates.js';

const offence = (
  offenceDate: string,
  provenDate: string,
  extra: Partial<OffenceHistoryEntry> = {},
): OffenceHistoryEntry => ({
  offenceDate,
  provenDate,
  seriousViolence: false,
  custodial: false,
  ...extra,
});

t.test('ethnicity groups', async (t) => {
  t.equal(ethnicityGroupOf('black-caribbean'), 'black');
  t.equal(ethnicityGroupOf('white-gypsy-or-irish-traveller'), 'white');
  t.equal(ethnicityGroupOf('mixed-white-and-asian'), 'mixed');
  t.equal(ethnicityGroupOf('other-arab'), 'other');
  t.equal(ethnicityGroupOf('prefer-not-to-say'), 'not-stated');
});

t.test('age at the index date', async (t) => {
  t.equal(ageOn({ birthYearMonth: '2009-04', referralDate: '2025-01-10' }, '2025-03-31'), 15);
  t.equal(
    ageOn({ birthYearMonth: '2009-04', referralDate: '2025-01-10' }, '2025-04-01'),
    16,
    'the birthday month counts as reached',
  );
  t.equal(
    ageOn({ ageAtReferral: 15, referralDate: '2025-01-10' }, '2025-12-31'),
    15,
    'less than a year after referral',
  );
  t.equal(
    ageOn({ ageAtReferral: 15, referralDate: '2025-01-10' }, '2026-01-02'),
    16,
    'a year (of months) after referral',
  );
  t.equal(ageOn({ referralDate: '2025-01-10' }, '2025-02-01'), null);
});

t.test('offending history counts what was proven before the index date', async (t) => {
  const history = [
    offence('2022-12-31', '2023-02-01', { custodial: true }), // more than 24 months before the index: not counted, but custody was
    offence('2023-01-01', '2023-03-01'), // first day of the 24-month window
    offence('2024-06-01', '2024-09-01', { seriousViolence: true }),
    offence('2024-12-01', '2025-02-01'), // committed before, proven after the index date: not known at the index date
    offence('2025-01-01', '2025-01-05'), // on the index date: part of the follow-up, not the history
  ];
  t.same(priorOffending('2025-01-01', history), { priorOffences: 2, priorSeriousViolence: true, priorCustody: true });
  t.same(priorOffending('2025-01-01', []), { priorOffences: 0, priorSeriousViolence: false, priorCustody: false });
});

t.test("a participant's covariates from the referral and the offences before the index date", async (t) => {
  const referral = {
    referralDate: '2024-11-20',
    ageAtReferral: 16,
    gender: 'male' as const,
    ethnicity: 'black-african' as const,
    postcodeDistrict: 'DE23',
  };
  t.same(participantCovariates(referral, '2025-01-06', [offence('2024-05-01', '2024-07-01')]), {
    indexDate: '2025-01-06',
    ageAtIndex: 16,
    gender: 'male',
    ethnicityGroup: 'black',
    area: 'DE23',
    priorOffences: 1,
    priorSeriousViolence: false,
    priorCustody: false,
  });
  t.equal(
    participantCovariates({ ...referral, ageAtReferral: undefined }, '2025-01-06', []),
    null,
    'no age (erased): not evaluable',
  );
});

const person = (over: Partial<Covariates>): Covariates => ({
  indexDate: '2025-01-01',
  ageAtIndex: 16,
  gender: 'male',
  ethnicityGroup: 'white',
  area: 'DE23',
  priorOffences: 0,
  priorSeriousViolence: false,
  priorCustody: false,
  ...over,
});

t.test('design matrix: intercept, reference levels, pooling, caps, names', async (t) => {
  // 30 people: areas DE23 × 14, DE22 × 10, DE1 × 4, NG10 × 2 (DE1 and NG10 are small: pooled, 6 people: folded into DE23).
  // gender: male × 20, female × 10. priorOffences 0..29 (capped at 10). Everyone white: no ethnicity column.
  const areas = [
    ...Array(14).fill('DE23'),
    ...Array(10).fill('DE22'),
    ...Array(4).fill('DE1'),
    ...Array(2).fill('NG10'),
  ] as string[];
  const people = areas.map((area, i) =>
    person({ area, gender: i % 3 === 0 ? 'female' : 'male', priorOffences: i, ageAtIndex: 12 + (i % 8) }),
  );
  const d = buildDesign(people);
  t.same(
    d.columns.map((c) => c.name),
    ['intercept', 'ageAtIndex', 'gender=female', 'area=DE22', 'priorOffences'],
  );
  t.same(
    d.dropped,
    ['priorSeriousViolence', 'priorCustody'],
    'binary covariates that never vary are dropped (one ethnicity: no dummy)',
  );
  const area = d.categorical.find((c) => c.covariate === 'area')!;
  t.same(area, { covariate: 'area', levels: ['DE23', 'DE22'], reference: 'DE23', pooled: ['DE1', 'NG10'] });
  t.same(d.rows[0], [1, 12, 1, 0, 0], 'person 0: age 12, female, DE23 (reference), no prior offences');
  t.same(d.rows[29], [1, 17, 0, 0, 10], 'person 29: NG10 is folded into the reference; 29 prior offences capped at 10');
  t.same(
    d.balanceColumns.map((c) => c.name),
    [
      'ageAtIndex',
      'gender=male',
      'gender=female',
      'ethnicityGroup=white',
      'area=DE23',
      'area=DE22',
      'priorOffences',
      'priorSeriousViolence',
      'priorCustody',
    ],
    'balance keeps every level, the reference included',
  );
});

t.test('small levels that add up to enough people form a pooled level', async (t) => {
  const areas = [
    ...Array(12).fill('DE23'),
    ...Array(10).fill('DE22'),
    ...Array(6).fill('DE1'),
    ...Array(5).fill('NG10'),
  ] as string[];
  const d = buildDesign(
    areas.map((area) => person({ area })),
    { covariates: ['area'] },
  );
  t.same(d.categorical[0], {
    covariate: 'area',
    levels: ['DE23', 'DE22', POOLED_LEVEL],
    reference: 'DE23',
    pooled: ['DE1', 'NG10'],
  });
  t.same(
    d.columns.map((c) => c.name),
    ['intercept', 'area=DE22', 'area=pooled'],
  );
  t.same(d.rows[30], [1, 0, 1]);
});

t.test('when every level is small, none is named: one pooled level, no column', async (t) => {
  const people = ['DE1', 'DE1', 'NG10', 'S1', 'S1', 'S1'].map((area) => person({ area }));
  const d = buildDesign(people, { covariates: ['area', 'priorOffences'] });
  t.same(d.categorical[0], {
    covariate: 'area',
    levels: [POOLED_LEVEL],
    reference: POOLED_LEVEL,
    pooled: ['DE1', 'NG10', 'S1'],
  });
  t.same(
    d.balanceColumns.map((c) => c.name),
    ['area=pooled', 'priorOffences'],
  );
  t.same(
    d.columns.map((c) => c.name),
    ['intercept'],
    'prior offences do not vary here either',
  );
});

t.test('age bands instead of age, and a clamped age', async (t) => {
  const people = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21].map((ageAtIndex) => person({ ageAtIndex }));
  const banded = buildDesign(people, { covariates: ['age'], age: 'band', minLevelSize: 1 });
  t.same(banded.categorical[0]!.levels, ['10-13', '14-17', '18-21']);
  t.same(
    banded.columns.map((c) => c.name),
    ['intercept', 'ageBand=14-17', 'ageBand=18-21'],
  );
  const clamped = buildDesign(people, { covariates: ['age'], ageRange: [12, 18] });
  t.same(
    clamped.rows.map((r) => r[1]),
    [12, 12, 12, 13, 14, 15, 16, 17, 18, 18, 18, 18],
  );
});

t.test('the most common level is the reference, ties by name', async (t) => {
  const d = buildDesign([person({ gender: 'male' }), person({ gender: 'female' })], {
    covariates: ['gender'],
    minLevelSize: 1,
  });
  t.equal(d.categorical[0]!.reference, 'female');
});
