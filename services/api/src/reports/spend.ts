import type { Principal, ReportQuery } from '@vru/contracts';
import { rateSuppressed, spendFigures } from '@vru/domain';
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
  // Every provider's enrolments of the programmes: the sibling cells of each grant's (one provider's) population.
  const people =
    refs.length === 0
      ? []
      : await sql<
          {
            stream_id: string;
            provider_id: string;
            programme_id: string;
            enrolled_on: string;
            exit_reason: string | null;
          }[]
        >`
    select stream_id, provider_id, programme_id, enrolled_on::text, exit_reason from ${sql(participantsTable)}
    where enrolled_on is not null and programme_id = any(${[...new Set(grants.map((g) => g.programme_id))]}::text[])
      ${window.from ? sql`and enrolled_on >= ${window.from}::date` : sql``}
      ${window.to ? sql`and enrolled_on <= ${window.to}::date` : sql``}`.catch(emptyIfNoReadModel);
  const spendByGrant = groupRows(spend, (s) => s.grant_ref);
  // Indexed once: filtering every enrolment per grant was most of this report's time in the API.
  const peopleOf = groupRows(people, (p) => p.programme_id);
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
      const inGrant = (peopleOf.get(g.programme_id) ?? []).filter(
        (p) => p.enrolled_on >= g.start_date && p.enrolled_on <= g.end_date,
      );
      const inPeriod = (p: { enrolled_on: string }) =>
        (!q.from || p.enrolled_on >= q.from) && (!q.to || p.enrolled_on <= q.to);
      const enrolled = inGrant.filter((p) => p.provider_id === g.provider_id && inPeriod(p));
      const completed = enrolled.filter((p) => p.exit_reason === 'completed').length;
      const published = dc.publishedKey(
        inGrant.map((p) => ({ id: p.stream_id, key: p.provider_id, date: p.enrolled_on })),
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
        enrolled: published ? enrolled.length : null,
        completed: published ? dc.count(completed) : null,
        costPerEnrolledPence: published ? costPer(enrolled.length) : null,
        costPerCompletionPence: published ? costPer(completed) : null,
      };
    }),
  };
}
