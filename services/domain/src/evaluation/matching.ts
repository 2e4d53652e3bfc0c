import type { EvaluationGroup } from './covariates.js';

/**
 * Nearest-neighbour matching on the logit of the propensity score, with replacement, up to k comparisons per
 * participant, inside exact-matching strata, within a caliper. Every participant is either matched or returned
 * as unmatched with the reason; nobody is dropped silently.
 */

export interface MatchingOptions {
  /** Caliper width in standard deviations of the logit of the propensity score; null for no caliper. */
  caliperSd: number | null;
  /** Up to this many comparisons per participant (k:1). */
  ratio: number;
}

export const DEFAULT_MATCHING: MatchingOptions = { caliperSd: 0.2, ratio: 1 };

export interface MatchingUnit {
  id: string;
  group: EvaluationGroup;
  /** Logit of the propensity score. */
  logit: number;
  /** Exact-matching stratum: units match only inside the same one (e.g. the gender). */
  stratum: string;
}

export interface MatchedSet {
  participantId: string;
  /** Nearest first; on equal distance by id. */
  comparisons: { id: string; distance: number }[];
}

export interface ComparisonWeight {
  id: string;
  weight: number;
  /** Participants it was matched to. */
  uses: number;
}

export type UnmatchedReason = 'no-comparison-in-stratum' | 'none-within-caliper';

export interface Matching {
  /** Pooled standard deviation of the logit, √((s²_participants + s²_comparisons) / 2). */
  logitSd: number;
  /** Caliper in logit units (caliperSd × logitSd), or null for none. */
  caliper: number | null;
  ratio: number;
  /** In participant id order. */
  matched: MatchedSet[];
  unmatched: { participantId: string; reason: UnmatchedReason }[];
  /**
   * Weights (ATT): 1 for each matched participant; for a comparison the sum over the participants it was matched
   * to of 1 / (that participant's number of matches), so each participant's matches weigh 1 in all and a
   * comparison used twice counts twice. Only the comparisons used, in id order.
   */
  comparisonWeights: ComparisonWeight[];
  counts: MatchingCounts;
}

export interface MatchingCounts {
  participants: number;
  matched: number;
  unmatched: number;
  unmatchedNoComparisonInStratum: number;
  unmatchedNoneWithinCaliper: number;
  /** Matched participants who got fewer than `ratio` comparisons inside the caliper. */
  matchedWithFewerThanRatio: number;
  comparisonsAvailable: number;
  /** Distinct comparisons used at least once. */
  comparisonsUsed: number;
  comparisonsUsedMoreThanOnce: number;
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Population variance. */
const variance = (xs: readonly number[]) => {
  if (xs.length === 0) return 0;
  const m = xs.reduce((s, v) => s + v, 0) / xs.length;
  return xs.reduce((s, v) => s + (v - m) ** 2, 0) / xs.length;
};

/** First index in `sorted` whose logit is ≥ `logit` (or > `logit` when `after`). */
function bound(sorted: readonly MatchingUnit[], logit: number, after: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const x = sorted[mid]!.logit;
    if (x < logit || (after && x === logit)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The `count` units of `sorted` (ordered by logit, then id) nearest to `logit`, within `caliper`, skipping
 * `exclude`: nearest first, equal distances by id. Walks outwards one block of equal logits at a time and takes
 * from each block only what it needs, so the cost is about count × log(pool size) however many units tie (a
 * pool of identical records cannot make matching slow).
 */
export function nearest(
  sorted: readonly MatchingUnit[],
  logit: number,
  count: number,
  caliper: number | null,
  exclude?: string,
): { id: string; distance: number }[] {
  let left = bound(sorted, logit, false) - 1;
  let right = left + 1;
  const found: { id: string; distance: number }[] = [];
  while (found.length < count) {
    const dl = left >= 0 ? logit - sorted[left]!.logit : Number.POSITIVE_INFINITY;
    const dr = right < sorted.length ? sorted[right]!.logit - logit : Number.POSITIVE_INFINITY;
    const d = Math.min(dl, dr);
    if (!Number.isFinite(d) || (caliper !== null && d > caliper)) break;
    // The blocks of units at distance d on either side; each is in id order.
    const leftStart = dl === d ? bound(sorted, sorted[left]!.logit, false) : left + 1;
    const rightEnd = dr === d ? bound(sorted, sorted[right]!.logit, true) : right;
    let i = leftStart;
    let j = right;
    while (found.length < count && (i <= left || j < rightEnd)) {
      const takeLeft = j >= rightEnd || (i <= left && byId(sorted[i]!.id, sorted[j]!.id) < 0);
      const unit = takeLeft ? sorted[i++]! : sorted[j++]!;
      if (unit.id !== exclude) found.push({ id: unit.id, distance: d });
    }
    left = leftStart - 1;
    right = rightEnd;
  }
  return found;
}

/** Comparison units by stratum, each list ordered by logit then id. */
export function strataOf(units: readonly MatchingUnit[]): Map<string, MatchingUnit[]> {
  const strata = new Map<string, MatchingUnit[]>();
  for (const u of units) {
    const list = strata.get(u.stratum) ?? [];
    list.push(u);
    strata.set(u.stratum, list);
  }
  for (const list of strata.values()) list.sort((a, b) => a.logit - b.logit || byId(a.id, b.id));
  return strata;
}

/** Matches every participant in `units` to up to `ratio` comparisons; the result does not depend on input order. */
export function matchOnPropensity(units: readonly MatchingUnit[], overrides: Partial<MatchingOptions> = {}): Matching {
  const options = { ...DEFAULT_MATCHING, ...overrides };
  if (!Number.isInteger(options.ratio) || options.ratio < 1)
    throw new RangeError(`bad matching ratio ${options.ratio}`);
  const participants = units.filter((u) => u.group === 'participant').sort((a, b) => byId(a.id, b.id));
  const comparisons = units.filter((u) => u.group === 'comparison');
  const logitSd = Math.sqrt(
    (variance(participants.map((u) => u.logit)) + variance(comparisons.map((u) => u.logit))) / 2,
  );
  const caliper = options.caliperSd === null ? null : options.caliperSd * logitSd;
  const strata = strataOf(comparisons);
  const matched: MatchedSet[] = [];
  const unmatched: Matching['unmatched'] = [];
  const weights = new Map<string, ComparisonWeight>();
  for (const p of participants) {
    const pool = strata.get(p.stratum);
    if (!pool) {
      unmatched.push({ participantId: p.id, reason: 'no-comparison-in-stratum' });
      continue;
    }
    const found = nearest(pool, p.logit, options.ratio, caliper);
    if (found.length === 0) {
      unmatched.push({ participantId: p.id, reason: 'none-within-caliper' });
      continue;
    }
    matched.push({ participantId: p.id, comparisons: found });
    for (const c of found) {
      const w = weights.get(c.id) ?? { id: c.id, weight: 0, uses: 0 };
      w.weight += 1 / found.length;
      w.uses += 1;
      weights.set(c.id, w);
    }
  }
  const comparisonWeights = [...weights.values()].sort((a, b) => byId(a.id, b.id));
  return {
    logitSd,
    caliper,
    ratio: options.ratio,
    matched,
    unmatched,
    comparisonWeights,
    counts: {
      participants: participants.length,
      matched: matched.length,
      unmatched: unmatched.length,
      unmatchedNoComparisonInStratum: unmatched.filter((u) => u.reason === 'no-comparison-in-stratum').length,
      unmatchedNoneWithinCaliper: unmatched.filter((u) => u.reason === 'none-within-caliper').length,
      matchedWithFewerThanRatio: matched.filter((m) => m.comparisons.length < options.ratio).length,
      comparisonsAvailable: comparisons.length,
      comparisonsUsed: comparisonWeights.length,
      comparisonsUsedMoreThanOnce: comparisonWeights.filter((w) => w.uses > 1).length,
    },
  };
}
