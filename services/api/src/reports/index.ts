/**
 * Every report, one file each (its SQL and its figures), behind one function per report that the JSON routes, CSV,
 * the dashboard and the quarterly returns call. Each runs inside atConsistentPosition (one snapshot at one position)
 * and passes its figures through the disclosure-control layer.
 */
export {
  attendanceAt,
  attendanceByMonth,
  attendanceReport,
  MAX_MONTHS,
  monthsOf,
  type AttendanceReads,
} from './attendance.js';
export { dataQualityReport, recentSubmissions } from './data-quality.js';
export { engagementReport } from './engagement.js';
export { impactReport } from './impact.js';
export { outcomesReport } from './outcomes.js';
export { performanceReport } from './performance.js';
export { quarterlyReturnReport } from './quarterly-return.js';
export { emptyIfNoReadModel } from './read-model.js';
export { reoffendingReport } from './reoffending.js';
export { REPORT_ROLES } from './roles.js';
export { spendReport } from './spend.js';
