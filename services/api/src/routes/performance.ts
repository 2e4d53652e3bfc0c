import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PerformanceQuery, PerformanceReport, ProblemDetails } from '@vru/contracts';
import { sendReport } from '../csv.js';
import { performanceReport, REPORT_ROLES } from '../reports/index.js';
import type { ReportDeps } from './reports.js';

export const performanceRoutes: FastifyPluginAsyncTypebox<ReportDeps> = async (app, { sql }) => {
  app.get(
    '/v1/reports/performance',
    {
      config: { roles: REPORT_ROLES.performance },
      schema: {
        tags: ['reports'],
        operationId: 'performanceReport',
        summary: 'Contract performance: actual against target per grant, quarter and indicator',
        description:
          'For each grant and quarter with delivery targets (one quarter with quarter=, otherwise every quarter that has ' +
          'started): per indicator (referrals, enrolments, sessions delivered, completions, spend against profile, share reliably ' +
          'improved per instrument) the target, the actual, the variance, the percentage of target and a red/amber/green status; the ' +
          'same for the grant year to date; and the forecast to the end of the grant year at the run rate. Actuals are the participants, ' +
          "sessions and spend of the grant's provider and programme dated within " +
          'the grant period. A provider key sees its own grants, unsuppressed; other roles see disclosure control vru-sdc-1 ' +
          '(docs/metrics.md). ' +
          'Send `Accept: text/csv` for the rows as CSV.',
        querystring: PerformanceQuery,
        response: {
          200: PerformanceReport,
          400: ProblemDetails,
          401: ProblemDetails,
          403: ProblemDetails,
          409: ProblemDetails,
          503: ProblemDetails,
        },
      },
    },
    async (request, reply) =>
      sendReport(request, reply, await performanceReport(sql, request.principal, request.query), 'performance'),
  );
};
