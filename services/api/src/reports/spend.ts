import type { Principal, ReportQuery } from '@vru/contracts';
import { CountedCells, rateSuppressed, spendFigures } from '@vru/domain';
import { participantsReadModel, spendReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { disclosureScope } from '../disclosure.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';
import { groupRows } from './group-rows.js';
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
  // Every provider's enrolments of each grant's programme within the grant's dates (the sibling cells of the grant's
  // population, one provider's), counted per grant, provider and month of enrolment: each person is one row of the
  // population, so the months add up into the cells' quarters and years. Counted in SQL rather than filtering a
  // year of people per grant in the API. Also, per grant, the enrolments and completions of its own provider within
  // the query's dates.
  const inPeriod = sql`${q.from ? sql`p.enrolled_on >= ${q.from}::date` : sql`true`}
    and ${q.to ? sql`p.enrolled_on <= ${q.to}::date` : sql`true`}`;
  const counted =
    refs.length === 0
      ? []
      : await sql<
          {
            grant_ref: string;
            provider_id: string;
            month: string;
            people: number;
            enrolled: number;
            completed: number;
          }[]
        >`
    select g.grant_ref, p.provider_id, date_trunc('month', p.enrolled_on::timestamp)::date::text as month,
      count(*)::int as people,
      count(*) filter (where p.provider_id = g.provider_id and ${inPeriod})::int as enrolled,
      count(*) filter (where p.provider_id = g.provider_id and ${inPeriod} and p.exit_reason = 'completed')::int as completed
    from ${sql(grantsTable)} g
    join ${sql(participantsTable)} p
      on p.programme_id = g.programme_id and p.enrolled_on between g.start_date and g.end_date
    where g.grant_ref = any(${refs}::text[]) and p.enrolled_on is not null
      ${window.from ? sql`and p.enrolled_on >= ${window.from}::date` : sql``}
      ${window.to ? sql`and p.enrolled_on <= ${window.to}::date` : sql``}
    group by 1, 2, 3`.catch(emptyIfNoReadModel);
  const spendByGrant = groupRows(spend, (s) => s.grant_ref);
  const countedByGrant = groupRows(counted, (c) => c.grant_ref);
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
      const months = countedByGrant.get(g.grant_ref) ?? [];
      const enrolled = months.reduce((n, c) => n + c.enrolled, 0);
      const completed = months.reduce((n, c) => n + c.completed, 0);
      const published = dc.publishedKey(
        CountedCells.fromMonths(months.map((c) => ({ key: c.provider_id, month: c.month, people: c.people }))),
        g.provider_id,
      );
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
