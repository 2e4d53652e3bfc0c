import type { AttendanceQuery, Principal } from '@vru/contracts';
import { DISCLOSURE_VERSION, type CellCounts, type PeriodLevel } from '@vru/domain';
import { attendanceReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { tenantOf } from '../auth.js';
import { countCells, disclosureScope, LEVELS_FROM, withheld, type Disclosure } from '../disclosure.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';
import { emptyIfNoReadModel } from './read-model.js';

const { sessions: sessionsTable } = attendanceReadModel.tables;

/** Attendance per programme over one period (`level` and `period_from` null: the period asked, unaligned). */
interface AttendanceFigures {
  programme_id: string;
  level: PeriodLevel | null;
  period_from: string | null;
  participants: number;
  attended: number;
  missed: number;
}
interface AttendanceRead {
  figures: AttendanceFigures[];
  cells: Map<string, CellCounts>;
}
/** Reads shared by the attendance reports of one page (a month each): under the layer they all read the same financial year. */
export type AttendanceReads = Map<string, Promise<AttendanceRead>>;

/**
 * Sessions attended and missed per programme (the attendance report; a provider key sees its own sessions only).
 * The population of a row is its participants with a session in the period; disclosure control judges it by
 * month of session across every provider of the programme.
 */
export const attendanceReport = (sql: Sql, principal: Principal, q: AttendanceQuery) =>
  atConsistentPosition(sql, principal, ['attendance'], q, (tx, at) => attendanceAt(tx, at, principal, q));

/**
 * The attendance report inside a snapshot taken by atConsistentPosition. The dashboard runs one per month in one
 * snapshot; under the layer they all read the same financial year, so `shared` lets one read serve them all.
 */
export async function attendanceAt(
  sql: Sql,
  at: ReportSnapshot,
  principal: Principal,
  q: AttendanceQuery,
  shared?: AttendanceReads,
) {
  const dc = disclosureScope(principal, q.providerId, { from: q.from, to: q.to, required: true });
  const window = dc.window(q.from, q.to);
  const { computedAt, position, asOf } = at;
  const readKey = JSON.stringify([
    q.programmeId ?? null,
    dc.applied,
    dc.provider,
    dc.period?.level ?? null,
    window.from ?? null,
    window.to ?? null,
  ]);
  let read = shared?.get(readKey);
  if (!read) {
    read = readAttendance(sql, dc, q.programmeId, window);
    shared?.set(readKey, read);
  }
  const { figures, cells } = await read;
  const asked = dc.applied ? dc.period : null;
  const mine = new Map(
    figures
      .filter((f) => (asked ? f.level === asked.level && f.period_from === asked.from : f.level === null))
      .map((f) => [f.programme_id, f]),
  );
  // Under the layer every programme with anyone in the financial year answers a row (present or not in the period).
  const programmes = [...new Set([...mine.keys(), ...cells.keys()])].sort();
  return {
    report: 'attendance' as const,
    filters: reportFilters(q),
    asOf,
    position,
    computedAt,
    suppressed: dc.applied,
    disclosure: dc.stamp,
    rows: programmes.map((programmeId) => {
      const f = mine.get(programmeId);
      const attended = f?.attended ?? 0;
      const missed = f?.missed ?? 0;
      const row = {
        programmeId,
        participants: (f?.participants ?? 0) as number | null,
        sessionsAttended: dc.count(attended),
        sessionsMissed: dc.count(missed),
        attendanceRate: attended + missed === 0 ? null : Math.round((attended / (attended + missed)) * 10_000) / 10_000,
      };
      if (!dc.publishedCells(cells.get(programmeId), null)) return withheld(row, ['programmeId']);
      return row.sessionsAttended === null || row.sessionsMissed === null ? { ...row, attendanceRate: null } : row;
    }),
  };
}

/**
 * Attendance per programme, counted in SQL. Under the layer: the figures of the query's provider (or all) for every
 * month, quarter and financial year of the window, and the cells of every provider, so one read answers every month
 * of a page; otherwise the provider's own figures over exactly the period asked.
 */
async function readAttendance(
  sql: Sql,
  dc: Disclosure,
  programmeId: string | undefined,
  window: { from: string | undefined; to: string | undefined },
): Promise<AttendanceRead> {
  const where = sql`
    where true
      ${programmeId ? sql`and programme_id = ${programmeId}` : sql``}
      ${dc.sqlProvider ? sql`and provider_id = ${dc.sqlProvider}` : sql``}
      ${window.from ? sql`and session_date >= ${window.from}::date` : sql``}
      ${window.to ? sql`and session_date <= ${window.to}::date` : sql``}`;
  const totals = sql`count(distinct stream_id)::int as participants, count(*) filter (where attended)::int as attended,
    count(*) filter (where not attended)::int as missed`;
  if (!dc.applied || !dc.period) {
    const figures = await sql<AttendanceFigures[]>`
      select programme_id, null as level, null as period_from, ${totals}
      from ${sql(sessionsTable)} ${where} group by 1`.catch(emptyIfNoReadModel);
    return { figures, cells: new Map() };
  }
  const inScope = dc.provider ? sql`where provider_id = ${dc.provider}` : sql``;
  const [figures, cells] = await Promise.all([
    sql<AttendanceFigures[]>`
      select programme_id,
             case when grouping(month) = 0 then 'month' when grouping(quarter) = 0 then 'quarter' else 'financial-year' end as level,
             to_char(coalesce(month, quarter, fy), 'YYYY-MM-DD') as period_from, ${totals}
      from (select *, date_trunc('month', session_date)::date as month, date_trunc('quarter', session_date)::date as quarter,
                   (date_trunc('year', session_date - interval '3 months') + interval '3 months')::date as fy
            from ${sql(sessionsTable)} ${where}) s
      ${inScope}
      group by grouping sets ((programme_id, month), (programme_id, quarter), (programme_id, fy))`.catch(
      emptyIfNoReadModel,
    ),
    countCells(
      sql,
      sql`
        select distinct programme_id as part, ${dc.keyProvider(sql, 'provider_id')} as provider, '' as grp,
               stream_id as id, date_trunc('month', session_date)::date as d
        from ${sql(sessionsTable)} ${where}`,
      (provider, group) => dc.key(provider, group),
      { levels: LEVELS_FROM[dc.period.level], totals: dc.rowKey(null) === null },
    ).catch(emptyIfNoReadModel),
  ]);
  return { figures, cells: new Map(cells) };
}

/** The attendance-over-time chart shows at most this many months (the last of the period). */
export const MAX_MONTHS = 24;

const today = (): string => new Date().toISOString().slice(0, 10);

/** Calendar months overlapping from..to (default: the twelve months to today), newest last. */
export function monthsOf(
  from: string | undefined,
  to: string | undefined,
): { month: string; start: string; end: string }[] {
  const end = to ?? today();
  const endMonth = new Date(`${end.slice(0, 7)}-01T00:00:00Z`);
  const startMonth = from
    ? new Date(`${from.slice(0, 7)}-01T00:00:00Z`)
    : new Date(Date.UTC(endMonth.getUTCFullYear(), endMonth.getUTCMonth() - 11, 1));
  const months: { month: string; start: string; end: string }[] = [];
  for (let d = startMonth; d <= endMonth; d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1))) {
    const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).toISOString().slice(0, 10);
    const first = d.toISOString().slice(0, 10);
    months.push({
      month: first.slice(0, 7),
      start: from && from > first ? from : first,
      end: to && to < last ? to : last,
    });
  }
  return months.slice(-MAX_MONTHS);
}

/** The attendance report run once per month of the period: attendance over time (the dashboard's chart). */
export async function attendanceByMonth(sql: Sql, principal: Principal, q: AttendanceQuery) {
  const months = monthsOf(q.from, q.to);
  // Every month from one snapshot, at one position; under disclosure control every month reads its whole financial
  // year, so one read serves them all.
  const shared: AttendanceReads = new Map();
  const { at, reports } = await atConsistentPosition(sql, principal, ['attendance'], {}, async (tx, at) => ({
    at,
    reports: await Promise.all(
      months.map((m) => attendanceAt(tx, at, principal, { ...q, from: m.start, to: m.end }, shared)),
    ),
  }));
  return {
    report: 'attendance-by-month' as const,
    position: at.position,
    computedAt: at.computedAt,
    suppressed: tenantOf(principal) === null,
    disclosure: { rules: DISCLOSURE_VERSION, applied: tenantOf(principal) === null },
    rows: reports.flatMap((r, i) => r.rows.map((row) => ({ month: months[i]!.month, ...row }))),
  };
}
