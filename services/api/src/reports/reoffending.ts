import type { Principal, ReoffendingQuery } from '@vru/contracts';
import { provenReoffending, rateSuppressed, type ReoffendingMeasures, type ReoffendingParticipant } from '@vru/domain';
import { offencesReadModel, participantsReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { disclosedRows, disclosureScope, monthCells, withheld, type Disclosure } from '../disclosure.js';
import { HttpProblem } from '../problem.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';
import { rate, round } from './figures.js';
import { groupRows } from './group-rows.js';
import { emptyIfNoReadModel } from './read-model.js';

const { offences: offencesTable } = offencesReadModel.tables;
const { participants: participantsTable } = participantsReadModel.tables;

function measuresOut(m: ReoffendingMeasures, cohortSize: number, dc: Disclosure) {
  const suppress = dc.applied;
  return {
    reoffenders: dc.count(m.reoffenders),
    reoffences: dc.count(m.reoffences),
    binaryRate: suppress && rateSuppressed(m.reoffenders, cohortSize) ? null : rate(m.binaryRate),
    frequencyPerPerson: suppress && rateSuppressed(m.reoffences, cohortSize) ? null : round(m.frequencyPerPerson),
    frequencyPerReoffender:
      suppress && rateSuppressed(m.reoffences, m.reoffenders) ? null : round(m.frequencyPerReoffender),
  };
}

/** The proven reoffending report (MoJ method) per programme. */
export const reoffendingReport = (sql: Sql, principal: Principal, q: ReoffendingQuery) =>
  atConsistentPosition(sql, principal, ['participants', 'offences'], q, (tx, at) =>
    reoffendingAt(tx, at, principal, q),
  );

async function reoffendingAt(sql: Sql, at: ReportSnapshot, principal: Principal, q: ReoffendingQuery) {
  if (q.cohortTo < q.cohortFrom)
    throw new HttpProblem(400, 'bad-request', 'Bad request', undefined, 'cohortTo is before cohortFrom');
  const dc = disclosureScope(principal, q.providerId, {
    from: q.cohortFrom,
    to: q.cohortTo,
    required: true,
    fields: { from: '/querystring/cohortFrom', to: '/querystring/cohortTo' },
  });
  const window = dc.window(q.cohortFrom, q.cohortTo);
  const { computedAt, position, asOf } = at;
  // The cohort population: consented, not withdrawn by asOf, index date in the window (the period, or its financial
  // year), filtered here rather than after reading every participant of the programmes; with each person's offences
  // (a row per offence, none without), joined here rather than read again by thousands of ids. Only the offences of
  // the cohort's people in scope (the query's provider and period) are measured: the siblings are counted.
  const [programmeRows, cohortOffences] = await Promise.all([
    sql<{ programme_id: string }[]>`
      select distinct programme_id from ${sql(participantsTable)}
      where true
        ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
        ${dc.provider ? sql`and provider_id = ${dc.provider}` : sql``}`.catch(emptyIfNoReadModel),
    sql<
      {
        stream_id: string;
        programme_id: string;
        provider_id: string;
        enrolled_on: string;
        evaluation_consent_withdrawn_on: string | null;
        offender: string | null;
        offence_date: string;
        proven_date: string;
        serious_violence: boolean;
      }[]
    >`
      select p.stream_id, p.programme_id, p.provider_id, p.enrolled_on::text, p.evaluation_consent_withdrawn_on::text,
        o.stream_id as offender, o.offence_date::text, o.proven_date::text, o.serious_violence
      from ${sql(participantsTable)} p left join ${sql(offencesTable)} o on o.stream_id = p.stream_id
      where p.evaluation_consent_from is not null
        and p.enrolled_on between ${window.from!}::date and ${window.to!}::date
        and (p.evaluation_consent_withdrawn_on is null or p.evaluation_consent_withdrawn_on > ${asOf}::date)
        ${q.programmeId ? sql`and p.programme_id = ${q.programmeId}` : sql``}
        ${dc.sqlProvider ? sql`and p.provider_id = ${dc.sqlProvider}` : sql``}`.catch(emptyIfNoReadModel),
  ]);
  const cohort = [...new Map(cohortOffences.map((p) => [p.stream_id, p])).values()];
  const offences = cohortOffences.filter((o) => o.offender !== null);
  const inScope = cohort.filter((p) =>
    dc.inScope(p.provider_id, p.enrolled_on, { from: q.cohortFrom, to: q.cohortTo }),
  );
  const byStream = groupRows(offences, (o) => o.stream_id);
  const cohortByProgramme = groupRows(cohort, (p) => p.programme_id);
  const inScopeOf = groupRows(inScope, (p) => p.programme_id);
  // Every programme with a participant in scope answers a row, an emptied cohort included (finalOn from cohortTo).
  const programmes = [
    ...new Set([...programmeRows.map((p) => p.programme_id), ...(q.programmeId ? [q.programmeId] : [])]),
  ].sort();
  return {
    report: 'reoffending' as const,
    filters: reportFilters(q),
    asOf,
    position,
    computedAt,
    suppressed: dc.applied,
    disclosure: dc.stamp,
    rows: programmes.map((programmeId) => {
      const all = cohortByProgramme.get(programmeId) ?? [];
      const members = inScopeOf.get(programmeId) ?? [];
      const participants: ReoffendingParticipant[] = members.map((p) => ({
        indexDate: p.enrolled_on,
        evaluationConsentWithdrawnOn: p.evaluation_consent_withdrawn_on,
        offences: (byStream.get(p.stream_id) ?? []).map((o) => ({
          offenceDate: o.offence_date,
          provenDate: o.proven_date,
          seriousViolence: o.serious_violence,
        })),
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
      const [whole] = disclosedRows(
        dc,
        monthCells(all, (p) => p.enrolled_on),
        undefined,
        null,
        [],
      );
      if (whole!.published) return row;
      // Withheld: finalOn would give the last index date away, so it falls back to the one for an empty cohort.
      const blank = withheld(row, ['programmeId', 'provisional']);
      const finalOn = provenReoffending([], { from: q.cohortFrom, to: q.cohortTo }, asOf);
      return {
        ...blank,
        seriousViolence: withheld(row.seriousViolence, []),
        finalOn: finalOn.finalOn,
        provisional: finalOn.provisional,
      };
    }),
  };
}
