import { Type, type Static, type TSchema } from 'typebox';
import { DisclosureApplied, ReportAsOf, ReportAt, ReportPosition, SnapshotFilters } from './api.js';
import { Identifier, IsoDate, ProgrammeId } from './primitives.js';

/**
 * The impact report: one programme's participants against a matched comparison group (docs/evaluation.md).
 * Disclosure-controlled for every reader: a withheld figure is null.
 */
const closed = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(s: T, description?: string) =>
  Type.Union([s, Type.Null()], description ? { description } : {});
const Count = (description?: string) => Nullable(Type.Integer({ minimum: 0 }), description);
const Num = (description?: string) => Nullable(Type.Number(), description);

export const ImpactQuery = Type.Object(
  {
    programmeId: ProgrammeId,
    cohortFrom: IsoDate(
      'First index (enrolment) date of the cohort: the first day of a quarter (1 January, 1 April, 1 July, 1 October).',
    ),
    cohortTo: IsoDate('Last index date of the cohort, inclusive: the last day of a quarter.'),
    poolId: Type.Optional(
      Identifier(
        'Only comparison records of this pool (default: every pool, index dates inside the cohort period).',
        'derby-2025',
      ),
    ),
    ...SnapshotFilters,
  },
  closed,
);
export type ImpactQuery = Static<typeof ImpactQuery>;

const GroupFigures = {
  participants: Num("Participants' rate or mean; null when withheld."),
  comparison: Num("Comparisons' (weighted) rate or mean; null when withheld."),
  difference: Type.Number({ description: 'participants − comparison.' }),
  lower: Type.Number({ description: 'Lower end of the 95% confidence interval of the difference.' }),
  upper: Type.Number(),
  pValue: Type.Number(),
};

const Measure = Type.Object(
  {
    matched: Type.Object({ ...GroupFigures, standardError: Type.Number(), significant: Type.Boolean() }, closed),
    unadjusted: Nullable(
      Type.Object(GroupFigures, {
        ...closed,
        description: 'Every participant against the whole pool, before matching.',
      }),
    ),
    per100: Type.Object(
      { difference: Type.Number(), lower: Type.Number(), upper: Type.Number() },
      {
        ...closed,
        description: 'The difference and its interval per 100 participants (percentage points for the rate).',
      },
    ),
    additionalParticipantsNeeded: Count(
      'When inconclusive: about how many more participants would be needed (80% power, 5% level).',
    ),
    wording: Type.String({ description: "The result in plain words, the Justice Data Lab's way." }),
  },
  closed,
);

export const ImpactEstimate = Type.Union([
  Type.Object(
    {
      status: Type.Literal('estimated'),
      matchedParticipants: Count(),
      varianceMethod: Type.String(),
      binary: Measure,
      frequency: Measure,
    },
    closed,
  ),
  Type.Object(
    {
      status: Type.Literal('not-estimated'),
      reason: Type.String(),
      matchedParticipants: Count(),
      minimum: Type.Integer(),
      wording: Type.String(),
    },
    closed,
  ),
]);

export const ImpactRow = Type.Object(
  {
    measure: Type.Union([Type.Literal('binary'), Type.Literal('frequency')], {
      description: 'binary: share with at least one proven reoffence; frequency: proven reoffences per person.',
    }),
    participants: Num(),
    comparison: Num(),
    difference: Type.Number(),
    lower: Type.Number(),
    upper: Type.Number(),
    pValue: Type.Number(),
    significant: Type.Boolean(),
    wording: Type.String(),
  },
  { ...closed, description: 'One row per measure (the CSV); only when there is an estimate.' },
);

export const ImpactReport = Type.Object(
  {
    report: Type.Literal('impact'),
    filters: ImpactQuery,
    asOf: ReportAsOf,
    position: ReportAt,
    computedAt: Type.Array(ReportPosition, {
      description: "Each read model the report used, at the report's position.",
    }),
    suppressed: Type.Boolean({ description: 'Always true: small-number suppression applies to every reader.' }),
    disclosure: DisclosureApplied,
    provisional: Type.Boolean({
      description: 'The follow-up year and waiting period have not ended for everyone in the estimate.',
    }),
    finalOn: Nullable(IsoDate()),
    population: Type.Object(
      {
        participants: Count('Participants in the cohort with evaluation consent in force and their covariates known.'),
        comparisons: Count('Comparison records in the pool for the cohort period.'),
        excludedWithdrawnConsent: Count(),
        excludedErased: Count('Participants whose personal data was erased: no covariates, not evaluated.'),
      },
      closed,
    ),
    matching: Nullable(
      Type.Object(
        {
          caliperSd: Num(),
          caliper: Num(),
          ratio: Type.Integer(),
          exact: Type.Array(Type.String()),
          matched: Count(),
          unmatched: Count(),
          unmatchedNoComparisonInStratum: Count(),
          unmatchedNoneWithinCaliper: Count(),
          comparisonsAvailable: Count(),
          comparisonsUsed: Count(),
        },
        closed,
      ),
    ),
    balance: Nullable(
      Type.Object(
        {
          threshold: Type.Number(),
          balanced: Type.Boolean(),
          failing: Type.Array(Type.String()),
          covariates: Type.Array(
            Type.Object(
              {
                name: Type.String(),
                covariate: Type.String(),
                level: Nullable(Type.String()),
                smdBefore: Num('Standardised mean difference before matching.'),
                smdAfter: Num('After matching.'),
                balanced: Type.Boolean(),
              },
              closed,
            ),
          ),
          propensityLogit: Type.Object({ smdBefore: Num(), smdAfter: Num() }, closed),
          commonSupport: Nullable(Type.Object({ from: Type.Number(), to: Type.Number() }, closed)),
        },
        closed,
      ),
    ),
    propensity: Nullable(
      Type.Object(
        {
          method: Type.String(),
          converged: Type.Boolean(),
          coefficients: Type.Array(Type.Object({ name: Type.String(), estimate: Num(), standardError: Num() }, closed)),
        },
        closed,
      ),
    ),
    estimate: ImpactEstimate,
    warnings: Type.Array(Type.Object({ code: Type.String(), message: Type.String() }, closed)),
    rows: Type.Array(ImpactRow),
  },
  closed,
);
export type ImpactReport = Static<typeof ImpactReport>;
