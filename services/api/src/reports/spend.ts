import type { Principal, ReportQuery } from '@vru/contracts';
import { rateSuppressed, spendFigures, type CountedCells } from '@vru/domain';
import { participantsReadModel, spendReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { countCells, disclosureScope, LEVELS_FROM } from '../disclosure.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';
import { groupBy } from './figures.js';
import { emptyIfNoReadModel } from './read-model.js';

const { grants: grantsTable, spend: spendTable } = spendReadModel.tables;
const { participants: participantsTable } = participantsReadModel.tables;

/** The spend report: per grant, spend against award and cost per participant. */
export const spendReport = (sql: Sql, principal: Principal, q: ReportQuery) =>
  atConsistentPosition(sql, principal, ['spend', 'participants'], q, (tx, at) => spendAt(tx, at, principal, q));

async function spendAt(sql: Sql, at: ReportSnapshot, principal: Principal, q: ReportQuery) {
  const dc = disclosureScope(principal, q.providerId, { from: q.from, to: q.to, required: false });
  const window = dc.window(q.from, q.to);
  const { computedAt, position, asOf } = at;
  const grants = await sql<
    {
      grant_ref: string;
      provider_id: string;
      programme_id: string;
      amount_pence: string;
      start_date: string;
      end_date: string;
    }[]
  >`
    select grant_ref, provider_id, programme_id, amount_pence::text, start_date::text, end_date::text from ${sql(grantsTable)}
    where true
      ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
      ${dc.provider ? sql`and provider_id = ${dc.provider}` : sql``}
    order by grant_ref`.catch(emptyIfNoReadModel);
  const refs = grants.map((g) => g.grant_ref);
  const spend =
    refs.length === 0
      ? []
      : await sql<{ grant_ref: string; amount_pence: string; category: string; period_start: string }[]>`
    select grant_ref, amount_pence::text, category, period_start::text from ${sql(spendTable)}
    where grant_ref = any(${refs}::text[])
      ${q.from ? sql`and period_start >= ${q.from}::date` : sql``}
      ${q.to ? sql`and period_start <= ${q.to}::date` : sql``}`.catch(emptyIfNoReadModel);
  // Enrolments of each grant's programme within the grant period (and the window): counted in SQL, the grant's
  // provider's in the period asked, and under the layer every provider's as the sibling cells of the grant's.
  const enrolments = sql`
    from ${sql(grantsTable)} g
    join ${sql(participantsTable)} p on p.programme_id = g.programme_id and p.enrolled_on between g.start_date and g.end_date
    where g.grant_ref = any(${refs}::text[])
      ${window.from ? sql`and p.enrolled_on >= ${window.from}::date` : sql``}
      ${window.to ? sql`and p.enrolled_on <= ${window.to}::date` : sql``}`;
  const [counts, cells] =
    refs.length === 0
      ? [[], new Map<string, CountedCells>()]
      : await Promise.all([
          sql<{ grant_ref: string; enrolled: number; completed: number }[]>`
            select g.grant_ref, count(*)::int as enrolled, count(*) filter (where p.exit_reason = 'completed')::int as completed
            ${enrolments} and p.provider_id = g.provider_id
              ${q.from ? sql`and p.enrolled_on >= ${q.from}::date` : sql``}
              ${q.to ? sql`and p.enrolled_on <= ${q.to}::date` : sql``}
            group by 1`.catch(emptyIfNoReadModel),
          dc.applied
            ? countCells(
                sql,
                sql`select g.grant_ref as part, p.provider_id as provider, '' as grp, p.stream_id as id, p.enrolled_on as d
                    ${enrolments}`,
                (provider) => provider,
                { levels: dc.period ? LEVELS_FROM[dc.period.level] : [], totals: false },
              ).catch(emptyIfNoReadModel)
            : new Map<string, CountedCells>(),
        ]);
  const countsOf = new Map(counts.map((c) => [c.grant_ref, c]));
  const cellsOf = new Map(cells);
  const spendByGrant = groupBy(spend, (s) => s.grant_ref);
  return {
    report: 'spend' as const,
    filters: reportFilters(q),
    asOf,
    position,
    computedAt,
    suppressed: dc.applied,
    disclosure: dc.stamp,
    rows: grants.map((g) => {
      const items = spendByGrant.get(g.grant_ref) ?? [];
      const lines = items.map((s) => ({
        amountPence: Number(s.amount_pence),
        category: s.category,
        periodStart: s.period_start,
      }));
      const figures = spendFigures(Number(g.amount_pence), lines);
      const spent = figures.spentPence;
      const enrolled = countsOf.get(g.grant_ref)?.enrolled ?? 0;
      const completed = countsOf.get(g.grant_ref)?.completed ?? 0;
      const published = dc.publishedCellKey(cellsOf.get(g.grant_ref), g.provider_id);
      const costPer = (n: number) => (n === 0 || (dc.applied && rateSuppressed(n, n)) ? null : Math.round(spent / n));
      return {
        grantRef: g.grant_ref,
        providerId: g.provider_id,
        programmeId: g.programme_id,
        awardedPence: figures.awardedPence,
        spentPence: figures.spentPence,
        remainingPence: figures.remainingPence,
        spentByCategory: figures.spentByCategory,
        spentByQuarter: figures.spentByQuarter,
        enrolled: published ? enrolled : null,
        completed: published ? dc.count(completed) : null,
        costPerEnrolledPence: published ? costPer(enrolled) : null,
        costPerCompletionPence: published ? costPer(completed) : null,
      };
    }),
  };
}
