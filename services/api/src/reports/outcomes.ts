import type { OutcomesQuery, Principal } from '@vru/contracts';
import { pairedChange, RELIABLE_CHANGE, rateSuppressed } from '@vru/domain';
import { outcomesReadModel, participantsReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { disclosedGroups, disclosureScope, groupVocabulary, withheld } from '../disclosure.js';
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
  const rows = await sql<OutcomeRecord[]>`
    select o.stream_id, o.programme_id, o.instrument, o.scale, o.baseline_score, o.exit_score, p.enrolled_on::text,
           p.provider_id, p.age_band, p.gender, p.ethnicity, p.referral_source, p.postcode_district
    from ${sql(outcomesTable)} o join ${sql(participantsTable)} p on p.stream_id = o.stream_id
    where p.evaluation_consent_from is not null
      and (p.evaluation_consent_withdrawn_on is null or p.evaluation_consent_withdrawn_on > ${asOf}::date)
      ${q.programmeId ? sql`and o.programme_id = ${q.programmeId}` : sql``}
      ${dc.sqlProvider ? sql`and o.provider_id = ${dc.sqlProvider}` : sql``}
      ${window.from ? sql`and p.enrolled_on >= ${window.from}::date` : sql``}
      ${window.to ? sql`and p.enrolled_on <= ${window.to}::date` : sql``}`.catch(emptyIfNoReadModel);
  const by = q.groupBy;
  const populations = groupBy(rows, (r) => `${r.programme_id}\u0000${r.instrument}\u0000${r.scale}`);
  return {
    report: 'outcomes' as const,
    filters: reportFilters(q),
    asOf,
    position,
    computedAt,
    suppressed: dc.applied,
    disclosure: dc.stamp,
    rows: [...populations.values()].flatMap((population) => {
      const { programme_id: programmeId, instrument, scale } = population[0]!;
      return disclosedGroups(dc, population, by, vocabulary?.(programmeId) ?? null, {
        id: (r) => r.stream_id,
        provider: (r) => r.provider_id,
        date: (r) => r.enrolled_on,
        group: (r) => (by ? groupValue(r, by, r.enrolled_on) : ''),
      }).flatMap(({ group, members: g, published }) => {
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
