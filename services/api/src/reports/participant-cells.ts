import { CountedCells, financialYearOf, quarterPeriodOf, type Period } from '@vru/domain';
import { liveTable, participantsReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import type { Disclosure } from '../disclosure.js';
import { emptyIfNoReadModel } from './read-model.js';

const { cellChanges, cells } = participantsReadModel.tables;
const table = (name: string) => liveTable(participantsReadModel, name);
/** A piece of SQL built with the report's `sql` tag, to be embedded in another. */
type Fragment = ReturnType<Sql['unsafe']>;

export type ParticipantFigure = 'referred' | 'enrolled' | 'completed' | 'active';

/**
 * People of one programme and provider in one quarter: referred, enrolled or completed in it (flows), or active in
 * it (the stock, for the asked quarter only). By age band (`setting` null) or, for referred and active, by delivery
 * setting (`age_band` null); a total is the sum of the age bands.
 */
export interface ParticipantCell {
  programme_id: string;
  provider_id: string;
  figure: ParticipantFigure;
  quarter: string;
  age_band: string | null;
  setting: string | null;
  people: number;
}

/**
 * The participant cells of the financial year of `quarter` (every provider: the siblings disclosure control judges
 * against), from the running counts the participants projection keeps: a few thousand rows rather than a year of
 * participants. At a past position (as-at) the changes above it are subtracted from them; when more of the log lies
 * above the position than at or below it, the changes at or below it are summed instead (as readSessionCells does).
 */
export async function readParticipantCells(
  sql: Sql,
  programmeId: string | undefined,
  quarter: Period,
): Promise<ParticipantCell[]> {
  const year = financialYearOf(quarter.from);
  const programme = programmeId ? sql`and programme_id = ${programmeId}` : sql``;
  // The flows of the year's months, and the active stock's starts and ends up to the quarter.
  const wanted = sql`((figure in ('referred', 'enrolled', 'completed') and month between ${year.from}::date and ${year.to}::date)
    or (figure = 'active-from' and month <= ${quarter.to}::date) or (figure = 'active-to' and month <= ${quarter.from}::date))
    ${programme}`;
  return countedCells(
    sql,
    wanted,
    (counted) => sql<ParticipantCell[]>`
    with counted as (${counted}),
    figures as (
      select programme_id, provider_id, figure, date_trunc('quarter', month)::date as quarter, age_band, setting, people
      from counted where figure in ('referred', 'enrolled', 'completed')
      union all
      select programme_id, provider_id, 'active', ${quarter.from}::date, age_band, setting,
        case when figure = 'active-from' then people else -people end
      from counted where figure in ('active-from', 'active-to'))
    select programme_id, provider_id, figure, quarter::text, age_band, setting, sum(people)::int as people
    from figures
    group by grouping sets ((programme_id, provider_id, figure, quarter, age_band), (programme_id, provider_id, figure, quarter, setting))
    having sum(people) <> 0 and (grouping(age_band) = 0 or figure in ('referred', 'active'))`,
  );
}

/** People referred, enrolled or completed per programme, provider and month from `from` to `to` (every group). */
export interface ParticipantFlow {
  programme_id: string;
  provider_id: string;
  figure: 'referred' | 'enrolled' | 'completed';
  month: string;
  people: number;
}

/** The flows of the months from `from` to `to`, from the participant cells (as readParticipantCells reads them). */
export async function readParticipantFlows(
  sql: Sql,
  programmeId: string | undefined,
  from: string,
  to: string,
): Promise<ParticipantFlow[]> {
  const programme = programmeId ? sql`and programme_id = ${programmeId}` : sql``;
  const wanted = sql`figure in ('referred', 'enrolled', 'completed') and month between ${from}::date and ${to}::date ${programme}`;
  return countedCells(
    sql,
    wanted,
    (counted) => sql<ParticipantFlow[]>`
    with counted as (${counted})
    select programme_id, provider_id, figure, month::text, sum(people)::int as people
    from counted group by 1, 2, 3, 4 having sum(people) <> 0`,
  );
}

/**
 * The cells `wanted` as counted at the report's position (a subquery for `read`): the running counts now; at a past
 * position the running counts less the changes above it, or, when more of the log lies above the position than at or
 * below it, the changes at or below it summed (the cheaper read of the two).
 */
async function countedCells<T>(sql: Sql, wanted: Fragment, read: (counted: Fragment) => Promise<T[]>): Promise<T[]> {
  const [at] = await sql<{ head: string; position: string | null }[]>`
    select position::text as head, nullif(current_setting('vru.as_at', true), '') as position
    from ${sql(table('checkpoint'))}`.catch(emptyIfNoReadModel);
  if (!at) return [];
  const below = at.position !== null && BigInt(at.head) - BigInt(at.position) > BigInt(at.position);
  const changes = sql`valid_from ${below ? sql`<=` : sql`>`} ${at.position ?? '0'}::bigint`;
  return read(sql`
      select programme_id, provider_id, figure, month, age_band, setting, people
      from ${sql(table(cells))}
      where ${below ? sql`false and ` : sql``}${wanted}
      union all
      select programme_id, provider_id, figure, month, age_band, setting, ${below ? 1 : -1} * change
      from ${sql(table(`${cellChanges}_versions`))}
      where ${at.position === null ? sql`false` : changes} and ${wanted}`).catch(emptyIfNoReadModel);
}

/**
 * One programme's people figures as disclosure control reads them, from its participant cells: each figure's cells
 * per provider (when the query names one, its siblings are the other providers) or every provider together, with a
 * group (age band, delivery setting) or without, over the financial year's quarters and the year.
 */
export class ParticipantFigures {
  private readonly year: Period;
  constructor(
    private readonly dc: Disclosure,
    private readonly cells: readonly ParticipantCell[],
    private readonly quarter: Period,
  ) {
    this.year = financialYearOf(quarter.from);
  }

  private of(figure: ParticipantFigure, by: 'age_band' | 'setting') {
    return this.cells.filter((c) => c.figure === figure && c[by] !== null);
  }

  /**
   * The counts rowPublished judges a row of `figure` by: grouped by `by` (null: the total), per quarter and for the
   * year (a flow), or for no period (the active stock, a fixed population).
   */
  counts(figure: ParticipantFigure, by: 'age_band' | 'setting' | null): CountedCells {
    const sums = new Map<string, { key: string | null; period: Period | null; people: number }>();
    const add = (key: string | null, period: Period | null, people: number) => {
      const at = `${key ?? '\u0001'}\u0000${period?.from ?? ''}\u0000${period?.to ?? ''}`;
      const row = sums.get(at);
      if (row) row.people += people;
      else sums.set(at, { key, period, people });
    };
    for (const c of this.of(figure, by ?? 'age_band')) {
      const key = this.dc.key(c.provider_id, by === null ? null : c[by]);
      const periods = figure === 'active' ? [null] : [quarterPeriodOf(c.quarter), this.year];
      for (const period of periods) {
        add(key, period, c.people);
        if (by === null) add(null, period, c.people);
      }
    }
    return new CountedCells(sums.values());
  }

  /** The people of the query's scope (its provider, or every provider) in the asked quarter, of one group or all. */
  scope(figure: ParticipantFigure, by: 'age_band' | 'setting' | null, group: string | null): number {
    let n = 0;
    for (const c of this.of(figure, by ?? 'age_band')) {
      if (this.dc.provider && c.provider_id !== this.dc.provider) continue;
      if (c.quarter !== this.quarter.from || (by !== null && c[by] !== group)) continue;
      n += c.people;
    }
    return n;
  }
}
