import { ExitReasons, type EngagementQuery, type Principal } from '@vru/contracts';
import { daysBetween, median, MIN_POPULATION, rateSuppressed, suppressRecord, wilsonInterval } from '@vru/domain';
import { participantsReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { disclosedGroups, disclosureScope, groupVocabulary, withheld, type Disclosure } from '../disclosure.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';
import { evaluationConsented, groupBy, groupValue, rate, type GroupFields } from './figures.js';
import { emptyIfNoReadModel } from './read-model.js';

const { participants: participantsTable } = participantsReadModel.tables;

interface FunnelRow extends GroupFields {
  referral_date: string;
  evaluation_consent_from: string | null;
  evaluation_consent_withdrawn_on: string | null;
  enrolled_on: string | null;
  first_session_date: string | null;
  exit_date: string | null;
  exit_reason: string | null;
}

/** Engagement funnel for one programme; each stage counts those who reached it and every stage before. */
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
    consented: show(consented.length, people.length),
    enrolled: show(enrolled.length, people.length),
    attended: show(attended.length, enrolled.length),
    completed: show(completed.length, enrolled.length),
  };
  // A drop-off is the difference of two published counts: shown only when both are.
  const drop = (from: number | null, to: number | null, fromN: number, toN: number) =>
    from === null || to === null ? null : fromN - toN;
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
    completionRate:
      suppress && (shown.completed === null || rateSuppressed(completed.length, enrolled.length))
        ? null
        : rate(wilsonInterval(completed.length, enrolled.length)),
    medianDaysReferralToEnrolment: suppress && rateSuppressed(null, enrolled.length) ? null : median(days),
    exitReasons: !suppress
      ? exits
      : enrolledWithheld
        ? Object.fromEntries(ExitReasons.map((r) => [r, null]))
        : suppressRecord(exits),
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
    from ${sql(participantsTable)}
    where referral_date is not null
      ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
      ${dc.sqlProvider ? sql`and provider_id = ${dc.sqlProvider}` : sql``}
      ${window.from ? sql`and referral_date >= ${window.from}::date` : sql``}
      ${window.to ? sql`and referral_date <= ${window.to}::date` : sql``}`.catch(emptyIfNoReadModel);
  const by = q.groupBy;
  return {
    report: 'engagement' as const,
    filters: reportFilters(q),
    asOf,
    position,
    computedAt,
    suppressed: dc.applied,
    disclosure: dc.stamp,
    rows: [...groupBy(rows, (r) => r.programme_id)].flatMap(([programmeId, people]) =>
      disclosedGroups(dc, people, by, vocabulary?.(programmeId) ?? null, {
        id: (p) => p.stream_id,
        provider: (p) => p.provider_id,
        date: (p) => p.referral_date,
        group: (p) => (by ? groupValue(p, by, p.referral_date) : ''),
      }).flatMap(({ group, members, published }) => {
        if (group === undefined && members.length === 0 && !dc.applied) return [];
        const { programmeId: id, ...figures } = engagementRow(programmeId, members, asOf, dc);
        const row = { programmeId: id, ...(group !== undefined ? { group } : {}), ...figures };
        return [published ? row : withheld(row, ['programmeId', 'group'], ['exitReasons'])];
      }),
    ),
  };
}
