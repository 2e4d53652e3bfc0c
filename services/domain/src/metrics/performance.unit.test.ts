import t from 'tap';
import {
  countStatus,
  forecastToYearEnd,
  grantYearOf,
  quarterPerformance,
  quartersOfYear,
  shareStatus,
  spendStatus,
  type QuarterActuals,
  type QuarterTargets,
} from './performance.js';

t.test('red/amber/green at the written thresholds', async (t) => {
  t.equal(countStatus(19, 20), 'green', '95% of target is green');
  t.equal(countStatus(12, 15), 'amber', '80% is amber');
  t.equal(countStatus(11, 15), 'red', '73% is red');
  t.equal(countStatus(25, 20), 'green', 'over target is green');
  t.equal(countStatus(3, 0), null, 'no target, no status');
  t.equal(spendStatus(330_000, 300_000), 'green', '10% over profile is green');
  t.equal(spendStatus(270_000, 300_000), 'green', '10% under profile is green');
  t.equal(spendStatus(375_000, 300_000), 'amber', '25% over is amber');
  t.equal(spendStatus(225_000, 300_000), 'amber', '25% under is amber');
  t.equal(spendStatus(224_999, 300_000), 'red', 'further under is red');
  t.equal(spendStatus(0, 0), null);
  t.equal(shareStatus(0.4, 0.4), 'green');
  t.equal(shareStatus(0.3, 0.4), 'amber', '10 points below is amber');
  t.equal(shareStatus(0.29, 0.4), 'red');
  t.equal(shareStatus(null, 0.4), null, 'no pairs, no status');
});

t.test('grant years run from the grant start; a quarter belongs to the year holding its first day', async (t) => {
  t.same(grantYearOf('2026-04-01', '2027-03-31', '2026Q3'), { start: '2026-04-01', end: '2027-03-31' });
  const yearOne = { start: '2026-05-15', end: '2027-05-14' };
  t.same(grantYearOf('2026-05-15', '2028-03-31', '2026Q2'), yearOne, 'the first quarter starts before the grant');
  t.same(grantYearOf('2026-05-15', '2028-03-31', '2027Q2'), yearOne, '2027-04-01 is in year one');
  const lastYear = { start: '2027-05-15', end: '2028-03-31' };
  t.same(grantYearOf('2026-05-15', '2028-03-31', '2027Q3'), lastYear, 'the last year ends with the grant');
  t.same(quartersOfYear('2026-05-15', '2028-03-31', yearOne), ['2026Q2', '2026Q3', '2026Q4', '2027Q1', '2027Q2']);
  t.same(quartersOfYear('2026-05-15', '2028-03-31', { start: '2027-05-15', end: '2028-03-31' }), [
    '2027Q3',
    '2027Q4',
    '2028Q1',
  ]);
});

t.test('forecast at the run rate, by days elapsed', async (t) => {
  const year = { start: '2026-04-01', end: '2027-03-31' };
  // 2026-04-01..2026-09-30 is 183 days of 365: 41 × 365 / 183 = 81.78.
  t.equal(forecastToYearEnd(41, year, '2026-09-30', '2026-11-15'), 82);
  // In progress on 15 August: 137 days elapsed; 41 × 365 / 137 = 109.23.
  t.equal(forecastToYearEnd(41, year, '2026-09-30', '2026-08-15'), 109);
  t.equal(forecastToYearEnd(0, year, '2026-09-30', '2026-11-15'), 0);
});

const targets = (over: Partial<QuarterTargets> = {}): QuarterTargets => ({
  referrals: 20,
  enrolments: 15,
  sessionsDelivered: 120,
  completions: 10,
  spendPence: 200_000,
  outcomeTargets: [],
  ...over,
});
const actuals = (over: Partial<QuarterActuals>): QuarterActuals => ({
  referrals: 0,
  enrolments: 0,
  sessionsDelivered: 0,
  completions: 0,
  spendPence: 0,
  outcomes: {},
  ...over,
});

t.test('one quarter of a grant against hand-computed figures', async (t) => {
  const swemwbs = [{ instrument: 'swemwbs', shareReliablyImproved: 0.4 }];
  const input = {
    grantStart: '2026-04-01',
    grantEnd: '2027-03-31',
    quarter: '2026Q3',
    asOf: '2026-11-15',
    targets: new Map([
      ['2026Q2', targets({ sessionsDelivered: 100, spendPence: 300_000, outcomeTargets: swemwbs })],
      ['2026Q3', targets({ spendPence: 300_000, outcomeTargets: swemwbs })],
      ['2026Q4', targets()],
      ['2027Q1', targets()],
    ]),
    actuals: new Map([
      ['2026Q2', actuals({ referrals: 22, enrolments: 12, sessionsDelivered: 70, spendPence: 300_000 })],
      [
        '2026Q3',
        actuals({
          referrals: 19,
          enrolments: 12,
          sessionsDelivered: 95,
          completions: 10,
          spendPence: 340_000,
          outcomes: { swemwbs: { pairs: 10, improved: 3 } },
        }),
      ],
    ]),
  };
  const rows = quarterPerformance(input);
  const by = Object.fromEntries(rows.map((r) => [r.indicator, r]));
  t.same(
    rows.map((r) => r.indicator),
    ['referrals', 'enrolments', 'sessionsDelivered', 'completions', 'spendPence', 'reliablyImproved:swemwbs'],
  );
  const year = { yearStart: '2026-04-01', yearEnd: '2027-03-31' };
  t.same(
    by.referrals,
    {
      indicator: 'referrals',
      target: 20,
      actual: 19,
      variance: -1,
      percentOfTarget: 0.95,
      status: 'green',
      pairs: null,
      ...year,
      yearToDateTarget: 40,
      yearToDateActual: 41,
      yearToDateVariance: 1,
      yearToDateStatus: 'green',
      yearTarget: 80,
      forecastToYearEnd: 82,
      forecastStatus: 'green',
    },
    'on target: 95% this quarter, ahead year to date',
  );
  t.same(
    by.enrolments,
    {
      indicator: 'enrolments',
      target: 15,
      actual: 12,
      variance: -3,
      percentOfTarget: 0.8,
      status: 'amber',
      pairs: null,
      ...year,
      yearToDateTarget: 30,
      yearToDateActual: 24,
      yearToDateVariance: -6,
      yearToDateStatus: 'amber',
      yearTarget: 60,
      forecastToYearEnd: 48,
      forecastStatus: 'amber',
    },
    'amber at exactly 80%; 24 × 365 / 183 = 47.87',
  );
  t.same(
    by.sessionsDelivered,
    {
      indicator: 'sessionsDelivered',
      target: 120,
      actual: 95,
      variance: -25,
      percentOfTarget: 0.7917,
      status: 'red',
      pairs: null,
      ...year,
      yearToDateTarget: 220,
      yearToDateActual: 165,
      yearToDateVariance: -55,
      yearToDateStatus: 'red',
      yearTarget: 460,
      forecastToYearEnd: 329,
      forecastStatus: 'red',
    },
    'red: 165 × 365 / 183 = 329.1 against 460',
  );
  t.same(
    by.completions,
    {
      indicator: 'completions',
      target: 10,
      actual: 10,
      variance: 0,
      percentOfTarget: 1,
      status: 'green',
      pairs: null,
      ...year,
      yearToDateTarget: 20,
      yearToDateActual: 10,
      yearToDateVariance: -10,
      yearToDateStatus: 'red',
      yearTarget: 40,
      forecastToYearEnd: 20,
      forecastStatus: 'red',
    },
    'met this quarter, behind for the year',
  );
  t.same(
    by.spendPence,
    {
      indicator: 'spendPence',
      target: 300_000,
      actual: 340_000,
      variance: 40_000,
      percentOfTarget: 1.1333,
      status: 'amber',
      pairs: null,
      ...year,
      yearToDateTarget: 600_000,
      yearToDateActual: 640_000,
      yearToDateVariance: 40_000,
      yearToDateStatus: 'green',
      yearTarget: 1_000_000,
      forecastToYearEnd: 1_276_503,
      forecastStatus: 'red',
    },
    "overspend: 13% over profile this quarter; 640,000 × 365 / 183 = 1,276,502.7 is 28% over the year's profile",
  );
  t.same(
    by['reliablyImproved:swemwbs'],
    {
      indicator: 'reliablyImproved:swemwbs',
      target: 0.4,
      actual: 0.3,
      variance: -0.1,
      percentOfTarget: 0.75,
      status: 'amber',
      pairs: 10,
      ...year,
      yearToDateTarget: 0.4,
      yearToDateActual: 0.3,
      yearToDateVariance: -0.1,
      yearToDateStatus: 'amber',
      yearTarget: 0.4,
      forecastToYearEnd: null,
      forecastStatus: null,
    },
    '3 of 10 pairs reliably improved against 40%',
  );
  t.same(quarterPerformance({ ...input, quarter: '2026Q1' }), [], 'a quarter without targets has no rows');
  const q2 = quarterPerformance({ ...input, quarter: '2026Q2' });
  t.same(q2.find((r) => r.indicator === 'reliablyImproved:swemwbs')?.actual, null, 'no pairs yet: no share');
  t.same(q2.find((r) => r.indicator === 'reliablyImproved:swemwbs')?.status, null);
});
