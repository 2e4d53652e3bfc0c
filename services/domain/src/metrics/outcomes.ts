import { meanWithCI, wilsonInterval, type MeanEstimate, type Proportion } from './intervals.js';

/**
 * Reliable change: the smallest baseline → exit change counted as a real improvement rather than measurement
 * noise. SWEMWBS 3 points and WEMWBS 8 points (the thresholds published with the scales, Warwick Medical
 * School); SDQ total difficulties a fall of 6 points (a commonly used reliable change index for the parent
 * and self-report total). Other instruments have no agreed threshold: their share is not reported.
 */
export const RELIABLE_CHANGE: Readonly<Record<string, { points: number; improvement: 'increase' | 'decrease' }>> = {
  swemwbs: { points: 3, improvement: 'increase' },
  wemwbs: { points: 8, improvement: 'increase' },
  'sdq-total': { points: 6, improvement: 'decrease' },
};

export interface ScorePair {
  baseline: number;
  exit: number;
}

export interface PairedChange {
  pairs: number;
  meanBaseline: number | null;
  meanExit: number | null;
  /** exit − baseline per pair (raw direction: negative is better for SDQ), mean with its 95% t interval. */
  change: MeanEstimate | null;
  /** Share of pairs improved by at least the reliable-change threshold, Wilson 95% interval; null without a threshold or pairs. */
  reliablyImproved: Proportion | null;
}

export function reliablyImproved(instrument: string, pair: ScorePair): boolean | null {
  const rule = RELIABLE_CHANGE[instrument];
  if (!rule) return null;
  const change = pair.exit - pair.baseline;
  return rule.improvement === 'increase' ? change >= rule.points : -change >= rule.points;
}

/** A pair every figure can be computed from: finite scores and change (events cannot be deleted: any stored value must be survivable). */
const computable = (p: ScorePair) =>
  Number.isFinite(p.baseline) && Number.isFinite(p.exit) && Number.isFinite(p.exit - p.baseline);

export function pairedChange(instrument: string, allPairs: readonly ScorePair[]): PairedChange {
  const pairs = allPairs.filter(computable);
  const n = pairs.length;
  const mean = (xs: number[]) => {
    if (xs.length === 0) return null;
    const m = xs.reduce((s, x) => s + x / xs.length, 0);
    return Number.isFinite(m) ? m : null;
  };
  const improved = pairs.filter((p) => reliablyImproved(instrument, p) === true).length;
  return {
    pairs: n,
    meanBaseline: mean(pairs.map((p) => p.baseline)),
    meanExit: mean(pairs.map((p) => p.exit)),
    change: meanWithCI(pairs.map((p) => p.exit - p.baseline)),
    reliablyImproved: RELIABLE_CHANGE[instrument] && n > 0 ? wilsonInterval(improved, n) : null,
  };
}
