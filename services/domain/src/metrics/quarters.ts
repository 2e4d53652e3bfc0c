import { memoized } from '../memo.js';

/** Calendar quarters written as '2026Q3' (July to September 2026), as in the quarterly return and delivery targets. */

/** '2026Q3' → first and last day of the quarter. */
export const quarterBounds: (quarter: string) => Readonly<{ start: string; end: string }> = memoized((quarter) => {
  const year = Number(quarter.slice(0, 4));
  const q = Number(quarter.slice(5));
  const start = new Date(Date.UTC(year, (q - 1) * 3, 1)).toISOString().slice(0, 10);
  const end = new Date(Date.UTC(year, q * 3, 0)).toISOString().slice(0, 10);
  return Object.freeze({ start, end });
});

/** The calendar quarter a date ('2026-08-14') falls in: '2026Q3'. */
export function calendarQuarterOf(date: string): string {
  return `${date.slice(0, 4)}Q${Math.floor((Number(date.slice(5, 7)) - 1) / 3) + 1}`;
}

/** The calendar quarters from the one holding `from` to the one holding `to`, in order. */
export function quartersBetween(from: string, to: string): string[] {
  const out: string[] = [];
  let q = calendarQuarterOf(from);
  const last = calendarQuarterOf(to);
  while (q <= last) {
    out.push(q);
    q = nextQuarter(q);
  }
  return out;
}

/** '2026Q4' → '2027Q1'. */
export function nextQuarter(quarter: string): string {
  const year = Number(quarter.slice(0, 4));
  const n = Number(quarter.slice(5));
  return n === 4 ? `${year + 1}Q1` : `${year}Q${n + 1}`;
}
