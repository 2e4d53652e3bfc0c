import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AttendanceQuery, AttendanceReport, ProblemDetails, type Role } from '@vru/contracts';
import type { Principal } from '@vru/contracts';
import type { Sql } from '@vru/runtime';
import { sendReport } from '../csv.js';
import { groupRows } from '../group-rows.js';
import { disclosureScope, withheld } from '../disclosure.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';

/** Who may read each report: the JSON routes and the dashboard pages both use these. */
export const REPORT_ROLES = {
  attendance: ['provider', 'commissioner', 'funder', 'admin'],
  engagement: ['provider', 'commissioner', 'admin'],
  outcomes: ['provider', 'commissioner', 'funder', 'admin'],
  reoffending: ['provider', 'commissioner', 'admin'],
  impact: ['commissioner', 'admin'],
  spend: ['provider', 'commissioner', 'funder', 'admin'],
  'data-quality': ['provider', 'commissioner', 'admin'],
  'quarterly-return': ['provider', 'commissioner', 'funder', 'admin'],
  performance: ['provider', 'commissioner', 'funder', 'admin'],
  audit: ['funder', 'commissioner', 'admin'],
} as const satisfies Record<string, readonly Role[]>;

export interface ReportDeps {
  sql: Sql;
}

/** A report query over a read model the projector has not created yet answers no rows rather than failing. */
export function emptyIfNoReadModel(err: { code?: string }): never[] {
  if (err.code === '3F000' || err.code === '42P01') return [];
  throw err;
}

type AttendanceRecord = { programme_id: string; provider_id: string; stream_id: string; month: string; attended: number; missed: number };
/** Reads shared by the attendance reports of one page (a month each): under the layer they all read the same financial year. */
export type AttendanceReads = Map<string, Promise<AttendanceRecord[]>>;

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
export async function attendanceAt(sql: Sql, at: ReportSnapshot, principal: Principal, q: AttendanceQuery, shared?: AttendanceReads) {
  const dc = disclosureScope(principal, q.providerId, { from: q.from, to: q.to, required: true });
  const window = dc.window(q.from, q.to);
  const { computedAt, position, asOf } = at;
  const readKey = JSON.stringify([q.programmeId ?? null, dc.sqlProvider, window.from ?? null, window.to ?? null]);
  let read = shared?.get(readKey);
  if (!read) {
    read = readAttendance(sql, q.programmeId, dc.sqlProvider, window);
    shared?.set(readKey, read);
  }
  const records = await read;
  const byProgramme = groupRows(records, (r) => r.programme_id);
  const programmes = [...byProgramme.keys()].sort();
  return {
    report: 'attendance' as const,
    filters: reportFilters(q),
    asOf,
    position,
    computedAt,
    suppressed: dc.applied,
    disclosure: dc.stamp,
    rows: programmes.map((programmeId) => {
      const mine = byProgramme.get(programmeId)!;
      const members = mine.map((r) => ({ id: r.stream_id, key: dc.key(r.provider_id, null), date: r.month }));
      const inScope = mine.filter((r) => dc.inScope(r.provider_id, r.month));
      const attended = inScope.reduce((n, r) => n + r.attended, 0);
      const missed = inScope.reduce((n, r) => n + r.missed, 0);
      const row = {
        programmeId,
        participants: new Set(inScope.map((r) => r.stream_id)).size as number | null,
        sessionsAttended: dc.count(attended),
        sessionsMissed: dc.count(missed),
        attendanceRate: attended + missed === 0 ? null : Math.round((attended / (attended + missed)) * 10_000) / 10_000,
      };
      if (!dc.published(members, null)) return withheld(row, ['programmeId']);
      return row.sessionsAttended === null || row.sessionsMissed === null ? { ...row, attendanceRate: null } : row;
    }),
  };
}

function readAttendance(sql: Sql, programmeId: string | undefined, provider: string | null, window: { from: string | undefined; to: string | undefined }) {
  return sql<AttendanceRecord[]>`
    select programme_id, provider_id, stream_id, to_char(date_trunc('month', session_date), 'YYYY-MM-DD') as month,
           count(*) filter (where attended)::int as attended,
           count(*) filter (where not attended)::int as missed
    from sessions
    where true
      ${programmeId ? sql`and programme_id = ${programmeId}` : sql``}
      ${provider ? sql`and provider_id = ${provider}` : sql``}
      ${window.from ? sql`and session_date >= ${window.from}::date` : sql``}
      ${window.to ? sql`and session_date <= ${window.to}::date` : sql``}
    group by 1, 2, 3, 4`.catch(emptyIfNoReadModel);
}

export const reportRoutes: FastifyPluginAsyncTypebox<ReportDeps> = async (app, { sql }) => {
  app.get('/v1/reports/attendance', {
    config: { roles: REPORT_ROLES['attendance'] },
    schema: {
      tags: ['reports'],
      operationId: 'attendanceReport',
      summary: 'Sessions attended and missed per programme',
      description: 'Attendance rate = sessions attended / sessions offered (attended + missed), per programme, for sessions dated within from..to '
        + '(and of one provider with providerId; a provider key sees its own sessions only). Across providers the figures pass through disclosure '
        + 'control vru-sdc-1 like every report: from..to must be one calendar month, quarter or financial year (otherwise 422), and a row whose '
        + 'participants are fewer than 10, or that other answers could difference, is null. Send `Accept: text/csv` for the rows as CSV.',
      querystring: AttendanceQuery,
      response: { 200: AttendanceReport, 400: ProblemDetails, 401: ProblemDetails, 403: ProblemDetails, 409: ProblemDetails, 422: ProblemDetails, 503: ProblemDetails },
    },
  }, async (request, reply) => {
    return sendReport(request, reply, await attendanceReport(sql, request.principal, request.query), 'attendance');
  });
};
