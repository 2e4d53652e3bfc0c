/**
 * Contract performance: actual against target per grant, quarter and indicator, year to date, and a forecast to
 * the end of the grant year from the run rate. Pure arithmetic; definitions and thresholds in docs/metrics.md.
 */
import { addMonths, daysBetween } from './dates.js';
import { calendarQuarterOf, nextQuarter, quarterBounds } from './quarters.js';

export const COUNT_INDICATORS = ['referrals', 'enrolments', 'sessionsDelivered', 'completions'] as const;
export type CountIndicator = (typeof COUNT_INDICATORS)[number];
export type RagStatus = 'green' | 'amber' | 'red';

/** Red/amber/green thresholds, written out in docs/metrics.md. */
export const RAG_THRESHOLDS = {
  /** Counts: green at 95% of target or more, amber from 80%, red below. */
  count: { green: 0.95, amber: 0.8 },
  /** Spend against profile: green within 10% either way, amber within 25%, red beyond (under- and overspend). */
  spend: { green: 0.1, amber: 0.25 },
  /** Share reliably improved: green at or above target, amber up to 10 percentage points below, red further below. */
  share: { amber: 0.1 },
} as const;

/** Tolerates floating-point noise in ratios such as 0.3 / 0.4 × 0.4. */
const EPSILON = 1e-9;

export function countStatus(actual: number, target: number): RagStatus | null {
  if (target === 0) return null;
  const ratio = actual / target;
  if (ratio >= RAG_THRESHOLDS.count.green - EPSILON) return 'green';
  return ratio >= RAG_THRESHOLDS.count.amber - EPSILON ? 'amber' : 'red';
}

export function spendStatus(actualPence: number, profilePence: number): RagStatus | null {
  if (profilePence === 0) return null;
  const off = Math.abs(actualPence / profilePence - 1);
  if (off <= RAG_THRESHOLDS.spend.green + EPSILON) return 'green';
  return off <= RAG_THRESHOLDS.spend.amber + EPSILON ? 'amber' : 'red';
}

export function shareStatus(actual: number | null, target: number): RagStatus | null {
  if (actual === null) return null;
  if (actual >= target - EPSILON) return 'green';
  return actual >= target - RAG_THRESHOLDS.share.amber - EPSILON ? 'amber' : 'red';
}

export interface QuarterTargets {
  referrals: number;
  enrolments: number;
  sessionsDelivered: number;
  completions: number;
  spendPence: number;
  outcomeTargets: readonly { instrument: string; shareReliablyImproved: number }[];
}

export interface QuarterActuals {
  referrals: number;
  enrolments: number;
  sessionsDelivered: number;
  completions: number;
  spendPence: number;
  /** Per instrument: people with a baseline and an exit measure whose exit fell in the quarter, and how many reliably improved. */
  outcomes: Readonly<Record<string, { pairs: number; improved: number }>>;
}

export const noActuals = (): QuarterActuals => ({
  referrals: 0,
  enrolments: 0,
  sessionsDelivered: 0,
  completions: 0,
  spendPence: 0,
  outcomes: {},
});

export interface GrantYear {
  start: string;
  end: string;
}

/**
 * The grant year holding a quarter: years run from the grant's start date (12 months each, the last one cut at the
 * grant's end), and a quarter belongs to the year holding its first day (or the grant's start, if later).
 */
export function grantYearOf(grantStart: string, grantEnd: string, quarter: string): GrantYear {
  const from = [quarterBounds(quarter).start, grantStart].sort()[1]!;
  let start = grantStart;
  while (addMonths(start, 12) <= from) start = addMonths(start, 12);
  const lastDayOfYear = dayBefore(addMonths(start, 12));
  return { start, end: lastDayOfYear < grantEnd ? lastDayOfYear : grantEnd };
}

const dayBefore = (date: string): string =>
  new Date(Date.parse(`${date}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);

/** The calendar quarters of the grant year, in order. */
export function quartersOfYear(grantStart: string, grantEnd: string, year: GrantYear): string[] {
  const out: string[] = [];
  let q = calendarQuarterOf(year.start);
  while (quarterBounds(q).start <= year.end) {
    if (grantYearOf(grantStart, grantEnd, q).start === year.start) out.push(q);
    q = nextQuarter(q);
  }
  return out;
}

/**
 * The forecast to the end of the grant year at the year-to-date run rate: the actual so far times the year's days
 * over the days elapsed (to the end of the quarter, or to `asOf` while the quarter is in progress).
 */
export function forecastToYearEnd(
  yearToDate: number,
  year: GrantYear,
  quarterEnd: string,
  asOf: string,
): number | null {
  const through = [quarterEnd, asOf, year.end].sort()[0]!;
  const elapsed = daysBetween(year.start, through) + 1;
  if (elapsed <= 0) return null;
  return Math.round((yearToDate * (daysBetween(year.start, year.end) + 1)) / elapsed);
}

export interface IndicatorPerformance {
  /** referrals, enrolments, sessionsDelivered, completions, spendPence, or reliablyImproved:<instrument>. */
  indicator: string;
  target: number;
  actual: number | null;
  /** actual − target. */
  variance: number | null;
  /** actual / target, 4 decimal places; null without a target. */
  percentOfTarget: number | null;
  status: RagStatus | null;
  /** For shares: the pairs the share is over. */
  pairs: number | null;
  yearStart: string;
  yearEnd: string;
  yearToDateTarget: number;
  yearToDateActual: number | null;
  yearToDateVariance: number | null;
  yearToDateStatus: RagStatus | null;
  /** Sum of the targets set for every quarter of the grant year (shares: their mean). */
  yearTarget: number;
  /** Counts and spend only: a share has no run rate (its year-to-date value is the estimate). */
  forecastToYearEnd: number | null;
  forecastStatus: RagStatus | null;
}

export interface PerformanceInput {
  grantStart: string;
  grantEnd: string;
  quarter: string;
  /** Targets per quarter ('2026Q3'), as last set or revised. */
  targets: ReadonlyMap<string, QuarterTargets>;
  actuals: ReadonlyMap<string, QuarterActuals>;
  asOf: string;
}

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;
const sum = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0);

/** Every indicator of one grant for one quarter that has targets (none when the quarter has no targets). */
export function quarterPerformance(input: PerformanceInput): IndicatorPerformance[] {
  const { grantStart, grantEnd, quarter, targets, actuals, asOf } = input;
  const target = targets.get(quarter);
  if (!target) return [];
  const year = grantYearOf(grantStart, grantEnd, quarter);
  const yearQuarters = quartersOfYear(grantStart, grantEnd, year);
  const toDate = yearQuarters.filter((q) => q <= quarter);
  const actual = (q: string) => actuals.get(q) ?? noActuals();
  const quarterEnd = quarterBounds(quarter).end;
  const base = { yearStart: year.start, yearEnd: year.end };

  const volume = (indicator: CountIndicator | 'spendPence'): IndicatorPerformance => {
    const status = indicator === 'spendPence' ? spendStatus : countStatus;
    const a = actual(quarter)[indicator];
    const t = target[indicator];
    const ytdTarget = sum(toDate.map((q) => targets.get(q)?.[indicator] ?? 0));
    const ytdActual = sum(toDate.map((q) => actual(q)[indicator]));
    const yearTarget = sum(yearQuarters.map((q) => targets.get(q)?.[indicator] ?? 0));
    const forecast = forecastToYearEnd(ytdActual, year, quarterEnd, asOf);
    return {
      indicator,
      target: t,
      actual: a,
      variance: a - t,
      percentOfTarget: t === 0 ? null : round4(a / t),
      status: status(a, t),
      pairs: null,
      ...base,
      yearToDateTarget: ytdTarget,
      yearToDateActual: ytdActual,
      yearToDateVariance: ytdActual - ytdTarget,
      yearToDateStatus: status(ytdActual, ytdTarget),
      yearTarget,
      forecastToYearEnd: forecast,
      forecastStatus: forecast === null ? null : status(forecast, yearTarget),
    };
  };

  const share = ({
    instrument,
    shareReliablyImproved: t,
  }: QuarterTargets['outcomeTargets'][number]): IndicatorPerformance => {
    const of = (qs: readonly string[]) => {
      const pairs = sum(qs.map((q) => actual(q).outcomes[instrument]?.pairs ?? 0));
      const improved = sum(qs.map((q) => actual(q).outcomes[instrument]?.improved ?? 0));
      return { pairs, value: pairs === 0 ? null : round4(improved / pairs) };
    };
    const now = of([quarter]);
    const ytd = of(toDate);
    const targetsOf = (qs: readonly string[]) =>
      qs
        .flatMap((q) => targets.get(q)?.outcomeTargets.filter((o) => o.instrument === instrument) ?? [])
        .map((o) => o.shareReliablyImproved);
    const mean = (xs: number[]) => round4(sum(xs) / xs.length);
    const ytdTarget = mean(targetsOf(toDate));
    return {
      indicator: `reliablyImproved:${instrument}`,
      target: t,
      actual: now.value,
      variance: now.value === null ? null : round4(now.value - t),
      percentOfTarget: now.value === null || t === 0 ? null : round4(now.value / t),
      status: shareStatus(now.value, t),
      pairs: now.pairs,
      ...base,
      yearToDateTarget: ytdTarget,
      yearToDateActual: ytd.value,
      yearToDateVariance: ytd.value === null ? null : round4(ytd.value - ytdTarget),
      yearToDateStatus: shareStatus(ytd.value, ytdTarget),
      yearTarget: mean(targetsOf(yearQuarters)),
      forecastToYearEnd: null,
      forecastStatus: null,
    };
  };

  return [...COUNT_INDICATORS.map(volume), volume('spendPence'), ...target.outcomeTargets.map(share)];
}
