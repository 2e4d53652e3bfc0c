import type { Principal, ReoffendingQuery } from '@vru/contracts';
import {
  provenReoffending,
  rateSuppressed,
  type CountedCells,
  type ReoffendingMeasures,
  type ReoffendingParticipant,
} from '@vru/domain';
import { offencesReadModel, participantsReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { countCells, disclosureScope, LEVELS_FROM, withheld, type Disclosure } from '../disclosure.js';
import { HttpProblem } from '../problem.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';
import { groupBy, rate, round } from './figures.js';
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
  const scope = sql`
    where true
      ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
      ${dc.sqlProvider ? sql`and provider_id = ${dc.sqlProvider}` : sql``}`;
  // The cohort population: consented, not withdrawn by asOf, index date in the window (the period, or its financial year).
  const cohort = sql`
    ${scope} and evaluation_consent_from is not null
      and enrolled_on between ${window.from!}::date and ${window.to!}::date
      and (evaluation_consent_withdrawn_on is null or evaluation_consent_withdrawn_on > ${asOf}::date)`;
  // Only the cohort of the query's provider and period comes to the API; its siblings are counted in SQL.
  const [programmeRows, members, cells] = await Promise.all([
    sql<{ programme_id: string }[]>`
      select distinct programme_id from ${sql(participantsTable)} ${scope}
        ${dc.provider ? sql`and provider_id = ${dc.provider}` : sql``}`.catch(emptyIfNoReadModel),
    sql<
      {
        stream_id: string;
        programme_id: string;
        enrolled_on: string;
        evaluation_consent_withdrawn_on: string | null;
      }[]
    >`
      select stream_id, programme_id, enrolled_on::text, evaluation_consent_withdrawn_on::text
      from ${sql(participantsTable)} ${cohort}
        ${dc.provider ? sql`and provider_id = ${dc.provider}` : sql``}
        and enrolled_on between ${q.cohortFrom}::date and ${q.cohortTo}::date`.catch(emptyIfNoReadModel),
    dc.applied && dc.period
      ? countCells(
          sql,
          sql`
            select programme_id as part, ${dc.keyProvider(sql, 'provider_id')} as provider, '' as grp,
                   stream_id as id, enrolled_on as d
            from ${sql(participantsTable)} ${cohort}`,
          (provider, group) => dc.key(provider, group),
          { levels: LEVELS_FROM[dc.period.level], totals: dc.rowKey(null) === null },
        ).catch(emptyIfNoReadModel)
      : new Map<string, CountedCells>(),
  ]);
  const offences =
    members.length === 0
      ? []
      : await sql<{ stream_id: string; offence_date: string; proven_date: string; serious_violence: boolean }[]>`
    select stream_id, offence_date::text, proven_date::text, serious_violence from ${sql(offencesTable)}
    where stream_id = any(${members.map((p) => p.stream_id)}::text[])`.catch(emptyIfNoReadModel);
  const byStream = groupBy(offences, (o) => o.stream_id);
  const membersOf = groupBy(members, (p) => p.programme_id);
  const cellsOf = new Map(cells);
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
      const participants: ReoffendingParticipant[] = (membersOf.get(programmeId) ?? []).map((p) => ({
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
      if (dc.publishedCells(cellsOf.get(programmeId), null)) return row;
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
