import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AttendanceQuery, AttendanceReport, ProblemDetails, type Role } from '@vru/contracts';
import type { Principal } from '@vru/contracts';
import type { Sql } from '@vru/runtime';
import { reportScope } from '../auth.js';
import { sendReport, wantsCsv, wantsXlsx } from '../csv.js';

/** Who may read each report: the JSON routes and the dashboard pages both use these. */
export const REPORT_ROLES = {
  attendance: ['provider', 'commissioner', 'funder', 'admin'],
  engagement: ['provider', 'commissioner', 'admin'],
  outcomes: ['provider', 'commissioner', 'funder', 'admin'],
  reoffending: ['provider', 'commissioner', 'admin'],
  spend: ['provider', 'commissioner', 'funder', 'admin'],
  'data-quality': ['provider', 'commissioner', 'admin'],
  'quarterly-return': ['provider', 'commissioner', 'funder', 'admin'],
  performance: ['provider', 'commissioner', 'funder', 'admin'],
  audit: ['funder', 'commissioner', 'admin'],
} as const satisfies Record<string, readonly Role[]>;

export interface ReportDeps {
  sql: Sql;
}

export async function reportPosition(sql: Sql, projection: string) {
  const schema = `rm_${projection}`;
  const rows = await sql.unsafe<{ position: bigint; events_applied: bigint; updated_at: Date | null }[]>(
    `select position, events_applied, updated_at from ${schema}.checkpoint`,
  ).catch(() => []);
  const row = rows[0];
  return {
    projection,
    position: (row?.position ?? 0n).toString(),
    eventsApplied: (row?.events_applied ?? 0n).toString(),
    updatedAt: row?.updated_at ? row.updated_at.toISOString() : null,
  };
}

/** A report query over a read model the projector has not created yet answers no rows rather than failing. */
export function emptyIfNoReadModel(err: { code?: string }): never[] {
  if (err.code === '3F000' || err.code === '42P01') return [];
  throw err;
}

/** Sessions attended and missed per programme (the attendance report; a provider key sees its own sessions only). */
export async function attendanceReport(sql: Sql, principal: Principal, q: AttendanceQuery) {
  const { provider } = reportScope(principal, q.providerId);
  const computedAt = await reportPosition(sql, 'attendance');
  const rows = await sql<{ programme_id: string; participants: number; attended: number; missed: number }[]>`
    select programme_id,
           count(distinct stream_id)::int as participants,
           count(*) filter (where attended)::int as attended,
           count(*) filter (where not attended)::int as missed
    from rm_attendance.sessions
    where true
      ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
      ${provider ? sql`and provider_id = ${provider}` : sql``}
      ${q.from ? sql`and session_date >= ${q.from}::date` : sql``}
      ${q.to ? sql`and session_date <= ${q.to}::date` : sql``}
    group by programme_id
    order by programme_id`.catch(emptyIfNoReadModel);
  const report = {
    report: 'attendance' as const,
    filters: q,
    computedAt,
    rows: rows.map((r) => ({
      programmeId: r.programme_id,
      participants: r.participants,
      sessionsAttended: r.attended,
      sessionsMissed: r.missed,
      attendanceRate: r.attended + r.missed === 0 ? null : Math.round((r.attended / (r.attended + r.missed)) * 10_000) / 10_000,
    })),
  };
  return report;
}

export const reportRoutes: FastifyPluginAsyncTypebox<ReportDeps> = async (app, { sql }) => {
  app.get('/v1/reports/attendance', {
    config: { roles: REPORT_ROLES['attendance'] },
    schema: {
      tags: ['reports'],
      operationId: 'attendanceReport',
      summary: 'Sessions attended and missed per programme',
      description: 'Attendance rate = sessions attended / sessions offered (attended + missed), per programme, for sessions dated within from..to (and of one provider with providerId; a provider key sees its own sessions only).',
      querystring: AttendanceQuery,
      response: { 200: AttendanceReport, 400: ProblemDetails, 401: ProblemDetails, 403: ProblemDetails, 503: ProblemDetails },
    },
  }, async (request, reply) => {
    const report = await attendanceReport(sql, request.principal, request.query);
    if (wantsCsv(request) || wantsXlsx(request)) {
      await sendReport(request, reply, { ...report, computedAt: [report.computedAt] }, 'attendance');
      return reply;
    }
    return report;
  });
};
