import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AttendanceQuery, AttendanceReport, ProblemDetails } from '@vru/contracts';
import type { Sql } from '@vru/runtime';
import { sendReport } from '../csv.js';
import { attendanceReport, REPORT_ROLES } from '../reports/index.js';

/** What every report route needs: the reports read the database through the functions in ../reports. */
export interface ReportDeps {
  sql: Sql;
}

export const reportRoutes: FastifyPluginAsyncTypebox<ReportDeps> = async (app, { sql }) => {
  app.get(
    '/v1/reports/attendance',
    {
      config: { roles: REPORT_ROLES.attendance },
      schema: {
        tags: ['reports'],
        operationId: 'attendanceReport',
        summary: 'Sessions attended and missed per programme',
        description:
          'Attendance rate = sessions attended / sessions offered (attended + missed), per programme, for sessions dated within from..to ' +
          '(and of one provider with providerId; a provider key sees its own sessions only). Across providers the figures pass through disclosure ' +
          'control vru-sdc-1 like every report: from..to must be one calendar month, quarter or financial year (otherwise 422), and a row whose ' +
          'participants are fewer than 10, or that other answers could difference, is null. Send `Accept: text/csv` for the rows as CSV.',
        querystring: AttendanceQuery,
        response: {
          200: AttendanceReport,
          400: ProblemDetails,
          401: ProblemDetails,
          403: ProblemDetails,
          409: ProblemDetails,
          422: ProblemDetails,
          503: ProblemDetails,
        },
      },
    },
    async (request, reply) => {
      return sendReport(request, reply, await attendanceReport(sql, request.principal, request.query), 'attendance');
    },
  );
};
