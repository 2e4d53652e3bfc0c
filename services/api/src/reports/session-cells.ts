import {
  CountedCells,
  financialYearOf,
  monthOf,
  quarterPeriodOf,
  type AlignedPeriod,
  type Period,
  type PeriodLevel,
} from '@vru/domain';
import { attendanceReadModel, liveTable, SESSION_PERIODS_SQL } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import type { Disclosure } from '../disclosure.js';
import { emptyIfNoReadModel } from './read-model.js';

const { sessions, people, cells } = attendanceReadModel.tables;
const table = (name: string) => liveTable(attendanceReadModel, name);

/**
 * One disclosure cell of sessions: a programme, a provider ('' for every provider together) and a month, quarter or
 * financial year. `people` had a session in it, `attenders` attended at least one; `attended` and `missed` are its
 * sessions.
 */
export interface SessionCell {
  programme_id: string;
  provider_id: string;
  period_level: PeriodLevel;
  period_from: string;
  people: number;
  attenders: number;
  attended: number;
  missed: number;
}

/**
 * The session cells of a financial year (every provider: the siblings disclosure control judges against), from the
 * running counts the attendance projection keeps: a few hundred rows rather than a year of sessions. At a past
 * position (as-at) the people and sessions above it are subtracted from them, as the data-quality report does; when
 * more of the log lies above the position than at or below it, the rows at or below it are counted instead (the
 * cheaper of the two reads).
 */
export async function readSessionCells(
  sql: Sql,
  programmeId: string | undefined,
  year: Period,
): Promise<SessionCell[]> {
  const [at] = await sql<{ head: string; position: string | null }[]>`
    select position::text as head, nullif(current_setting('vru.as_at', true), '') as position
    from ${sql(table('checkpoint'))}`.catch(emptyIfNoReadModel);
  if (!at) return [];
  const below = at.position !== null && BigInt(at.head) - BigInt(at.position) > BigInt(at.position);
  const programme = programmeId ? sql`and programme_id = ${programmeId}` : sql``;
  const inYear = (column: string) => sql`${sql(column)} between ${year.from}::date and ${year.to}::date ${programme}`;
  // Rows above the position, subtracted from the running counts; or the rows at or below it, counted.
  const rows = sql`valid_from ${below ? sql`<=` : sql`>`} ${at.position ?? '0'}::bigint`;
  const sign = below ? 1 : -1;
  return sql<SessionCell[]>`
    with months as (
      -- Sessions by month first: a session's periods are those of its month.
      select programme_id, provider_id, date_trunc('month', session_date)::date as session_date,
        count(*) filter (where attended)::int as attended, count(*) filter (where not attended)::int as missed
      from ${sql(table(`${sessions}_versions`))}
      where ${at.position === null ? sql`false` : rows} and ${inYear('session_date')}
      group by 1, 2, 3)
    select programme_id, provider_id, period_level, period_from::text, sum(people)::int as people,
      sum(attenders)::int as attenders, sum(attended)::int as attended, sum(missed)::int as missed
    from (
      select programme_id, provider_id, period_level, period_from, people, attenders, attended, missed
      from ${sql(table(cells))}
      where ${below ? sql`false and ` : sql``}${inYear('period_from')}
      union all
      select programme_id, provider_id, period_level, period_from, ${sign} * (kind = 'session')::int,
        ${sign} * (kind = 'attended')::int, 0, 0
      from ${sql(table(`${people}_versions`))}
      where ${at.position === null ? sql`false` : rows} and ${inYear('period_from')}
      union all
      select m.programme_id, p.provider_id, c.period_level, c.period_from, 0, 0, ${sign} * m.attended, ${sign} * m.missed
      from months m
      cross join lateral ${sql.unsafe(SESSION_PERIODS_SQL)} as c(period_level, period_from)
      cross join lateral (values (m.provider_id), ('')) as p(provider_id)
    ) counted
    group by 1, 2, 3, 4 having sum(people) > 0`.catch(emptyIfNoReadModel);
}

const periodOf = (level: PeriodLevel, from: string): Period =>
  level === 'month' ? monthOf(from) : level === 'quarter' ? quarterPeriodOf(from) : financialYearOf(from);

/**
 * One programme's cells as disclosure control counts them (`people` or `attenders`): per provider when the query
 * names one (its siblings are the other providers), else every provider together.
 */
export function sessionCellCounts(
  dc: Disclosure,
  cells: readonly SessionCell[],
  count: 'people' | 'attenders',
): CountedCells {
  const rows: { key: string | null; period: Period; people: number }[] = [];
  for (const c of cells) {
    const period = periodOf(c.period_level, c.period_from);
    if (c.provider_id === '') {
      rows.push({ key: null, period, people: c[count] });
      if (!dc.provider) rows.push({ key: dc.key('', null), period, people: c[count] });
    } else if (dc.provider) rows.push({ key: dc.key(c.provider_id, null), period, people: c[count] });
  }
  return new CountedCells(rows);
}

/** The cell a query's figures come from: its provider's, or every provider's together, over its period. */
export function scopeCell(
  dc: Disclosure,
  cells: readonly SessionCell[],
  period: AlignedPeriod,
): SessionCell | undefined {
  const provider = dc.provider ?? '';
  return cells.find(
    (c) => c.provider_id === provider && c.period_level === period.level && c.period_from === period.from,
  );
}
