import { Type, type Static } from 'typebox';
import { IsoDate, ProviderId } from './primitives.js';
import { DisclosureApplied, ReportAsOf, ReportAt, ReportPosition, SnapshotFilters } from './api.js';

const closed = { additionalProperties: false } as const;

export const DataQualityQuery = Type.Object(
  {
    providerId: Type.Optional(ProviderId),
    from: Type.Optional(IsoDate('Submissions received on or after this date.')),
    to: Type.Optional(IsoDate('Submissions received on or before this date.')),
    ...SnapshotFilters,
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
    late: Type.Integer({
      description: `Accepted submissions received more than ${LATE_AFTER_DAYS} days after occurredAt.`,
    }),
    medianDaysLate: Type.Union([Type.Number(), Type.Null()], {
      description: 'Median days between occurredAt and receipt.',
    }),
  },
  closed,
);

export const DataQualityReport = Type.Object(
  {
    report: Type.Literal('data-quality'),
    filters: DataQualityQuery,
    asOf: ReportAsOf,
    position: ReportAt,
    computedAt: Type.Array(ReportPosition),
    suppressed: Type.Boolean({
      description: 'True when disclosure control applied to the people counts (missingMeasures).',
    }),
    disclosure: DisclosureApplied,
    rows: Type.Array(DataQualityRow),
    rejectionsByRule: Type.Array(
      Type.Object({ providerId: Type.String(), rule: Type.String(), count: Type.Integer() }, closed),
    ),
    missingMeasures: Type.Array(
      Type.Object(
        {
          providerId: Type.String(),
          enrolledWithEvaluationConsent: Type.Union([Type.Integer(), Type.Null()]),
          missingBaseline: Type.Union([Type.Integer(), Type.Null()], {
            description: 'Enrolled with evaluation consent, no baseline measure.',
          }),
          exited: Type.Union([Type.Integer(), Type.Null()]),
          missingExit: Type.Union([Type.Integer(), Type.Null()], {
            description: 'Exited with evaluation consent in force, no exit measure.',
          }),
        },
        closed,
      ),
    ),
  },
  {
    ...closed,
    description:
      'Submission counts are counts of records, not of people, and are not withheld; the people counts of missingMeasures are.',
  },
);
export type DataQualityReport = Static<typeof DataQualityReport>;
