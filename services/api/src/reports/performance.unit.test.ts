import t from 'tap';
import type { Principal } from '@vru/contracts';
import {
  grantYearOf,
  noActuals,
  quarterPerformance,
  quartersOfYear,
  type Member,
  type QuarterActuals,
} from '@vru/domain';
import { disclosureScope } from '../disclosure.js';
import { disclosePerformance, quarterShown } from './performance.js';

const commissioner: Principal = { keyId: 'k', role: 'commissioner', providerId: null };
const provider: Principal = { keyId: 'p', role: 'provider', providerId: 'prov-a' };

/**
 * A grant year that straddles two financial years: 2025Q4 and 2026Q1 (financial year 2025) hold three referrals, so
 * the layer withholds both; 2026Q2 and 2026Q3 (financial year 2026) hold twelve each and are published. The running
 * sum at 2026Q2 (3 + 12) less the published quarter would give the three back: it is withheld, and so is the forecast.
 */
const straddling = { start: '2025-10-01', end: '2026-09-30' };
const referredOn = [
  ...Array<string>(3).fill('2025-11-05'),
  ...Array<string>(12).fill('2026-05-05'),
  ...Array<string>(12).fill('2026-08-05'),
];
const referrals: Member[] = referredOn.map((date, i) => ({ id: `p${i}`, key: 'prov-a', date }));
const actuals = new Map<string, QuarterActuals>([
  ['2025Q4', { ...noActuals(), referrals: 3 }],
  ['2026Q2', { ...noActuals(), referrals: 12 }],
  ['2026Q3', { ...noActuals(), referrals: 12 }],
]);
const targets = new Map(
  ['2025Q4', '2026Q1', '2026Q2', '2026Q3', '2026Q4', '2027Q1'].map((q) => [
    q,
    {
      referrals: 10,
      enrolments: 0,
      sessionsDelivered: 0,
      completions: 0,
      spendPence: 0,
      outcomeTargets: [],
    },
  ]),
);
const cellsOf = (members: Member[]) => ({ referrals: members, enrolments: [], completions: [], sessionsDelivered: [] });

function referralsAt(principal: Principal, quarter: string, grant = straddling, members = referrals) {
  const dc = disclosureScope(principal, undefined, { required: false });
  const figures = quarterPerformance({
    grantStart: grant.start,
    grantEnd: grant.end,
    quarter,
    targets,
    actuals,
    asOf: '2026-12-01',
  });
  const f = figures.find((x) => x.indicator === 'referrals')!;
  const toDate = quartersOfYear(grant.start, grant.end, grantYearOf(grant.start, grant.end, quarter)).filter(
    (q) => q <= quarter,
  );
  if (!dc.applied) return f;
  return disclosePerformance(dc, f, quarter, toDate, quarterShown(dc, 'prov-a', cellsOf(members), actuals), actuals);
}

t.test(
  'a quarter of three people is withheld, and so is every running sum and forecast of the year after it',
  async (t) => {
    t.match(referralsAt(commissioner, '2025Q4'), {
      target: 10,
      actual: null,
      variance: null,
      status: null,
      yearToDateActual: null,
    });
    t.match(
      referralsAt(commissioner, '2026Q2'),
      {
        actual: 12,
        variance: 2,
        status: 'green',
        yearToDateActual: null,
        yearToDateVariance: null,
        yearToDateStatus: null,
        forecastToYearEnd: null,
        forecastStatus: null,
      },
      'the quarter is published (its financial year is safe); its running sum is not',
    );
    t.match(referralsAt(commissioner, '2026Q3'), { actual: 12, yearToDateActual: null, forecastToYearEnd: null });
    t.match(
      referralsAt(provider, '2026Q2'),
      { actual: 12, yearToDateActual: 15 },
      "the provider's own figures are whole",
    );
  },
);

t.test('a year of published quarters publishes its running sums and forecast unchanged', async (t) => {
  const financialYear = { start: '2026-04-01', end: '2027-03-31' };
  const published = referrals.filter((m) => m.date! >= financialYear.start);
  const own = referralsAt(provider, '2026Q3', financialYear, published);
  const seen = referralsAt(commissioner, '2026Q3', financialYear, published);
  t.match(seen, { actual: 12, yearToDateActual: 24 });
  t.same(seen, own, 'every figure as the provider sees it, the forecast included');
  const shown = quarterShown(
    disclosureScope(commissioner, undefined, { required: false }),
    'prov-a',
    cellsOf(published),
    actuals,
  );
  t.equal(shown('referrals', '2026Q4'), false, 'a quarter of nobody is a withheld population too');
  t.equal(shown('spendPence', '2026Q4'), true, 'money is not withheld');
});
