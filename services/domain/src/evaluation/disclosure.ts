import { rateSuppressed, suppressCount, suppressRow } from '../metrics/suppression.js';
import type { DifferenceEstimate } from './estimate.js';
import type { EvaluationWarning, MeasureEstimate } from './evaluate.js';
import type { PublishableImpact } from './publishable.js';

/**
 * The impact result as a commissioner may see it: `publishableImpact` (no ids, no pooled level names) passed
 * through the reports' small-number rules. Counts of people 1–4 are withheld, with secondary suppression where a
 * total is published; a group's rate or mean is withheld when its denominator is under 10 or its numerator (rate ×
 * people, rounded) is 1–4, and then the other group's too, since the difference is published and would give it
 * back. Group means of the balance table are never published (a 0/1 mean times a group size is a count): only the
 * standardised differences, rounded. The propensity-score histogram stays inside; its common range is published.
 */

const round = (x: number | null, digits: number): number | null =>
  x === null || !Number.isFinite(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits;

export interface DisclosedGroupFigures {
  /** Participants' rate or mean (null when withheld). */
  participants: number | null;
  /** Their comparisons' (weighted) rate or mean (null when withheld). */
  comparison: number | null;
  difference: number;
  lower: number;
  upper: number;
  pValue: number;
}

export interface DisclosedMeasure {
  matched: DisclosedGroupFigures & { standardError: number; significant: boolean };
  unadjusted: DisclosedGroupFigures | null;
  per100: { difference: number; lower: number; upper: number };
  additionalParticipantsNeeded: number | null;
  wording: string;
}

export interface DisclosedImpact {
  asOf: string;
  provisional: boolean;
  finalOn: string | null;
  population: { participants: number | null; comparisons: number | null; excludedWithdrawnConsent: number | null };
  matching: {
    caliperSd: number | null;
    caliper: number | null;
    ratio: number;
    exact: readonly string[];
    matched: number | null;
    unmatched: number | null;
    unmatchedNoComparisonInStratum: number | null;
    unmatchedNoneWithinCaliper: number | null;
    comparisonsAvailable: number | null;
    comparisonsUsed: number | null;
  } | null;
  balance: {
    threshold: number;
    balanced: boolean;
    failing: string[];
    covariates: {
      name: string;
      covariate: string;
      level: string | null;
      smdBefore: number | null;
      smdAfter: number | null;
      balanced: boolean;
    }[];
    propensityLogit: { smdBefore: number | null; smdAfter: number | null };
    commonSupport: { from: number; to: number } | null;
  } | null;
  propensity: {
    method: string;
    converged: boolean;
    coefficients: { name: string; estimate: number | null; standardError: number | null }[];
  } | null;
  estimate:
    | {
        status: 'estimated';
        matchedParticipants: number | null;
        varianceMethod: string;
        binary: DisclosedMeasure;
        frequency: DisclosedMeasure;
      }
    | { status: 'not-estimated'; reason: string; matchedParticipants: number | null; minimum: number; wording: string };
  warnings: EvaluationWarning[];
}

/** Both groups' figures, or neither: numerators are figure × people, rounded (weights make the comparison's fractional). */
function groups(d: DifferenceEstimate, participants: number, comparisons: number): DisclosedGroupFigures {
  const hide =
    rateSuppressed(Math.round(d.participants * participants), participants) ||
    rateSuppressed(Math.round(d.comparison * comparisons), comparisons);
  return {
    participants: hide ? null : round(d.participants, 4),
    comparison: hide ? null : round(d.comparison, 4),
    difference: round(d.difference, 4)!,
    lower: round(d.ci.lower, 4)!,
    upper: round(d.ci.upper, 4)!,
    pValue: round(d.pValue, 4)!,
  };
}

function measure(m: MeasureEstimate, matched: number, population: PublishableImpact['population']): DisclosedMeasure {
  return {
    // Matched comparisons weigh as many as the matched participants they stand for.
    matched: {
      ...groups(m.matched, matched, matched),
      standardError: round(m.matched.standardError, 4)!,
      significant: m.matched.significant,
    },
    unadjusted: m.unadjusted && groups(m.unadjusted, population.participants, population.comparisons),
    per100: {
      difference: round(m.per100.difference, 1)!,
      lower: round(m.per100.lower, 1)!,
      upper: round(m.per100.upper, 1)!,
    },
    additionalParticipantsNeeded: m.additionalParticipantsNeeded,
    wording: m.wording,
  };
}

export function disclosedImpact(p: PublishableImpact): DisclosedImpact {
  const counts = p.matching?.counts;
  const [matched, unmatched] = counts ? suppressRow([counts.matched, counts.unmatched]) : [null, null];
  const [noStratum, noneWithin] = counts
    ? unmatched === null
      ? [null, null]
      : suppressRow([counts.unmatchedNoComparisonInStratum, counts.unmatchedNoneWithinCaliper])
    : [null, null];
  const e = p.estimate;
  // The estimate repeats the matched count: withheld there too when the matching row withheld it (secondary suppression).
  const matchedShown = (n: number) => (counts && matched === null ? null : suppressCount(n));
  return {
    asOf: p.asOf,
    provisional: p.provisional,
    finalOn: p.finalOn,
    population: {
      participants: suppressCount(p.population.participants),
      comparisons: suppressCount(p.population.comparisons),
      excludedWithdrawnConsent: suppressCount(p.population.excludedWithdrawnConsent),
    },
    matching: p.matching && {
      caliperSd: p.matching.caliperSd,
      caliper: round(p.matching.caliper, 4),
      ratio: p.matching.ratio,
      exact: p.matching.exact,
      matched: matched!,
      unmatched: unmatched!,
      unmatchedNoComparisonInStratum: noStratum!,
      unmatchedNoneWithinCaliper: noneWithin!,
      comparisonsAvailable: suppressCount(counts!.comparisonsAvailable),
      comparisonsUsed: suppressCount(counts!.comparisonsUsed),
    },
    balance: p.balance && {
      threshold: p.balance.threshold,
      balanced: p.balance.balanced,
      failing: p.balance.failing,
      covariates: p.balance.covariates.map((c) => ({
        name: c.name,
        covariate: c.covariate,
        level: c.level ?? null,
        smdBefore: round(c.before.smd, 3),
        smdAfter: round(c.after?.smd ?? null, 3),
        balanced: c.balanced,
      })),
      propensityLogit: {
        smdBefore: round(p.balance.propensityLogit.before.smd, 3),
        smdAfter: round(p.balance.propensityLogit.after?.smd ?? null, 3),
      },
      commonSupport: p.balance.overlap.commonSupport && {
        from: round(p.balance.overlap.commonSupport.from, 3)!,
        to: round(p.balance.overlap.commonSupport.to, 3)!,
      },
    },
    propensity: p.propensity && {
      method: p.propensity.method,
      converged: p.propensity.converged,
      coefficients: p.propensity.coefficients.map((c) => ({
        name: c.name,
        estimate: round(c.estimate, 4),
        standardError: round(c.standardError, 4),
      })),
    },
    estimate:
      e.status === 'estimated'
        ? {
            status: 'estimated',
            matchedParticipants: matchedShown(e.matchedParticipants),
            varianceMethod: e.varianceMethod,
            binary: measure(e.binary, e.matchedParticipants, p.population),
            frequency: measure(e.frequency, e.matchedParticipants, p.population),
          }
        : {
            status: 'not-estimated',
            reason: e.reason,
            matchedParticipants: matchedShown(e.matchedParticipants),
            minimum: e.minimum,
            wording: e.wording,
          },
    warnings: p.warnings,
  };
}
