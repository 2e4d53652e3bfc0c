import type { BalanceDiagnostics } from './balance.js';
import type {
  EvaluationWarning,
  ExactCovariate,
  ImpactEstimate,
  ImpactEvaluation,
  PropensitySummary,
} from './evaluate.js';
import type { MatchingCounts } from './matching.js';

/**
 * What of an evaluation may leave the service: no subject id (participant stream ids, data partners' comparison
 * ids), no list of who was matched to whom, and no name of a level that was pooled for having few people (naming
 * it would say someone with that value is in the data). Counts and rates in it are still figures about people:
 * the reports' disclosure control applies to them like to every other report (docs/evaluation.md lists them).
 */
export interface PublishableImpact {
  asOf: string;
  population: ImpactEvaluation['population'];
  propensity:
    | (Omit<PropensitySummary, 'categorical'> & {
        categorical: { covariate: string; levels: string[]; reference: string; pooledLevels: number }[];
      })
    | null;
  matching: {
    caliperSd: number | null;
    caliper: number | null;
    logitSd: number;
    ratio: number;
    exact: readonly ExactCovariate[];
    counts: MatchingCounts;
  } | null;
  balance: BalanceDiagnostics | null;
  estimate: ImpactEstimate;
  finalOn: string | null;
  provisional: boolean;
  warnings: EvaluationWarning[];
}

/** An allow-list copy: a field added to the evaluation later stays inside until it is added here on purpose. */
export function publishableImpact(e: ImpactEvaluation): PublishableImpact {
  return structuredClone({
    asOf: e.asOf,
    population: e.population,
    propensity: e.propensity && {
      method: e.propensity.method,
      ridgeLambda: e.propensity.ridgeLambda,
      problems: e.propensity.problems,
      converged: e.propensity.converged,
      iterations: e.propensity.iterations,
      coefficients: e.propensity.coefficients,
      droppedColumns: e.propensity.droppedColumns,
      categorical: e.propensity.categorical.map((c) => ({
        covariate: c.covariate,
        levels: c.levels,
        reference: c.reference,
        pooledLevels: c.pooled.length,
      })),
    },
    matching: e.matching && {
      caliperSd: e.matching.caliperSd,
      caliper: e.matching.caliper,
      logitSd: e.matching.logitSd,
      ratio: e.matching.ratio,
      exact: e.matching.exact,
      counts: e.matching.counts,
    },
    balance: e.balance,
    estimate: e.estimate,
    finalOn: e.finalOn,
    provisional: e.provisional,
    warnings: e.warnings,
  });
}
