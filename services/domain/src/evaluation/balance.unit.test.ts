import t, { type Test } from 'tap';
import { balanceDiagnostics, type BalanceInput } from './balance.js';
import type { DesignColumn } from './covariates.js';
import { matchOnPropensity, type MatchingUnit } from './matching.js';

const close = (t: Test, actual: number | null | undefined, expected: number, what: string, eps = 1e-6) =>
  t.ok(typeof actual === 'number' && Math.abs(actual - expected) < eps, `${what}: ${actual} ≈ ${expected}`);

// Two participants and three comparisons. Propensity scores P1 0.42, P2 0.61; C1 0.02, C2 0.44, C3 0.63.
const subjects = [
  { id: 'P1', group: 'participant' as const },
  { id: 'P2', group: 'participant' as const },
  { id: 'C1', group: 'comparison' as const },
  { id: 'C2', group: 'comparison' as const },
  { id: 'C3', group: 'comparison' as const },
];
const probabilities = [0.42, 0.61, 0.02, 0.44, 0.63];
const logits = probabilities.map((q) => Math.log(q / (1 - q)));
const columns: DesignColumn[] = [
  { name: 'priorOffences', covariate: 'priorOffences' },
  { name: 'priorCustody', covariate: 'priorCustody' },
];
// priorOffences: P 2, 4; C 0, 2, 4.  priorCustody: P 1, 1; C 0, 1, 1.
const values = [
  [2, 1],
  [4, 1],
  [0, 0],
  [2, 1],
  [4, 1],
];
const units: MatchingUnit[] = subjects.map((s, i) => ({ ...s, logit: logits[i]!, stratum: '' }));

const input = (matching = matchOnPropensity(units, { caliperSd: null })): BalanceInput => ({
  subjects,
  columns,
  values,
  probabilities,
  logits,
  matching,
});

t.test('standardised differences and variance ratios, by hand', async (t) => {
  const b = balanceDiagnostics(input());
  // P1 → C2 (logit distance 0.082), P2 → C3 (0.085).
  const prior = b.covariates[0]!;
  // Before: participants mean 3, variance 1; comparisons mean 2, variance 8/3. Scale √((1 + 8/3) / 2) = 1.354006.
  close(t, prior.before.participantMean, 3, 'participants mean');
  close(t, prior.before.comparisonMean, 2, 'comparisons mean');
  close(t, prior.before.smd, 1 / 1.354006401, 'SMD before = 1 / 1.354');
  close(t, prior.before.varianceRatio, 0.375, 'variance ratio before = 1 / (8/3)');
  // After: comparisons C2 and C3, mean 3, variance 1: no difference left.
  close(t, prior.after!.smd, 0, 'SMD after');
  close(t, prior.after!.varianceRatio, 1, 'variance ratio after');
  const custody = b.covariates[1]!;
  // Before: 1 against 2/3; variances 0 and 2/9, scale √(1/9) = 1/3; SMD (1/3) / (1/3) = 1.
  close(t, custody.before.smd, 1, 'binary SMD before');
  close(t, custody.after!.smd, 0, 'binary SMD after');
  t.equal(b.balanced, true);
  t.same(b.failing, []);
  t.equal(b.threshold, 0.1);
});

t.test('a comparison used twice carries its weight, and imbalance is named', async (t) => {
  // Both participants matched to C3 (used twice, weight 2): comparisons' mean 4 after matching.
  const withoutC2 = units.map((u) => (u.id === 'C3' ? { ...u, logit: 0 } : u)).filter((u) => u.id !== 'C2');
  const reused = matchOnPropensity(withoutC2, { caliperSd: null });
  t.same(reused.comparisonWeights, [{ id: 'C3', weight: 2, uses: 2 }]);
  const b = balanceDiagnostics(input(reused));
  close(t, b.covariates[0]!.after!.comparisonMean, 4, 'weighted mean');
  close(
    t,
    b.covariates[0]!.after!.smd,
    -1 / 1.354006401,
    'SMD after = (3 − 4) / 1.354 (the scale stays the pre-matching one)',
  );
  t.equal(b.covariates[0]!.after!.varianceRatio, null, 'the matched comparisons do not vary');
  t.equal(b.balanced, false);
  t.same(b.failing, ['priorOffences']);
  t.same(b.varianceRatioOutsideLimits, [], 'no ratio to judge');
});

t.test('propensity score overlap', async (t) => {
  const o = balanceDiagnostics(input()).overlap;
  t.equal(o.bins.length, 20);
  const nonEmpty = o.bins
    .filter((x) => x.participants + x.comparisons > 0)
    .map((x) => [x.from, x.participants, x.comparisons, x.matchedParticipants, x.matchedComparisonWeight]);
  t.same(
    nonEmpty,
    [
      [0, 0, 1, 0, 0],
      [0.4, 1, 1, 1, 1],
      [0.6, 1, 1, 1, 1],
    ],
    'bins of width 0.05',
  );
  t.same(o.participants, { min: 0.42, max: 0.61 });
  t.same(o.comparisons, { min: 0.02, max: 0.63 });
  t.same(o.commonSupport, { from: 0.42, to: 0.61 });
  t.equal(o.shareOfParticipantsInCommonSupport, 1);
  t.equal(o.shareOfComparisonsInCommonSupport, 1 / 3, 'only C2 (0.44) is inside [0.42, 0.61]');
});

t.test('the propensity logit itself', async (t) => {
  const b = balanceDiagnostics(input());
  t.ok(b.propensityLogit.before.smd! > b.propensityLogit.after!.smd!, 'matching brings the scores together');
  close(t, b.propensityLogit.after!.participantMean, (logits[0]! + logits[1]!) / 2, 'matched participants');
});

t.test('nobody matched: no after figures, not balanced', async (t) => {
  const none = matchOnPropensity(units.map((u) => ({ ...u, stratum: u.group })));
  const b = balanceDiagnostics(input(none));
  t.equal(b.covariates[0]!.after, null);
  t.equal(b.balanced, false);
});
