import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DeliverySettings, ProblemDetails, QuarterlyReturnQuery, QuarterlyReturnReport } from '@vru/contracts';
import { quarterBounds, suppressCount, suppressRecord } from '@vru/domain';
import { sendReport } from '../csv.js';
import { emptyIfNoReadModel, REPORT_ROLES, reportPosition, type ReportDeps } from './reports.js';
import { reportScope } from '../auth.js';

/**
 * The quarterly return a VRU sends the Home Office: per programme, people reached (referred; active) by age band
 * and delivery setting, sessions delivered, completions, and spend against each grant. Definitions: docs/metrics.md.
 */

export const QUARTER_AGE_BANDS = ['under-10', '10-13', '14-17', '18-21', '22-25', '26+', 'unknown'] as const;

/** Counts by a key, every listed key present (0 when none), any other value after them. */
export function breakdown<T>(people: readonly T[], key: (p: T) => string, keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
  for (const p of people) out[key(p)] = (out[key(p)] ?? 0) + 1;
  return out;
}

interface Person {
  programme_id: string;
  age_band: string | null;
  delivery_setting: string | null;
  referral_date: string | null;
  enrolled_on: string | null;
  exit_date: string | null;
  exit_reason: string | null;
}

const errors = { 400: ProblemDetails, 401: ProblemDetails, 403: ProblemDetails, 503: ProblemDetails };

export const quarterlyReturnRoutes: FastifyPluginAsyncTypebox<ReportDeps> = async (app, { sql }) => {
  app.get('/v1/reports/quarterly-return', {
    config: { roles: REPORT_ROLES['quarterly-return'] },
    schema: {
      tags: ['reports'],
      operationId: 'quarterlyReturn',
      summary: 'Quarterly return to the Home Office per programme',
      description: 'For the calendar quarter (e.g. 2026Q3), per programme: participants referred in the quarter and participants active in it (enrolled on or before '
        + 'the quarter end and not exited before its start), each by age band and delivery setting; new enrolments; sessions attended in the quarter; '
        + 'completions (exits with reason completed) in the quarter; and per grant the spend whose period starts in the quarter, the cumulative spend to '
        + 'the quarter end and the award. People and session counts are small-number suppressed for commissioners, funders and admins. '
        + 'Send `Accept: text/csv` for the rows as CSV (nested figures as dotted columns).',
      querystring: QuarterlyReturnQuery,
      response: { 200: QuarterlyReturnReport, ...errors },
    },
  }, async (request, reply) => {
    const q = request.query;
    const { provider, suppress } = reportScope(request.principal, q.providerId);
    const { start, end } = quarterBounds(q.quarter);
    const computedAt = await Promise.all([reportPosition(sql, 'participants'), reportPosition(sql, 'attendance'), reportPosition(sql, 'spend')]);
    const programmeFilter = (column = 'programme_id') => (q.programmeId ? sql`and ${sql(column)} = ${q.programmeId}` : sql``);
    const providerFilter = (column = 'provider_id') => (provider ? sql`and ${sql(column)} = ${provider}` : sql``);
    const [people, sessions, grants] = await Promise.all([
      sql<Person[]>`
        select programme_id, age_band, delivery_setting, referral_date::text, enrolled_on::text, exit_date::text, exit_reason
        from rm_participants.participants
        where ((referral_date between ${start}::date and ${end}::date)
            or (enrolled_on <= ${end}::date and (exit_date is null or exit_date >= ${start}::date)))
          ${programmeFilter()} ${providerFilter()}`.catch(emptyIfNoReadModel),
      sql<{ programme_id: string; attended: number }[]>`
        select programme_id, count(*)::int as attended from rm_attendance.sessions
        where attended and session_date between ${start}::date and ${end}::date ${programmeFilter()} ${providerFilter()}
        group by programme_id`.catch(emptyIfNoReadModel),
      sql<{ grant_ref: string; provider_id: string; programme_id: string; amount_pence: string; in_quarter: string; to_end: string }[]>`
        select g.grant_ref, g.provider_id, g.programme_id, g.amount_pence::text,
               coalesce(sum(s.amount_pence) filter (where s.period_start between ${start}::date and ${end}::date), 0)::text as in_quarter,
               coalesce(sum(s.amount_pence) filter (where s.period_start <= ${end}::date), 0)::text as to_end
        from rm_spend.grants g left join rm_spend.spend s on s.grant_ref = g.grant_ref
        where true ${programmeFilter('g.programme_id')} ${providerFilter('g.provider_id')}
        group by g.grant_ref, g.provider_id, g.programme_id, g.amount_pence, g.start_date, g.end_date
        having (g.start_date <= ${end}::date and g.end_date >= ${start}::date)
            or count(*) filter (where s.period_start between ${start}::date and ${end}::date) > 0
        order by g.grant_ref`.catch(emptyIfNoReadModel),
    ]);
    const programmes = [...new Set([...people.map((p) => p.programme_id), ...sessions.map((s) => s.programme_id), ...grants.map((g) => g.programme_id)])].sort();
    const count = (n: number) => (suppress ? suppressCount(n) : n);
    const record = (r: Record<string, number>) => (suppress ? suppressRecord(r) : r);
    const inQuarter = (d: string | null) => d !== null && d >= start && d <= end;
    const band = (p: Person) => p.age_band ?? 'unknown';
    const setting = (p: Person) => p.delivery_setting ?? (p.enrolled_on === null ? 'not-enrolled' : 'unknown');
    const report = {
      report: 'quarterly-return' as const, filters: q, quarterStart: start, quarterEnd: end, computedAt, suppressed: suppress,
      rows: programmes.map((programmeId) => {
        const mine = people.filter((p) => p.programme_id === programmeId);
        const referred = mine.filter((p) => inQuarter(p.referral_date));
        const active = mine.filter((p) => p.enrolled_on !== null && p.enrolled_on <= end && (p.exit_date === null || p.exit_date >= start));
        const attended = sessions.find((s) => s.programme_id === programmeId)?.attended ?? 0;
        return {
          programmeId,
          referred: count(referred.length),
          referredByAgeBand: record(breakdown(referred, band, QUARTER_AGE_BANDS)),
          referredByDeliverySetting: record(breakdown(referred, setting, [...DeliverySettings, 'not-enrolled'])),
          active: count(active.length),
          activeByAgeBand: record(breakdown(active, band, QUARTER_AGE_BANDS)),
          activeByDeliverySetting: record(breakdown(active, setting, DeliverySettings)),
          newlyEnrolled: count(mine.filter((p) => inQuarter(p.enrolled_on)).length),
          sessionsDelivered: count(attended),
          completions: count(mine.filter((p) => p.exit_reason === 'completed' && inQuarter(p.exit_date)).length),
          grants: Object.fromEntries(grants.filter((g) => g.programme_id === programmeId).map((g) => [g.grant_ref, {
            providerId: g.provider_id,
            awardedPence: Number(g.amount_pence),
            spentInQuarterPence: Number(g.in_quarter),
            spentToQuarterEndPence: Number(g.to_end),
            remainingAtQuarterEndPence: Number(g.amount_pence) - Number(g.to_end),
          }])),
        };
      }),
    };
    return sendReport(request, reply, report, `quarterly-return-${q.quarter}`);
  });
};
