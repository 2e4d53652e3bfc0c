/**
 * Statistical disclosure control for every figure shown to a role that sees more than its own provider
 * (commissioner, funder, admin). One rule set with one version; docs/metrics.md states it in words.
 *
 * The threat is an interactive one: whoever chooses the filters can difference two answers. So the rules
 * constrain which populations can be asked about (aligned periods in a fixed hierarchy, fixed vocabularies),
 * and decide whether a row is published from the population cells that any combination of answers could
 * isolate, not from the row alone.
 */
import { addMonths } from '../metrics/dates.js';
import { memoized } from '../memo.js';

export const DISCLOSURE_VERSION = 'vru-sdc-1';
/** A population (cohort, referrals, enrolled, attenders) of fewer people than this publishes no figure at all. */
export const MIN_POPULATION = 10;

export type PeriodLevel = 'month' | 'quarter' | 'financial-year';
export interface Period {
  from: string;
  to: string;
}
export interface AlignedPeriod extends Period {
  level: PeriodLevel;
}

const lastDayOfYearMonth = memoized((yearMonth) =>
  new Date(Date.UTC(Number(yearMonth.slice(0, 4)), Number(yearMonth.slice(5, 7)), 0)).toISOString().slice(0, 10),
);
const lastDayOfMonth = (date: string): string => lastDayOfYearMonth(date.slice(0, 7));

export const monthOf = (date: string): Period => ({ from: `${date.slice(0, 7)}-01`, to: lastDayOfMonth(date) });

export function quarterPeriodOf(date: string): Period {
  const firstMonth = Math.floor((Number(date.slice(5, 7)) - 1) / 3) * 3 + 1;
  const from = `${date.slice(0, 4)}-${String(firstMonth).padStart(2, '0')}-01`;
  return { from, to: lastDayOfMonth(addMonths(from, 2)) };
}

/** The UK financial year (1 April to 31 March) containing `date`. */
export function financialYearOf(date: string): Period {
  const year = Number(date.slice(0, 4)) - (Number(date.slice(5, 7)) < 4 ? 1 : 0);
  return { from: `${year}-04-01`, to: `${year + 1}-03-31` };
}

/** from..to as one calendar month, calendar quarter or financial year; null for any other range. */
export function alignPeriod(from: string, to: string): AlignedPeriod | null {
  const same = (p: Period) => p.from === from && p.to === to;
  if (same(monthOf(from))) return { from, to, level: 'month' };
  if (same(quarterPeriodOf(from))) return { from, to, level: 'quarter' };
  if (same(financialYearOf(from))) return { from, to, level: 'financial-year' };
  return null;
}

/** The periods one level down that make up `p` (quarters of a year, months of a quarter); [] for a month. */
export function childPeriods(p: AlignedPeriod): AlignedPeriod[] {
  if (p.level === 'month') return [];
  const level = p.level === 'financial-year' ? 'quarter' : 'month';
  const step = level === 'quarter' ? 3 : 1;
  const out: AlignedPeriod[] = [];
  for (let from = p.from; from <= p.to; from = addMonths(from, step)) {
    out.push({ ...(level === 'quarter' ? quarterPeriodOf(from) : monthOf(from)), level });
  }
  return out;
}

/**
 * The sets of sibling periods whose answers can be combined with an answer for `p`: the financial year,
 * then the four quarters of it (when `p` is a quarter or a month), then the three months of p's quarter
 * (when `p` is a month). Any period a role may ask for is a union of these, so differencing two answers
 * isolates at most one of them.
 */
export function siblingChain(p: AlignedPeriod): AlignedPeriod[][] {
  const year: AlignedPeriod = { ...financialYearOf(p.from), level: 'financial-year' };
  const chain: AlignedPeriod[][] = [[year]];
  if (p.level !== 'financial-year') chain.push(childPeriods(year));
  if (p.level === 'month') chain.push(childPeriods({ ...quarterPeriodOf(p.from), level: 'quarter' }));
  return chain;
}

/** siblingChain's periods in one list, by `level\0from\0to`: every row of a report is judged against the same few. */
const siblingPeriods = memoized((period): readonly AlignedPeriod[] => {
  const [level, from, to] = period.split('\u0000') as [PeriodLevel, string, string];
  return Object.freeze(siblingChain({ level, from, to }).flat());
});

/** A problem with a query's period, for the 422 answer. */
export interface PeriodIssue {
  field: string;
  rule: 'period-required' | 'period-not-aligned';
  message: string;
}

const ALIGNED =
  'a whole calendar month (e.g. 2026-07-01..2026-07-31), a calendar quarter (2026-07-01..2026-09-30) ' +
  'or a financial year (2026-04-01..2027-03-31)';

/**
 * Query-set control: a suppressed role's period must be exactly one month, quarter or financial year, so
 * that no two answers differ by less than a month of people. `required` when the report has no fixed
 * population without one.
 */
export function periodIssues(
  from: string | undefined,
  to: string | undefined,
  fields: { from: string; to: string },
  required: boolean,
): PeriodIssue[] {
  if (from === undefined && to === undefined) {
    return required
      ? [
          {
            field: fields.from,
            rule: 'period-required',
            message: `Figures across providers are published for ${ALIGNED}: give both ends`,
          },
        ]
      : [];
  }
  if (from === undefined || to === undefined) {
    const field = from === undefined ? fields.from : fields.to;
    return [{ field, rule: 'period-required', message: `Give both ends of the period: ${ALIGNED}` }];
  }
  if (alignPeriod(from, to) !== null) return [];
  const field = from !== monthOf(from).from ? fields.from : fields.to;
  return [
    {
      field,
      rule: 'period-not-aligned',
      message: `Figures across providers are published only for ${ALIGNED}; a finer or shifted period could be differenced to single people`,
    },
  ];
}

/** One person's (or one record's) membership of a population: who, in which cell, on which date. */
export interface Member {
  id: string;
  key: string;
  date: string | null;
}

/** Distinct people per cell and period: what `rowPublished` judges a row by. */
export interface CellCounts {
  /** Every cell key with anyone in it. */
  keys(): string[];
  /** Distinct people in cell `key` (every cell when null) with a date in `p` (any date when null). */
  count(key: string | null, p: Period | null): number;
}

/** A cell key (null: every cell) and period (null: any date) as one map key. */
const cellInPeriod = (key: string | null, p: Period | null): string =>
  `${key === null ? '\u0001' : `\u0002${key}`}\u0000${p?.from ?? ''}\u0000${p?.to ?? ''}`;

/**
 * The people of a report row's population and of its sibling cells (other groups, other providers, other
 * periods of the same financial year), counted by cell.
 */
export class PopulationCells implements CellCounts {
  private readonly members: readonly Member[];
  /** Members by cell key, built once: a row is judged against every key in every sibling period. */
  private readonly byKey = new Map<string, Member[]>();
  constructor(members: readonly Member[]) {
    this.members = members;
    for (const m of members) {
      const cell = this.byKey.get(m.key);
      if (cell) cell.push(m);
      else this.byKey.set(m.key, [m]);
    }
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }

  /** Counts already made: a breakdown's rows are each judged against the same sibling cells. */
  private readonly counted = new Map<string, number>();

  /** Distinct people in cell `key` (every cell when null) with a date in `p` (any date when null). */
  count(key: string | null, p: Period | null): number {
    const at = cellInPeriod(key, p);
    const known = this.counted.get(at);
    if (known !== undefined) return known;
    const n = this.distinct(key, p);
    this.counted.set(at, n);
    return n;
  }

  private distinct(key: string | null, p: Period | null): number {
    const ids = new Set<string>();
    for (const m of key === null ? this.members : (this.byKey.get(key) ?? [])) {
      if (p !== null && (m.date === null || m.date < p.from || m.date > p.to)) continue;
      ids.add(m.id);
    }
    return ids.size;
  }
}

/**
 * Distinct people per cell and aligned period counted beforehand (running counts a read model keeps as events
 * arrive), so a row is judged without reading its people: one row per key and period, `null` key for every cell
 * together (distinct people do not add up across cells), `null` period for a fixed population (a stock of people).
 */
export class CountedCells implements CellCounts {
  private readonly counts = new Map<string, number>();
  private readonly cellKeys = new Set<string>();
  constructor(rows: Iterable<{ key: string | null; period: Period | null; people: number }>) {
    for (const r of rows) {
      const at = cellInPeriod(r.key, r.period);
      this.counts.set(at, r.people);
      if (r.key !== null && r.people > 0) this.cellKeys.add(r.key);
    }
  }

  keys(): string[] {
    return [...this.cellKeys];
  }

  count(key: string | null, p: Period | null): number {
    return this.counts.get(cellInPeriod(key, p)) ?? 0;
  }

  /**
   * Counts from people counted per cell key and month (`YYYY-MM-01`, null for no date) where each person is in one
   * cell and one month, as a report's SQL can group them: such counts add up into the month's quarter and financial
   * year, into no period (any date) and into every cell together, the periods and keys `rowPublished` asks for.
   */
  static fromMonths(rows: Iterable<{ key: string; month: string | null; people: number }>): CountedCells {
    const sums = new Map<string, { key: string | null; period: Period | null; people: number }>();
    const add = (key: string | null, period: Period | null, people: number) => {
      const at = cellInPeriod(key, period);
      const sum = sums.get(at);
      if (sum) sum.people += people;
      else sums.set(at, { key, period, people });
    };
    for (const { key, month, people } of rows) {
      const periods = month === null ? [null] : [null, monthOf(month), quarterPeriodOf(month), financialYearOf(month)];
      for (const period of periods) {
        add(key, period, people);
        add(null, period, people);
      }
    }
    return new CountedCells(sums.values());
  }
}

/** A cell that can be isolated by differencing is safe when it holds nobody or at least MIN_POPULATION people. */
export const safeCell = (n: number): boolean => n === 0 || n >= MIN_POPULATION;

/**
 * Whether the row for cell `key` (null: the whole population, no breakdown) over period `p` is published.
 * It is when its own population is at least MIN_POPULATION, and every cell that answers to other filters
 * could isolate is safe: every sibling key (other groups, other providers) in every sibling period of the
 * chain. A breakdown is therefore published whole or not at all, so a total minus the published groups
 * never gives back a withheld one, and a longer period minus a shorter one never gives back a small month.
 * With no period (a fixed population, such as a grant's), only the keys are checked.
 */
export function rowPublished(cells: CellCounts, p: AlignedPeriod | null, key: string | null): boolean {
  const keys = key === null ? [null] : cells.keys();
  const periods: readonly (AlignedPeriod | null)[] =
    p === null ? [null] : siblingPeriods(`${p.level}\u0000${p.from}\u0000${p.to}`);
  for (const period of periods) for (const k of keys) if (!safeCell(cells.count(k, period))) return false;
  return cells.count(key, p) >= MIN_POPULATION;
}
