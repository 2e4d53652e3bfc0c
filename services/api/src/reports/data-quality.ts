import type { DataQualityQuery } from '@vru/contracts';
import type { Principal } from '@vru/contracts';
import {
  LAG_DAYS_SQL,
  LATE_SQL,
  liveTable,
  participantsReadModel,
  storedTableOf,
  submissionsProjection,
  submissionsReadModel,
} from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';
import { disclosureScope } from '../disclosure.js';
import { emptyIfNoReadModel } from './read-model.js';

const { submissions: submissionsTable, counts: countsTable } = submissionsReadModel.tables;
const submissionsVersions = storedTableOf(submissionsProjection.tables.find((t) => t.name === submissionsTable)!);
const { participants: participantsTable } = participantsReadModel.tables;

/** The data-quality report per provider and month (a provider key sees its own figures only). */
export const dataQualityReport = (sql: Sql, principal: Principal, q: DataQualityQuery) =>
  atConsistentPosition(sql, principal, ['submissions', 'participants'], q, (tx, at) =>
    dataQualityAt(tx, at, principal, q),
  );

async function dataQualityAt(sql: Sql, at: ReportSnapshot, principal: Principal, q: DataQualityQuery) {
  const dc = disclosureScope(principal, q.providerId, { from: q.from, to: q.to, required: false });
  const provider = dc.provider;
  const receivedFilter = (column: string) => sql`
    ${provider ? sql`and provider_id = ${provider}` : sql``}
    ${q.from ? sql`and ${sql(column)} >= ${q.from}::date` : sql``}
    ${q.to ? sql`and ${sql(column)} < ${q.to}::date + 1` : sql``}`;
  const { computedAt, position, asOf } = at;
  const [accepted, rejected, byRule, missing] = await Promise.all([
    acceptedPerMonth(sql, provider, q),
    sql<{ provider_id: string; month: string; rejected: number }[]>`
      select provider_id, to_char(received_at, 'YYYY-MM') as month, count(*)::int as rejected
      from rejected_submissions where provider_id is not null ${receivedFilter('received_at')}
      group by 1, 2`,
    sql<{ provider_id: string; rule: string; count: number }[]>`
      select provider_id, rule, count(*)::int as count from rejected_submissions
      where provider_id is not null ${receivedFilter('received_at')}
      group by 1, 2 order by 1, 3 desc, 2`,
    // Whether a baseline and an exit measure were recorded is kept on the participant's row by its projector: one
    // pass over the participants, not a join with every outcome grouped by person.
    sql<{ provider_id: string; enrolled: number; missing_baseline: number; exited: number; missing_exit: number }[]>`
      select provider_id,
             count(*) filter (where enrolled_on is not null)::int as enrolled,
             count(*) filter (where enrolled_on is not null and not measured_baseline)::int as missing_baseline,
             count(*) filter (where exit_date is not null)::int as exited,
             count(*) filter (where exit_date is not null and not measured_exit)::int as missing_exit
      from ${sql(participantsTable)}
      where evaluation_consent_from is not null
        and (evaluation_consent_withdrawn_on is null or evaluation_consent_withdrawn_on > coalesce(exit_date, current_date))
        ${provider ? sql`and provider_id = ${provider}` : sql``}
      group by 1 order by 1`.catch(emptyIfNoReadModel),
  ]);
  const rows = new Map<
    string,
    {
      providerId: string;
      month: string;
      accepted: number;
      rejected: number;
      late: number;
      medianDaysLate: number | null;
    }
  >();
  const row = (providerId: string, month: string) => {
    const key = `${providerId}\u0000${month}`;
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { providerId, month, accepted: 0, rejected: 0, late: 0, medianDaysLate: null }));
    return r;
  };
  for (const a of accepted)
    Object.assign(row(a.providerId, a.month), {
      accepted: a.accepted,
      late: a.late,
      medianDaysLate: a.medianDays === null ? null : Math.round(a.medianDays * 10) / 10,
    });
  for (const r of rejected) row(r.provider_id, r.month).rejected = r.rejected;
  const report = {
    report: 'data-quality' as const,
    filters: reportFilters(q),
    asOf,
    position,
    computedAt,
    suppressed: dc.applied,
    disclosure: dc.stamp,
    rows: [...rows.values()]
      .sort((a, b) => a.providerId.localeCompare(b.providerId) || a.month.localeCompare(b.month))
      .map((r) => ({
        ...r,
        rejectionRate:
          r.accepted + r.rejected === 0 ? null : Math.round((r.rejected / (r.accepted + r.rejected)) * 10_000) / 10_000,
      })),
    rejectionsByRule: byRule.map((r) => ({ providerId: r.provider_id, rule: r.rule, count: r.count })),
    // People counts: each of enrolled and exited is the population of the missing count after it.
    missingMeasures: missing.map((m) => ({
      providerId: m.provider_id,
      enrolledWithEvaluationConsent: dc.population(m.enrolled),
      missingBaseline: dc.population(m.enrolled) === null ? null : dc.count(m.missing_baseline),
      exited: dc.population(m.exited),
      missingExit: dc.population(m.exited) === null ? null : dc.count(m.missing_exit),
    })),
  };
  return report;
}

interface AcceptedMonth {
  providerId: string;
  month: string;
  accepted: number;
  late: number;
  medianDays: number | null;
}

/**
 * Accepted and late submissions per provider and month received (UTC), with the median days from occurrence to
 * receipt: exactly `percentile_cont(0.5)` over the submissions' `extract(epoch from recorded_at - occurred_at) / 86400`,
 * without reading every submission. The counts come from the totals the submissions projection keeps per provider,
 * day and whole days late; at a past position (as-at) the submissions above it are subtracted from them. The totals
 * give each month's count per lateness bucket, hence the bucket where the middle one or two submissions lie and their
 * rank in it; only that bucket's submissions are then read (by index), as at the report's position.
 */
async function acceptedPerMonth(sql: Sql, provider: string | null, q: DataQualityQuery): Promise<AcceptedMonth[]> {
  const filter = (received: string) => sql`
    ${provider ? sql`and provider_id = ${provider}` : sql``}
    ${q.from ? sql`and ${sql.unsafe(received)} >= ${q.from}::date` : sql``}
    ${q.to ? sql`and ${sql.unsafe(received)} <= ${q.to}::date` : sql``}`;
  const receivedOn = `(recorded_at at time zone 'UTC')::date`;
  const buckets = await sql<{ provider_id: string; month: string; lag_days: number; n: number; late: number }[]>`
    select provider_id, to_char(received_on, 'YYYY-MM') as month, lag_days, sum(n)::int as n, sum(late)::int as late
    from (
      select provider_id, received_on, lag_days, accepted as n, late
      from ${sql(liveTable(submissionsReadModel, countsTable))} where true ${filter('received_on')}
      union all
      -- At a past position: the submissions above it, which the totals count and the rows true at it do not.
      select provider_id, ${sql.unsafe(receivedOn)}, ${sql.unsafe(LAG_DAYS_SQL)}, -1, -(${sql.unsafe(LATE_SQL)})::int
      from ${sql(liveTable(submissionsReadModel, submissionsVersions))}
      where valid_from > nullif(current_setting('vru.as_at', true), '')::bigint ${filter(receivedOn)}
    ) counted
    group by 1, 2, 3 having sum(n) > 0
    order by 1, 2, 3`.catch(emptyIfNoReadModel);
  const months = new Map<string, AcceptedMonth & { buckets: { lagDays: number; n: number }[] }>();
  for (const b of buckets) {
    const key = `${b.provider_id}\u0000${b.month}`;
    let m = months.get(key);
    if (!m) {
      m = { providerId: b.provider_id, month: b.month, accepted: 0, late: 0, medianDays: null, buckets: [] };
      months.set(key, m);
    }
    m.accepted += b.n;
    m.late += b.late;
    m.buckets.push({ lagDays: b.lag_days, n: b.n });
  }
  // percentile_cont(0.5) over n values: the values at 0-based ranks floor((n-1)/2) and ceil((n-1)/2), interpolated.
  const picks: { i: number; providerId: string; lagDays: number; from: string; before: string; offset: number }[] = [];
  const list = [...months.values()];
  list.forEach((m, index) => {
    const ranks = new Set([Math.floor((m.accepted - 1) / 2), Math.ceil((m.accepted - 1) / 2)]);
    for (const [j, rank] of [...ranks].entries()) {
      let below = 0;
      const bucket = m.buckets.find((b) => (below += b.n) > rank)!;
      picks.push({
        i: index * 2 + j,
        providerId: m.providerId,
        lagDays: bucket.lagDays,
        ...receivedWithin(m.month, q),
        offset: rank - (below - bucket.n),
      });
    }
  });
  if (picks.length === 0) return [];
  // `submissions` is the rows true at the report's position (the current rows or the as-at view).
  const values = await sql<{ i: number; v: number | null }[]>`
    select x.i, (
      select (extract(epoch from recorded_at - occurred_at) / 86400)::float8 from ${sql(submissionsTable)}
      where provider_id = x.provider and ${sql.unsafe(LAG_DAYS_SQL)} = x.lag
        and recorded_at >= x.from and recorded_at < x.before
      order by 1 offset x.skip limit 1) as v
    from json_to_recordset(${JSON.stringify(
      picks.map((p) => ({
        i: p.i,
        provider: p.providerId,
        lag: p.lagDays,
        from: p.from,
        before: p.before,
        skip: p.offset,
      })),
    )}::text::json) as x(i integer, provider text, lag integer, "from" timestamptz, before timestamptz, skip integer)`;
  const value = new Map(values.map((v) => [v.i, v.v]));
  return list.map(({ providerId, month, accepted, late }, index) => {
    const lo = value.get(index * 2) ?? null;
    const hi = value.has(index * 2 + 1) ? (value.get(index * 2 + 1) ?? null) : lo;
    // The totals and the rows are written in one transaction and read in one snapshot: a missing rank is a bug.
    if (lo === null || hi === null) throw new Error(`data quality: no submission at a median rank (${month})`);
    // percentile_cont's interpolation, in the same float8 arithmetic.
    return { providerId, month, accepted, late, medianDays: lo + 0.5 * (hi - lo) };
  });
}

/** The instants a month's submissions within the query's dates were received in (UTC): [from, before). */
function receivedWithin(month: string, q: DataQualityQuery): { from: string; before: string } {
  const start = `${month}-01`;
  const next = new Date(`${start}T00:00:00Z`);
  next.setUTCMonth(next.getUTCMonth() + 1);
  const end = next.toISOString().slice(0, 10);
  const dayAfterTo = q.to ? new Date(Date.parse(`${q.to}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10) : end;
  const from = q.from && q.from > start ? q.from : start;
  const before = dayAfterTo < end ? dayAfterTo : end;
  return { from: `${from}T00:00:00Z`, before: `${before}T00:00:00Z` };
}

/**
 * A provider's recent submissions by day of receipt, event type and channel (api or csv): accepted from the
 * submissions read model, refused from rejected_submissions. The upload page shows it under the form.
 */
export async function recentSubmissions(sql: Sql, providerId: string, limit = 20) {
  const rows = await sql<{ day: string; type: string | null; source: string; accepted: number; rejected: number }[]>`
    with accepted as (
      select (recorded_at at time zone 'UTC')::date as day, type, source, count(*)::int as n from ${sql(liveTable(submissionsReadModel, submissionsTable))}
      where provider_id = ${providerId} group by 1, 2, 3),
    rejected as (
      select (received_at at time zone 'UTC')::date as day, event_type as type, source, count(*)::int as n from rejected_submissions
      where provider_id = ${providerId} group by 1, 2, 3)
    select day::text, type, source, coalesce(a.n, 0) as accepted, coalesce(r.n, 0) as rejected
    from accepted a full join rejected r using (day, type, source)
    order by day desc, type, source
    limit ${limit}`.catch(emptyIfNoReadModel);
  return rows.map((r) => ({
    day: r.day,
    eventType: r.type,
    source: r.source,
    accepted: r.accepted,
    rejected: r.rejected,
  }));
}
