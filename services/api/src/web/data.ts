import type { ReportQuery, Role } from '@vru/contracts';
import type { Principal } from '@vru/contracts';
import type { Sql } from '@vru/runtime';
import { addMonths, financialYearOf } from '@vru/domain';
import { tenantOf } from '../auth.js';
import { HttpProblem } from '../problem.js';
import {
  attendanceByMonth,
  attendanceReport,
  dataQualityReport,
  engagementReport,
  impactReport,
  outcomesReport,
  performanceReport,
  reoffendingReport,
  REPORT_ROLES,
  spendReport,
} from '../reports/index.js';

/**
 * The dashboard's figures come from the same report functions as the JSON routes, with the same roles and the
 * same provider scoping; this table maps the page filters (programme, provider, period) onto each report's query.
 */
export type Filters = ReportQuery & { grantRef?: string | undefined };

/** Reoffending needs a cohort; with no period chosen it is everyone enrolled from this date to today. */
export const DEFAULT_COHORT_FROM = '2020-01-01';

const today = (): string => new Date().toISOString().slice(0, 10);
const defined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;

/**
 * The period the pages show when none is chosen. Figures across providers are published for whole months,
 * quarters or financial years only (disclosure control), so those roles get the last financial year that has
 * ended; a provider's own pages keep every date.
 */
export function withDefaultPeriod(principal: Principal, f: Filters): Filters {
  if (tenantOf(principal) !== null || f.from !== undefined || f.to !== undefined) return f;
  const current = financialYearOf(today());
  const last = financialYearOf(addMonths(current.from, -1));
  return { ...f, from: last.from, to: last.to };
}

export const cohortOf = (f: Filters) => ({ cohortFrom: f.from ?? DEFAULT_COHORT_FROM, cohortTo: f.to ?? today() });

export const REPORTS = {
  attendance: {
    roles: REPORT_ROLES.attendance,
    run: (sql: Sql, p: Principal, f: Filters) => attendanceReport(sql, p, defined(f)),
  },
  'attendance-by-month': {
    roles: REPORT_ROLES.attendance,
    run: (sql: Sql, p: Principal, f: Filters) =>
      attendanceByMonth(
        sql,
        p,
        defined({ programmeId: f.programmeId, providerId: f.providerId, from: f.from, to: f.to }),
      ),
  },
  engagement: {
    roles: REPORT_ROLES.engagement,
    run: (sql: Sql, p: Principal, f: Filters) => engagementReport(sql, p, defined(f)),
  },
  outcomes: {
    roles: REPORT_ROLES.outcomes,
    run: (sql: Sql, p: Principal, f: Filters) => outcomesReport(sql, p, defined(f)),
  },
  reoffending: {
    roles: REPORT_ROLES.reoffending,
    run: (sql: Sql, p: Principal, f: Filters) =>
      reoffendingReport(sql, p, defined({ programmeId: f.programmeId, providerId: f.providerId, ...cohortOf(f) })),
  },
  spend: { roles: REPORT_ROLES.spend, run: (sql: Sql, p: Principal, f: Filters) => spendReport(sql, p, defined(f)) },
  performance: {
    roles: REPORT_ROLES.performance,
    run: (sql: Sql, p: Principal, f: Filters) =>
      performanceReport(
        sql,
        p,
        defined({ programmeId: f.programmeId, providerId: f.providerId, grantRef: f.grantRef }),
      ),
  },
  // The page's period is the cohort (whole quarters); a programme is required.
  impact: {
    roles: REPORT_ROLES.impact,
    run: (sql: Sql, p: Principal, f: Filters) => {
      // The pages bypass the route's schema: a missing programme is the same 422 as a missing field, never a 500.
      if (!f.programmeId) {
        throw new HttpProblem(422, 'validation-failed', 'Choose a programme', [
          { field: '/querystring/programmeId', rule: 'required', message: 'The impact report is for one programme' },
        ]);
      }
      return impactReport(
        sql,
        p,
        defined({ programmeId: f.programmeId, cohortFrom: f.from ?? '', cohortTo: f.to ?? '' }),
      );
    },
  },
  'data-quality': {
    roles: REPORT_ROLES['data-quality'],
    run: (sql: Sql, p: Principal, f: Filters) =>
      dataQualityReport(sql, p, defined({ providerId: f.providerId, from: f.from, to: f.to })),
  },
} as const;
export type ReportName = keyof typeof REPORTS;
export const REPORT_NAMES = Object.keys(REPORTS) as ReportName[];

export const mayRead = (principal: Principal, name: ReportName): boolean =>
  (REPORTS[name].roles as readonly Role[]).includes(principal.role);

/** The download link of a report with the page's filters. */
export function csvHref(name: ReportName, f: Filters): string {
  const q = new URLSearchParams(defined(f) as Record<string, string>).toString();
  return `/app/download/${name}.csv${q ? `?${q}` : ''}`;
}
