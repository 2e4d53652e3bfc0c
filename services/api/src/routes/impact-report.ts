import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ImpactQuery, ImpactReport, ProblemDetails } from '@vru/contracts';
import { sendReport } from '../csv.js';
import { impactReport, REPORT_ROLES } from '../reports/index.js';
import type { ReportDeps } from './reports.js';

export const impactReportRoutes: FastifyPluginAsyncTypebox<ReportDeps> = async (app, { sql }) => {
  app.get(
    '/v1/reports/impact',
    {
      config: { roles: REPORT_ROLES.impact },
      schema: {
        tags: ['reports'],
        operationId: 'impactReport',
        summary: 'Impact on proven reoffending against a matched comparison group',
        description:
          "The programme's participants with evaluation consent enrolled (index date) in cohortFrom..cohortTo (whole " +
          "quarters), against the data partners' comparison records with index dates in the same period: a propensity-score model, " +
          'nearest-neighbour matching with a caliper (exact on gender), balance (standardised mean differences before and after), and ' +
          'the one-year proven reoffending rate and frequency of matched participants against their matches, with 95% intervals and the ' +
          'result in words. No estimate under 60 matched ' +
          'participants; provisional until the follow-up and waiting period have ended. Small-number suppression applies to every reader ' +
          '(docs/evaluation.md). Send `Accept: text/csv` for one row per measure.',
        querystring: ImpactQuery,
        response: {
          200: ImpactReport,
          400: ProblemDetails,
          401: ProblemDetails,
          403: ProblemDetails,
          409: ProblemDetails,
          503: ProblemDetails,
        },
      },
    },
    async (request, reply) =>
      sendReport(request, reply, await impactReport(sql, request.principal, request.query), 'impact'),
  );
};
