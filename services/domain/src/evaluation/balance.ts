import type { DesignColumn, EvaluationGroup } from './covariates.js';
import type { Matching } from './matching.js';

/**
 * Balance diagnostics: does the matched comparison group look like the matched participants on every covariate?
 * Standardised mean differences before and after matching (the conventional goal is |SMD| < 0.1), variance
 * ratios, and how the propensity scores of the two groups overlap.
 */

export const BALANCE_THRESHOLD = 0.1;
/** Variance ratios outside [1/2, 2] are a warning sign for a numeric covariate (Rubin 2001). */
export const VARIANCE_RATIO_LIMITS = [0.5, 2] as const;
export const OVERLAP_BINS = 20;

export interface GroupComparison {
  participantMean: number;
  comparisonMean: number;
  /**
   * (participant mean − comparison mean) / √((s²_p + s²_c) / 2), with the variances of the groups before
   * matching in both the before and the after figure, so that the change shows the change in means only.
   * Null when neither group varies and their means differ (no scale to measure the difference on).
   */
  smd: number | null;
  /** s²_participants / s²_comparisons (weighted after matching); null when the comparisons do not vary. */
  varianceRatio: number | null;
}

export interface CovariateBalance {
  name: string;
  covariate: DesignColumn['covariate'];
  level?: string;
  /** All participants against the whole comparison pool. */
  before: GroupComparison;
  /** Matched participants against their matched comparisons, weighted; null when nobody was matched. */
  after: GroupComparison | null;
  /** |SMD after| < threshold. */
  balanced: boolean;
}

export interface OverlapBin {
  /** Propensity score range [from, to); the last bin includes 1. */
  from: number;
  to: number;
  participants: number;
  comparisons: number;
  matchedParticipants: number;
  /** Sum of the matching weights of the comparisons in the bin (equals the matched participants they stand for). */
  matchedComparisonWeight: number;
}

export interface Overlap {
  bins: OverlapBin[];
  participants: { min: number; max: number } | null;
  comparisons: { min: number; max: number } | null;
  /** Scores both groups reach: [max of the minima, min of the maxima]; null when the ranges do not meet. */
  commonSupport: { from: number; to: number } | null;
  shareOfParticipantsInCommonSupport: number | null;
  shareOfComparisonsInCommonSupport: number | null;
}

export interface BalanceDiagnostics {
  threshold: number;
  covariates: CovariateBalance[];
  /** The same figures for the logit of the propensity score itself. */
  propensityLogit: Omit<CovariateBalance, 'covariate' | 'level'>;
  overlap: Overlap;
  /** Every covariate balanced after matching (and somebody was matched). */
  balanced: boolean;
  /** Names of the covariates with |SMD after| ≥ threshold (or no SMD). */
  failing: string[];
  /** Numeric covariates whose variance ratio after matching is outside [1/2, 2]. */
  varianceRatioOutsideLimits: string[];
}

interface Weighted {
  value: number;
  weight: number;
}

function moments(xs: readonly Weighted[]): { mean: number; variance: number } {
  const total = xs.reduce((s, x) => s + x.weight, 0);
  if (total === 0) return { mean: Number.NaN, variance: Number.NaN };
  const mean = xs.reduce((s, x) => s + x.weight * x.value, 0) / total;
  // Population form (divides by the total weight): p(1 − p) for a 0/1 covariate.
  const variance = xs.reduce((s, x) => s + x.weight * (x.value - mean) ** 2, 0) / total;
  return { mean, variance };
}

function compare(
  participants: readonly Weighted[],
  comparisons: readonly Weighted[],
  scaleVariance: number,
): GroupComparison {
  const p = moments(participants);
  const c = moments(comparisons);
  const difference = p.mean - c.mean;
  const scale = Math.sqrt(scaleVariance);
  const tiny = 1e-12;
  const smd = scale > tiny ? difference / scale : Math.abs(difference) < tiny ? 0 : null;
  const varianceRatio = c.variance > tiny ? p.variance / c.variance : p.variance <= tiny ? 1 : null;
  return { participantMean: p.mean, comparisonMean: c.mean, smd, varianceRatio };
}

export interface BalanceInput {
  /** Subjects in the order of `values`, `probabilities` and `logits`. */
  subjects: readonly { id: string; group: EvaluationGroup }[];
  columns: readonly DesignColumn[];
  values: readonly (readonly number[])[];
  probabilities: readonly number[];
  logits: readonly number[];
  matching: Matching;
}

function overlap(
  input: BalanceInput,
  matchedParticipants: ReadonlySet<string>,
  weights: ReadonlyMap<string, number>,
): Overlap {
  const bins: OverlapBin[] = Array.from({ length: OVERLAP_BINS }, (_, b) => ({
    from: b / OVERLAP_BINS,
    to: (b + 1) / OVERLAP_BINS,
    participants: 0,
    comparisons: 0,
    matchedParticipants: 0,
    matchedComparisonWeight: 0,
  }));
  const range = (scores: number[]) =>
    scores.length === 0 ? null : { min: Math.min(...scores), max: Math.max(...scores) };
  const scoresOf = (group: EvaluationGroup) =>
    input.subjects.flatMap((s, i) => (s.group === group ? [input.probabilities[i]!] : []));
  input.subjects.forEach((s, i) => {
    const bin = bins[Math.min(OVERLAP_BINS - 1, Math.floor(input.probabilities[i]! * OVERLAP_BINS))]!;
    if (s.group === 'participant') {
      bin.participants += 1;
      if (matchedParticipants.has(s.id)) bin.matchedParticipants += 1;
    } else {
      bin.comparisons += 1;
      bin.matchedComparisonWeight += weights.get(s.id) ?? 0;
    }
  });
  const participantScores = scoresOf('participant');
  const comparisonScores = scoresOf('comparison');
  const p = range(participantScores);
  const c = range(comparisonScores);
  const from = p && c ? Math.max(p.min, c.min) : Number.NaN;
  const to = p && c ? Math.min(p.max, c.max) : Number.NaN;
  const support = from <= to ? { from, to } : null;
  const share = (scores: number[]) =>
    scores.length === 0 || !support
      ? scores.length === 0
        ? null
        : 0
      : scores.filter((s) => s >= support.from && s <= support.to).length / scores.length;
  return {
    bins,
    participants: p,
    comparisons: c,
    commonSupport: support,
    shareOfParticipantsInCommonSupport: share(participantScores),
    shareOfComparisonsInCommonSupport: share(comparisonScores),
  };
}

/** Balance of every column of the balance matrix, and of the propensity logit, before and after matching. */
export function balanceDiagnostics(input: BalanceInput): BalanceDiagnostics {
  const matchedParticipants = new Set(input.matching.matched.map((m) => m.participantId));
  const weights = new Map(input.matching.comparisonWeights.map((w) => [w.id, w.weight]));
  const anyoneMatched = matchedParticipants.size > 0;
  const summarise = (valueOf: (i: number) => number) => {
    const before = { participants: [] as Weighted[], comparisons: [] as Weighted[] };
    const after = { participants: [] as Weighted[], comparisons: [] as Weighted[] };
    input.subjects.forEach((s, i) => {
      const value = valueOf(i);
      if (s.group === 'participant') {
        before.participants.push({ value, weight: 1 });
        if (matchedParticipants.has(s.id)) after.participants.push({ value, weight: 1 });
      } else {
        before.comparisons.push({ value, weight: 1 });
        const w = weights.get(s.id);
        if (w) after.comparisons.push({ value, weight: w });
      }
    });
    const scaleVariance = (moments(before.participants).variance + moments(before.comparisons).variance) / 2;
    const afterComparison = anyoneMatched ? compare(after.participants, after.comparisons, scaleVariance) : null;
    return {
      before: compare(before.participants, before.comparisons, scaleVariance),
      after: afterComparison,
      balanced:
        afterComparison !== null && afterComparison.smd !== null && Math.abs(afterComparison.smd) < BALANCE_THRESHOLD,
    };
  };
  const covariates: CovariateBalance[] = input.columns.map((column, j) => ({
    name: column.name,
    covariate: column.covariate,
    ...(column.level === undefined ? {} : { level: column.level }),
    ...summarise((i) => input.values[i]![j]!),
  }));
  const isNumeric = (c: DesignColumn) =>
    c.level === undefined && (c.covariate === 'age' || c.covariate === 'priorOffences');
  const numeric = new Set(input.columns.filter(isNumeric).map((c) => c.name));
  const [low, high] = VARIANCE_RATIO_LIMITS;
  return {
    threshold: BALANCE_THRESHOLD,
    covariates,
    propensityLogit: { name: 'propensityLogit', ...summarise((i) => input.logits[i]!) },
    overlap: overlap(input, matchedParticipants, weights),
    balanced: anyoneMatched && covariates.every((c) => c.balanced),
    failing: covariates.filter((c) => !c.balanced).map((c) => c.name),
    varianceRatioOutsideLimits: covariates
      .filter(
        (c) =>
          numeric.has(c.name) &&
          c.after?.varianceRatio != null &&
          (c.after.varianceRatio < low || c.after.varianceRatio > high),
      )
      .map((c) => c.name),
  };
}
