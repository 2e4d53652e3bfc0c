import { ExitReasons, type EngagementQuery, type Principal } from '@vru/contracts';
import { medianOfCounts, MIN_POPULATION, rateSuppressed, suppressRecord, wilsonInterval } from '@vru/domain';
import { participantsReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import {
  disclosedRows,
  disclosureScope,
  groupVocabulary,
  withheld,
  type Disclosure,
  type MonthCell,
} from '../disclosure.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';
import { groupValueSql, rate } from './figures.js';
import { groupRows } from './group-rows.js';
import { emptyIfNoReadModel } from './read-model.js';

const { participants: participantsTable } = participantsReadModel.tables;

/** One row's people at each stage of the funnel, counted in SQL. */
export interface Funnel {
  referrals: number;
  /** Evaluation consent recorded and not withdrawn by the report's date. */
  consented: number;
  enrolled: number;
  attended: number;
  completed: number;
  /** Enrolled people by exit reason. */
  exits: Readonly<Record<string, number>>;
  medianDaysReferralToEnrolment: number | null;
}

const NOBODY: Funnel = {
  referrals: 0,
  consented: 0,
  enrolled: 0,
  attended: 0,
  completed: 0,
  exits: {},
  medianDaysReferralToEnrolment: null,
};

/** Engagement funnel for one programme; each stage counts those who reached it and every stage before. */
export function engagementRow(programmeId: string, f: Funnel, dc: Disclosure) {
  const suppress = dc.applied;
  // A stage's figure is withheld, zero included, when the population it is counted in is under MIN_POPULATION.
  const show = (n: number, population: number) => (!suppress ? n : population < MIN_POPULATION ? null : dc.count(n));
  const shown = {
    consented: show(f.consented, f.referrals),
    enrolled: show(f.enrolled, f.referrals),
    attended: show(f.attended, f.enrolled),
    completed: show(f.completed, f.enrolled),
  };
  // A drop-off is the difference of two published counts: shown only when both are.
  const drop = (from: number | null, to: number | null, fromN: number, toN: number) =>
    from === null || to === null ? null : fromN - toN;
  const exits: Record<string, number> = { ...Object.fromEntries(ExitReasons.map((r) => [r, 0])), ...f.exits };
  const enrolledWithheld = suppress && f.enrolled < MIN_POPULATION;
  return {
    programmeId,
    referrals: f.referrals as number | null,
    consented: shown.consented,
    enrolled: shown.enrolled,
    attended: shown.attended,
    completed: shown.completed,
    dropOffAtConsent: drop(f.referrals, shown.consented, f.referrals, f.consented),
    dropOffAtEnrolment: drop(f.referrals, shown.enrolled, f.referrals, f.enrolled),
    dropOffAtAttendance: drop(shown.enrolled, shown.attended, f.enrolled, f.attended),
    dropOffAtCompletion: drop(shown.enrolled, shown.completed, f.enrolled, f.completed),
    completionRate:
      suppress && (shown.completed === null || rateSuppressed(f.completed, f.enrolled))
        ? null
        : rate(wilsonInterval(f.completed, f.enrolled)),
    medianDaysReferralToEnrolment:
      suppress && rateSuppressed(null, f.enrolled) ? null : f.medianDaysReferralToEnrolment,
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
  const by = q.groupBy;
  const people = sql`
    select programme_id, provider_id, referral_date, evaluation_consent_from, evaluation_consent_withdrawn_on,
           enrolled_on, first_session_date, exit_reason, enrolled_on - referral_date as days,
           ${groupValueSql(sql, by, 'referral_date')} as grp,
           date_trunc('month', referral_date::timestamp)::date::text as month, ${dc.inScopeSql(sql, 'referral_date')} as in_scope
    from ${sql(participantsTable)}
    where referral_date is not null
      ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
      ${dc.sqlProvider ? sql`and provider_id = ${dc.sqlProvider}` : sql``}
      ${window.from ? sql`and referral_date >= ${window.from}::date` : sql``}
      ${window.to ? sql`and referral_date <= ${window.to}::date` : sql``}`;
  // One scan, hashed: each row's own people (its provider, its period) counted per stage, by exit reason and by days
  // from referral to enrolment (the median's counts); under the layer, every provider's people of the window per
  // cell and month (the siblings each row is judged by).
  const counted = await sql<
    (Funnel &
      MonthCell & { programme_id: string; grp: string; kind: 'row' | 'exit' | 'days' | 'cell' } & {
        exit_reason: string | null;
        exited: number;
        days: number | null;
        at_days: number;
      })[]
  >`
    select programme_id, grp, provider_id, month, grp as "group", exit_reason, days,
      case when grouping(provider_id) = 0 then 'cell' when grouping(exit_reason) = 0 then 'exit'
        when grouping(days) = 0 then 'days' else 'row' end as kind,
      count(*)::int as people,
      count(*) filter (where in_scope)::int as referrals,
      count(*) filter (where in_scope and evaluation_consent_from is not null
        and (evaluation_consent_withdrawn_on is null or evaluation_consent_withdrawn_on > ${asOf}::date))::int as consented,
      count(enrolled_on) filter (where in_scope)::int as enrolled,
      count(*) filter (where in_scope and enrolled_on is not null and first_session_date is not null)::int as attended,
      count(*) filter (where in_scope and enrolled_on is not null and exit_reason = 'completed')::int as completed,
      count(*) filter (where in_scope and enrolled_on is not null and exit_reason <> '')::int as exited,
      count(days) filter (where in_scope)::int as at_days
    from (${people}) p
    group by grouping sets ((programme_id, grp), (programme_id, grp, exit_reason), (programme_id, grp, days),
      (programme_id, provider_id, month, grp))`.catch(emptyIfNoReadModel);
  const cells = counted.filter((c) => c.kind === 'cell');
  const funnels = counted.filter((c) => c.kind === 'row');
  const funnelOf = new Map<string, Funnel>();
  for (const f of funnels) funnelOf.set(`${f.programme_id}\u0000${f.grp}`, f);
  const exitsOf = groupRows(
    counted.filter((c) => c.kind === 'exit' && c.exit_reason && c.exited > 0),
    (c) => `${c.programme_id}\u0000${c.grp}`,
  );
  const daysOf = groupRows(
    counted.filter((c) => c.kind === 'days' && c.days !== null),
    (c) => `${c.programme_id}\u0000${c.grp}`,
  );
  const cellsOf = groupRows(cells, (c) => c.programme_id);
  const groupsOf = groupRows(funnels, (f) => f.programme_id);
  const programmes = [...(dc.applied ? cellsOf : groupsOf).keys()].sort((a, b) => a.localeCompare(b));
  return {
    report: 'engagement' as const,
    filters: reportFilters(q),
    asOf,
    position,
    computedAt,
    suppressed: dc.applied,
    disclosure: dc.stamp,
    rows: programmes.flatMap((programmeId) => {
      const present = (groupsOf.get(programmeId) ?? []).map((f) => f.grp);
      return disclosedRows(dc, cellsOf.get(programmeId) ?? [], by, vocabulary?.(programmeId) ?? null, present).flatMap(
        ({ group, published }) => {
          const at = `${programmeId}\u0000${group ?? ''}`;
          const funnel: Funnel = {
            ...(funnelOf.get(at) ?? NOBODY),
            exits: Object.fromEntries((exitsOf.get(at) ?? []).map((c): [string, number] => [c.exit_reason!, c.exited])),
            medianDaysReferralToEnrolment: medianOfCounts(
              (daysOf.get(at) ?? []).map((c) => ({ value: c.days!, n: c.at_days })),
            ),
          };
          if (group === undefined && funnel.referrals === 0 && !dc.applied) return [];
          const { programmeId: id, ...figures } = engagementRow(programmeId, funnel, dc);
          const row = { programmeId: id, ...(group !== undefined ? { group } : {}), ...figures };
          return [published ? row : withheld(row, ['programmeId', 'group'], ['exitReasons'])];
        },
      );
    }),
  };
}
