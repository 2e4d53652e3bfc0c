import type { DifferenceEstimate } from './estimate.js';

/**
 * The result in plain words, the way the Justice Data Lab writes it for a lay reader: a range "for every 100
 * participants", and an inconclusive result said as needing more people, never as failure.
 */

export type Measure = 'binary' | 'frequency';

const NOUN: Record<Measure, string> = { binary: 'proven reoffenders', frequency: 'proven reoffences' };
const COMPARED = 'than in a matched comparison group of similar people who did not take part';

/** A count per 100 people: whole numbers; one significant figure below 1, so that a small non-zero bound does not read as 0. */
export function per100(x: number): string {
  const a = Math.abs(x);
  if (a === 0) return '0';
  return a < 0.95 ? String(Number(a.toPrecision(1))) : String(Math.round(a));
}

/**
 * E.g. "For every 100 participants, between 2 and 14 fewer proven reoffenders than in a matched comparison group
 * of similar people who did not take part." or, when the interval includes no difference, "Inconclusive: …
 * This does not mean the programme does not work: about 240 more participants would be needed to tell …".
 * The words carry no count of people and no group rate (only the modelled interval), so they never publish a
 * figure that disclosure control would withhold from the tables.
 */
export function describeDifference(
  measure: Measure,
  estimate: DifferenceEstimate,
  additionalParticipantsNeeded: number | null,
): string {
  const noun = NOUN[measure];
  const lower = 100 * estimate.ci.lower;
  const upper = 100 * estimate.ci.upper;
  if (estimate.significant && upper < 0) {
    return `For every 100 participants, between ${per100(upper)} and ${per100(lower)} fewer ${noun} ${COMPARED}.`;
  }
  if (estimate.significant && lower > 0) {
    return `For every 100 participants, between ${per100(lower)} and ${per100(upper)} more ${noun} ${COMPARED}.`;
  }
  const range =
    `for every 100 participants, the difference lies between ${per100(lower)} ${lower < 0 ? 'fewer' : 'more'} and ` +
    `${per100(upper)} ${upper < 0 ? 'fewer' : 'more'} ${noun} ${COMPARED}, so it may be no difference at all.`;
  let more: string;
  if (additionalParticipantsNeeded === null) {
    more = "the two groups' figures were the same, so more participants would not show a difference.";
  } else if (additionalParticipantsNeeded === 0) {
    more = 'a study of this size would usually detect a difference as large as the one seen, but this one did not.';
  } else {
    more =
      `about ${additionalParticipantsNeeded} more participants would be needed to tell whether a difference as large as the one ` +
      'seen is real (80% power, 5% significance).';
  }
  return `Inconclusive: ${range} This does not mean the programme does not work: ${more}`;
}

/** Why there is no estimate; says no count of people (the counts are figures, under disclosure control). */
export function describeTooFewMatched(minimum: number): string {
  return (
    `No estimate: fewer than ${minimum} participants could be matched to similar people in the comparison group, and an estimate ` +
    `needs at least ${minimum} (the Justice Data Lab's minimum). More participants are needed before the programme can be evaluated.`
  );
}
