/**
 * Small-number suppression for published figures (commissioners and funders; a provider's own figures are
 * never suppressed). Suppressed values become null.
 */

/** Counts from 1 to this are suppressed (0 is shown: it identifies nobody). */
export const MAX_SUPPRESSED_COUNT = 4;
/** Rates (and means) over fewer than this many people are suppressed. */
export const MIN_RATE_DENOMINATOR = 10;

export const isSmallCount = (n: number): boolean => n >= 1 && n <= MAX_SUPPRESSED_COUNT;

/** Primary suppression of one count. */
export function suppressCount(n: number): number | null {
  return isSmallCount(n) ? null : n;
}

/**
 * Suppresses the counts of one row whose total is published (or derivable): every count of 1..4 (primary),
 * and, if exactly one cell was suppressed, the next-smallest remaining cell too (secondary), so the suppressed
 * one cannot be recovered as total minus the others. The secondary cell is the smallest non-zero one left,
 * or a zero if only zeros are left. With no published total pass `hasTotal = false`: primary only.
 * Cells keep their positions.
 */
export function suppressRow(cells: readonly number[], hasTotal = true): (number | null)[] {
  const out: (number | null)[] = cells.map(suppressCount);
  const suppressed = out.filter((c) => c === null).length;
  if (!hasTotal || suppressed !== 1 || cells.length < 2) return out;
  const candidates = cells.map((v, i) => ({ v, i })).filter(({ i }) => out[i] !== null);
  const nonZero = candidates.filter(({ v }) => v > 0);
  const pool = nonZero.length > 0 ? nonZero : candidates;
  const next = pool.reduce<{ v: number; i: number } | null>((m, c) => (m === null || c.v < m.v ? c : m), null);
  if (next) out[next.i] = null;
  return out;
}

/** Suppresses a keyed row of counts (e.g. exit reasons) with `suppressRow`, keeping the keys. */
export function suppressRecord(row: Readonly<Record<string, number>>, hasTotal = true): Record<string, number | null> {
  const keys = Object.keys(row);
  const cells = suppressRow(
    keys.map((k) => row[k]!),
    hasTotal,
  );
  return Object.fromEntries(keys.map((k, i) => [k, cells[i]!]));
}

/**
 * Whether a rate (or any figure derived from a numerator over a denominator of people) must be suppressed:
 * the denominator is under 10, or the numerator is a small count (1..4) that the rate times the published
 * denominator would give back.
 */
export function rateSuppressed(numerator: number | null, denominator: number): boolean {
  return denominator < MIN_RATE_DENOMINATOR || (numerator !== null && isSmallCount(numerator));
}

/** `value`, or null when `rateSuppressed`. */
export function suppressRate<T>(value: T, numerator: number | null, denominator: number): T | null {
  return rateSuppressed(numerator, denominator) ? null : value;
}
