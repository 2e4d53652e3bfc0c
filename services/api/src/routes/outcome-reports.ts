import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  EngagementQuery, EngagementReport, ExitReasons, OutcomesQuery, OutcomesReport, ProblemDetails, ReoffendingQuery, ReoffendingReport, ReportQuery, SpendReport,
} from '@vru/contracts';
import {
  daysBetween, median, pairedChange, provenReoffending, quarterOf, RELIABLE_CHANGE, rateSuppressed, spendFigures, suppressCount,
  suppressRate,
  suppressRecord, wilsonInterval, type Proportion, type ReoffendingMeasures, type ReoffendingParticipant,
} from '@vru/domain';
import type { Principal } from '@vru/contracts';
import type { Sql } from '@vru/runtime';
import { HttpProblem } from '../problem.js';
import { sendReport } from '../csv.js';
import { emptyIfNoReadModel, REPORT_ROLES, reportPosition, type ReportDeps } from './reports.js';
import { reportScope } from '../auth.js';

/**
 * Engagement, outcomes, reoffending and spend. A provider key sees only its own participants and grants,
 * unsuppressed; every other role sees all providers with small-number suppression (docs/metrics.md).
 */

const errors = { 400: ProblemDetails, 401: ProblemDetails, 403: ProblemDetails, 503: ProblemDetails };
const CSV_NOTE = ' Send `Accept: text/csv` for the rows as CSV (nested figures as dotted columns).';

const today = (): string => new Date().toISOString().slice(0, 10);
const round = (x: number | null, digits = 4): number | null => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);
const rate = (p: Proportion | null) => (p === null ? null : { value: round(p.value)!, lower: round(p.lower)!, upper: round(p.upper)! });
const count = (n: number, suppress: boolean) => (suppress ? suppressCount(n) : n);
const groupBy = <T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> => {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return new Map([...m.entries()].sort(([a], [b]) => a.localeCompare(b)));
};
/** Evaluation consent recorded and not withdrawn on or before `asOf`. */
const evaluationConsented = (p: { evaluation_consent_from: string | null; evaluation_consent_withdrawn_on: string | null }, asOf: string) =>
  p.evaluation_consent_from !== null && (p.evaluation_consent_withdrawn_on === null || p.evaluation_consent_withdrawn_on > asOf);

interface FunnelRow {
  programme_id: string;
  provider_id: string;
  age_band: string | null;
  gender: string | null;
  ethnicity: string | null;
  referral_source: string | null;
  postcode_district: string | null;
  referral_date: string;
  evaluation_consent_from: string | null;
  evaluation_consent_withdrawn_on: string | null;
  enrolled_on: string | null;
  first_session_date: string | null;
  exit_date: string | null;
  exit_reason: string | null;
}

/** Engagement funnel for one programme; each stage counts those who reached it and every stage before. */
type GroupFields = Pick<FunnelRow, 'programme_id' | 'provider_id' | 'age_band' | 'gender' | 'ethnicity' | 'referral_source' | 'postcode_district'>;

/** The value of a groupBy dimension for one participant ('unknown' when not recorded); month and quarter are of `date`. */
export function groupValue(p: GroupFields, by: EngagementQuery['groupBy'] & string, date: string | null): string {
  const v = {
    month: date?.slice(0, 7), quarter: date ? quarterOf(date) : null, programme: p.programme_id, provider: p.provider_id,
    'age-band': p.age_band, gender: p.gender, ethnicity: p.ethnicity, 'referral-source': p.referral_source, 'postcode-district': p.postcode_district,
  }[by];
  return v ?? 'unknown';
}

export function engagementRow(programmeId: string, people: readonly FunnelRow[], asOf: string, suppress: boolean) {
  const consented = people.filter((p) => evaluationConsented(p, asOf));
  const enrolled = consented.filter((p) => p.enrolled_on !== null);
  const attended = enrolled.filter((p) => p.first_session_date !== null);
  const completed = attended.filter((p) => p.exit_reason === 'completed');
  const stages = [people.length, consented.length, enrolled.length, attended.length, completed.length];
  const shown = stages.map((n) => count(n, suppress));
  // A drop-off is the difference of two published counts: shown only when both are.
  const drop = (i: number) => (shown[i - 1] === null || shown[i] === null ? null : stages[i - 1]! - stages[i]!);
  const exits: Record<string, number> = Object.fromEntries(ExitReasons.map((r) => [r, 0]));
  for (const p of enrolled) if (p.exit_reason) exits[p.exit_reason] = (exits[p.exit_reason] ?? 0) + 1;
  const days = enrolled.map((p) => daysBetween(p.referral_date, p.enrolled_on!));
  return {
    programmeId,
    referrals: shown[0]!,
    consented: shown[1]!,
    enrolled: shown[2]!,
    attended: shown[3]!,
    completed: shown[4]!,
    dropOffAtConsent: drop(1),
    dropOffAtEnrolment: drop(2),
    dropOffAtAttendance: drop(3),
    dropOffAtCompletion: drop(4),
    completionRate: suppress && rateSuppressed(completed.length, enrolled.length) ? null : rate(wilsonInterval(completed.length, enrolled.length)),
    medianDaysReferralToEnrolment: suppress && rateSuppressed(null, enrolled.length) ? null : median(days),
    exitReasons: suppress ? suppressRecord(exits) : exits,
  };
}

function measuresOut(m: ReoffendingMeasures, cohortSize: number, suppress: boolean) {
  return {
    reoffenders: count(m.reoffenders, suppress),
    reoffences: count(m.reoffences, suppress),
    binaryRate: suppress && rateSuppressed(m.reoffenders, cohortSize) ? null : rate(m.binaryRate),
    frequencyPerPerson: suppress && rateSuppressed(m.reoffences, cohortSize) ? null : round(m.frequencyPerPerson),
    frequencyPerReoffender: suppress && rateSuppressed(m.reoffences, m.reoffenders) ? null : round(m.frequencyPerReoffender),
  };
}

/** The engagement funnel report: scoped to the principal's provider, suppressed for every other role. */
export async function engagementReport(sql: Sql, principal: Principal, q: EngagementQuery) {
  const { provider, suppress } = reportScope(principal, q.providerId);
  const computedAt = [await reportPosition(sql, 'participants')];
  const rows = await sql<FunnelRow[]>`
    select programme_id, provider_id, age_band, gender, ethnicity, referral_source, postcode_district,
           referral_date::text, evaluation_consent_from::text, evaluation_consent_withdrawn_on::text, enrolled_on::text,
           first_session_date::text, exit_date::text, exit_reason
    from rm_participants.participants
    where referral_date is not null
      ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
      ${provider ? sql`and provider_id = ${provider}` : sql``}
      ${q.from ? sql`and referral_date >= ${q.from}::date` : sql``}
      ${q.to ? sql`and referral_date <= ${q.to}::date` : sql``}`.catch(emptyIfNoReadModel);
  const asOf = today();
  const report = {
    report: 'engagement' as const, filters: q, computedAt, suppressed: suppress,
    rows: [...groupBy(rows, (r) => r.programme_id)].flatMap(([programmeId, people]) => {
      const by = q.groupBy;
      if (!by) return [engagementRow(programmeId, people, asOf, suppress)];
      return [...groupBy(people, (p) => groupValue(p, by, p.referral_date))].map(([group, members]) => {
        const { programmeId: id, ...figures } = engagementRow(programmeId, members, asOf, suppress);
        return { programmeId: id, group, ...figures };
      });
    }),
  };
  return report;
}

/** The outcomes report: baseline to exit change per programme, instrument and scale. */
export async function outcomesReport(sql: Sql, principal: Principal, q: OutcomesQuery) {
  const { provider, suppress } = reportScope(principal, q.providerId);
  const computedAt = [await reportPosition(sql, 'outcomes'), await reportPosition(sql, 'participants')];
  const asOf = today();
  const rows = await sql<({ instrument: string; scale: string; baseline_score: number | null; exit_score: number | null; enrolled_on: string | null } & GroupFields)[]>`
    select o.programme_id, o.instrument, o.scale, o.baseline_score, o.exit_score, p.enrolled_on::text,
           p.provider_id, p.age_band, p.gender, p.ethnicity, p.referral_source, p.postcode_district
    from rm_outcomes.outcomes o join rm_participants.participants p on p.stream_id = o.stream_id
    where p.evaluation_consent_from is not null
      and (p.evaluation_consent_withdrawn_on is null or p.evaluation_consent_withdrawn_on > ${asOf}::date)
      ${q.programmeId ? sql`and o.programme_id = ${q.programmeId}` : sql``}
      ${provider ? sql`and o.provider_id = ${provider}` : sql``}
      ${q.from ? sql`and p.enrolled_on >= ${q.from}::date` : sql``}
      ${q.to ? sql`and p.enrolled_on <= ${q.to}::date` : sql``}`.catch(emptyIfNoReadModel);
  const by = q.groupBy;
  const groupOf = (r: (typeof rows)[number]) => (by ? groupValue(r, by, r.enrolled_on) : '');
  const groups = groupBy(rows, (r) => `${r.programme_id}\u0000${r.instrument}\u0000${r.scale}\u0000${groupOf(r)}`);
  const report = {
    report: 'outcomes' as const, filters: q, computedAt, suppressed: suppress,
    rows: [...groups.values()].map((g) => {
      const { programme_id: programmeId, instrument, scale } = g[0]!;
      const pairs = g.filter((r) => r.baseline_score !== null && r.exit_score !== null).map((r) => ({ baseline: r.baseline_score!, exit: r.exit_score! }));
      const missing = g.length - pairs.length;
      const c = pairedChange(instrument, pairs);
      const hideMeans = suppress && rateSuppressed(null, pairs.length);
      const improved = c.reliablyImproved;
      return {
        programmeId, ...(by ? { group: groupOf(g[0]!) } : {}), instrument, scale,
        pairs: count(pairs.length, suppress),
        missingPairs: count(missing, suppress),
        meanBaseline: hideMeans ? null : round(c.meanBaseline),
        meanExit: hideMeans ? null : round(c.meanExit),
        meanChange: hideMeans || !c.change ? null : { mean: round(c.change.mean)!, lower: round(c.change.ci?.lower ?? null), upper: round(c.change.ci?.upper ?? null) },
        reliableChangeThreshold: RELIABLE_CHANGE[instrument]?.points ?? null,
        reliablyImproved: improved && !(suppress && rateSuppressed(improved.numerator, pairs.length)) ? rate(improved) : null,
      };
    }),
  };
  return report;
}

/** The proven reoffending report (MoJ method) per programme. */
export async function reoffendingReport(sql: Sql, principal: Principal, q: ReoffendingQuery) {
  if (q.cohortTo < q.cohortFrom) throw new HttpProblem(400, 'bad-request', 'Bad request', undefined, 'cohortTo is before cohortFrom');
  const { provider, suppress } = reportScope(principal, q.providerId);
  const computedAt = [await reportPosition(sql, 'participants'), await reportPosition(sql, 'offences')];
  const asOf = today();
  const people = await sql<{ stream_id: string; programme_id: string; enrolled_on: string; evaluation_consent_withdrawn_on: string | null }[]>`
    select stream_id, programme_id, enrolled_on::text, evaluation_consent_withdrawn_on::text
    from rm_participants.participants
    where evaluation_consent_from is not null
      and enrolled_on between ${q.cohortFrom}::date and ${q.cohortTo}::date
      ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
      ${provider ? sql`and provider_id = ${provider}` : sql``}`.catch(emptyIfNoReadModel);
  const offences = people.length === 0 ? [] : await sql<{ stream_id: string; offence_date: string; proven_date: string; serious_violence: boolean }[]>`
    select stream_id, offence_date::text, proven_date::text, serious_violence from rm_offences.offences
    where stream_id = any(${people.map((p) => p.stream_id)}::text[])`.catch(emptyIfNoReadModel);
  const byStream = groupBy(offences, (o) => o.stream_id);
  const report = {
    report: 'reoffending' as const, filters: q, asOf, computedAt, suppressed: suppress,
    rows: [...groupBy(people, (p) => p.programme_id)].map(([programmeId, members]) => {
      const cohort: ReoffendingParticipant[] = members.map((p) => ({
        indexDate: p.enrolled_on,
        evaluationConsentWithdrawnOn: p.evaluation_consent_withdrawn_on,
        offences: (byStream.get(p.stream_id) ?? []).map((o) => ({ offenceDate: o.offence_date, provenDate: o.proven_date, seriousViolence: o.serious_violence })),
      }));
      const r = provenReoffending(cohort, { from: q.cohortFrom, to: q.cohortTo }, asOf);
      return {
        programmeId,
        cohortSize: count(r.cohortSize, suppress),
        ...measuresOut(r, r.cohortSize, suppress),
        seriousViolence: measuresOut(r.seriousViolence, r.cohortSize, suppress),
        finalOn: r.finalOn,
        provisional: r.provisional,
      };
    }).filter((r) => r.cohortSize !== 0),
  };
  return report;
}

/** The spend report: per grant, spend against award and cost per participant. */
export async function spendReport(sql: Sql, principal: Principal, q: ReportQuery) {
  const { provider, suppress } = reportScope(principal, q.providerId);
  const computedAt = [await reportPosition(sql, 'spend'), await reportPosition(sql, 'participants')];
  const grants = await sql<{ grant_ref: string; provider_id: string; programme_id: string; amount_pence: string; start_date: string; end_date: string }[]>`
    select grant_ref, provider_id, programme_id, amount_pence::text, start_date::text, end_date::text from rm_spend.grants
    where true
      ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
      ${provider ? sql`and provider_id = ${provider}` : sql``}
    order by grant_ref`.catch(emptyIfNoReadModel);
  const refs = grants.map((g) => g.grant_ref);
  const spend = refs.length === 0 ? [] : await sql<{ grant_ref: string; amount_pence: string; category: string; period_start: string }[]>`
    select grant_ref, amount_pence::text, category, period_start::text from rm_spend.spend
    where grant_ref = any(${refs}::text[])
      ${q.from ? sql`and period_start >= ${q.from}::date` : sql``}
      ${q.to ? sql`and period_start <= ${q.to}::date` : sql``}`.catch(emptyIfNoReadModel);
  const people = refs.length === 0 ? [] : await sql<{ provider_id: string; programme_id: string; enrolled_on: string; exit_reason: string | null }[]>`
    select provider_id, programme_id, enrolled_on::text, exit_reason from rm_participants.participants
    where enrolled_on is not null and programme_id = any(${[...new Set(grants.map((g) => g.programme_id))]}::text[])
      ${q.from ? sql`and enrolled_on >= ${q.from}::date` : sql``}
      ${q.to ? sql`and enrolled_on <= ${q.to}::date` : sql``}`.catch(emptyIfNoReadModel);
  const spendByGrant = groupBy(spend, (s) => s.grant_ref);
  const report = {
    report: 'spend' as const, filters: q, computedAt, suppressed: suppress,
    rows: grants.map((g) => {
      const items = spendByGrant.get(g.grant_ref) ?? [];
      const lines = items.map((s) => ({ amountPence: Number(s.amount_pence), category: s.category, periodStart: s.period_start }));
      const figures = spendFigures(Number(g.amount_pence), lines);
      const spent = figures.spentPence;
      const enrolled = people.filter((p) => p.provider_id === g.provider_id && p.programme_id === g.programme_id
        && p.enrolled_on >= g.start_date && p.enrolled_on <= g.end_date);
      const completed = enrolled.filter((p) => p.exit_reason === 'completed').length;
      const costPer = (n: number) => (n === 0 || (suppress && rateSuppressed(n, n)) ? null : Math.round(spent / n));
      return {
        grantRef: g.grant_ref, providerId: g.provider_id, programmeId: g.programme_id,
        awardedPence: figures.awardedPence, spentPence: figures.spentPence, remainingPence: figures.remainingPence,
        spentByCategory: figures.spentByCategory, spentByQuarter: figures.spentByQuarter,
        enrolled: count(enrolled.length, suppress), completed: count(completed, suppress),
        costPerEnrolledPence: costPer(enrolled.length), costPerCompletionPence: costPer(completed),
      };
    }),
  };
  return report;
}

export const outcomeReportRoutes: FastifyPluginAsyncTypebox<ReportDeps> = async (app, { sql }) => {
  app.get('/v1/reports/engagement', {
    config: { roles: REPORT_ROLES['engagement'] },
    schema: {
      tags: ['reports'],
      operationId: 'engagementReport',
      summary: 'Referral to completion funnel per programme',
      description: 'Participants referred within from..to: referrals → evaluation consent (not withdrawn) → enrolled → attended at least one session → completed, '
        + 'each stage counting those who also reached every earlier stage; drop-off between stages, completion rate (completed / enrolled, Wilson 95% interval), '
        + 'median days from referral to enrolment, and exits by reason. With groupBy, one row per programme and value of that dimension (in group).' + CSV_NOTE,
      querystring: EngagementQuery,
      response: { 200: EngagementReport, ...errors },
    },
  }, async (request, reply) => sendReport(request, reply, await engagementReport(sql, request.principal, request.query), 'engagement'));

  app.get('/v1/reports/outcomes', {
    config: { roles: REPORT_ROLES['outcomes'] },
    schema: {
      tags: ['reports'],
      operationId: 'outcomesReport',
      summary: 'Baseline to exit change per programme and instrument',
      description: 'Participants with evaluation consent (not withdrawn) enrolled within from..to. Per programme, instrument and scale: pairs (first baseline and last exit), '
        + 'missing pairs, mean baseline and exit, mean change (exit − baseline) with a 95% t interval, and the share reliably improved '
        + '(SWEMWBS ≥ 3 points up, WEMWBS ≥ 8 up, SDQ total ≥ 6 down; null for other instruments). '
        + 'With groupBy, one row per programme, instrument, scale and value of that dimension (in group; month and quarter of enrolment).' + CSV_NOTE,
      querystring: OutcomesQuery,
      response: { 200: OutcomesReport, ...errors },
    },
  }, async (request, reply) => sendReport(request, reply, await outcomesReport(sql, request.principal, request.query), 'outcomes'));

  app.get('/v1/reports/reoffending', {
    config: { roles: REPORT_ROLES['reoffending'] },
    schema: {
      tags: ['reports'],
      operationId: 'reoffendingReport',
      summary: 'Proven reoffending (MoJ method) per programme',
      description: 'Cohort: participants with evaluation consent enrolled (index date) within cohortFrom..cohortTo, less those who withdrew evaluation consent by today. '
        + 'A proven reoffence is committed within 12 months of the index date and proven within a further 6 months. Binary rate with Wilson 95% interval, '
        + 'frequency per person and per reoffender, and the same for serious violence; provisional until 18 months after the last index date.' + CSV_NOTE,
      querystring: ReoffendingQuery,
      response: { 200: ReoffendingReport, ...errors },
    },
  }, async (request, reply) => sendReport(request, reply, await reoffendingReport(sql, request.principal, request.query), 'reoffending'));

  app.get('/v1/reports/spend', {
    config: { roles: REPORT_ROLES['spend'] },
    schema: {
      tags: ['reports'],
      operationId: 'spendReport',
      summary: 'Spend against each grant, and cost per participant',
      description: 'Per grant: awarded, spent (corrections applied) by budget category and by quarter of the spend period start, remaining, participants of the grant\'s '
        + 'provider and programme enrolled within the grant period, completions among them, and cost per enrolment and per completion. '
        + 'from..to select spend by period start and enrolments by start date.' + CSV_NOTE,
      querystring: ReportQuery,
      response: { 200: SpendReport, ...errors },
    },
  }, async (request, reply) => sendReport(request, reply, await spendReport(sql, request.principal, request.query), 'spend'));
};
