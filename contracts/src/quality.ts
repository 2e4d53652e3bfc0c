import { Type, type Static } from 'typebox';
import { IsoDate, ProviderId } from './primitives.js';
import { ReportPosition } from './api.js';

const closed = { additionalProperties: false } as const;

export const DataQualityQuery = Type.Object(
  {
    providerId: Type.Optional(ProviderId),
    from: Type.Optional(IsoDate('Submissions received on or after this date.')),
    to: Type.Optional(IsoDate('Submissions received on or before this date.')),
  },
  closed,
);
export type DataQualityQuery = Static<typeof DataQualityQuery>;

/** Days between occurredAt and receipt beyond which a submission counts as late. */
export const LATE_AFTER_DAYS = 7;

export const DataQualityRow = Type.Object(
  {
    providerId: Type.String(),
    month: Type.String({ description: 'Month of receipt, YYYY-MM.' }),
    accepted: Type.Integer(),
    rejected: Type.Integer(),
    rejectionRate: Type.Union([Type.Number(), Type.Null()], { description: 'rejected / (accepted + rejected).' }),
    late: Type.Integer({ description: `Accepted submissions received more than ${LATE_AFTER_DAYS} days after occurredAt.` }),
    medianDaysLate: Type.Union([Type.Number(), Type.Null()], { description: 'Median days between occurredAt and receipt.' }),
  },
  closed,
);

export const DataQualityReport = Type.Object(
  {
    report: Type.Literal('data-quality'),
    filters: DataQualityQuery,
    computedAt: Type.Array(ReportPosition),
    rows: Type.Array(DataQualityRow),
    rejectionsByRule: Type.Array(Type.Object({ providerId: Type.String(), rule: Type.String(), count: Type.Integer() }, closed)),
    missingMeasures: Type.Array(
      Type.Object(
        {
          providerId: Type.String(),
          enrolledWithEvaluationConsent: Type.Integer(),
          missingBaseline: Type.Integer({ description: 'Enrolled with evaluation consent, no baseline measure.' }),
          exited: Type.Integer(),
          missingExit: Type.Integer({ description: 'Exited with evaluation consent in force, no exit measure.' }),
        },
        closed,
      ),
    ),
  },
  { ...closed, description: 'Counts of records, not of people\'s characteristics: not small-number suppressed.' },
);
export type DataQualityReport = Static<typeof DataQualityReport>;
