import type { EngagementQuery } from '@vru/contracts';
import { quarterOf, type Proportion } from '@vru/domain';
import type { Sql } from '@vru/runtime';
import { groupRows } from './group-rows.js';

/** Figures the engagement, outcomes, reoffending and spend reports share: rounding, rates, grouping and consent. */

export const round = (x: number | null, digits = 4): number | null =>
  x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits;
export const rate = (p: Proportion | null) =>
  p === null ? null : { value: round(p.value)!, lower: round(p.lower)!, upper: round(p.upper)! };
/** Rows by key, keys in order. */
export const groupBy = <T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> =>
  new Map([...groupRows(xs, key).entries()].sort(([a], [b]) => a.localeCompare(b)));
/** Evaluation consent recorded and not withdrawn on or before `asOf`. */
export const evaluationConsented = (
  p: { evaluation_consent_from: string | null; evaluation_consent_withdrawn_on: string | null },
  asOf: string,
) =>
  p.evaluation_consent_from !== null &&
  (p.evaluation_consent_withdrawn_on === null || p.evaluation_consent_withdrawn_on > asOf);

/** A participant's fields a report can be grouped by. */
export interface GroupFields {
  programme_id: string;
  provider_id: string;
  age_band: string | null;
  gender: string | null;
  ethnicity: string | null;
  referral_source: string | null;
  postcode_district: string | null;
}

/** The value of a groupBy dimension for one participant ('unknown' when not recorded); month and quarter are of `date`. */
export function groupValue(p: GroupFields, by: EngagementQuery['groupBy'] & string, date: string | null): string {
  const v = {
    month: date?.slice(0, 7),
    quarter: date ? quarterOf(date) : null,
    programme: p.programme_id,
    provider: p.provider_id,
    'age-band': p.age_band,
    gender: p.gender,
    ethnicity: p.ethnicity,
    'referral-source': p.referral_source,
    'postcode-district': p.postcode_district,
  }[by];
  return v ?? 'unknown';
}

/** A piece of SQL built with the report's `sql` tag, to be embedded in another. */
export type Fragment = ReturnType<Sql['unsafe']>;

/**
 * groupValue in SQL, over a row with the participant's columns (and `date`, the report's date column): '' without a
 * breakdown.
 */
export function groupValueSql(sql: Sql, by: EngagementQuery['groupBy'], date: string): Fragment {
  if (!by) return sql`''`;
  const value = {
    month: sql`to_char(${sql(date)}, 'YYYY-MM')`,
    quarter: sql`to_char(${sql(date)}, 'YYYY-"Q"Q')`,
    programme: sql`programme_id`,
    provider: sql`provider_id`,
    'age-band': sql`age_band`,
    gender: sql`gender`,
    ethnicity: sql`ethnicity`,
    'referral-source': sql`referral_source`,
    'postcode-district': sql`postcode_district`,
  }[by];
  return sql`coalesce(${value}, 'unknown')`;
}
