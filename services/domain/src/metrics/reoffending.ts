import { addMonths } from './dates.js';
import { wilsonInterval, type Proportion } from './intervals.js';

/**
 * Proven reoffending, Ministry of Justice method, over our own data: the index date is enrolment on the
 * intervention; offences come from data partners (police, youth justice). Pure: `asOf` is given, never read
 * from a clock. Dates are ISO YYYY-MM-DD and compare as strings.
 */

export const FOLLOW_UP_MONTHS = 12;
export const WAITING_PERIOD_MONTHS = 6;

export interface ReoffendingOffence {
  offenceDate: string;
  provenDate: string;
  seriousViolence: boolean;
}

export interface ReoffendingParticipant {
  indexDate: string;
  /** Date evaluation consent was withdrawn, or null. */
  evaluationConsentWithdrawnOn: string | null;
  offences: readonly ReoffendingOffence[];
}

export interface ReoffendingMeasures {
  /** People in the cohort with at least one proven reoffence. */
  reoffenders: number;
  /** Proven reoffences counted. */
  reoffences: number;
  /** Binary rate: reoffenders / cohort size, with its Wilson 95% interval; null for an empty cohort. */
  binaryRate: Proportion | null;
  /** Frequency: reoffences / cohort size; null for an empty cohort. */
  frequencyPerPerson: number | null;
  /** reoffences / reoffenders; null when nobody reoffended. */
  frequencyPerReoffender: number | null;
}

export interface ReoffendingResult extends ReoffendingMeasures {
  cohortFrom: string;
  cohortTo: string;
  asOf: string;
  cohortSize: number;
  /** Would have been in the cohort but withdrew evaluation consent on or before asOf. */
  excludedWithdrawn: number;
  /** The same measures counting only offences flagged as serious violence. */
  seriousViolence: ReoffendingMeasures;
  /** Last index date in the cohort + 18 months (cohortTo + 18 months for an empty cohort). */
  finalOn: string;
  /** True while asOf < finalOn: offences may still be committed or proven inside some members' windows. */
  provisional: boolean;
}

/**
 * Whether an offence is a proven reoffence for a person indexed on `indexDate`, known at `asOf`:
 * committed on or after the index date and before the 12-month anniversary (indexDate ≤ offenceDate <
 * indexDate + 12 months), and proven before the 18-month anniversary (provenDate < indexDate + 18 months:
 * the follow-up year plus the 6-month waiting period) and no later than asOf.
 */
export function isProvenReoffence(indexDate: string, offence: ReoffendingOffence, asOf: string): boolean {
  return (
    offence.offenceDate >= indexDate &&
    offence.offenceDate < addMonths(indexDate, FOLLOW_UP_MONTHS) &&
    offence.provenDate < addMonths(indexDate, FOLLOW_UP_MONTHS + WAITING_PERIOD_MONTHS) &&
    offence.provenDate <= asOf
  );
}

/** Evaluation consent has not been withdrawn on or before `asOf`: the person counts in evaluation figures. */
export const inEvaluationOn = (
  p: Pick<ReoffendingParticipant, 'evaluationConsentWithdrawnOn'>,
  asOf: string,
): boolean => p.evaluationConsentWithdrawnOn === null || p.evaluationConsentWithdrawnOn > asOf;

/** The follow-up year and the waiting period have ended for a person indexed on `indexDate` from this date on. */
export const finalOnFor = (indexDate: string): string => addMonths(indexDate, FOLLOW_UP_MONTHS + WAITING_PERIOD_MONTHS);

/** A cohort's proven reoffending counted: its people, those with a proven reoffence, and the reoffences. */
export interface ReoffendingCounts {
  people: number;
  reoffenders: number;
  reoffences: number;
}

/** Each member's proven reoffences, counted. */
export function countReoffending(perMember: readonly number[]): ReoffendingCounts {
  return {
    people: perMember.length,
    reoffenders: perMember.filter((c) => c > 0).length,
    reoffences: perMember.reduce((s, c) => s + c, 0),
  };
}

function measures({ people: n, reoffenders, reoffences }: ReoffendingCounts): ReoffendingMeasures {
  return {
    reoffenders,
    reoffences,
    binaryRate: wilsonInterval(reoffenders, n),
    frequencyPerPerson: n === 0 ? null : reoffences / n,
    frequencyPerReoffender: reoffenders === 0 ? null : reoffences / reoffenders,
  };
}

/**
 * The result from a cohort already counted (by `provenReoffending`, or by a query applying `isProvenReoffence`'s
 * rule per member): `all` and `seriousViolence` over the same members, `lastIndexDate` the latest member's index date
 * (null for an empty cohort).
 */
export function reoffendingResult(
  counted: {
    all: ReoffendingCounts;
    seriousViolence: ReoffendingCounts;
    lastIndexDate: string | null;
    excludedWithdrawn: number;
  },
  cohort: { from: string; to: string },
  asOf: string,
): ReoffendingResult {
  const finalOn = finalOnFor(counted.lastIndexDate ?? cohort.to);
  return {
    cohortFrom: cohort.from,
    cohortTo: cohort.to,
    asOf,
    cohortSize: counted.all.people,
    excludedWithdrawn: counted.excludedWithdrawn,
    ...measures(counted.all),
    seriousViolence: measures(counted.seriousViolence),
    finalOn,
    provisional: asOf < finalOn,
  };
}

/**
 * The cohort is everyone with cohortFrom ≤ indexDate ≤ cohortTo (both inclusive), except a person whose
 * evaluation consent was withdrawn on or before `asOf`: from the withdrawal date on, every computation leaves
 * them out, including recomputations of earlier cohorts, so a figure may change when it is recomputed after a
 * withdrawal. A computation as of a date before the withdrawal still includes them.
 */
export function provenReoffending(
  participants: readonly ReoffendingParticipant[],
  cohort: { from: string; to: string },
  asOf: string,
): ReoffendingResult {
  const inPeriod = participants.filter((p) => p.indexDate >= cohort.from && p.indexDate <= cohort.to);
  const members = inPeriod.filter((p) => inEvaluationOn(p, asOf));
  const all = members.map((p) => p.offences.filter((o) => isProvenReoffence(p.indexDate, o, asOf)));
  const lastIndex = members.reduce((m, p) => (p.indexDate > m ? p.indexDate : m), '');
  return reoffendingResult(
    {
      all: countReoffending(all.map((os) => os.length)),
      seriousViolence: countReoffending(all.map((os) => os.filter((o) => o.seriousViolence).length)),
      lastIndexDate: lastIndex || null,
      excludedWithdrawn: inPeriod.length - members.length,
    },
    cohort,
    asOf,
  );
}
