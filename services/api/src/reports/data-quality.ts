import { LATE_AFTER_DAYS, type DataQualityQuery } from '@vru/contracts';
import type { Principal } from '@vru/contracts';
import { liveTable, outcomesReadModel, participantsReadModel, submissionsReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';
import { disclosureScope } from '../disclosure.js';
import { emptyIfNoReadModel } from './read-model.js';

const { submissions: submissionsTable } = submissionsReadModel.tables;
const { participants: participantsTable } = participantsReadModel.tables;
const { outcomes: outcomesTable } = outcomesReadModel.tables;

/** The data-quality report per provider and month (a provider key sees its own figures only). */
export const dataQualityReport = (sql: Sql, principal: Principal, q: DataQualityQuery) =>
  atConsistentPosition(sql, principal, ['submissions', 'participants', 'outcomes'], q, (tx, at) =>
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
    sql<{ provider_id: string; month: string; accepted: number; late: number; median_days: number | null }[]>`
      select provider_id, to_char(recorded_at, 'YYYY-MM') as month, count(*)::int as accepted,
             count(*) filter (where recorded_at - occurred_at > make_interval(days => ${LATE_AFTER_DAYS}))::int as late,
             percentile_cont(0.5) within group (order by extract(epoch from (recorded_at - occurred_at)) / 86400)::float8 as median_days
      from ${sql(submissionsTable)} where true ${receivedFilter('recorded_at')}
      group by 1, 2`.catch(emptyIfNoReadModel),
    sql<{ provider_id: string; month: string; rejected: number }[]>`
      select provider_id, to_char(received_at, 'YYYY-MM') as month, count(*)::int as rejected
      from rejected_submissions where provider_id is not null ${receivedFilter('received_at')}
      group by 1, 2`,
    sql<{ provider_id: string; rule: string; count: number }[]>`
      select provider_id, rule, count(*)::int as count from rejected_submissions
      where provider_id is not null ${receivedFilter('received_at')}
      group by 1, 2 order by 1, 3 desc, 2`,
    sql<{ provider_id: string; enrolled: number; missing_baseline: number; exited: number; missing_exit: number }[]>`
      select p.provider_id,
             count(*) filter (where p.enrolled_on is not null)::int as enrolled,
             count(*) filter (where p.enrolled_on is not null and not coalesce(o.has_baseline, false))::int as missing_baseline,
             count(*) filter (where p.exit_date is not null)::int as exited,
             count(*) filter (where p.exit_date is not null and not coalesce(o.has_exit, false))::int as missing_exit
      -- One pass over the outcomes joined by hash: two index probes per participant were most of this query's time.
      from ${sql(participantsTable)} p left join (
        select stream_id, bool_or(baseline_score is not null) as has_baseline, bool_or(exit_score is not null) as has_exit
        from ${sql(outcomesTable)} group by stream_id) o on o.stream_id = p.stream_id
      where p.evaluation_consent_from is not null
        and (p.evaluation_consent_withdrawn_on is null or p.evaluation_consent_withdrawn_on > coalesce(p.exit_date, current_date))
        ${provider ? sql`and p.provider_id = ${provider}` : sql``}
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
    Object.assign(row(a.provider_id, a.month), {
      accepted: a.accepted,
      late: a.late,
      medianDaysLate: a.median_days === null ? null : Math.round(a.median_days * 10) / 10,
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
