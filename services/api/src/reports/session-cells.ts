import {
  CountedCells,
  financialYearOf,
  monthOf,
  quarterPeriodOf,
  type AlignedPeriod,
  type Period,
  type PeriodLevel,
} from '@vru/domain';
import { attendanceReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import type { Disclosure } from '../disclosure.js';
import { emptyIfNoReadModel } from './read-model.js';

const { sessions: sessionsTable, people: peopleTable, cells: cellsTable } = attendanceReadModel.tables;

/**
 * One disclosure cell of sessions: a programme, a provider ('' for every provider together) and a month, quarter or
 * financial year. `people` had a session in it, `attenders` attended at least one; `attended` and `missed` are its
 * sessions (null when read at a past position: see sessionTotals).
 */
export interface SessionCell {
  programme_id: string;
  provider_id: string;
  period_level: PeriodLevel;
  period_from: string;
  people: number;
  attenders: number;
  attended: number | null;
  missed: number | null;
}

/**
 * The session cells of a financial year (every provider: the siblings disclosure control judges against). Current
 * reads take the running counts the projector keeps; at a past position the people of each cell are counted from
 * the rows true at it (each person's row carries the position they joined the cell at).
 */
export function readSessionCells(
  sql: Sql,
  live: boolean,
  programmeId: string | undefined,
  year: Period,
): Promise<SessionCell[]> {
  const programme = programmeId ? sql`and programme_id = ${programmeId}` : sql``;
  if (live) {
    return sql<SessionCell[]>`
      select programme_id, provider_id, period_level, period_from::text, people, attenders, attended, missed
      from ${sql(cellsTable)}
      where period_from between ${year.from}::date and ${year.to}::date ${programme}`.catch(emptyIfNoReadModel);
  }
  return sql<SessionCell[]>`
    select programme_id, provider_id, period_level, period_from::text,
      count(*) filter (where kind = 'session')::int as people, count(*) filter (where kind = 'attended')::int as attenders,
      null::int as attended, null::int as missed
    from ${sql(peopleTable)}
    where period_from between ${year.from}::date and ${year.to}::date ${programme}
    group by 1, 2, 3, 4`.catch(emptyIfNoReadModel);
}

/** Sessions attended and missed per programme in one period (and provider), read from the sessions at a past position. */
export async function sessionTotals(
  sql: Sql,
  programmeId: string | undefined,
  provider: string | null,
  period: Period,
): Promise<Map<string, { attended: number; missed: number }>> {
  const rows = await sql<{ programme_id: string; attended: number; missed: number }[]>`
    select programme_id, count(*) filter (where attended)::int as attended, count(*) filter (where not attended)::int as missed
    from ${sql(sessionsTable)}
    where session_date between ${period.from}::date and ${period.to}::date
      ${programmeId ? sql`and programme_id = ${programmeId}` : sql``}
      ${provider ? sql`and provider_id = ${provider}` : sql``}
    group by 1`.catch(emptyIfNoReadModel);
  return new Map(rows.map((r) => [r.programme_id, r]));
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
