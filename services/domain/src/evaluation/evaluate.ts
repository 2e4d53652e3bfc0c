import { wilsonInterval, type Interval, type Proportion } from '../metrics/intervals.js';
import { finalOnFor, inEvaluationOn, isProvenReoffence } from '../metrics/reoffending.js';
import { balanceDiagnostics, type BalanceDiagnostics } from './balance.js';
import {
  buildDesign,
  categoricalValue,
  type CategoricalCoding,
  type Covariates,
  type DesignOptions,
  type EvaluationSubject,
} from './covariates.js';
import {
  comparisonVariances,
  matchedDifference,
  participantsNeededForMeans,
  participantsNeededForRates,
  unadjustedDifference,
  type DifferenceEstimate,
} from './estimate.js';
import {
  DEFAULT_MATCHING,
  matchOnPropensity,
  type Matching,
  type MatchingOptions,
  type MatchingUnit,
} from './matching.js';
import { fitLogistic, type FitProblem, type LogisticOptions } from './propensity.js';
import { describeDifference, describeTooFewMatched, type Measure } from './wording.js';

/**
 * Impact evaluation against a matched comparison group, the Justice Data Lab's way: a propensity-score model,
 * nearest-neighbour matching with a caliper and replacement, balance diagnostics, and the one-year proven
 * reoffending rate and frequency of matched participants against their matched comparisons. Pure: the subjects
 * and the as-of date come in; nothing is read from a database or a clock.
 */

/** No estimate under this many matched participants (the Justice Data Lab's minimum). */
export const MINIMUM_MATCHED_PARTICIPANTS = 60;

export type ExactCovariate = 'gender' | 'ethnicityGroup' | 'area' | 'ageBand' | 'priorSeriousViolence' | 'priorCustody';

export interface EvaluationOptions {
  design: Partial<DesignOptions>;
  propensity: Partial<LogisticOptions>;
  matching: Partial<MatchingOptions>;
  /** Participants are matched only to comparisons with the same values of these. */
  exact: readonly ExactCovariate[];
  /** Neighbours used to estimate a comparison's outcome variance (Abadie–Imbens J). */
  varianceNeighbours: number;
}

export const DEFAULT_EVALUATION: EvaluationOptions = {
  design: {},
  propensity: {},
  matching: {},
  exact: ['gender'],
  varianceNeighbours: 2,
};

export interface MeasureEstimate {
  /** Matched participants against their matched comparisons (Abadie–Imbens variance). */
  matched: DifferenceEstimate;
  /** Every participant against the whole pool, before matching: shows what matching changed. */
  unadjusted: DifferenceEstimate | null;
  /** The matched difference and its interval per 100 participants (percentage points for the binary rate). */
  per100: { difference: number } & Interval;
  /** Per group, for 80% power at 5% to detect the difference seen; null when the difference is zero. */
  participantsNeeded: number | null;
  /** When inconclusive: participantsNeeded − matched participants (at least 0); null when significant or not computable. */
  additionalParticipantsNeeded: number | null;
  wording: string;
}

export type NotEstimatedReason = 'no-participants' | 'no-comparisons' | 'fewer-than-minimum-matched';

export type ImpactEstimate =
  | {
      status: 'estimated';
      matchedParticipants: number;
      varianceMethod: 'abadie-imbens-2006';
      /** Matched participants with at least one proven reoffence, with the Wilson interval. */
      participantRate: Proportion;
      /** One-year proven reoffending, binary: reoffended or not. */
      binary: MeasureEstimate;
      /** Proven reoffences per person. */
      frequency: MeasureEstimate;
    }
  | {
      status: 'not-estimated';
      reason: NotEstimatedReason;
      matchedParticipants: number;
      minimum: number;
      wording: string;
    };

export type WarningCode = 'imbalance' | 'ridge-fit' | 'unmatched-participants' | 'constant-covariates' | 'provisional';

export interface EvaluationWarning {
  code: WarningCode;
  message: string;
}

export interface PropensitySummary {
  method: 'maximum-likelihood' | 'ridge';
  ridgeLambda: number | null;
  problems: FitProblem[];
  converged: boolean;
  iterations: number;
  coefficients: { name: string; estimate: number; standardError: number }[];
  categorical: CategoricalCoding[];
  droppedColumns: string[];
}

export interface ImpactEvaluation {
  asOf: string;
  population: {
    participants: number;
    comparisons: number;
    /** Participants left out because they withdrew evaluation consent on or before asOf. */
    excludedWithdrawnConsent: number;
  };
  propensity: PropensitySummary | null;
  matching: (Matching & { caliperSd: number | null; exact: readonly ExactCovariate[] }) | null;
  balance: BalanceDiagnostics | null;
  estimate: ImpactEstimate;
  /** The last day anyone in the estimate (or, without one, any participant) could still add a proven reoffence. */
  finalOn: string | null;
  /** asOf < finalOn: follow-up or waiting periods have not all ended, so the figures can still change. */
  provisional: boolean;
  warnings: EvaluationWarning[];
}

const exactValue = (c: Covariates, covariate: ExactCovariate): string =>
  covariate === 'priorSeriousViolence' || covariate === 'priorCustody'
    ? String(c[covariate])
    : categoricalValue(c, covariate);

const latest = (dates: readonly string[]): string | null =>
  dates.reduce<string | null>((m, d) => (m === null || d > m ? d : m), null);

const populationVariance = (xs: readonly number[], weights?: readonly number[]) => {
  const w = weights ?? xs.map(() => 1);
  const total = w.reduce((s, v) => s + v, 0);
  const mean = xs.reduce((s, v, i) => s + w[i]! * v, 0) / total;
  return xs.reduce((s, v, i) => s + w[i]! * (v - mean) ** 2, 0) / total;
};

function measureEstimate(
  measure: Measure,
  matched: DifferenceEstimate,
  unadjusted: DifferenceEstimate | null,
  participantsNeeded: number | null,
  matchedParticipants: number,
): MeasureEstimate {
  const additional =
    matched.significant || participantsNeeded === null ? null : Math.max(0, participantsNeeded - matchedParticipants);
  return {
    matched,
    unadjusted,
    per100: { difference: 100 * matched.difference, lower: 100 * matched.ci.lower, upper: 100 * matched.ci.upper },
    participantsNeeded,
    additionalParticipantsNeeded: additional,
    wording: describeDifference(measure, matched, matched.significant ? null : additional),
  };
}

/**
 * Evaluates the participants among `subjects` against the comparison pool among them, as of `asOf`. Subjects'
 * ids must be unique. Participants whose evaluation consent was withdrawn on or before `asOf` are left out.
 */
export function evaluateImpact(
  subjects: readonly EvaluationSubject[],
  asOf: string,
  overrides: Partial<EvaluationOptions> = {},
): ImpactEvaluation {
  const options = { ...DEFAULT_EVALUATION, ...overrides };
  if (new Set(subjects.map((s) => s.id)).size !== subjects.length)
    throw new RangeError('evaluation subjects must have unique ids');
  // In id order: the propensity model's fit sums in floating point, so another order of the same people could move a
  // logit in its last bits and change which comparison is nearest (rows arrive from the read models in any order).
  const included = [...subjects]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .filter((s) => s.group === 'comparison' || inEvaluationOn(s, asOf));
  const participants = included.filter((s) => s.group === 'participant');
  const comparisons = included.filter((s) => s.group === 'comparison');
  const population = {
    participants: participants.length,
    comparisons: comparisons.length,
    excludedWithdrawnConsent: subjects.length - included.length,
  };
  const warnings: EvaluationWarning[] = [];
  const provisionalFrom = (people: readonly EvaluationSubject[]) => {
    const finalOn = latest(people.map((p) => finalOnFor(p.covariates.indexDate)));
    const provisional = finalOn !== null && asOf < finalOn;
    if (provisional) {
      warnings.push({
        code: 'provisional',
        message:
          `Provisional: the one-year follow-up and the six-month waiting period end on ${finalOn} for the last person; ` +
          'until then the figures can still change.',
      });
    }
    return { finalOn, provisional };
  };
  const notEstimated = (reason: NotEstimatedReason, matchedParticipants: number, wording: string): ImpactEstimate => ({
    status: 'not-estimated',
    reason,
    matchedParticipants,
    minimum: MINIMUM_MATCHED_PARTICIPANTS,
    wording,
  });

  if (participants.length === 0 || comparisons.length === 0) {
    const reason = participants.length === 0 ? 'no-participants' : 'no-comparisons';
    const wording =
      reason === 'no-participants'
        ? 'No estimate: there are no participants to evaluate.'
        : 'No estimate: there is no comparison group to match participants to.';
    return {
      asOf,
      population,
      propensity: null,
      matching: null,
      balance: null,
      estimate: notEstimated(reason, 0, wording),
      ...provisionalFrom(participants),
      warnings,
    };
  }

  const design = buildDesign(
    included.map((s) => s.covariates),
    options.design,
  );
  const fit = fitLogistic(
    design.rows,
    included.map((s) => (s.group === 'participant' ? 1 : 0)),
    options.propensity,
  );
  const propensity: PropensitySummary = {
    method: fit.method,
    ridgeLambda: fit.ridgeLambda,
    problems: fit.problems,
    converged: fit.converged,
    iterations: fit.iterations,
    coefficients: design.columns.map((c, j) => ({
      name: c.name,
      estimate: fit.coefficients[j]!,
      standardError: fit.standardErrors[j]!,
    })),
    categorical: design.categorical,
    droppedColumns: design.dropped,
  };
  if (fit.method === 'ridge') {
    warnings.push({
      code: 'ridge-fit',
      message:
        `The propensity model could not be fitted exactly (${fit.problems.join(', ')}): a penalised (ridge) fit was used. ` +
        'Usually some characteristic almost perfectly separates participants from the comparison pool.',
    });
  }
  if (design.dropped.length > 0) {
    warnings.push({
      code: 'constant-covariates',
      message: `Left out of the model because everybody had the same value: ${design.dropped.join(', ')}.`,
    });
  }

  const units: MatchingUnit[] = included.map((s, i) => ({
    id: s.id,
    group: s.group,
    logit: fit.logits[i]!,
    stratum: JSON.stringify(options.exact.map((e) => exactValue(s.covariates, e))),
  }));
  const matching = matchOnPropensity(units, options.matching);
  const { caliperSd } = { ...DEFAULT_MATCHING, ...options.matching };
  const balance = balanceDiagnostics({
    subjects: included,
    columns: design.balanceColumns,
    values: design.balanceRows,
    probabilities: fit.probabilities,
    logits: fit.logits,
    matching,
  });
  if (matching.counts.unmatched > 0) {
    // No counts in the words: the counts are figures, and disclosure control applies to figures.
    warnings.push({
      code: 'unmatched-participants',
      message:
        'Some participants had no similar enough person in the comparison group (see the matching counts) and are not in the ' +
        'estimate: it describes the participants who could be matched.',
    });
  }
  if (matching.counts.matched > 0 && !balance.balanced) {
    warnings.push({
      code: 'imbalance',
      message:
        `After matching the groups still differ on ${balance.failing.join(', ')} (standardised difference of ${balance.threshold} ` +
        'or more): the estimate may be biased by these differences.',
    });
  }

  const byId = new Map(included.map((s) => [s.id, s]));
  const matchedPeople = [
    ...matching.matched.map((m) => byId.get(m.participantId)!),
    ...matching.comparisonWeights.map((w) => byId.get(w.id)!),
  ];
  const { finalOn, provisional } = provisionalFrom(matching.counts.matched > 0 ? matchedPeople : participants);
  const base = {
    asOf,
    population,
    propensity,
    matching: { ...matching, caliperSd, exact: options.exact },
    balance,
    finalOn,
    provisional,
    warnings,
  };

  if (matching.counts.matched < MINIMUM_MATCHED_PARTICIPANTS) {
    return {
      ...base,
      estimate: notEstimated(
        'fewer-than-minimum-matched',
        matching.counts.matched,
        describeTooFewMatched(MINIMUM_MATCHED_PARTICIPANTS),
      ),
    };
  }

  // The proven reoffending rule of the reoffending report, applied to both groups alike.
  const provenReoffences = (s: EvaluationSubject) =>
    s.offences.filter((o) => isProvenReoffence(s.covariates.indexDate, o, asOf)).length;
  const reoffences = new Map(included.map((s) => [s.id, provenReoffences(s)]));
  const reoffended = new Map([...reoffences].map(([id, n]) => [id, n > 0 ? 1 : 0]));
  const usedComparisons = matching.comparisonWeights.map((w) => w.id);
  const comparisonUnits = units.filter((u) => u.group === 'comparison');
  const estimateFor = (outcome: ReadonlyMap<string, number>) =>
    matchedDifference(
      matching.matched,
      outcome,
      comparisonVariances(comparisonUnits, usedComparisons, outcome, options.varianceNeighbours),
    );
  const all = (group: 'participant' | 'comparison', outcome: ReadonlyMap<string, number>) =>
    included.filter((s) => s.group === group).map((s) => outcome.get(s.id)!);
  const unadjusted = (outcome: ReadonlyMap<string, number>) =>
    participants.length >= 2 && comparisons.length >= 2
      ? unadjustedDifference(all('participant', outcome), all('comparison', outcome))
      : null;

  const n = matching.counts.matched;
  const binary = estimateFor(reoffended);
  const frequency = estimateFor(reoffences);
  const matchedCounts = matching.matched.map((m) => reoffences.get(m.participantId)!);
  const comparisonCounts = matching.comparisonWeights.map((w) => reoffences.get(w.id)!);
  const frequencyNeeded = participantsNeededForMeans(
    frequency.difference,
    populationVariance(matchedCounts),
    populationVariance(
      comparisonCounts,
      matching.comparisonWeights.map((w) => w.weight),
    ),
  );
  const reoffenders = matching.matched.filter((m) => reoffended.get(m.participantId) === 1).length;
  return {
    ...base,
    estimate: {
      status: 'estimated',
      matchedParticipants: n,
      varianceMethod: 'abadie-imbens-2006',
      participantRate: wilsonInterval(reoffenders, n)!,
      binary: measureEstimate(
        'binary',
        binary,
        unadjusted(reoffended),
        participantsNeededForRates(binary.participants, binary.comparison),
        n,
      ),
      frequency: measureEstimate('frequency', frequency, unadjusted(reoffences), frequencyNeeded, n),
    },
  };
}
