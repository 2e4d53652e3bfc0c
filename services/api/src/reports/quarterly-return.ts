import { DeliverySettings, type Principal, type QuarterlyReturnQuery } from '@vru/contracts';
import { CountedCells, quarterBounds, type CellCounts } from '@vru/domain';
import { attendanceReadModel, participantsReadModel, spendReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { countCells, disclosureScope } from '../disclosure.js';
import { emptyIfNoReadModel } from './read-model.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';

const { grants: grantsTable, spend: spendTable } = spendReadModel.tables;
const { participants: participantsTable } = participantsReadModel.tables;
const { sessions: sessionsTable } = attendanceReadModel.tables;

/**
 * The quarterly return a VRU sends the Home Office: per programme, people reached (referred; active) by age band
 * and delivery setting, sessions delivered, completions, and spend against each grant. Definitions: docs/metrics.md.
 */

const NO_CELLS = new CountedCells([]);

export const QUARTER_AGE_BANDS = ['under-10', '10-13', '14-17', '18-21', '22-25', '26+', 'unknown'] as const;

/** Counts by a key, every listed key present (0 when none), any other value after them. */
export function breakdown<T>(
  people: readonly T[],
  key: (p: T) => string,
  keys: readonly string[],
): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
  for (const p of people) out[key(p)] = (out[key(p)] ?? 0) + 1;
  return out;
}

/**
 * The quarterly return. Under disclosure control every people count is a population of its own (referred,
 * active, newly enrolled, completions; attenders behind sessions delivered), judged against the other quarters
 * and months of its financial year (flows) or the other providers and breakdown cells (the active stock).
 */
export const quarterlyReturnReport = (sql: Sql, principal: Principal, q: QuarterlyReturnQuery) =>
  atConsistentPosition(sql, principal, ['participants', 'attendance', 'spend'], q, (tx, at) =>
    quarterlyReturnAt(tx, at, principal, q),
  );

async function quarterlyReturnAt(sql: Sql, at: ReportSnapshot, principal: Principal, q: QuarterlyReturnQuery) {
  const { start, end } = quarterBounds(q.quarter);
  const dc = disclosureScope(principal, q.providerId, { from: start, to: end, required: true });
  const window = dc.window(start, end) as { from: string; to: string };
  const { computedAt, position, asOf } = at;
  const programmeFilter = (column = 'programme_id') =>
    q.programmeId ? sql`and ${sql(column)} = ${q.programmeId}` : sql``;
  const providerFilter = (column = 'provider_id') => (dc.provider ? sql`and ${sql(column)} = ${dc.provider}` : sql``);
  const siblingProviderFilter = () => (dc.sqlProvider ? sql`and provider_id = ${dc.sqlProvider}` : sql``);
  // One row per person and figure: the figure's breakdown value and the date that places it (null for the stock).
  const figures = sql`
    select p.programme_id || ' ' || x.figure as part, ${dc.keyProvider(sql, 'provider_id')} as provider, x.grp,
           p.stream_id as id, x.d
    from (select *, coalesce(age_band, 'unknown') as band,
                 coalesce(delivery_setting, case when enrolled_on is null then 'not-enrolled' else 'unknown' end) as setting,
                 enrolled_on <= ${end}::date and (exit_date is null or exit_date >= ${start}::date) as active
          from ${sql(participantsTable)}
          where ((referral_date between ${window.from}::date and ${window.to}::date)
              or (enrolled_on <= ${window.to}::date and (exit_date is null or exit_date >= ${window.from}::date)))
            ${programmeFilter()} ${siblingProviderFilter()}) p
    cross join lateral (values
      ('referred', '', referral_date), ('referredByAgeBand', band, referral_date),
      ('referredByDeliverySetting', setting, referral_date), ('newlyEnrolled', '', enrolled_on),
      ('completions', '', case when exit_reason = 'completed' then exit_date end),
      ('active', '', null), ('activeByAgeBand', band, null), ('activeByDeliverySetting', setting, null)
    ) x(figure, grp, d)
    where case when x.figure like 'active%' then p.active else x.d between ${window.from}::date and ${window.to}::date end`;
  // Attenders once per month of session: the finest period a check asks for is the quarter.
  const attenders = sql`
    select distinct programme_id || ' sessionsDelivered' as part, ${dc.keyProvider(sql, 'provider_id')} as provider,
           '' as grp, stream_id as id, date_trunc('month', session_date)::date as d
    from ${sql(sessionsTable)}
    where attended and session_date between ${window.from}::date and ${window.to}::date ${programmeFilter()} ${siblingProviderFilter()}`;
  const [cells, sessions, grants] = await Promise.all([
    countCells(sql, sql`${figures} union all ${attenders}`, (provider, group) => dc.key(provider, group), {
      levels: ['quarter', 'financial-year'],
      totals: true,
    }).catch(emptyIfNoReadModel),
    sql<{ programme_id: string; attended: number }[]>`
      select programme_id, count(*)::int as attended from ${sql(sessionsTable)}
      where attended and session_date between ${start}::date and ${end}::date ${programmeFilter()} ${providerFilter()}
      group by 1`.catch(emptyIfNoReadModel),
    sql<
      {
        grant_ref: string;
        provider_id: string;
        programme_id: string;
        amount_pence: string;
        in_quarter: string;
        to_end: string;
      }[]
    >`
      select g.grant_ref, g.provider_id, g.programme_id, g.amount_pence::text,
             coalesce(sum(s.amount_pence) filter (where s.period_start between ${start}::date and ${end}::date), 0)::text as in_quarter,
             coalesce(sum(s.amount_pence) filter (where s.period_start <= ${end}::date), 0)::text as to_end
      from ${sql(grantsTable)} g left join ${sql(spendTable)} s on s.grant_ref = g.grant_ref
      where true ${programmeFilter('g.programme_id')} ${providerFilter('g.provider_id')}
      group by g.grant_ref, g.provider_id, g.programme_id, g.amount_pence, g.start_date, g.end_date
      having (g.start_date <= ${end}::date and g.end_date >= ${start}::date)
          or count(*) filter (where s.period_start between ${start}::date and ${end}::date) > 0
      order by g.grant_ref`.catch(emptyIfNoReadModel),
  ]);
  const cellsOf = new Map(cells);
  const quarter = dc.period ?? { from: start, to: end, level: 'quarter' as const };
  const of = (programmeId: string, figure: string) => cellsOf.get(`${programmeId} ${figure}`) ?? NO_CELLS;
  /** In-scope people of a figure: its row's cell (the provider's, when one is named) in the quarter or, stock, now. */
  const inScope = (c: CellCounts, group: string | null, dated: boolean) =>
    c.count(dc.rowKey(group), dated ? quarter : null);
  const attendedIn = new Map(sessions.map((s) => [s.programme_id, s.attended]));
  const programmes = [
    ...new Set([
      ...[...cellsOf.keys()]
        .map((part): [string, string] => [part.slice(0, part.lastIndexOf(' ')), part.slice(part.lastIndexOf(' ') + 1)])
        .filter(([id, figure]) => {
          if (figure === 'referred') return inScope(of(id, figure), null, true) > 0;
          if (figure === 'active') return inScope(of(id, figure), null, false) > 0;
          return figure === 'sessionsDelivered' && attendedIn.has(id);
        })
        .map(([id]) => id),
      ...grants.map((g) => g.programme_id),
    ]),
  ].sort();
  /** A figure without breakdown: its count, or null when the layer withholds it. */
  const flow = (programmeId: string, figure: string, dated: boolean): number | null => {
    const c = of(programmeId, figure);
    return dc.publishedCells(c, null, dated ? dc.period : null) ? inScope(c, null, dated) : null;
  };
  /**
   * A breakdown of a figure, every listed key present. Dated: the cells are flows of the financial year, judged
   * against the other quarters too; otherwise (the active stock) against the other keys and providers only. A
   * provider's own figures also answer any other value it has, after the listed ones.
   */
  const record = (programmeId: string, figure: string, keys: readonly string[], dated: boolean) => {
    const c = of(programmeId, figure);
    const count = (k: string) => inScope(c, k, dated);
    if (!dc.applied) {
      const others = c
        .keys()
        .map((key) => key.slice(key.indexOf('\u0000') + 1))
        .filter((k) => !keys.includes(k) && count(k) > 0)
        .sort();
      return Object.fromEntries([...keys, ...others].map((k) => [k, count(k)]));
    }
    return Object.fromEntries(
      [...keys, 'unknown']
        .filter((k, i, all) => all.indexOf(k) === i)
        .map((k) => [k, dc.publishedCells(c, k, dated ? dc.period : null) ? count(k) : null]),
    );
  };
  return {
    report: 'quarterly-return' as const,
    filters: reportFilters(q),
    quarterStart: start,
    quarterEnd: end,
    asOf,
    position,
    computedAt,
    suppressed: dc.applied,
    disclosure: dc.stamp,
    rows: programmes.map((programmeId) => {
      const attended = attendedIn.get(programmeId) ?? 0;
      return {
        programmeId,
        referred: flow(programmeId, 'referred', true),
        referredByAgeBand: record(programmeId, 'referredByAgeBand', QUARTER_AGE_BANDS, true),
        referredByDeliverySetting: record(
          programmeId,
          'referredByDeliverySetting',
          [...DeliverySettings, 'not-enrolled'],
          true,
        ),
        active: flow(programmeId, 'active', false),
        activeByAgeBand: record(programmeId, 'activeByAgeBand', QUARTER_AGE_BANDS, false),
        activeByDeliverySetting: record(programmeId, 'activeByDeliverySetting', DeliverySettings, false),
        newlyEnrolled: flow(programmeId, 'newlyEnrolled', true),
        sessionsDelivered: dc.publishedCells(of(programmeId, 'sessionsDelivered'), null) ? dc.count(attended) : null,
        completions: flow(programmeId, 'completions', true),
        grants: Object.fromEntries(
          grants
            .filter((g) => g.programme_id === programmeId)
            .map((g) => [
              g.grant_ref,
              {
                providerId: g.provider_id,
                awardedPence: Number(g.amount_pence),
                spentInQuarterPence: Number(g.in_quarter),
                spentToQuarterEndPence: Number(g.to_end),
                remainingAtQuarterEndPence: Number(g.amount_pence) - Number(g.to_end),
              },
            ]),
        ),
      };
    }),
  };
}
