/** Calendar arithmetic on ISO dates (YYYY-MM-DD), in UTC so no time zone shifts a day. */

import { memoized } from '../memo.js';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parts(date: string): [number, number, number] {
  const m = ISO_DATE.exec(date);
  if (!m) throw new RangeError(`not an ISO date: ${date}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/**
 * Adds calendar months; a day that does not exist in the target month becomes that month's last day
 * (2025-01-31 + 1 month = 2025-02-28, 2024-02-29 + 12 months = 2025-02-28).
 */
export function addMonths(date: string, months: number): string {
  let shift = shifts.get(months);
  if (!shift) shifts.set(months, (shift = memoized((from) => computeAddMonths(from, months))));
  return shift(date);
}

/** addMonths per number of months: a report shifts a few thousand dates by a handful of month counts. */
const shifts = new Map<number, (date: string) => string>();

function computeAddMonths(date: string, months: number): string {
  const [y, m, d] = parts(date);
  const first = new Date(Date.UTC(y, m - 1 + months, 1));
  const lastDay = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  first.setUTCDate(Math.min(d, lastDay));
  return first.toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  const [y1, m1, d1] = parts(from);
  const [y2, m2, d2] = parts(to);
  return Math.round((Date.UTC(y2, m2 - 1, d2) - Date.UTC(y1, m1 - 1, d1)) / 86_400_000);
}
