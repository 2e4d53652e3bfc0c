import { Z95, type Interval } from '../metrics/intervals.js';
import { nearest, strataOf, type MatchedSet, type MatchingUnit } from './matching.js';
import { twoSidedPValue, Z_POWER_80 } from './normal.js';

/**
 * The matched estimate of the effect on participants (the average effect on the treated, ATT): the mean over
 * matched participants of (their outcome − the mean outcome of their matched comparisons), with the
 * Abadie–Imbens (2006) variance for nearest-neighbour matching with replacement.
 */

export interface DifferenceEstimate {
  /** Mean outcome of the matched participants. */
  participants: number;
  /** Weighted mean outcome of their matched comparisons (each participant's matches weigh 1 in all). */
  comparison: number;
  /** participants − comparison. */
  difference: number;
  standardError: number;
  /** difference ± 1.96 × standard error. */
  ci: Interval;
  /** Two-sided, from the normal distribution of difference / standard error. */
  pValue: number;
  /** p < 0.05, i.e. the interval excludes 0. */
  significant: boolean;
}

function finish(participants: number, comparison: number, difference: number, variance: number): DifferenceEstimate {
  const standardError = Math.sqrt(Math.max(0, variance));
  const half = Z95 * standardError;
  const pValue = standardError > 0 ? twoSidedPValue(difference / standardError) : difference === 0 ? 1 : 0;
  return {
    participants,
    comparison,
    difference,
    standardError,
    ci: { lower: difference - half, upper: difference + half },
    pValue,
    significant: pValue < 0.05,
  };
}

/**
 * The Abadie–Imbens estimate for matching with replacement (Econometrica 74(1), 2006, §4, the variance of the
 * ATT). With d_i = Y_i − mean of Y over participant i's m_i matches and τ the mean of d_i over N matched
 * participants:
 *
 *   V = [ Σ_i (d_i − τ)² + Σ_c (w_c² − q_c) σ²_c ] / N²,   w_c = Σ_{i matched to c} 1/m_i,  q_c = Σ_{i matched to c} 1/m_i²
 *
 * The first sum is the paired-difference variance; the second adds what reusing comparison c costs (zero when
 * every comparison is used once, so 1:1 matching without reuse reduces to the paired approach). σ²_c is the
 * conditional variance of a comparison's outcome, estimated from its nearest other comparisons
 * (`comparisonVariances`).
 */
export function matchedDifference(
  matched: readonly MatchedSet[],
  outcome: ReadonlyMap<string, number>,
  comparisonVariance: ReadonlyMap<string, number>,
): DifferenceEstimate {
  const n = matched.length;
  if (n === 0) throw new RangeError('no matched participants');
  const value = (id: string) => {
    const y = outcome.get(id);
    if (y === undefined) throw new RangeError('an outcome is missing for a matched subject');
    return y;
  };
  const w = new Map<string, number>();
  const q = new Map<string, number>();
  let sumParticipants = 0;
  let sumComparison = 0;
  const differences = matched.map((set) => {
    const m = set.comparisons.length;
    const counterfactual = set.comparisons.reduce((s, c) => s + value(c.id), 0) / m;
    for (const c of set.comparisons) {
      w.set(c.id, (w.get(c.id) ?? 0) + 1 / m);
      q.set(c.id, (q.get(c.id) ?? 0) + 1 / (m * m));
    }
    const y = value(set.participantId);
    sumParticipants += y;
    sumComparison += counterfactual;
    return y - counterfactual;
  });
  const tau = differences.reduce((s, d) => s + d, 0) / n;
  let variance = differences.reduce((s, d) => s + (d - tau) ** 2, 0);
  for (const [id, wc] of w) {
    const extra = wc * wc - q.get(id)!;
    if (extra > 1e-12) variance += extra * (comparisonVariance.get(id) ?? 0);
  }
  return finish(sumParticipants / n, sumComparison / n, tau, variance / (n * n));
}

/**
 * σ²_c for each comparison in `ids`: J/(J+1) × (Y_c − mean of Y over its J nearest other comparisons in the same
 * stratum)² (Abadie and Imbens 2006, §4.2), nearest on the propensity logit, ties by id. Zero when c is alone in
 * its stratum.
 */
export function comparisonVariances(
  comparisons: readonly MatchingUnit[],
  ids: Iterable<string>,
  outcome: ReadonlyMap<string, number>,
  neighbours: number,
): Map<string, number> {
  const strata = strataOf(comparisons);
  const unit = new Map(comparisons.map((c) => [c.id, c]));
  const result = new Map<string, number>();
  for (const id of ids) {
    const c = unit.get(id);
    if (!c) throw new RangeError('a matched comparison is not in the pool');
    const found = nearest(strata.get(c.stratum)!, c.logit, neighbours, null, c.id);
    if (found.length === 0) {
      result.set(id, 0);
      continue;
    }
    const j = found.length;
    const mean = found.reduce((s, f) => s + outcome.get(f.id)!, 0) / j;
    result.set(id, (j / (j + 1)) * (outcome.get(id)! - mean) ** 2);
  }
  return result;
}

/**
 * The naive difference of means between two groups with its large-sample (Welch) standard error
 * √(s²₁/n₁ + s²₀/n₀): what the figures say before any adjustment for who took part.
 */
export function unadjustedDifference(
  participants: readonly number[],
  comparisons: readonly number[],
): DifferenceEstimate {
  const n1 = participants.length;
  const n0 = comparisons.length;
  if (n1 < 2 || n0 < 2) throw new RangeError('each group needs at least two people');
  const mean = (xs: readonly number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
  const sampleVariance = (xs: readonly number[], m: number) =>
    xs.reduce((s, v) => s + (v - m) ** 2, 0) / (xs.length - 1);
  const m1 = mean(participants);
  const m0 = mean(comparisons);
  return finish(m1, m0, m1 - m0, sampleVariance(participants, m1) / n1 + sampleVariance(comparisons, m0) / n0);
}

/**
 * Participants needed per group to detect a difference between rates p1 and p0 with 80% power in a two-sided
 * test at 5% (the normal approximation for two independent proportions, Fleiss, Levin and Paik 2003, §4.2,
 * without continuity correction):
 *   n = [z_{0.975} √(2 p̄ (1 − p̄)) + z_{0.8} √(p1(1 − p1) + p0(1 − p0))]² / (p1 − p0)²,  p̄ = (p1 + p0) / 2.
 * Null when the rates are equal: no sample size detects a difference of zero.
 */
export function participantsNeededForRates(p1: number, p0: number): number | null {
  if (p1 === p0) return null;
  const pBar = (p1 + p0) / 2;
  const root = Z95 * Math.sqrt(2 * pBar * (1 - pBar)) + Z_POWER_80 * Math.sqrt(p1 * (1 - p1) + p0 * (1 - p0));
  return Math.ceil((root * root) / (p1 - p0) ** 2);
}

/**
 * Participants needed per group to detect a difference `difference` between two means with variances v1 and v0,
 * 80% power, two-sided 5%: n = (z_{0.975} + z_{0.8})² (v1 + v0) / difference². Null for a zero difference.
 */
export function participantsNeededForMeans(difference: number, v1: number, v0: number): number | null {
  if (difference === 0) return null;
  return Math.ceil(((Z95 + Z_POWER_80) ** 2 * (v1 + v0)) / difference ** 2);
}
