import type { AttendanceQuery, Principal } from '@vru/contracts';
import { DISCLOSURE_VERSION, type CountedCells } from '@vru/domain';
import { attendanceReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { tenantOf } from '../auth.js';
import { disclosureScope, withheld, type Disclosure } from '../disclosure.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';
import { groupRows } from './group-rows.js';
import { emptyIfNoReadModel } from './read-model.js';
import { readSessionCells, scopeCell, sessionCellCounts, type SessionCell } from './session-cells.js';

const { sessions: sessionsTable } = attendanceReadModel.tables;

interface AttendanceRecord {
  programme_id: string;
  provider_id: string;
  stream_id: string;
  month: string;
  attended: number;
  missed: number;
}
/** Reads shared by the attendance reports of one page (a month each): under the layer they all read the same financial year. */
export type AttendanceReads = Map<string, Promise<AttendanceRecord[] | SessionCell[]>>;

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
  const header = {
    report: 'attendance' as const,
    filters: reportFilters(q),
    asOf,
    position,
    computedAt,
    suppressed: dc.applied,
    disclosure: dc.stamp,
  };
  const readKey = JSON.stringify([q.programmeId ?? null, dc.sqlProvider, window.from ?? null, window.to ?? null]);
  const readOnce = <T>(read: () => Promise<T>): Promise<T> => {
    const known = shared?.get(readKey) as Promise<T> | undefined;
    if (known) return known;
    const started = read();
    shared?.set(readKey, started as Promise<AttendanceRecord[] | SessionCell[]>);
    return started;
  };
  if (dc.applied) {
    // Under the layer the figures and every sibling cell are counts per cell the projector keeps: a financial year
    // of cells (a few hundred rows), not of sessions.
    const period = dc.period!;
    const cells = await readOnce(() => readSessionCells(sql, q.programmeId, window as { from: string; to: string }));
    const byProgramme = countedProgrammes(dc, cells);
    return {
      ...header,
      rows: [...byProgramme.keys()].sort().map((programmeId) => {
        const { cells: mine, counted } = byProgramme.get(programmeId)!;
        const cell = scopeCell(dc, mine, period);
        const row = attendanceRow(dc, programmeId, cell?.people ?? 0, cell?.attended ?? 0, cell?.missed ?? 0);
        return publishedRow(row, dc.publishedCells(counted, null));
      }),
    };
  }
  const records = await readOnce(() => readAttendance(sql, q.programmeId, dc.sqlProvider, window));
  const byProgramme = groupRows(records, (r) => r.programme_id);
  const programmes = [...byProgramme.keys()].sort();
  return {
    ...header,
    rows: programmes.map((programmeId) => {
      const mine = byProgramme.get(programmeId)!;
      const members = mine.map((r) => ({ id: r.stream_id, key: dc.key(r.provider_id, null), date: r.month }));
      const inScope = mine.filter((r) => dc.inScope(r.provider_id, r.month));
      const attended = inScope.reduce((n, r) => n + r.attended, 0);
      const missed = inScope.reduce((n, r) => n + r.missed, 0);
      const row = attendanceRow(dc, programmeId, new Set(inScope.map((r) => r.stream_id)).size, attended, missed);
      return publishedRow(row, dc.published(members, null));
    }),
  };
}

/**
 * One read's session cells by programme, with the counts disclosure control judges each programme's rows by. The
 * months of a page share one read (`AttendanceReads`), and so these counts: they depend on the cells and the query's
 * provider only, not on the month.
 */
const countedOfRead = new WeakMap<readonly SessionCell[], Map<string, Map<string, ProgrammeCells>>>();
interface ProgrammeCells {
  cells: SessionCell[];
  counted: CountedCells;
}
function countedProgrammes(dc: Disclosure, cells: readonly SessionCell[]): Map<string, ProgrammeCells> {
  const byProvider = countedOfRead.get(cells) ?? new Map<string, Map<string, ProgrammeCells>>();
  countedOfRead.set(cells, byProvider);
  const provider = dc.provider ?? '';
  let programmes = byProvider.get(provider);
  if (!programmes) {
    programmes = new Map(
      [...groupRows(cells, (c) => c.programme_id)].map(([programmeId, mine]) => [
        programmeId,
        { cells: mine, counted: sessionCellCounts(dc, mine, 'people') },
      ]),
    );
    byProvider.set(provider, programmes);
  }
  return programmes;
}

function attendanceRow(dc: Disclosure, programmeId: string, participants: number, attended: number, missed: number) {
  return {
    programmeId,
    participants: participants as number | null,
    sessionsAttended: dc.count(attended),
    sessionsMissed: dc.count(missed),
    attendanceRate: attended + missed === 0 ? null : Math.round((attended / (attended + missed)) * 10_000) / 10_000,
  };
}

function publishedRow(row: ReturnType<typeof attendanceRow>, published: boolean) {
  if (!published) return withheld(row, ['programmeId']);
  return row.sessionsAttended === null || row.sessionsMissed === null ? { ...row, attendanceRate: null } : row;
}

function readAttendance(
  sql: Sql,
  programmeId: string | undefined,
  provider: string | null,
  window: { from: string | undefined; to: string | undefined },
) {
  return sql<AttendanceRecord[]>`
    select programme_id, provider_id, stream_id, to_char(date_trunc('month', session_date), 'YYYY-MM-DD') as month,
           count(*) filter (where attended)::int as attended,
           count(*) filter (where not attended)::int as missed
    from ${sql(sessionsTable)}
    where true
      ${programmeId ? sql`and programme_id = ${programmeId}` : sql``}
      ${provider ? sql`and provider_id = ${provider}` : sql``}
      ${window.from ? sql`and session_date >= ${window.from}::date` : sql``}
      ${window.to ? sql`and session_date <= ${window.to}::date` : sql``}
    group by 1, 2, 3, 4`.catch(emptyIfNoReadModel);
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
