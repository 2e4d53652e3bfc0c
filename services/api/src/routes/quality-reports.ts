import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DataQualityQuery, DataQualityReport, LATE_AFTER_DAYS, ProblemDetails } from '@vru/contracts';
import { sendReport } from '../csv.js';
import { dataQualityReport, REPORT_ROLES } from '../reports/index.js';
import type { ReportDeps } from './reports.js';

export const qualityReportRoutes: FastifyPluginAsyncTypebox<ReportDeps> = async (app, { sql }) => {
  app.get(
    '/v1/reports/data-quality',
    {
      config: { roles: REPORT_ROLES['data-quality'] },
      schema: {
        tags: ['reports'],
        operationId: 'dataQualityReport',
        summary: 'Submissions, rejections by rule, late submissions and missing measures per provider',
        description: `Per provider and month of receipt: accepted and rejected submissions, the rejection rate, submissions received more than ${LATE_AFTER_DAYS} days after occurredAt and the median delay; rejections by rule; participants missing a baseline or an exit measure. A provider sees its own figures only. Accept: text/csv returns the monthly rows.`,
        querystring: DataQualityQuery,
        response: {
          200: DataQualityReport,
          400: ProblemDetails,
          401: ProblemDetails,
          403: ProblemDetails,
          409: ProblemDetails,
          422: ProblemDetails,
          503: ProblemDetails,
        },
      },
    },
    async (request, reply) =>
      sendReport(request, reply, await dataQualityReport(sql, request.principal, request.query), 'data-quality'),
  );
};
