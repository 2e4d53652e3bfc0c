import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  EngagementQuery,
  EngagementReport,
  OutcomesQuery,
  OutcomesReport,
  ProblemDetails,
  ReoffendingQuery,
  ReoffendingReport,
  ReportQuery,
  SpendReport,
} from '@vru/contracts';
import { sendReport } from '../csv.js';
import { engagementReport, outcomesReport, reoffendingReport, REPORT_ROLES, spendReport } from '../reports/index.js';
import type { ReportDeps } from './reports.js';

/**
 * Engagement, outcomes, reoffending and spend. A provider key sees only its own participants and grants,
 * unsuppressed; every other role sees all providers with small-number suppression (docs/metrics.md).
 */

const errors = {
  400: ProblemDetails,
  401: ProblemDetails,
  403: ProblemDetails,
  409: ProblemDetails,
  422: ProblemDetails,
  503: ProblemDetails,
};
const CSV_NOTE = ' Send `Accept: text/csv` for the rows as CSV (nested figures as dotted columns).';
const DISCLOSURE_NOTE =
  ' Across providers (commissioner, funder, admin) figures pass through disclosure control vru-sdc-1 (docs/metrics.md): ' +
  'the period must be one calendar month, quarter or financial year (otherwise 422), small populations and any figure that other answers ' +
  'could give back are null, and a breakdown answers every value of its vocabulary.';

export const outcomeReportRoutes: FastifyPluginAsyncTypebox<ReportDeps> = async (app, { sql }) => {
  app.get(
    '/v1/reports/engagement',
    {
      config: { roles: REPORT_ROLES.engagement },
      schema: {
        tags: ['reports'],
        operationId: 'engagementReport',
        summary: 'Referral to completion funnel per programme',
        description:
          'Participants referred within from..to: of the referrals, those with evaluation consent (not withdrawn) and those enrolled (the starters, ' +
          'whatever their consent); of the starters, those who attended at least one session and those who exited with reason completed (the completers); ' +
          'drop-offs, completion rate (completers over starters, Wilson 95% interval), ' +
          'median days from referral to enrolment, and exits by reason. With groupBy, one row per programme and value of that dimension (in group).' +
          DISCLOSURE_NOTE +
          CSV_NOTE,
        querystring: EngagementQuery,
        response: { 200: EngagementReport, ...errors },
      },
    },
    async (request, reply) =>
      sendReport(request, reply, await engagementReport(sql, request.principal, request.query), 'engagement'),
  );

  app.get(
    '/v1/reports/outcomes',
    {
      config: { roles: REPORT_ROLES.outcomes },
      schema: {
        tags: ['reports'],
        operationId: 'outcomesReport',
        summary: 'Baseline to exit change per programme and instrument',
        description:
          'Participants with evaluation consent (not withdrawn) enrolled within from..to. Per programme, instrument and scale: pairs (first baseline and last exit), ' +
          'missing pairs, mean baseline and exit, mean change (exit − baseline) with a 95% t interval, and the share reliably improved ' +
          '(SWEMWBS ≥ 3 points up, WEMWBS ≥ 8 up, SDQ total ≥ 6 down; null for other instruments). ' +
          'With groupBy, one row per programme, instrument, scale and value of that dimension (in group; month and quarter of enrolment).' +
          DISCLOSURE_NOTE +
          CSV_NOTE,
        querystring: OutcomesQuery,
        response: { 200: OutcomesReport, ...errors },
      },
    },
    async (request, reply) =>
      sendReport(request, reply, await outcomesReport(sql, request.principal, request.query), 'outcomes'),
  );

  app.get(
    '/v1/reports/reoffending',
    {
      config: { roles: REPORT_ROLES.reoffending },
      schema: {
        tags: ['reports'],
        operationId: 'reoffendingReport',
        summary: 'Proven reoffending (MoJ method) per programme',
        description:
          'Cohort: participants with evaluation consent enrolled (index date) within cohortFrom..cohortTo, less those who withdrew evaluation consent by today. ' +
          'A proven reoffence is committed within 12 months of the index date and proven within a further 6 months. Binary rate with Wilson 95% interval, ' +
          'frequency per person and per reoffender, and the same for serious violence; provisional until 18 months after the last index date.' +
          DISCLOSURE_NOTE +
          CSV_NOTE,
        querystring: ReoffendingQuery,
        response: { 200: ReoffendingReport, ...errors },
      },
    },
    async (request, reply) =>
      sendReport(request, reply, await reoffendingReport(sql, request.principal, request.query), 'reoffending'),
  );

  app.get(
    '/v1/reports/spend',
    {
      config: { roles: REPORT_ROLES.spend },
      schema: {
        tags: ['reports'],
        operationId: 'spendReport',
        summary: 'Spend against each grant, and cost per participant',
        description:
          "Per grant: awarded, spent (corrections applied) by budget category and by quarter of the spend period start, remaining, participants of the grant's " +
          'provider and programme enrolled within the grant period, completions among them, and cost per enrolment and per completion. ' +
          "from..to select spend by period start and enrolments by start date (optional; a grant's own period otherwise)." +
          DISCLOSURE_NOTE +
          CSV_NOTE,
        querystring: ReportQuery,
        response: { 200: SpendReport, ...errors },
      },
    },
    async (request, reply) =>
      sendReport(request, reply, await spendReport(sql, request.principal, request.query), 'spend'),
  );
};
