import t, { type Test } from 'tap';
import {
  comparisonVariances,
  matchedDifference,
  participantsNeededForMeans,
  participantsNeededForRates,
  unadjustedDifference,
} from './estimate.js';
import type { MatchedSet, MatchingUnit } from './matching.js';
import { normalCdf, twoSidedPValue } from './normal.js';

const close = (t: Test, actual: number | undefined, expected: number, what: string, eps = 1e-6) =>
  t.ok(actual !== undefined && Math.abs(actual - expected) < eps, `${what}: ${actual} ≈ ${expected}`);

const set = (participantId: string, ...ids: string[]): MatchedSet => ({
  participantId,
  comparisons: ids.map((id) => ({ id, distance: 0 })),
});

t.test('the Abadie–Imbens estimate, by hand', async (t) => {
  // A (reoffended) ← c1, c2; B (no) ← c1; C (reoffended) ← c3; D (no) ← c2, c3. Comparisons: c1 yes, c2 and c3 no.
  const matched = [set('A', 'c1', 'c2'), set('B', 'c1'), set('C', 'c3'), set('D', 'c2', 'c3')];
  const outcome = new Map([
    ['A', 1],
    ['B', 0],
    ['C', 1],
    ['D', 0],
    ['c1', 1],
    ['c2', 0],
    ['c3', 0],
  ]);
  const sigma2 = new Map([
    ['c1', 0.25],
    ['c2', 0.2],
    ['c3', 0.1],
  ]);
  const e = matchedDifference(matched, outcome, sigma2);
  // Counterfactuals 0.5, 1, 0, 0; differences 0.5, −1, 1, 0; τ = 0.125. Rates 2/4 and 1.5/4.
  close(t, e.participants, 0.5, 'participants');
  close(t, e.comparison, 0.375, 'comparison');
  close(t, e.difference, 0.125, 'difference');
  // Σ(d − τ)² = 0.375² + 1.125² + 0.875² + 0.125² = 2.1875.
  // Reuse: c1 w = 1/2 + 1 = 1.5, q = 1/4 + 1 = 1.25 → w² − q = 1; c2 w = 1, q = 1/2 → 0.5; c3 w = 1.5, q = 1.25 → 1.
  // Σ (w² − q) σ² = 0.25 + 0.1 + 0.1 = 0.45. V = (2.1875 + 0.45) / 16 = 0.16484375.
  close(t, e.standardError, Math.sqrt(0.16484375), 'standard error');
  close(t, e.ci.lower, -0.6707640841, 'lower = 0.125 − 1.959964 × 0.406010');
  close(t, e.ci.upper, 0.9207640841, 'upper');
  close(t, e.pValue, 0.7581778, 'p-value (scipy: 2 · norm.sf(0.125 / 0.406010))', 1e-6);
  t.equal(e.significant, false);
});

t.test('without reuse the variance is that of the paired differences', async (t) => {
  const matched = [set('A', 'c1'), set('B', 'c2'), set('C', 'c3')];
  const outcome = new Map([
    ['A', 1],
    ['B', 1],
    ['C', 0],
    ['c1', 0],
    ['c2', 1],
    ['c3', 0],
  ]);
  const e = matchedDifference(
    matched,
    outcome,
    new Map([
      ['c1', 9],
      ['c2', 9],
      ['c3', 9],
    ]),
  );
  // Differences 1, 0, 0: τ = 1/3, Σ(d − τ)² = 4/9 + 1/9 + 1/9 = 2/3, V = (2/3) / 9; σ² never enters.
  close(t, e.standardError, Math.sqrt(2 / 27), 'standard error');
});

t.test('no variation at all: a zero interval, and p-values at the extremes', async (t) => {
  const same = matchedDifference(
    [set('A', 'c1'), set('B', 'c2')],
    new Map([
      ['A', 0],
      ['B', 0],
      ['c1', 0],
      ['c2', 0],
    ]),
    new Map(),
  );
  t.equal(same.standardError, 0);
  t.equal(same.pValue, 1);
  t.equal(same.significant, false);
  const apart = matchedDifference(
    [set('A', 'c1'), set('B', 'c2')],
    new Map([
      ['A', 0],
      ['B', 0],
      ['c1', 1],
      ['c2', 1],
    ]),
    new Map(),
  );
  t.equal(apart.pValue, 0);
  t.equal(apart.significant, true);
  t.throws(() => matchedDifference([], new Map(), new Map()), RangeError);
  t.throws(() => matchedDifference([set('A', 'c1')], new Map([['A', 1]]), new Map()), RangeError, 'a missing outcome');
});

t.test("comparisons' outcome variances from their nearest neighbours", async (t) => {
  const unit = (id: string, logit: number, stratum = 'M'): MatchingUnit => ({
    id,
    group: 'comparison',
    logit,
    stratum,
  });
  const pool = [unit('c1', 0), unit('c2', 0.1), unit('c3', 0.3), unit('c4', 0.35), unit('alone', 0, 'F')];
  const outcome = new Map([
    ['c1', 1],
    ['c2', 0],
    ['c3', 0],
    ['c4', 1],
    ['alone', 1],
  ]);
  const v = comparisonVariances(pool, ['c1', 'c3', 'alone'], outcome, 2);
  // c1: nearest others c2 (0.1) and c3 (0.3), mean 0: 2/3 × 1². c3: c4 (0.05) and c2 (0.2), mean 1/2: 2/3 × 1/4.
  close(t, v.get('c1'), 2 / 3, 'c1');
  close(t, v.get('c3'), 1 / 6, 'c3');
  t.equal(v.get('alone'), 0, 'nobody else in the stratum');
  t.throws(() => comparisonVariances(pool, ['nobody'], outcome, 2), RangeError);
});

t.test('the unadjusted difference', async (t) => {
  const e = unadjustedDifference([1, 0, 1, 1], [0, 0, 1, 0, 0]);
  // 0.75 − 0.2; s² 0.25 and 0.2; V = 0.25/4 + 0.2/5 = 0.1025.
  close(t, e.difference, 0.55, 'difference');
  close(t, e.standardError, Math.sqrt(0.1025), 'standard error');
  close(t, e.ci.lower, -0.0774946447, 'lower');
  close(t, e.pValue, 0.0858127807, 'p-value');
  t.throws(() => unadjustedDifference([1], [0, 1]), RangeError);
});

t.test('sample sizes for 80% power at 5%', async (t) => {
  // 30% against 40%: the textbook 356 per group (no continuity correction).
  t.equal(participantsNeededForRates(0.3, 0.4), 356);
  t.equal(participantsNeededForRates(0.4, 0.3), 356, 'symmetric');
  t.equal(participantsNeededForRates(0.25, 0.25), null, 'no difference to detect');
  // Means 0.2 apart with variances 1 and 1: (1.959964 + 0.841621)² × 2 / 0.04 = 392.4 → 393.
  t.equal(participantsNeededForMeans(0.2, 1, 1), 393);
  t.equal(participantsNeededForMeans(0, 1, 1), null);
});

t.test('the normal distribution', async (t) => {
  close(t, normalCdf(0), 0.5, 'Φ(0)', 1e-7);
  close(t, normalCdf(1.959963984540054), 0.975, 'Φ(1.96)', 1e-7);
  close(t, normalCdf(-1), 0.1586552539, 'Φ(−1)', 1e-7);
  close(t, twoSidedPValue(1.959963984540054), 0.05, 'p at 1.96', 1e-7);
  close(t, twoSidedPValue(-3), 0.0026997961, 'p at −3', 1e-8);
});
