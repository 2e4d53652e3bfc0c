import type { OutcomesQuery, Principal } from '@vru/contracts';
import { pairedChange, RELIABLE_CHANGE, rateSuppressed } from '@vru/domain';
import { outcomesReadModel, participantsReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { disclosedRows, disclosureScope, groupVocabulary, withheld, type MonthCell } from '../disclosure.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';
import { groupValueSql, rate, round } from './figures.js';
import { groupRows } from './group-rows.js';
import { emptyIfNoReadModel } from './read-model.js';

const { outcomes: outcomesTable } = outcomesReadModel.tables;
const { participants: participantsTable } = participantsReadModel.tables;

/** One row's people of one programme, instrument and scale: how many, and the scores of those with both measures. */
interface OutcomeFigures {
  programme_id: string;
  instrument: string;
  scale: string;
  grp: string;
  members: number;
  /** Baseline and exit scores of the people with both, in the same order. */
  baselines: number[] | null;
  exits: number[] | null;
}

/** The outcomes report: baseline to exit change per programme, instrument and scale. */
export const outcomesReport = (sql: Sql, principal: Principal, q: OutcomesQuery) =>
  atConsistentPosition(sql, principal, ['outcomes', 'participants'], q, (tx, at) => outcomesAt(tx, at, principal, q));

async function outcomesAt(sql: Sql, at: ReportSnapshot, principal: Principal, q: OutcomesQuery) {
  const dc = disclosureScope(principal, q.providerId, { from: q.from, to: q.to, required: true });
  const vocabulary = await groupVocabulary(sql, dc, q.groupBy);
  const window = dc.window(q.from, q.to);
  const { computedAt, position, asOf } = at;
  const by = q.groupBy;
  const people = sql`
    select r.*, ${groupValueSql(sql, by, 'enrolled_on')} as grp,
      date_trunc('month', enrolled_on::timestamp)::date::text as month, ${dc.inScopeSql(sql, 'enrolled_on')} as in_scope
    from (
      select o.stream_id, o.programme_id, o.instrument, o.scale, o.baseline_score, o.exit_score, p.enrolled_on,
             p.provider_id, p.age_band, p.gender, p.ethnicity, p.referral_source, p.postcode_district
      from ${sql(outcomesTable)} o join ${sql(participantsTable)} p on p.stream_id = o.stream_id
      where p.evaluation_consent_from is not null
        and (p.evaluation_consent_withdrawn_on is null or p.evaluation_consent_withdrawn_on > ${asOf}::date)
        ${q.programmeId ? sql`and o.programme_id = ${q.programmeId}` : sql``}
        ${dc.sqlProvider ? sql`and o.provider_id = ${dc.sqlProvider}` : sql``}
        ${window.from ? sql`and p.enrolled_on >= ${window.from}::date` : sql``}
        ${window.to ? sql`and p.enrolled_on <= ${window.to}::date` : sql``}) r`;
  // One scan: each row's own people (its provider, its period) with the scores of those measured at both ends; under
  // the layer, every provider's people of the window per cell and month (the siblings each row is judged by).
  const both = sql`in_scope and baseline_score is not null and exit_score is not null`;
  const counted = await sql<(OutcomeFigures & MonthCell & { cell: boolean })[]>`
    select programme_id, instrument, scale, grp, grouping(provider_id) = 0 as cell, provider_id, month, grp as "group",
      count(*)::int as people, count(*) filter (where in_scope)::int as members,
      -- Both arrays take a group's rows in the same order (one pass), unordered so that the aggregate can hash.
      array_agg(baseline_score) filter (where ${both}) as baselines, array_agg(exit_score) filter (where ${both}) as exits
    from (${people}) r
    group by grouping sets ((programme_id, instrument, scale, grp), (programme_id, instrument, scale, provider_id, month, grp))`.catch(
    emptyIfNoReadModel,
  );
  const cells = counted.filter((c) => c.cell);
  const figures = counted.filter((c) => !c.cell);
  const populationOf = (r: { programme_id: string; instrument: string; scale: string }) =>
    `${r.programme_id}\u0000${r.instrument}\u0000${r.scale}`;
  const cellsOf = groupRows(cells, populationOf);
  const groupsOf = groupRows(figures, populationOf);
  const figuresOf = new Map(figures.map((f) => [`${populationOf(f)}\u0000${f.grp}`, f]));
  const populations = [...(dc.applied ? cellsOf : groupsOf).values()]
    .map((rows) => ({ ...rows[0]!, population: populationOf(rows[0]!) }))
    .sort((a, b) => a.population.localeCompare(b.population));
  return {
    report: 'outcomes' as const,
    filters: reportFilters(q),
    asOf,
    position,
    computedAt,
    suppressed: dc.applied,
    disclosure: dc.stamp,
    rows: populations.flatMap(({ population, programme_id: programmeId, instrument, scale }) => {
      const present = (groupsOf.get(population) ?? []).map((f) => f.grp);
      return disclosedRows(dc, cellsOf.get(population) ?? [], by, vocabulary?.(programmeId) ?? null, present).flatMap(
        ({ group, published }) => {
          const f = figuresOf.get(`${population}\u0000${group ?? ''}`);
          const members = f?.members ?? 0;
          if (members === 0 && !dc.applied) return [];
          const exits = f?.exits ?? [];
          const pairs = (f?.baselines ?? []).map((baseline, i) => ({ baseline, exit: exits[i]! }));
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
            missingPairs: dc.count(members - pairs.length),
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
        },
      );
    }),
  };
}
