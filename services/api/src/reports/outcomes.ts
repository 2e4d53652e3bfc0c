import type { OutcomesQuery, Principal } from '@vru/contracts';
import { pairedChange, RELIABLE_CHANGE, rateSuppressed, type CountedCells } from '@vru/domain';
import { outcomesReadModel, participantsReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import {
  countCells,
  disclosedGroupsOf,
  disclosureScope,
  groupCells,
  groupVocabulary,
  withheld,
} from '../disclosure.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';
import { groupBy, groupValue, rate, round, type GroupFields } from './figures.js';
import { emptyIfNoReadModel } from './read-model.js';

const { outcomes: outcomesTable } = outcomesReadModel.tables;
const { participants: participantsTable } = participantsReadModel.tables;

type OutcomeRecord = {
  stream_id: string;
  instrument: string;
  scale: string;
  baseline_score: number | null;
  exit_score: number | null;
  enrolled_on: string | null;
} & GroupFields;

/** The outcomes report: baseline to exit change per programme, instrument and scale. */
export const outcomesReport = (sql: Sql, principal: Principal, q: OutcomesQuery) =>
  atConsistentPosition(sql, principal, ['outcomes', 'participants'], q, (tx, at) => outcomesAt(tx, at, principal, q));

async function outcomesAt(sql: Sql, at: ReportSnapshot, principal: Principal, q: OutcomesQuery) {
  const dc = disclosureScope(principal, q.providerId, { from: q.from, to: q.to, required: true });
  const vocabulary = await groupVocabulary(sql, dc, q.groupBy);
  const window = dc.window(q.from, q.to);
  const { computedAt, position, asOf } = at;
  const by = q.groupBy;
  const records = sql`
    select o.stream_id, o.programme_id, o.instrument, o.scale, o.baseline_score, o.exit_score, p.enrolled_on,
           p.provider_id, p.age_band, p.gender, p.ethnicity, p.referral_source, p.postcode_district
    from ${sql(outcomesTable)} o join ${sql(participantsTable)} p on p.stream_id = o.stream_id
    where p.evaluation_consent_from is not null
      and (p.evaluation_consent_withdrawn_on is null or p.evaluation_consent_withdrawn_on > ${asOf}::date)
      ${q.programmeId ? sql`and o.programme_id = ${q.programmeId}` : sql``}
      ${dc.sqlProvider ? sql`and o.provider_id = ${dc.sqlProvider}` : sql``}
      ${window.from ? sql`and p.enrolled_on >= ${window.from}::date` : sql``}
      ${window.to ? sql`and p.enrolled_on <= ${window.to}::date` : sql``}`;
  const cellsOf = groupCells(sql, dc, by, 'r');
  // Only the records of the query's provider and period come to the API; their siblings are counted in SQL.
  const [rows, cells] = await Promise.all([
    sql<OutcomeRecord[]>`
      select stream_id, programme_id, instrument, scale, baseline_score, exit_score, enrolled_on::text, provider_id,
             age_band, gender, ethnicity, referral_source, postcode_district
      from (${records}) r where true ${dc.inScopeSql(sql, 'provider_id', 'enrolled_on')}`.catch(emptyIfNoReadModel),
    dc.applied
      ? countCells(
          sql,
          sql`
            select json_build_array(r.programme_id, r.instrument, r.scale)::text as part,
                   ${dc.keyProvider(sql, 'r.provider_id')} as provider, ${cellsOf.grp} as grp, r.stream_id as id,
                   r.enrolled_on as d
            from (${records}) r`,
          (provider, group) => dc.key(provider, group),
          cellsOf,
        ).catch(emptyIfNoReadModel)
      : new Map<string, CountedCells>(),
  ]);
  const populationKey = (programmeId: string, instrument: string, scale: string) =>
    `${programmeId}\u0000${instrument}\u0000${scale}`;
  const inScope = groupBy(rows, (r) => populationKey(r.programme_id, r.instrument, r.scale));
  const cellsByPopulation = new Map(
    [...new Map(cells)].map(([part, c]) => {
      const [programmeId, instrument, scale] = JSON.parse(part) as [string, string, string];
      return [populationKey(programmeId, instrument, scale), c];
    }),
  );
  // Under the layer every population with anyone in the window answers, present or not in the query's cells.
  const populations = [...new Set([...inScope.keys(), ...cellsByPopulation.keys()])].sort((a, b) => a.localeCompare(b));
  return {
    report: 'outcomes' as const,
    filters: reportFilters(q),
    asOf,
    position,
    computedAt,
    suppressed: dc.applied,
    disclosure: dc.stamp,
    rows: populations.flatMap((key) => {
      const [programmeId, instrument, scale] = key.split('\u0000') as [string, string, string];
      return disclosedGroupsOf(
        dc,
        inScope.get(key) ?? [],
        by,
        vocabulary?.(programmeId) ?? null,
        cellsByPopulation.get(key),
        {
          date: (r) => r.enrolled_on,
          group: (r) => (by ? groupValue(r, by, r.enrolled_on) : ''),
        },
      ).flatMap(({ group, members: g, published }) => {
        if (g.length === 0 && !dc.applied) return [];
        const pairs = g
          .filter((r) => r.baseline_score !== null && r.exit_score !== null)
          .map((r) => ({ baseline: r.baseline_score!, exit: r.exit_score! }));
        const c = pairedChange(instrument, pairs);
        const hideMeans = dc.applied && rateSuppressed(null, pairs.length);
        const improved = c.reliablyImproved;
        const row = {
          programmeId,
          ...(group !== undefined ? { group } : {}),
          instrument,
          scale,
          // Pairs are the population of every figure after them: under MIN_POPULATION only the row's size is left.
          pairs: dc.count(pairs.length),
          missingPairs: dc.count(g.length - pairs.length),
          meanBaseline: hideMeans ? null : round(c.meanBaseline),
          meanExit: hideMeans ? null : round(c.meanExit),
          meanChange:
            hideMeans || !c.change
              ? null
              : {
                  mean: round(c.change.mean)!,
                  lower: round(c.change.ci?.lower ?? null),
                  upper: round(c.change.ci?.upper ?? null),
                },
          reliableChangeThreshold: RELIABLE_CHANGE[instrument]?.points ?? null,
          reliablyImproved:
            improved && !(dc.applied && rateSuppressed(improved.numerator, pairs.length)) ? rate(improved) : null,
        };
        return [
          published ? row : withheld(row, ['programmeId', 'group', 'instrument', 'scale', 'reliableChangeThreshold']),
        ];
      });
    }),
  };
}
