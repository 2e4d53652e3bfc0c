import { Ethnicities, Genders, ReferralSources, type Principal, type ReportGroupings } from '@vru/contracts';
import {
  AGE_BANDS,
  alignPeriod,
  childPeriods,
  DISCLOSURE_VERSION,
  financialYearOf,
  MIN_POPULATION,
  periodIssues,
  CountedCells,
  PopulationCells,
  quarterOf,
  rowPublished,
  suppressCount,
  type AlignedPeriod,
  type CellCounts,
  type Member,
  type Period,
} from '@vru/domain';
import type { Sql } from '@vru/runtime';
import { reportScope } from './auth.js';
import { HttpProblem } from './problem.js';

/**
 * The one disclosure-control layer every report goes through (JSON, CSV, dashboard pages, quarterly return).
 * A report asks `disclosureScope` for its scope before it reads anything: for a role that sees every provider
 * this refuses query sets that are too fine (422), widens what the report must read to the whole financial
 * year and every provider (the sibling cells an adversary could difference against), and then decides row by
 * row with `published`. The stamp goes on every answer, so a report that skipped the layer is visible.
 * Rules and their reasons: docs/metrics.md, "Disclosure control".
 */

export interface DisclosureStamp {
  rules: string;
  applied: boolean;
}

export interface PeriodQuery {
  from?: string | undefined;
  to?: string | undefined;
  /** JSON Pointers of the two period fields in the query (cohortFrom/cohortTo for reoffending). */
  fields?: { from: string; to: string };
  /** Whether the report has no fixed population without a period (then a suppressed role must give one). */
  required: boolean;
}

export class Disclosure {
  constructor(
    /** True for every role but a provider reading its own figures. */
    readonly applied: boolean,
    /** The aligned period of the query (null: none given, or not applied). */
    readonly period: AlignedPeriod | null,
    /** The provider the query names (its cells are judged against every other provider's of the same programme). */
    readonly provider: string | null,
  ) {}

  get stamp(): DisclosureStamp {
    return { rules: DISCLOSURE_VERSION, applied: this.applied };
  }

  /**
   * The dates a report must read: the whole financial year of the period when the layer applies (its sibling
   * cells), otherwise exactly the period asked for.
   */
  window(from: string | undefined, to: string | undefined): { from: string | undefined; to: string | undefined } {
    if (this.applied && this.period) {
      const fy = financialYearOf(this.period.from);
      return { from: fy.from, to: fy.to };
    }
    return { from, to };
  }

  /** Which provider a report's SQL filters on: none when the layer applies (siblings are needed), else the scope. */
  get sqlProvider(): string | null {
    return this.applied ? null : this.provider;
  }

  /** The cell key of one member: its provider when a provider is named, and its group when grouped. */
  key(providerId: string, group: string | null): string {
    return `${this.applied && this.provider ? providerId : ''}\u0000${group ?? ''}`;
  }

  /** The cell key of the row asked for, or null (the whole population) when neither provider nor group splits it. */
  rowKey(group: string | null): string | null {
    if (this.applied && !this.provider && group === null) return null;
    return `${this.applied && this.provider ? this.provider : ''}\u0000${group ?? ''}`;
  }

  /** Whether a member belongs to what the query asked for (its provider, its period) rather than to a sibling cell. */
  inScope(providerId: string, date: string | null, period: Period | null = this.period): boolean {
    if (this.provider && providerId !== this.provider) return false;
    if (period && (date === null || date < period.from || date > period.to)) return false;
    return true;
  }

  /** `inScope` in SQL: a condition on a row with `provider_id` and the report's `date` column. */
  inScopeSql(sql: Sql, date: string, period: Period | null = this.period) {
    return sql`(${this.provider ? sql`provider_id = ${this.provider}` : sql`true`}
      and ${period ? sql`${sql(date)} between ${period.from}::date and ${period.to}::date` : sql`true`})`;
  }

  /**
   * Whether the row for `group` over `period` may show figures. Always true for a provider's own figures.
   * `members` are every person of the row's sibling cells: all providers and groups of the programme over the
   * financial year.
   */
  published(members: readonly Member[], group: string | null, period: AlignedPeriod | null = this.period): boolean {
    if (!this.applied) return true;
    return rowPublished(new PopulationCells(members), period, this.rowKey(group));
  }

  /** `published`, judged from counts per cell and period kept beforehand rather than from the members. */
  publishedCells(cells: CellCounts, group: string | null, period: AlignedPeriod | null = this.period): boolean {
    if (!this.applied) return true;
    return rowPublished(cells, period, this.rowKey(group));
  }

  /**
   * Whether the population of cell `key` (one provider's, for a grant) is published against its sibling keys, from
   * its members or from counts per cell and period kept beforehand.
   */
  publishedKey(
    members: readonly Member[] | CellCounts,
    key: string,
    period: AlignedPeriod | null = this.period,
  ): boolean {
    if (!this.applied) return true;
    return rowPublished(Array.isArray(members) ? new PopulationCells(members) : (members as CellCounts), period, key);
  }

  /** A count inside a published row: primary suppression of 1–4 when the layer applies. */
  count(n: number): number | null {
    return this.applied ? suppressCount(n) : n;
  }

  /** A count that is itself a population (enrolled, attenders): withheld under MIN_POPULATION, zero included. */
  population(n: number): number | null {
    return this.applied && n < MIN_POPULATION ? null : n;
  }
}

/**
 * The scope and the disclosure control of one report request. A provider key gets its own provider,
 * unsuppressed; every other role gets the layer, and an unaligned period is refused here with 422.
 */
export function disclosureScope(
  principal: Principal,
  requestedProvider: string | undefined,
  q: PeriodQuery,
): Disclosure {
  const { provider, suppress } = reportScope(principal, requestedProvider);
  if (!suppress) return new Disclosure(false, null, provider);
  const fields = q.fields ?? { from: '/querystring/from', to: '/querystring/to' };
  const issues = periodIssues(q.from, q.to, fields, q.required);
  if (issues.length > 0) {
    throw new HttpProblem(
      422,
      'disclosure-control',
      'The request is invalid',
      issues.map((i) => ({ ...i })),
      `Disclosure control ${DISCLOSURE_VERSION}: figures across providers are published for whole months, quarters or financial years only`,
    );
  }
  const period = q.from !== undefined && q.to !== undefined ? alignPeriod(q.from, q.to) : null;
  return new Disclosure(true, period, provider);
}

/** Sets every figure of a withheld row to null, keeping its identifying fields and the keys of its breakdowns. */
export function withheld<R extends Record<string, unknown>>(
  row: R,
  keep: readonly string[],
  records: readonly string[] = [],
): R {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => {
      if (keep.includes(k)) return [k, v];
      if (records.includes(k) && v !== null && typeof v === 'object')
        return [k, Object.fromEntries(Object.keys(v).map((r) => [r, null]))];
      return [k, null];
    }),
  ) as R;
}

type GroupBy = (typeof ReportGroupings)[number];
const TIME_GROUPS: readonly GroupBy[] = ['month', 'quarter'];

/** The periods of `p` at a breakdown's level (months or quarters); `p` itself when it is already as fine. */
export function periodsWithin(p: AlignedPeriod, level: 'month' | 'quarter'): AlignedPeriod[] {
  if (p.level === 'month' || (p.level === 'quarter' && level === 'quarter')) return [p];
  const children = childPeriods(p);
  return level === 'quarter' || p.level === 'quarter' ? children : children.flatMap((c) => childPeriods(c));
}

/**
 * Every value a breakdown answers when the layer applies, present or not, so the presence of a row discloses
 * nothing: the fixed vocabularies of the events plus `unknown`, the registered providers, the programme itself.
 * Month and quarter answer every period inside the query's. Postcode districts have no fixed vocabulary (a
 * district answered only where someone lives is a disclosure), so that breakdown is refused (422).
 * Null when no breakdown or the layer does not apply (a provider's own rows: the groups it has).
 */
export async function groupVocabulary(
  sql: Sql,
  dc: Disclosure,
  by: GroupBy | undefined,
): Promise<((programmeId: string) => string[]) | null> {
  if (!by || !dc.applied || TIME_GROUPS.includes(by)) return null;
  const fixed: Partial<Record<GroupBy, readonly string[]>> = {
    gender: Genders,
    ethnicity: Ethnicities,
    'referral-source': ReferralSources,
    'age-band': AGE_BANDS,
  };
  const list = fixed[by];
  if (list) return () => [...list, 'unknown'];
  if (by === 'programme') return (programmeId) => [programmeId];
  if (by === 'provider') {
    const providers = await sql<{ provider_id: string }[]>`select provider_id from providers order by provider_id`;
    return () => providers.map((p) => p.provider_id);
  }
  throw new HttpProblem(
    422,
    'disclosure-control',
    'The request is invalid',
    [
      {
        field: '/querystring/groupBy',
        rule: 'no-fixed-vocabulary',
        message: `${by} has no fixed list of values: a breakdown answered only where someone is would disclose them. Use it with a provider key for your own figures`,
      },
    ],
    `Disclosure control ${DISCLOSURE_VERSION}`,
  );
}

/** People of one population counted by SQL per provider, group (null: no breakdown) and month of their date. */
export interface MonthCell {
  provider_id: string;
  group: string | null;
  /** `YYYY-MM-01`, null for no date. */
  month: string | null;
  people: number;
}

/**
 * People counted per provider and month of their date (no breakdown), from one row per person: the cells
 * `disclosedRows` judges a population by, without a set of people per cell and period.
 */
export function monthCells<P extends { provider_id: string }>(
  people: readonly P[],
  dateOf: (p: P) => string | null,
): MonthCell[] {
  const cells = new Map<string, MonthCell>();
  for (const p of people) {
    const date = dateOf(p);
    const month = date === null ? null : `${date.slice(0, 7)}-01`;
    const key = `${p.provider_id}\u0000${month ?? ''}`;
    const cell = cells.get(key);
    if (cell) cell.people += 1;
    else cells.set(key, { provider_id: p.provider_id, group: null, month, people: 1 });
  }
  return [...cells.values()];
}

/**
 * The rows a report answers for one population (every provider, the whole window) and whether the layer publishes
 * each, judged from its people counted per provider, group and month (`cells`, each person in one) rather than from
 * the people. Without a breakdown: one row. With one, when the layer applies: a row for every value of the vocabulary
 * (months and quarters: every period of the query's), judged against all of them; for a provider's own figures:
 * the groups it has (`present`), in order. The report counts each row's in-scope people itself.
 */
export function disclosedRows(
  dc: Disclosure,
  cells: readonly MonthCell[],
  by: GroupBy | undefined,
  vocabulary: readonly string[] | null,
  present: readonly string[],
): { group: string | undefined; published: boolean }[] {
  if (!by) return [{ group: undefined, published: dc.publishedCells(countedByKey(dc, cells, false), null) }];
  if (!dc.applied) return [...present].sort().map((group) => ({ group, published: true }));
  if (TIME_GROUPS.includes(by)) {
    const counted = countedByKey(dc, cells, false);
    return periodsWithin(dc.period!, by as 'month' | 'quarter').map((sp) => ({
      group: by === 'month' ? sp.from.slice(0, 7) : quarterOf(sp.from),
      published: dc.publishedCells(counted, null, sp),
    }));
  }
  const counted = countedByKey(dc, cells, true);
  return (vocabulary ?? []).map((group) => ({ group, published: dc.publishedCells(counted, group) }));
}

/** Month cells under the layer's keys: by provider when the query names one, by group when `grouped`. */
const countedByKey = (dc: Disclosure, cells: readonly MonthCell[], grouped: boolean): CountedCells =>
  CountedCells.fromMonths(
    cells.map((c) => ({ key: dc.key(c.provider_id, grouped ? c.group : null), month: c.month, people: c.people })),
  );
