import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  EngagementQuery, EngagementReport, ExitReasons, OutcomesQuery, OutcomesReport, ProblemDetails, ReoffendingQuery, ReoffendingReport, ReportQuery, SpendReport,
} from '@vru/contracts';
import {
  daysBetween, median, MIN_POPULATION, pairedChange, provenReoffending, quarterOf, RELIABLE_CHANGE, rateSuppressed, spendFigures,
  suppressRecord, wilsonInterval, type Proportion, type ReoffendingMeasures, type ReoffendingParticipant,
} from '@vru/domain';
import type { Principal } from '@vru/contracts';
import type { Sql } from '@vru/runtime';
import { groupRows } from '../group-rows.js';
import { HttpProblem } from '../problem.js';
import { sendReport } from '../csv.js';
import { emptyIfNoReadModel, REPORT_ROLES, type ReportDeps } from './reports.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';
import { disclosedGroups, disclosureScope, groupVocabulary, withheld, type Disclosure } from '../disclosure.js';

/**
 * Engagement, outcomes, reoffending and spend. A provider key sees only its own participants and grants,
 * unsuppressed; every other role sees all providers with small-number suppression (docs/metrics.md).
 */

const errors = { 400: ProblemDetails, 401: ProblemDetails, 403: ProblemDetails, 409: ProblemDetails, 422: ProblemDetails, 503: ProblemDetails };
const CSV_NOTE = ' Send `Accept: text/csv` for the rows as CSV (nested figures as dotted columns).';
const DISCLOSURE_NOTE = ' Across providers (commissioner, funder, admin) figures pass through disclosure control vru-sdc-1 (docs/metrics.md): '
  + 'the period must be one calendar month, quarter or financial year (otherwise 422), small populations and any figure that other answers '
  + 'could give back are null, and a breakdown answers every value of its vocabulary.';

const round = (x: number | null, digits = 4): number | null => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);
const rate = (p: Proportion | null) => (p === null ? null : { value: round(p.value)!, lower: round(p.lower)!, upper: round(p.upper)! });
/** Rows by key, keys in order. */
const groupBy = <T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> =>
  new Map([...groupRows(xs, key).entries()].sort(([a], [b]) => a.localeCompare(b)));
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

export function engagementRow(programmeId: string, people: readonly FunnelRow[], asOf: string, dc: Disclosure) {
  const suppress = dc.applied;
  // Outputs, like the quarterly return's: evaluation consent is reported but gates no later stage (docs/metrics.md).
  const consented = people.filter((p) => evaluationConsented(p, asOf));
  const enrolled = people.filter((p) => p.enrolled_on !== null);
  const attended = enrolled.filter((p) => p.first_session_date !== null);
  const completed = enrolled.filter((p) => p.exit_reason === 'completed');
  // A stage's figure is withheld, zero included, when the population it is counted in is under MIN_POPULATION.
  const show = (n: number, population: number) => (!suppress ? n : population < MIN_POPULATION ? null : dc.count(n));
  const shown = {
    consented: show(consented.length, people.length), enrolled: show(enrolled.length, people.length),
    attended: show(attended.length, enrolled.length), completed: show(completed.length, enrolled.length),
  };
  // A drop-off is the difference of two published counts: shown only when both are.
  const drop = (from: number | null, to: number | null, fromN: number, toN: number) => (from === null || to === null ? null : fromN - toN);
  const exits: Record<string, number> = Object.fromEntries(ExitReasons.map((r) => [r, 0]));
  for (const p of enrolled) if (p.exit_reason) exits[p.exit_reason] = (exits[p.exit_reason] ?? 0) + 1;
  const days = enrolled.map((p) => daysBetween(p.referral_date, p.enrolled_on!));
  const enrolledWithheld = suppress && enrolled.length < MIN_POPULATION;
  return {
    programmeId,
    referrals: people.length as number | null,
    consented: shown.consented,
    enrolled: shown.enrolled,
    attended: shown.attended,
    completed: shown.completed,
    dropOffAtConsent: drop(people.length, shown.consented, people.length, consented.length),
    dropOffAtEnrolment: drop(people.length, shown.enrolled, people.length, enrolled.length),
    dropOffAtAttendance: drop(shown.enrolled, shown.attended, enrolled.length, attended.length),
    dropOffAtCompletion: drop(shown.enrolled, shown.completed, enrolled.length, completed.length),
    completionRate: suppress && (shown.completed === null || rateSuppressed(completed.length, enrolled.length))
      ? null : rate(wilsonInterval(completed.length, enrolled.length)),
    medianDaysReferralToEnrolment: suppress && rateSuppressed(null, enrolled.length) ? null : median(days),
    exitReasons: !suppress ? exits : enrolledWithheld ? Object.fromEntries(ExitReasons.map((r) => [r, null])) : suppressRecord(exits),
  };
}

function measuresOut(m: ReoffendingMeasures, cohortSize: number, dc: Disclosure) {
  const suppress = dc.applied;
  return {
    reoffenders: dc.count(m.reoffenders),
    reoffences: dc.count(m.reoffences),
    binaryRate: suppress && rateSuppressed(m.reoffenders, cohortSize) ? null : rate(m.binaryRate),
    frequencyPerPerson: suppress && rateSuppressed(m.reoffences, cohortSize) ? null : round(m.frequencyPerPerson),
    frequencyPerReoffender: suppress && rateSuppressed(m.reoffences, m.reoffenders) ? null : round(m.frequencyPerReoffender),
  };
}

/** The engagement funnel report: scoped to the principal's provider, under disclosure control for every other role. */
export const engagementReport = (sql: Sql, principal: Principal, q: EngagementQuery) =>
  atConsistentPosition(sql, principal, ['participants'], q, (tx, at) => engagementAt(tx, at, principal, q));

async function engagementAt(sql: Sql, at: ReportSnapshot, principal: Principal, q: EngagementQuery) {
  const dc = disclosureScope(principal, q.providerId, { from: q.from, to: q.to, required: true });
  const vocabulary = await groupVocabulary(sql, dc, q.groupBy);
  const window = dc.window(q.from, q.to);
  const { computedAt, position, asOf } = at;
  const rows = await sql<(FunnelRow & { stream_id: string })[]>`
    select stream_id, programme_id, provider_id, age_band, gender, ethnicity, referral_source, postcode_district,
           referral_date::text, evaluation_consent_from::text, evaluation_consent_withdrawn_on::text, enrolled_on::text,
           first_session_date::text, exit_date::text, exit_reason
    from participants
    where referral_date is not null
      ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
      ${dc.sqlProvider ? sql`and provider_id = ${dc.sqlProvider}` : sql``}
      ${window.from ? sql`and referral_date >= ${window.from}::date` : sql``}
      ${window.to ? sql`and referral_date <= ${window.to}::date` : sql``}`.catch(emptyIfNoReadModel);
  const by = q.groupBy;
  return {
    report: 'engagement' as const, filters: reportFilters(q), asOf, position, computedAt, suppressed: dc.applied, disclosure: dc.stamp,
    rows: [...groupBy(rows, (r) => r.programme_id)].flatMap(([programmeId, people]) =>
      disclosedGroups(dc, people, by, vocabulary?.(programmeId) ?? null, {
        id: (p) => p.stream_id, provider: (p) => p.provider_id, date: (p) => p.referral_date, group: (p) => (by ? groupValue(p, by, p.referral_date) : ''),
      }).flatMap(({ group, members, published }) => {
        if (group === undefined && members.length === 0 && !dc.applied) return [];
        const { programmeId: id, ...figures } = engagementRow(programmeId, members, asOf, dc);
        const row = { programmeId: id, ...(group !== undefined ? { group } : {}), ...figures };
        return [published ? row : withheld(row, ['programmeId', 'group'], ['exitReasons'])];
      })),
  };
}

type OutcomeRecord = { stream_id: string; instrument: string; scale: string; baseline_score: number | null; exit_score: number | null; enrolled_on: string | null } & GroupFields;

/** The outcomes report: baseline to exit change per programme, instrument and scale. */
export const outcomesReport = (sql: Sql, principal: Principal, q: OutcomesQuery) =>
  atConsistentPosition(sql, principal, ['outcomes', 'participants'], q, (tx, at) => outcomesAt(tx, at, principal, q));

async function outcomesAt(sql: Sql, at: ReportSnapshot, principal: Principal, q: OutcomesQuery) {
  const dc = disclosureScope(principal, q.providerId, { from: q.from, to: q.to, required: true });
  const vocabulary = await groupVocabulary(sql, dc, q.groupBy);
  const window = dc.window(q.from, q.to);
  const { computedAt, position, asOf } = at;
  const rows = await sql<OutcomeRecord[]>`
    select o.stream_id, o.programme_id, o.instrument, o.scale, o.baseline_score, o.exit_score, p.enrolled_on::text,
           p.provider_id, p.age_band, p.gender, p.ethnicity, p.referral_source, p.postcode_district
    from outcomes o join participants p on p.stream_id = o.stream_id
    where p.evaluation_consent_from is not null
      and (p.evaluation_consent_withdrawn_on is null or p.evaluation_consent_withdrawn_on > ${asOf}::date)
      ${q.programmeId ? sql`and o.programme_id = ${q.programmeId}` : sql``}
      ${dc.sqlProvider ? sql`and o.provider_id = ${dc.sqlProvider}` : sql``}
      ${window.from ? sql`and p.enrolled_on >= ${window.from}::date` : sql``}
      ${window.to ? sql`and p.enrolled_on <= ${window.to}::date` : sql``}`.catch(emptyIfNoReadModel);
  const by = q.groupBy;
  const populations = groupBy(rows, (r) => `${r.programme_id}\u0000${r.instrument}\u0000${r.scale}`);
  return {
    report: 'outcomes' as const, filters: reportFilters(q), asOf, position, computedAt, suppressed: dc.applied, disclosure: dc.stamp,
    rows: [...populations.values()].flatMap((population) => {
      const { programme_id: programmeId, instrument, scale } = population[0]!;
      return disclosedGroups(dc, population, by, vocabulary?.(programmeId) ?? null, {
        id: (r) => r.stream_id, provider: (r) => r.provider_id, date: (r) => r.enrolled_on, group: (r) => (by ? groupValue(r, by, r.enrolled_on) : ''),
      }).flatMap(({ group, members: g, published }) => {
        if (g.length === 0 && !dc.applied) return [];
        const pairs = g.filter((r) => r.baseline_score !== null && r.exit_score !== null).map((r) => ({ baseline: r.baseline_score!, exit: r.exit_score! }));
        const c = pairedChange(instrument, pairs);
        const hideMeans = dc.applied && rateSuppressed(null, pairs.length);
        const improved = c.reliablyImproved;
        const row = {
          programmeId, ...(group !== undefined ? { group } : {}), instrument, scale,
          // Pairs are the population of every figure after them: under MIN_POPULATION only the row's size is left.
          pairs: dc.count(pairs.length),
          missingPairs: dc.count(g.length - pairs.length),
          meanBaseline: hideMeans ? null : round(c.meanBaseline),
          meanExit: hideMeans ? null : round(c.meanExit),
          meanChange: hideMeans || !c.change ? null : { mean: round(c.change.mean)!, lower: round(c.change.ci?.lower ?? null), upper: round(c.change.ci?.upper ?? null) },
          reliableChangeThreshold: RELIABLE_CHANGE[instrument]?.points ?? null,
          reliablyImproved: improved && !(dc.applied && rateSuppressed(improved.numerator, pairs.length)) ? rate(improved) : null,
        };
        return [published ? row : withheld(row, ['programmeId', 'group', 'instrument', 'scale', 'reliableChangeThreshold'])];
      });
    }),
  };
}

/** The proven reoffending report (MoJ method) per programme. */
export const reoffendingReport = (sql: Sql, principal: Principal, q: ReoffendingQuery) =>
  atConsistentPosition(sql, principal, ['participants', 'offences'], q, (tx, at) => reoffendingAt(tx, at, principal, q));

async function reoffendingAt(sql: Sql, at: ReportSnapshot, principal: Principal, q: ReoffendingQuery) {
  if (q.cohortTo < q.cohortFrom) throw new HttpProblem(400, 'bad-request', 'Bad request', undefined, 'cohortTo is before cohortFrom');
  const dc = disclosureScope(principal, q.providerId, {
    from: q.cohortFrom, to: q.cohortTo, required: true, fields: { from: '/querystring/cohortFrom', to: '/querystring/cohortTo' },
  });
  const window = dc.window(q.cohortFrom, q.cohortTo);
  const { computedAt, position, asOf } = at;
  const people = await sql<{ stream_id: string; programme_id: string; provider_id: string; enrolled_on: string | null; consented: boolean;
    evaluation_consent_withdrawn_on: string | null }[]>`
    select stream_id, programme_id, provider_id, enrolled_on::text, evaluation_consent_from is not null as consented,
           evaluation_consent_withdrawn_on::text
    from participants
    where true
      ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
      ${dc.sqlProvider ? sql`and provider_id = ${dc.sqlProvider}` : sql``}`.catch(emptyIfNoReadModel);
  // The cohort population: consented, not withdrawn by asOf, index date in the window (the period, or its financial year).
  const cohort = people.filter((p) => p.consented && p.enrolled_on !== null && p.enrolled_on >= window.from! && p.enrolled_on <= window.to!
    && (p.evaluation_consent_withdrawn_on === null || p.evaluation_consent_withdrawn_on > asOf));
  const offences = cohort.length === 0 ? [] : await sql<{ stream_id: string; offence_date: string; proven_date: string; serious_violence: boolean }[]>`
    select stream_id, offence_date::text, proven_date::text, serious_violence from offences
    where stream_id = any(${cohort.map((p) => p.stream_id)}::text[])`.catch(emptyIfNoReadModel);
  const byStream = groupBy(offences, (o) => o.stream_id);
  // Every programme with a participant in scope answers a row, an emptied cohort included (finalOn from cohortTo).
  const programmes = [...new Set([...people.filter((p) => dc.inScope(p.provider_id, null, null)).map((p) => p.programme_id),
    ...(q.programmeId ? [q.programmeId] : [])])].sort();
  return {
    report: 'reoffending' as const, filters: reportFilters(q), asOf, position, computedAt, suppressed: dc.applied, disclosure: dc.stamp,
    rows: programmes.map((programmeId) => {
      const all = cohort.filter((p) => p.programme_id === programmeId);
      const members = all.filter((p) => dc.inScope(p.provider_id, p.enrolled_on, { from: q.cohortFrom, to: q.cohortTo }));
      const participants: ReoffendingParticipant[] = members.map((p) => ({
        indexDate: p.enrolled_on!,
        evaluationConsentWithdrawnOn: p.evaluation_consent_withdrawn_on,
        offences: (byStream.get(p.stream_id) ?? []).map((o) => ({ offenceDate: o.offence_date, provenDate: o.proven_date, seriousViolence: o.serious_violence })),
      }));
      const r = provenReoffending(participants, { from: q.cohortFrom, to: q.cohortTo }, asOf);
      const row = {
        programmeId,
        cohortSize: r.cohortSize as number | null,
        ...measuresOut(r, r.cohortSize, dc),
        seriousViolence: measuresOut(r.seriousViolence, r.cohortSize, dc),
        finalOn: r.finalOn,
        provisional: r.provisional,
      };
      const cells = all.map((p) => ({ id: p.stream_id, key: dc.key(p.provider_id, null), date: p.enrolled_on }));
      if (dc.published(cells, null)) return row;
      // Withheld: finalOn would give the last index date away, so it falls back to the one for an empty cohort.
      const blank = withheld(row, ['programmeId', 'provisional']);
      const finalOn = provenReoffending([], { from: q.cohortFrom, to: q.cohortTo }, asOf);
      return { ...blank, seriousViolence: withheld(row.seriousViolence, []), finalOn: finalOn.finalOn, provisional: finalOn.provisional };
    }),
  };
}

/** The spend report: per grant, spend against award and cost per participant. */
export const spendReport = (sql: Sql, principal: Principal, q: ReportQuery) =>
  atConsistentPosition(sql, principal, ['spend', 'participants'], q, (tx, at) => spendAt(tx, at, principal, q));

async function spendAt(sql: Sql, at: ReportSnapshot, principal: Principal, q: ReportQuery) {
  const dc = disclosureScope(principal, q.providerId, { from: q.from, to: q.to, required: false });
  const window = dc.window(q.from, q.to);
  const { computedAt, position, asOf } = at;
  const grants = await sql<{ grant_ref: string; provider_id: string; programme_id: string; amount_pence: string; start_date: string; end_date: string }[]>`
    select grant_ref, provider_id, programme_id, amount_pence::text, start_date::text, end_date::text from grants
    where true
      ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
      ${dc.provider ? sql`and provider_id = ${dc.provider}` : sql``}
    order by grant_ref`.catch(emptyIfNoReadModel);
  const refs = grants.map((g) => g.grant_ref);
  const spend = refs.length === 0 ? [] : await sql<{ grant_ref: string; amount_pence: string; category: string; period_start: string }[]>`
    select grant_ref, amount_pence::text, category, period_start::text from spend
    where grant_ref = any(${refs}::text[])
      ${q.from ? sql`and period_start >= ${q.from}::date` : sql``}
      ${q.to ? sql`and period_start <= ${q.to}::date` : sql``}`.catch(emptyIfNoReadModel);
  // Every provider's enrolments of the programmes: the sibling cells of each grant's (one provider's) population.
  const people = refs.length === 0 ? [] : await sql<{ stream_id: string; provider_id: string; programme_id: string; enrolled_on: string; exit_reason: string | null }[]>`
    select stream_id, provider_id, programme_id, enrolled_on::text, exit_reason from participants
    where enrolled_on is not null and programme_id = any(${[...new Set(grants.map((g) => g.programme_id))]}::text[])
      ${window.from ? sql`and enrolled_on >= ${window.from}::date` : sql``}
      ${window.to ? sql`and enrolled_on <= ${window.to}::date` : sql``}`.catch(emptyIfNoReadModel);
  const spendByGrant = groupBy(spend, (s) => s.grant_ref);
  return {
    report: 'spend' as const, filters: reportFilters(q), asOf, position, computedAt, suppressed: dc.applied, disclosure: dc.stamp,
    rows: grants.map((g) => {
      const items = spendByGrant.get(g.grant_ref) ?? [];
      const lines = items.map((s) => ({ amountPence: Number(s.amount_pence), category: s.category, periodStart: s.period_start }));
      const figures = spendFigures(Number(g.amount_pence), lines);
      const spent = figures.spentPence;
      const inGrant = people.filter((p) => p.programme_id === g.programme_id && p.enrolled_on >= g.start_date && p.enrolled_on <= g.end_date);
      const inPeriod = (p: { enrolled_on: string }) => (!q.from || p.enrolled_on >= q.from) && (!q.to || p.enrolled_on <= q.to);
      const enrolled = inGrant.filter((p) => p.provider_id === g.provider_id && inPeriod(p));
      const completed = enrolled.filter((p) => p.exit_reason === 'completed').length;
      const published = dc.publishedKey(inGrant.map((p) => ({ id: p.stream_id, key: p.provider_id, date: p.enrolled_on })), g.provider_id);
      const costPer = (n: number) => (n === 0 || (dc.applied && rateSuppressed(n, n)) ? null : Math.round(spent / n));
      return {
        grantRef: g.grant_ref, providerId: g.provider_id, programmeId: g.programme_id,
        awardedPence: figures.awardedPence, spentPence: figures.spentPence, remainingPence: figures.remainingPence,
        spentByCategory: figures.spentByCategory, spentByQuarter: figures.spentByQuarter,
        enrolled: published ? enrolled.length : null,
        completed: published ? dc.count(completed) : null,
        costPerEnrolledPence: published ? costPer(enrolled.length) : null,
        costPerCompletionPence: published ? costPer(completed) : null,
      };
    }),
  };
}

export const outcomeReportRoutes: FastifyPluginAsyncTypebox<ReportDeps> = async (app, { sql }) => {
  app.get('/v1/reports/engagement', {
    config: { roles: REPORT_ROLES['engagement'] },
    schema: {
      tags: ['reports'],
      operationId: 'engagementReport',
      summary: 'Referral to completion funnel per programme',
      description: 'Participants referred within from..to: of the referrals, those with evaluation consent (not withdrawn) and those enrolled (the starters, '
        + 'whatever their consent); of the starters, those who attended at least one session and those who exited with reason completed (the completers); '
        + 'drop-offs, completion rate (completers over starters, Wilson 95% interval), '
        + 'median days from referral to enrolment, and exits by reason. With groupBy, one row per programme and value of that dimension (in group).'
        + DISCLOSURE_NOTE + CSV_NOTE,
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
        + 'With groupBy, one row per programme, instrument, scale and value of that dimension (in group; month and quarter of enrolment).'
        + DISCLOSURE_NOTE + CSV_NOTE,
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
        + 'frequency per person and per reoffender, and the same for serious violence; provisional until 18 months after the last index date.'
        + DISCLOSURE_NOTE + CSV_NOTE,
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
        + 'from..to select spend by period start and enrolments by start date (optional; a grant\'s own period otherwise).' + DISCLOSURE_NOTE + CSV_NOTE,
      querystring: ReportQuery,
      response: { 200: SpendReport, ...errors },
    },
  }, async (request, reply) => sendReport(request, reply, await spendReport(sql, request.principal, request.query), 'spend'));
};
