import { Type, type Static, type TSchema } from 'typebox';
import { IsoDate, ProgrammeId, ProviderId, StringEnum } from './primitives.js';
import { DisclosureApplied, ReportAsOf, ReportAt, ReportPosition, SnapshotFilters } from './api.js';

/**
 * Outcome reports: engagement, outcomes, reoffending and spend. Figures for commissioners and funders are
 * small-number suppressed (a suppressed figure is null); a provider's own figures never are.
 * Definitions: docs/metrics.md.
 */
const closed = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(s: T, description?: string) =>
  Type.Union([s, Type.Null()], description ? { description } : {});
const Count = (description?: string) => Nullable(Type.Integer({ minimum: 0 }), description);
const Num = (description?: string) => Nullable(Type.Number(), description);

const scopeFilters = {
  programmeId: Type.Optional(ProgrammeId),
  providerId: Type.Optional(ProviderId),
};

export const ReportQuery = Type.Object(
  {
    ...scopeFilters,
    ...SnapshotFilters,
    from: Type.Optional(IsoDate('On or after this date (which date depends on the report).')),
    to: Type.Optional(IsoDate('On or before this date.')),
  },
  closed,
);
export type ReportQuery = Static<typeof ReportQuery>;

export const ReoffendingQuery = Type.Object(
  {
    ...scopeFilters,
    ...SnapshotFilters,
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

const asOf = ReportAsOf;
const position = ReportAt;
const computedAt = Type.Array(ReportPosition, {
  description: "Each read model the report used, at the report's position.",
});
const suppressed = Type.Boolean({ description: 'True when disclosure control applied (null figures are withheld).' });
const disclosure = DisclosureApplied;

export const ReportGroupings = [
  'month',
  'quarter',
  'programme',
  'provider',
  'age-band',
  'gender',
  'ethnicity',
  'referral-source',
  'postcode-district',
] as const;
export const ReportGroupBy = StringEnum(ReportGroupings, {
  description:
    "Break each row down by this dimension (the value is in the row's group field). month and quarter are of the date the report " +
    'selects by (referral date for engagement, enrolment start date for outcomes); a participant without a value is in group unknown.',
});

export const EngagementQuery = Type.Object(
  {
    ...scopeFilters,
    ...SnapshotFilters,
    from: Type.Optional(IsoDate('Referred on or after this date.')),
    to: Type.Optional(IsoDate('Referred on or before this date.')),
    groupBy: Type.Optional(ReportGroupBy),
  },
  closed,
);
export type EngagementQuery = Static<typeof EngagementQuery>;

export const EngagementRow = Type.Object(
  {
    programmeId: Type.String(),
    group: Type.Optional(
      Type.String({ description: 'The value of the groupBy dimension for this row (only when groupBy is given).' }),
    ),
    referrals: Count('Participants referred within from..to.'),
    consented: Count(
      'Of the referrals, with evaluation consent recorded and not withdrawn (reported; it gates no later stage).',
    ),
    enrolled: Count('Of the referrals, enrolled (the starters), whatever their consent.'),
    attended: Count('Of the enrolled, attended at least one session.'),
    completed: Count(
      'Of the enrolled, exited with reason completed (the completers), whether or not a session was recorded.',
    ),
    dropOffAtConsent: Count('referrals − consented.'),
    dropOffAtEnrolment: Count('referrals − enrolled.'),
    dropOffAtAttendance: Count('enrolled − attended.'),
    dropOffAtCompletion: Count('enrolled − completed.'),
    completionRate: Nullable(RateWithInterval, 'completed / enrolled: completers over starters.'),
    medianDaysReferralToEnrolment: Num(),
    exitReasons: Type.Record(Type.String(), Count(), { description: 'Exits of the enrolled by reason.' }),
  },
  closed,
);

export const EngagementReport = Type.Object(
  {
    report: Type.Literal('engagement'),
    filters: EngagementQuery,
    asOf,
    position,
    computedAt,
    suppressed,
    disclosure,
    rows: Type.Array(EngagementRow),
  },
  closed,
);
export type EngagementReport = Static<typeof EngagementReport>;

const MeanChange = Type.Object(
  { mean: Type.Number(), lower: Num(), upper: Num() },
  { ...closed, description: 'Mean exit − baseline with its 95% t interval.' },
);

export const OutcomesQuery = Type.Object(
  {
    ...scopeFilters,
    ...SnapshotFilters,
    from: Type.Optional(IsoDate('Enrolled on or after this date.')),
    to: Type.Optional(IsoDate('Enrolled on or before this date.')),
    groupBy: Type.Optional(ReportGroupBy),
  },
  closed,
);
export type OutcomesQuery = Static<typeof OutcomesQuery>;

export const OutcomesRow = Type.Object(
  {
    programmeId: Type.String(),
    group: Type.Optional(
      Type.String({ description: 'The value of the groupBy dimension for this row (only when groupBy is given).' }),
    ),
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
  {
    report: Type.Literal('outcomes'),
    filters: OutcomesQuery,
    asOf,
    position,
    computedAt,
    suppressed,
    disclosure,
    rows: Type.Array(OutcomesRow),
  },
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
    report: Type.Literal('reoffending'),
    filters: ReoffendingQuery,
    asOf,
    position,
    computedAt,
    suppressed,
    disclosure,
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
    spentByQuarter: Type.Record(Type.String(), Type.Integer(), {
      description: 'By the quarter of each spend period start, e.g. 2025-Q3.',
    }),
    enrolled: Count('Participants of the provider and programme enrolled within the grant period.'),
    completed: Count('Of those, exited with reason completed.'),
    costPerEnrolledPence: Num(),
    costPerCompletionPence: Num(),
  },
  closed,
);

export const SpendReport = Type.Object(
  {
    report: Type.Literal('spend'),
    filters: ReportQuery,
    asOf,
    position,
    computedAt,
    suppressed,
    disclosure,
    rows: Type.Array(SpendRow),
  },
  closed,
);
export type SpendReport = Static<typeof SpendReport>;

/** Quarterly return: the figures a VRU sends the Home Office each quarter, per programme (intervention). */
export const QuarterlyReturnQuery = Type.Object(
  {
    quarter: Type.String({
      pattern: '^\\d{4}Q[1-4]$',
      description: 'The calendar quarter, e.g. 2026Q3 (July to September 2026).',
      examples: ['2026Q3'],
    }),
    ...scopeFilters,
    ...SnapshotFilters,
  },
  closed,
);
export type QuarterlyReturnQuery = Static<typeof QuarterlyReturnQuery>;

const Breakdown = (description: string) => Type.Record(Type.String(), Count(), { description });

export const QuarterlyGrant = Type.Object(
  {
    providerId: Type.String(),
    awardedPence: Type.Integer(),
    spentInQuarterPence: Type.Integer({
      description: 'Spend (corrections applied) whose period starts in the quarter.',
    }),
    spentToQuarterEndPence: Type.Integer({
      description: 'Cumulative spend whose period starts on or before the quarter end.',
    }),
    remainingAtQuarterEndPence: Type.Integer({ description: 'Awarded − spent to quarter end.' }),
  },
  closed,
);

export const QuarterlyReturnRow = Type.Object(
  {
    programmeId: Type.String(),
    referred: Count('Participants referred in the quarter.'),
    referredByAgeBand: Breakdown('Referred in the quarter, by age band at referral (unknown when no age was given).'),
    referredByDeliverySetting: Breakdown(
      'Referred in the quarter, by delivery setting of their enrolment (not-enrolled when none).',
    ),
    active: Count(
      'Participants enrolled and not exited before the quarter start, enrolled on or before the quarter end.',
    ),
    activeByAgeBand: Breakdown('Active in the quarter, by age band at referral.'),
    activeByDeliverySetting: Breakdown('Active in the quarter, by delivery setting.'),
    newlyEnrolled: Count('Participants whose enrolment started in the quarter.'),
    sessionsDelivered: Count('Sessions attended (SessionAttended) dated in the quarter.'),
    completions: Count('Participants who exited with reason completed in the quarter.'),
    grants: Type.Record(Type.String(), QuarterlyGrant, {
      description: 'Spend against each grant of the programme, by grant reference.',
    }),
  },
  closed,
);

export const QuarterlyReturnReport = Type.Object(
  {
    report: Type.Literal('quarterly-return'),
    filters: QuarterlyReturnQuery,
    quarterStart: IsoDate(),
    quarterEnd: IsoDate(),
    asOf,
    position,
    computedAt,
    suppressed,
    disclosure,
    rows: Type.Array(QuarterlyReturnRow),
  },
  closed,
);
export type QuarterlyReturnReport = Static<typeof QuarterlyReturnReport>;

/** Contract performance: actual against the delivery targets of each grant, per quarter and indicator. */
export const PerformanceQuery = Type.Object(
  {
    quarter: Type.Optional(
      Type.String({
        pattern: '^\\d{4}Q[1-4]$',
        examples: ['2026Q3'],
        description: 'One calendar quarter, e.g. 2026Q3; without it, every quarter with targets that has started.',
      }),
    ),
    grantRef: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'One grant.' })),
    ...scopeFilters,
    ...SnapshotFilters,
  },
  closed,
);
export type PerformanceQuery = Static<typeof PerformanceQuery>;

const Rag = Nullable(
  StringEnum(['green', 'amber', 'red'] as const),
  'Red/amber/green against target (thresholds in docs/metrics.md); null without a target or figure.',
);

export const PerformanceRow = Type.Object(
  {
    grantRef: Type.String(),
    providerId: Type.String(),
    programmeId: Type.String(),
    quarter: Type.String({ description: 'Calendar quarter, e.g. 2026Q3.' }),
    indicator: Type.String({
      description:
        'referrals, enrolments, sessionsDelivered, completions, spendPence, ' +
        'or reliablyImproved:<instrument> (a share from 0 to 1).',
    }),
    target: Type.Number(),
    actual: Num(
      'The figure for the quarter; null when suppressed or (shares) when nobody has a baseline and exit measure.',
    ),
    variance: Num('actual − target.'),
    percentOfTarget: Num('actual / target.'),
    status: Rag,
    pairs: Count('Shares only: people with a baseline and an exit measure whose exit fell in the quarter.'),
    yearStart: IsoDate('First day of the grant year holding the quarter.'),
    yearEnd: IsoDate('Last day of that grant year.'),
    yearToDateTarget: Type.Number(),
    yearToDateActual: Num(),
    yearToDateVariance: Num(),
    yearToDateStatus: Rag,
    yearTarget: Type.Number({ description: 'Targets of every quarter of the grant year (shares: their mean).' }),
    forecastToYearEnd: Num('Year to date at the run rate to the end of the grant year (counts and spend only).'),
    forecastStatus: Rag,
    targetsRevised: Type.Integer({ minimum: 0, description: "How many times the quarter's targets were revised." }),
  },
  closed,
);

export const PerformanceReport = Type.Object(
  {
    report: Type.Literal('performance'),
    filters: PerformanceQuery,
    asOf,
    position,
    computedAt,
    suppressed,
    disclosure,
    rows: Type.Array(PerformanceRow),
  },
  closed,
);
export type PerformanceReport = Static<typeof PerformanceReport>;
