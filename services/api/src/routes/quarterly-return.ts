import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemDetails, QuarterlyReturnQuery, QuarterlyReturnReport } from '@vru/contracts';
import { sendReport } from '../csv.js';
import { quarterlyReturnReport, REPORT_ROLES } from '../reports/index.js';
import type { ReportDeps } from './reports.js';

const errors = {
  400: ProblemDetails,
  401: ProblemDetails,
  403: ProblemDetails,
  409: ProblemDetails,
  422: ProblemDetails,
  503: ProblemDetails,
};

export const quarterlyReturnRoutes: FastifyPluginAsyncTypebox<ReportDeps> = async (app, { sql }) => {
  app.get(
    '/v1/reports/quarterly-return',
    {
      config: { roles: REPORT_ROLES['quarterly-return'] },
      schema: {
        tags: ['reports'],
        operationId: 'quarterlyReturn',
        summary: 'Quarterly return to the Home Office per programme',
        description:
          'For the calendar quarter (e.g. 2026Q3), per programme: participants referred in the quarter and participants active in it (enrolled on or before ' +
          'the quarter end and not exited before its start), each by age band and delivery setting; new enrolments; sessions attended in the quarter; ' +
          'completions (exits with reason completed) in the quarter; and per grant the spend whose period starts in the quarter, the cumulative spend to ' +
          'the quarter end and the award. People and session counts pass through disclosure control (vru-sdc-1) for commissioners, funders and admins. ' +
          'Send `Accept: text/csv` for the rows as CSV (nested figures as dotted columns).',
        querystring: QuarterlyReturnQuery,
        response: { 200: QuarterlyReturnReport, ...errors },
      },
    },
    async (request, reply) =>
      sendReport(
        request,
        reply,
        await quarterlyReturnReport(sql, request.principal, request.query),
        `quarterly-return-${request.query.quarter}`,
      ),
  );
};
