import type { Role } from '@vru/contracts';

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
