import type { Principal, ReoffendingQuery } from '@vru/contracts';
import {
  FOLLOW_UP_MONTHS,
  provenReoffending,
  rateSuppressed,
  reoffendingResult,
  WAITING_PERIOD_MONTHS,
  type ReoffendingCounts,
  type ReoffendingMeasures,
} from '@vru/domain';
import { offencesReadModel, participantsReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { disclosedRows, disclosureScope, withheld, type Disclosure } from '../disclosure.js';
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

/**
 * `isProvenReoffence` in SQL, for an offence `o` of a participant `p` indexed on `p.enrolled_on`: committed in the
 * follow-up year, proven before its waiting period ends and by `asOf`. Date plus months in PostgreSQL ends on the target
 * month's last day when the day does not exist, as `addMonths` does; reoffending-rule.int.test holds the two equal.
 */
export const provenReoffenceSql = (sql: Sql, asOf: string) => sql`(o.offence_date >= p.enrolled_on
  and o.offence_date < (p.enrolled_on + make_interval(months => ${FOLLOW_UP_MONTHS}::int))::date
  and o.proven_date < (p.enrolled_on + make_interval(months => ${FOLLOW_UP_MONTHS + WAITING_PERIOD_MONTHS}::int))::date
  and o.proven_date <= ${asOf}::date)`;

/** One programme's cohort counted per provider, month of enrolment and whether the query's scope holds it. */
interface CohortCell {
  programme_id: string;
  provider_id: string;
  month: string;
  in_scope: boolean;
  people: number;
  reoffenders: number;
  reoffences: number;
  serious_reoffenders: number;
  serious_reoffences: number;
  last_index_date: string;
}

/** The in-scope cells of a programme added up, as `reoffendingResult` takes them. */
function countedInScope(cells: readonly CohortCell[]) {
  const all: ReoffendingCounts = { people: 0, reoffenders: 0, reoffences: 0 };
  const seriousViolence: ReoffendingCounts = { people: 0, reoffenders: 0, reoffences: 0 };
  let lastIndexDate: string | null = null;
  for (const c of cells) {
    if (!c.in_scope) continue;
    all.people += c.people;
    all.reoffenders += c.reoffenders;
    all.reoffences += c.reoffences;
    seriousViolence.people += c.people;
    seriousViolence.reoffenders += c.serious_reoffenders;
    seriousViolence.reoffences += c.serious_reoffences;
    if (lastIndexDate === null || c.last_index_date > lastIndexDate) lastIndexDate = c.last_index_date;
  }
  // The query leaves out those who withdrew consent; the report does not publish how many.
  return { all, seriousViolence, lastIndexDate, excludedWithdrawn: 0 };
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
  // year). Counted here per programme, provider, month of enrolment and scope, each member's proven reoffences by
  // `provenReoffenceSql` (the domain's rule), so no person's row leaves the database. Only the cohort's people in scope
  // (the query's provider and period) are measured; the siblings are counted for disclosure control.
  const cohortPeriod = { from: q.cohortFrom, to: q.cohortTo };
  const [programmeRows, cohortCells] = await Promise.all([
    sql<{ programme_id: string }[]>`
      select distinct programme_id from ${sql(participantsTable)}
      where true
        ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
        ${dc.provider ? sql`and provider_id = ${dc.provider}` : sql``}`.catch(emptyIfNoReadModel),
    sql<CohortCell[]>`
      select programme_id, provider_id, to_char(enrolled_on, 'YYYY-MM') || '-01' as month,
        ${dc.inScopeSql(sql, 'enrolled_on', cohortPeriod)} as in_scope,
        count(*)::int as people, count(*) filter (where reoffences > 0)::int as reoffenders,
        sum(reoffences)::int as reoffences, count(*) filter (where serious > 0)::int as serious_reoffenders,
        sum(serious)::int as serious_reoffences, max(enrolled_on)::text as last_index_date
      from (
        select p.programme_id, p.provider_id, p.enrolled_on, count(o.stream_id) as reoffences,
          count(o.stream_id) filter (where o.serious_violence) as serious
        from ${sql(participantsTable)} p
          left join ${sql(offencesTable)} o on o.stream_id = p.stream_id and ${provenReoffenceSql(sql, asOf)}
        where p.evaluation_consent_from is not null
          and p.enrolled_on between ${window.from!}::date and ${window.to!}::date
          and (p.evaluation_consent_withdrawn_on is null or p.evaluation_consent_withdrawn_on > ${asOf}::date)
          ${q.programmeId ? sql`and p.programme_id = ${q.programmeId}` : sql``}
          ${dc.sqlProvider ? sql`and p.provider_id = ${dc.sqlProvider}` : sql``}
        group by p.stream_id, p.programme_id, p.provider_id, p.enrolled_on
      ) member
      group by programme_id, provider_id, month, in_scope`.catch(emptyIfNoReadModel),
  ]);
  const cellsOf = groupRows(cohortCells, (c) => c.programme_id);
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
      const cells = cellsOf.get(programmeId) ?? [];
      const r = reoffendingResult(countedInScope(cells), cohortPeriod, asOf);
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
        cells.map((c) => ({ provider_id: c.provider_id, group: null, month: c.month, people: c.people })),
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
