/** Interval estimates for reports: small cohorts give wide intervals, so every rate and mean change carries one. */

export interface Interval {
  lower: number;
  upper: number;
}

export interface Proportion extends Interval {
  numerator: number;
  denominator: number;
  /** numerator / denominator */
  value: number;
}

/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

/**
 * Wilson score 95% interval for a proportion k/n. Unlike the normal (Wald) interval it stays inside [0, 1]
 * and is sensible for k = 0, k = n and small n. Null when n = 0.
 */
export function wilsonInterval(k: number, n: number, z = Z95): Proportion | null {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n)
    throw new RangeError(`bad proportion ${k}/${n}`);
  if (n === 0) return null;
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // Clamp rounding noise at the ends (k = 0 gives exactly 0, k = n exactly 1).
  return {
    numerator: k,
    denominator: n,
    value: p,
    lower: k === 0 ? 0 : Math.max(0, centre - half),
    upper: k === n ? 1 : Math.min(1, centre + half),
  };
}

/** Two-sided 95% critical values of Student's t for df 1..30. */
const T95: readonly number[] = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];
/** Beyond the table: the value at the largest tabled df not above the given one (slightly conservative), then z. */
const T95_LARGE: readonly [number, number][] = [
  [120, 1.98],
  [60, 2.0],
  [40, 2.021],
];

/**
 * Two-sided 95% critical value of Student's t: exact to 3 decimals for df 1..30 (table), 2.021 for 40..59,
 * 2.000 for 60..119, 1.980 for 120..999, and 1.96 (the normal value) from df 1000. Between 31 and 39 the df 30
 * value is used. Erring upwards keeps the interval slightly wide rather than too narrow.
 */
export function tCritical95(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`bad degrees of freedom ${df}`);
  if (df <= 30) return T95[df - 1]!;
  if (df >= 1000) return 1.96;
  for (const [at, t] of T95_LARGE) if (df >= at) return t;
  return T95[29]!;
}

export interface MeanEstimate {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1); null when n < 2. */
  sd: number | null;
  /** mean ± t(0.975, n - 1) · sd / √n; null when n < 2. */
  ci: Interval | null;
}

/** Mean with a 95% t interval. Null for no values. */
export function meanWithCI(values: readonly number[]): MeanEstimate | null {
  const n = values.length;
  if (n === 0) return null;
  // Each value divided first: a sum of very large values would overflow where their mean does not.
  const mean = values.reduce((s, v) => s + v / n, 0);
  if (!Number.isFinite(mean)) return null;
  if (n < 2) return { n, mean, sd: null, ci: null };
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2 / (n - 1), 0));
  const half = tCritical95(n - 1) * (sd / Math.sqrt(n));
  // A spread too wide to represent has no interval worth printing (never Infinity or NaN in a report).
  if (!Number.isFinite(half) || !Number.isFinite(mean - half) || !Number.isFinite(mean + half))
    return { n, mean, sd: null, ci: null };
  return { n, mean, sd, ci: { lower: mean - half, upper: mean + half } };
}

/** Median (mean of the middle two for an even count); null for no values. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** `median` of values given as how many times each occurs (as SQL counts them); null for none. */
export function medianOfCounts(counts: Iterable<{ value: number; n: number }>): number | null {
  const s = [...counts].filter((c) => c.n > 0).sort((a, b) => a.value - b.value);
  const total = s.reduce((sum, c) => sum + c.n, 0);
  if (total === 0) return null;
  // The value at 0-based position i of the sorted values.
  const at = (i: number) => {
    for (const c of s) {
      if (i < c.n) return c.value;
      i -= c.n;
    }
    throw new RangeError(`no value at ${i}`);
  };
  const mid = Math.floor(total / 2);
  return total % 2 === 1 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
}
