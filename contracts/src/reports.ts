import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { IsoDate, ProgrammeId, ProviderId } from './primitives.js';
import { ReportPosition } from './api.js';

/**
 * Outcome reports: engagement, outcomes, reoffending and spend. Figures for commissioners and funders are
 * small-number suppressed (a suppressed figure is null); a provider's own figures never are.
 * Definitions: docs/metrics.md.
 */
const closed = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(s: T, description?: string) => Type.Union([s, Type.Null()], description ? { description } : {});
const Count = (description?: string) => Nullable(Type.Integer({ minimum: 0 }), description);
const Num = (description?: string) => Nullable(Type.Number(), description);

const scopeFilters = {
  programmeId: Type.Optional(ProgrammeId),
  providerId: Type.Optional(ProviderId),
};

export const ReportQuery = Type.Object(
  {
    ...scopeFilters,
    from: Type.Optional(IsoDate('On or after this date (which date depends on the report).')),
    to: Type.Optional(IsoDate('On or before this date.')),
  },
  closed,
);
export type ReportQuery = Static<typeof ReportQuery>;

export const ReoffendingQuery = Type.Object(
  {
    ...scopeFilters,
    cohortFrom: IsoDate('First index (enrolment) date of the cohort.'),
    cohortTo: IsoDate('Last index (enrolment) date of the cohort, inclusive.'),
  },
  closed,
);
export type ReoffendingQuery = Static<typeof ReoffendingQuery>;

export const RateWithInterval = Type.Object(
  { value: Type.Number(), lower: Type.Number(), upper: Type.Number() },
  { ...closed, description: 'A proportion with its Wilson 95% interval.' },
);

const computedAt = Type.Array(ReportPosition, { description: 'The log position of each read model the report used.' });
const suppressed = Type.Boolean({ description: 'True when small-number suppression was applied (null figures are suppressed).' });

export const EngagementRow = Type.Object(
  {
    programmeId: Type.String(),
    referrals: Count('Participants referred within from..to.'),
    consented: Count('Of those, with evaluation consent recorded and not withdrawn.'),
    enrolled: Count('Of those, enrolled.'),
    attended: Count('Of those, attended at least one session.'),
    completed: Count('Of those, exited with reason completed.'),
    dropOffAtConsent: Count(),
    dropOffAtEnrolment: Count(),
    dropOffAtAttendance: Count(),
    dropOffAtCompletion: Count(),
    completionRate: Nullable(RateWithInterval, 'completed / enrolled.'),
    medianDaysReferralToEnrolment: Num(),
    exitReasons: Type.Record(Type.String(), Count(), { description: 'Exits of enrolled funnel members by reason.' }),
  },
  closed,
);

export const EngagementReport = Type.Object(
  { report: Type.Literal('engagement'), filters: ReportQuery, computedAt, suppressed, rows: Type.Array(EngagementRow) },
  closed,
);
export type EngagementReport = Static<typeof EngagementReport>;

const MeanChange = Type.Object({ mean: Type.Number(), lower: Num(), upper: Num() }, { ...closed, description: 'Mean exit − baseline with its 95% t interval.' });

export const OutcomesRow = Type.Object(
  {
    programmeId: Type.String(),
    instrument: Type.String(),
    scale: Type.String({ description: "Outcomes Star scale or custom instrument name; '' when none." }),
    pairs: Count('Participants with both a baseline and an exit measure.'),
    missingPairs: Count('Participants with a baseline or an exit measure but not both.'),
    meanBaseline: Num(),
    meanExit: Num(),
    meanChange: Nullable(MeanChange),
    reliableChangeThreshold: Num('Points of improvement counted as reliable; null where no threshold is defined.'),
    reliablyImproved: Nullable(RateWithInterval, 'Share of pairs improved by at least the threshold.'),
  },
  closed,
);

export const OutcomesReport = Type.Object(
  { report: Type.Literal('outcomes'), filters: ReportQuery, computedAt, suppressed, rows: Type.Array(OutcomesRow) },
  closed,
);
export type OutcomesReport = Static<typeof OutcomesReport>;

const ReoffendingMeasures = {
  reoffenders: Count(),
  reoffences: Count(),
  binaryRate: Nullable(RateWithInterval, 'Reoffenders / cohort size.'),
  frequencyPerPerson: Num(),
  frequencyPerReoffender: Num(),
};

export const ReoffendingRow = Type.Object(
  {
    programmeId: Type.String(),
    cohortSize: Count(),
    ...ReoffendingMeasures,
    seriousViolence: Type.Object(ReoffendingMeasures, closed),
    finalOn: IsoDate('The date the cohort becomes final: last index date + 18 months.'),
    provisional: Type.Boolean(),
  },
  closed,
);

export const ReoffendingReport = Type.Object(
  {
    report: Type.Literal('reoffending'), filters: ReoffendingQuery, asOf: IsoDate(), computedAt, suppressed,
    rows: Type.Array(ReoffendingRow),
  },
  closed,
);
export type ReoffendingReport = Static<typeof ReoffendingReport>;

export const SpendRow = Type.Object(
  {
    grantRef: Type.String(),
    providerId: Type.String(),
    programmeId: Type.String(),
    awardedPence: Type.Integer(),
    spentPence: Type.Integer(),
    remainingPence: Type.Integer(),
    spentByCategory: Type.Record(Type.String(), Type.Integer()),
    spentByQuarter: Type.Record(Type.String(), Type.Integer(), { description: 'By the quarter of each spend period start, e.g. 2025-Q3.' }),
    enrolled: Count('Participants of the provider and programme enrolled within the grant period.'),
    completed: Count('Of those, exited with reason completed.'),
    costPerEnrolledPence: Num(),
    costPerCompletionPence: Num(),
  },
  closed,
);

export const SpendReport = Type.Object(
  { report: Type.Literal('spend'), filters: ReportQuery, computedAt, suppressed, rows: Type.Array(SpendRow) },
  closed,
);
export type SpendReport = Static<typeof SpendReport>;
