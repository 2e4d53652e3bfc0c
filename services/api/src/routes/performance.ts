import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PerformanceQuery, PerformanceReport, ProblemDetails, TargetInstruments, type Principal } from '@vru/contracts';
import {
  calendarQuarterOf, grantYearOf, isSmallCount, noActuals, quarterBounds, quarterPerformance, rateSuppressed, reliablyImproved,
  type IndicatorPerformance, type QuarterActuals, type QuarterTargets,
} from '@vru/domain';
import type { Sql } from '@vru/runtime';
import { reportScope } from '../auth.js';
import { sendReport } from '../csv.js';
import { emptyIfNoReadModel, REPORT_ROLES, reportPosition, type ReportDeps } from './reports.js';

/**
 * Contract performance: per grant and quarter with targets, actual against target for each indicator, year to date
 * and the forecast to year end (services/domain metrics/performance.ts). Actuals count the participants, sessions and
 * spend of the grant's provider and programme dated within the grant period. Definitions: docs/metrics.md.
 */

interface GrantRow { grant_ref: string; provider_id: string; programme_id: string; start_date: string; end_date: string }
interface TargetRow {
  grant_ref: string; quarter: string; referrals: number; enrolments: number; sessions_delivered: number; completions: number;
  spend_pence: string; outcome_targets: Record<string, number>; revisions: number;
}

const today = (): string => new Date().toISOString().slice(0, 10);

/**
 * The disclosure rules this report applies (suppressPerformance below, docs/metrics.md): its own, named apart from
 * the shared row-level layer's version so that the stamp on every answer says which rules its figures passed.
 */
export const PERFORMANCE_DISCLOSURE_RULES = 'vru-perf-1';
const within = (d: string | null, g: GrantRow): d is string => d !== null && d >= g.start_date && d <= g.end_date;

export async function performanceReport(sql: Sql, principal: Principal, q: PerformanceQuery) {
  const { provider, suppress } = reportScope(principal, q.providerId);
  const computedAt = await Promise.all(['spend', 'participants', 'attendance', 'outcomes'].map((p) => reportPosition(sql, p)));
  const asOf = today();
  const grants = await sql<GrantRow[]>`
    select grant_ref, provider_id, programme_id, start_date::text, end_date::text from rm_spend.grants
    where true
      ${q.grantRef ? sql`and grant_ref = ${q.grantRef}` : sql``}
      ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
      ${provider ? sql`and provider_id = ${provider}` : sql``}
    order by grant_ref`.catch(emptyIfNoReadModel);
  const disclosure = { rules: PERFORMANCE_DISCLOSURE_RULES, applied: suppress };
  if (grants.length === 0) return { report: 'performance' as const, filters: q, computedAt, suppressed: suppress, disclosure, rows: [] };
  const refs = grants.map((g) => g.grant_ref);
  const providers = [...new Set(grants.map((g) => g.provider_id))];
  const programmes = [...new Set(grants.map((g) => g.programme_id))];
  const [targets, people, sessions, spend, outcomes] = await Promise.all([
    sql<TargetRow[]>`
      select grant_ref, quarter, referrals, enrolments, sessions_delivered, completions, spend_pence::text, outcome_targets, revisions
      from rm_spend.delivery_targets where grant_ref = any(${refs}::text[])`.catch(emptyIfNoReadModel),
    sql<{ provider_id: string; programme_id: string; referral_date: string | null; enrolled_on: string | null; exit_date: string | null;
      exit_reason: string | null }[]>`
      select provider_id, programme_id, referral_date::text, enrolled_on::text, exit_date::text, exit_reason
      from rm_participants.participants
      where provider_id = any(${providers}::text[]) and programme_id = any(${programmes}::text[])`.catch(emptyIfNoReadModel),
    sql<{ provider_id: string; programme_id: string; session_date: string; attended: number }[]>`
      select provider_id, programme_id, session_date::text, count(*)::int as attended from rm_attendance.sessions
      where attended and provider_id = any(${providers}::text[]) and programme_id = any(${programmes}::text[])
      group by provider_id, programme_id, session_date`.catch(emptyIfNoReadModel),
    sql<{ grant_ref: string; period_start: string; amount_pence: string }[]>`
      select grant_ref, period_start::text, amount_pence::text from rm_spend.spend
      where grant_ref = any(${refs}::text[])`.catch(emptyIfNoReadModel),
    // Outcome actuals follow the outcomes report: evaluation consent in force today, first baseline and last exit.
    sql<{ provider_id: string; programme_id: string; instrument: string; baseline_score: number; exit_score: number; exit_on: string }[]>`
      select o.provider_id, o.programme_id, o.instrument, o.baseline_score, o.exit_score, o.exit_on::text
      from rm_outcomes.outcomes o join rm_participants.participants p on p.stream_id = o.stream_id
      where o.provider_id = any(${providers}::text[]) and o.programme_id = any(${programmes}::text[])
        and o.instrument = any(${[...TargetInstruments]}::text[]) and o.baseline_score is not null and o.exit_score is not null
        and p.evaluation_consent_from is not null
        and (p.evaluation_consent_withdrawn_on is null or p.evaluation_consent_withdrawn_on > ${asOf}::date)`.catch(emptyIfNoReadModel),
  ]);

  const rows = grants.flatMap((g) => {
    const mine = targets.filter((t) => t.grant_ref === g.grant_ref);
    if (mine.length === 0) return [];
    const ofGrant = (providerId: string, programmeId: string) => providerId === g.provider_id && programmeId === g.programme_id;
    const actuals = new Map<string, QuarterActuals>();
    const at = (date: string) => {
      const quarter = calendarQuarterOf(date);
      let a = actuals.get(quarter);
      if (!a) actuals.set(quarter, (a = noActuals()));
      return a;
    };
    for (const p of people) {
      if (!ofGrant(p.provider_id, p.programme_id)) continue;
      if (within(p.referral_date, g)) at(p.referral_date).referrals += 1;
      if (within(p.enrolled_on, g)) at(p.enrolled_on).enrolments += 1;
      if (p.exit_reason === 'completed' && within(p.exit_date, g)) at(p.exit_date).completions += 1;
    }
    for (const s of sessions) {
      if (ofGrant(s.provider_id, s.programme_id) && within(s.session_date, g)) at(s.session_date).sessionsDelivered += s.attended;
    }
    for (const s of spend) if (s.grant_ref === g.grant_ref) at(s.period_start).spendPence += Number(s.amount_pence);
    for (const o of outcomes) {
      if (!ofGrant(o.provider_id, o.programme_id) || !within(o.exit_on, g)) continue;
      const figures = at(o.exit_on).outcomes as Record<string, { pairs: number; improved: number }>;
      const f = (figures[o.instrument] ??= { pairs: 0, improved: 0 });
      f.pairs += 1;
      if (reliablyImproved(o.instrument, { baseline: o.baseline_score, exit: o.exit_score })) f.improved += 1;
    }
    const targetMap = new Map(mine.map((t) => [t.quarter, {
      referrals: t.referrals, enrolments: t.enrolments, sessionsDelivered: t.sessions_delivered, completions: t.completions,
      spendPence: Number(t.spend_pence),
      outcomeTargets: Object.entries(t.outcome_targets).map(([instrument, share]) => ({ instrument, shareReliablyImproved: share })),
    }]));
    const started = (quarter: string) => quarterBounds(quarter).start <= asOf;
    const quarters = mine.map((t) => t.quarter).filter((quarter) => (q.quarter ? quarter === q.quarter : started(quarter))).sort();
    return quarters.flatMap((quarter) => {
      const input = { grantStart: g.start_date, grantEnd: g.end_date, quarter, targets: targetMap, actuals, asOf };
      const figures = quarterPerformance(input);
      const context = { now: actuals.get(quarter), yearSoFar: yearSoFar(input) };
      const disclosed = suppress ? figures.map((f) => suppressPerformance(f, context)) : figures;
      const revisions = mine.find((t) => t.quarter === quarter)!.revisions;
      const ids = { grantRef: g.grant_ref, providerId: g.provider_id, programmeId: g.programme_id, quarter };
      return disclosed.map((f) => ({ ...ids, ...f, targetsRevised: revisions }));
    });
  });
  return { report: 'performance' as const, filters: q, computedAt, suppressed: suppress, disclosure, rows };
}

/** The actuals of every quarter of the grant year up to and including `quarter`, for the disclosure rule below. */
function yearSoFar(input: { grantStart: string; grantEnd: string; quarter: string; actuals: ReadonlyMap<string, QuarterActuals> }) {
  const year = grantYearOf(input.grantStart, input.grantEnd, input.quarter);
  return [...input.actuals.entries()]
    .filter(([q]) => q <= input.quarter && grantYearOf(input.grantStart, input.grantEnd, q).start === year.start)
    .map(([, a]) => a);
}

/**
 * Disclosure control for roles that see every provider: a count of people or sessions from 1 to 4 is withheld, and
 * so is everything it could be recovered from (variance, percentage, status). Year-to-date figures are running
 * sums, so once a quarter of the year is withheld, every year-to-date figure and forecast from it on is withheld
 * too (the difference of two running sums would give it back). Shares follow the rate rule (fewer than 10 pairs, or
 * 1 to 4 improved). Spend is money, not people, and is shown as in the spend report.
 */
function suppressPerformance(
  f: IndicatorPerformance, context: { now: QuarterActuals | undefined; yearSoFar: QuarterActuals[] },
): IndicatorPerformance {
  if (f.indicator === 'spendPence') return f;
  const withhold = { actual: null, variance: null, percentOfTarget: null, status: null };
  const withholdYear = {
    yearToDateActual: null, yearToDateVariance: null, yearToDateStatus: null, forecastToYearEnd: null, forecastStatus: null,
  };
  if (f.indicator.startsWith('reliablyImproved:')) {
    const instrument = f.indicator.slice('reliablyImproved:'.length);
    const of = (a: QuarterActuals | undefined) => a?.outcomes[instrument] ?? { pairs: 0, improved: 0 };
    const now = of(context.now);
    const hideNow = now.pairs > 0 && rateSuppressed(now.improved, now.pairs);
    const ytd = context.yearSoFar.map(of)
      .reduce((s, x) => ({ pairs: s.pairs + x.pairs, improved: s.improved + x.improved }), { pairs: 0, improved: 0 });
    const hideYear = ytd.pairs > 0 && rateSuppressed(ytd.improved, ytd.pairs);
    return { ...f, ...(hideNow ? withhold : {}), pairs: isSmallCount(now.pairs) ? null : f.pairs, ...(hideYear ? withholdYear : {}) };
  }
  const indicator = f.indicator as 'referrals' | 'enrolments' | 'sessionsDelivered' | 'completions';
  const hideNow = isSmallCount(f.actual ?? 0);
  const hideYear = context.yearSoFar.some((a) => isSmallCount(a[indicator])) || isSmallCount(f.yearToDateActual ?? 0);
  return { ...f, ...(hideNow ? withhold : {}), ...(hideYear ? withholdYear : {}) };
}

export const performanceRoutes: FastifyPluginAsyncTypebox<ReportDeps> = async (app, { sql }) => {
  app.get('/v1/reports/performance', {
    config: { roles: REPORT_ROLES['performance'] },
    schema: {
      tags: ['reports'],
      operationId: 'performanceReport',
      summary: 'Contract performance: actual against target per grant, quarter and indicator',
      description: 'For each grant and quarter with delivery targets (one quarter with quarter=, otherwise every quarter that has '
        + 'started): per indicator (referrals, enrolments, sessions delivered, completions, spend against profile, share reliably '
        + 'improved per instrument) the target, the actual, the variance, the percentage of target and a red/amber/green status; the '
        + 'same for the grant year to date; and the forecast to the end of the grant year at the run rate. Actuals are the participants, '
        + 'sessions and spend of the grant\'s provider and programme dated within '
        + 'the grant period. A provider key sees its own grants, unsuppressed; other roles see small-number suppression (docs/metrics.md). '
        + 'Send `Accept: text/csv` for the rows as CSV.',
      querystring: PerformanceQuery,
      response: { 200: PerformanceReport, 400: ProblemDetails, 401: ProblemDetails, 403: ProblemDetails, 503: ProblemDetails },
    },
  }, async (request, reply) => sendReport(request, reply, await performanceReport(sql, request.principal, request.query), 'performance'));
};
