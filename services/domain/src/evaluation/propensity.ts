import { cholesky, choleskyInverse, choleskySolve, type Matrix } from './linear-algebra.js';

/**
 * Logistic regression by iteratively reweighted least squares (Newton–Raphson on the log-likelihood): the
 * propensity model P(participant | covariates). Hand-written because the model is small (a dozen columns) and
 * the JavaScript libraries that offer logistic regression fit it by gradient descent with a learning rate, with
 * no convergence test, no standard errors and no handling of separation.
 *
 * Columns other than the intercept are centred and scaled before fitting (the maximum-likelihood fit does not
 * change; the ridge penalty then treats every column alike) and the coefficients are mapped back.
 */

export interface LogisticOptions {
  maxIterations: number;
  /** Converged when |deviance change| / (|deviance| + 0.1) falls below this (R's glm criterion). */
  tolerance: number;
  /** λ of the ridge fit used when the maximum-likelihood fit fails: minimises −log L + λ/2 · Σ γ² over the standardised slopes γ. */
  ridgeLambda: number;
  /** A fitted probability this close to 0 or 1 signals (quasi-)complete separation. */
  separationEpsilon: number;
}

export const DEFAULT_LOGISTIC: LogisticOptions = {
  maxIterations: 50,
  tolerance: 1e-10,
  ridgeLambda: 1,
  separationEpsilon: 1e-8,
};

/** Why the maximum-likelihood fit was not used. */
export type FitProblem = 'separation' | 'singular' | 'not-converged';

export interface LogisticFit {
  coefficients: number[];
  /** From the inverse of the (penalised) information matrix; for a ridge fit only indicative. */
  standardErrors: number[];
  method: 'maximum-likelihood' | 'ridge';
  /** The penalty when `method` is ridge. */
  ridgeLambda: number | null;
  /** What was wrong with the maximum-likelihood fit, when the ridge fit replaced it. */
  problems: FitProblem[];
  converged: boolean;
  iterations: number;
  /** −2 × log-likelihood at the estimate (without the penalty). */
  deviance: number;
  /** Linear predictor (log-odds) per row. */
  logits: number[];
  /** Fitted probability per row. */
  probabilities: number[];
}

const sigmoid = (eta: number) => 1 / (1 + Math.exp(-eta));

/** −2 log L, computed from the linear predictor so that fitted probabilities of exactly 0 or 1 stay finite. */
function deviance(eta: readonly number[], y: readonly number[]): number {
  let d = 0;
  for (let i = 0; i < eta.length; i++) {
    const e = eta[i]!;
    // log(1 + exp(e)) without overflow; y·e − log(1 + exp(e)) is the log-likelihood contribution.
    const softplus = e > 0 ? e + Math.log1p(Math.exp(-e)) : Math.log1p(Math.exp(e));
    d -= 2 * (y[i]! * e - softplus);
  }
  return d;
}

const linear = (x: Matrix, beta: readonly number[]) =>
  x.map((row) => {
    let eta = 0;
    for (let j = 0; j < row.length; j++) eta += row[j]! * beta[j]!;
    return eta;
  });

interface Standardised {
  x: Matrix;
  centre: number[];
  scale: number[];
}

/** Centres and scales every column but the first (the intercept); a constant column becomes zeros. */
function standardise(x: Matrix): Standardised {
  const n = x.length;
  const p = x[0]!.length;
  const centre = new Array<number>(p).fill(0);
  const scale = new Array<number>(p).fill(1);
  for (let j = 1; j < p; j++) {
    const mean = x.reduce((s, r) => s + r[j]!, 0) / n;
    const sd = Math.sqrt(x.reduce((s, r) => s + (r[j]! - mean) ** 2, 0) / n);
    centre[j] = mean;
    scale[j] = sd > 0 ? sd : 1;
  }
  return { x: x.map((r) => r.map((v, j) => (j === 0 ? v : (v - centre[j]!) / scale[j]!))), centre, scale };
}

interface RawFit {
  gamma: number[];
  information: Matrix;
  converged: boolean;
  iterations: number;
  singular: boolean;
}

/**
 * The score X'(y − p) − λγ and the information X'WX + λI (intercept unpenalised) at γ. Loops over rows once and
 * skips zero entries: most columns are 0/1 dummies.
 */
function scoreAndInformation(
  x: Matrix,
  y: readonly number[],
  gamma: readonly number[],
  lambda: number,
): { score: number[]; information: Matrix } {
  const p = gamma.length;
  const score = new Float64Array(p);
  const info = new Float64Array(p * p);
  for (let i = 0; i < x.length; i++) {
    const row = x[i]!;
    let eta = 0;
    for (let j = 0; j < p; j++) eta += row[j]! * gamma[j]!;
    const prob = sigmoid(eta);
    const r = y[i]! - prob;
    const w = prob * (1 - prob);
    for (let j = 0; j < p; j++) {
      const xj = row[j]!;
      if (xj === 0) continue;
      score[j]! += xj * r;
      const wx = w * xj;
      for (let k = 0; k <= j; k++) info[j * p + k]! += wx * row[k]!;
    }
  }
  const information: Matrix = Array.from({ length: p }, (_, j) =>
    Array.from({ length: p }, (_, k) => info[Math.max(j, k) * p + Math.min(j, k)]!),
  );
  for (let j = 1; j < p; j++) {
    information[j]![j]! += lambda;
    score[j]! -= lambda * gamma[j]!;
  }
  return { score: [...score], information };
}

/** Newton–Raphson with step halving on the penalised deviance −2 log L + λ Σ γ²; λ = 0 is the maximum-likelihood fit. */
function newton(x: Matrix, y: readonly number[], lambda: number, options: LogisticOptions): RawFit {
  const p = x[0]!.length;
  const mean = y.reduce((s, v) => s + v, 0) / y.length;
  const gamma = new Array<number>(p).fill(0);
  gamma[0] = Math.log(mean / (1 - mean));
  const penalised = (g: readonly number[]) =>
    deviance(linear(x, g), y) + lambda * g.reduce((s, v, j) => s + (j === 0 ? 0 : v * v), 0);
  const informationAt = (g: readonly number[]) => scoreAndInformation(x, y, g, lambda).information;
  let current = penalised(gamma);
  for (let iteration = 1; iteration <= options.maxIterations; iteration++) {
    const { score, information } = scoreAndInformation(x, y, gamma, lambda);
    const l = cholesky(information);
    if (!l) return { gamma, information, converged: false, iterations: iteration, singular: true };
    const step = choleskySolve(l, score);
    let factor = 1;
    let next = gamma.map((g, j) => g + step[j]!);
    let value = penalised(next);
    // Step halving: Newton's step can overshoot far from the optimum; the deviance must not rise.
    for (let h = 0; h < 30 && !(value <= current + 1e-12 * Math.abs(current)); h++) {
      factor /= 2;
      next = gamma.map((g, j) => g + factor * step[j]!);
      value = penalised(next);
    }
    for (let j = 0; j < p; j++) gamma[j] = next[j]!;
    const change = Math.abs(current - value) / (Math.abs(value) + 0.1);
    current = value;
    if (change < options.tolerance) {
      return { gamma, information: informationAt(gamma), converged: true, iterations: iteration, singular: false };
    }
  }
  return {
    gamma,
    information: informationAt(gamma),
    converged: false,
    iterations: options.maxIterations,
    singular: false,
  };
}

/**
 * Maps the fit on standardised columns back to the original ones: β_j = γ_j / s_j for slopes and
 * β_0 = γ_0 − Σ γ_j m_j / s_j, i.e. β = A·γ, with covariance A·Cov(γ)·Aᵀ.
 */
function unstandardise(
  gamma: readonly number[],
  covariance: Matrix | null,
  s: Standardised,
): { beta: number[]; se: number[] } {
  const p = gamma.length;
  const a: Matrix = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  a[0]![0] = 1;
  for (let j = 1; j < p; j++) {
    a[j]![j] = 1 / s.scale[j]!;
    a[0]![j] = -s.centre[j]! / s.scale[j]!;
  }
  const beta = a.map((row) => row.reduce((sum, v, k) => sum + v * gamma[k]!, 0));
  if (!covariance) return { beta, se: new Array<number>(p).fill(Number.NaN) };
  const se = a.map((row) =>
    Math.sqrt(row.reduce((sum, v, k) => sum + v * row.reduce((t, w, m) => t + covariance[k]![m]! * w, 0), 0)),
  );
  return { beta, se };
}

/**
 * Fits P(y = 1 | x) = 1 / (1 + exp(−x·β)). `x` includes the intercept column first. The maximum-likelihood fit
 * is used unless it is singular (a column is a combination of others), does not converge, or separates the
 * groups (some fitted probability within `separationEpsilon` of 0 or 1, so some coefficients are running off
 * to infinity); then the ridge fit is used and the result says why.
 */
export function fitLogistic(x: Matrix, y: readonly (0 | 1)[], overrides: Partial<LogisticOptions> = {}): LogisticFit {
  const options = { ...DEFAULT_LOGISTIC, ...overrides };
  if (x.length !== y.length || x.length === 0)
    throw new RangeError('logistic regression needs one outcome per row and at least one row');
  const ones = y.filter((v) => v === 1).length;
  if (ones === 0 || ones === y.length) throw new RangeError('logistic regression needs both outcomes present');
  const s = standardise(x);
  const finish = (raw: RawFit, method: LogisticFit['method'], problems: FitProblem[]): LogisticFit => {
    const l = cholesky(raw.information);
    const { beta, se } = unstandardise(raw.gamma, l ? choleskyInverse(l) : null, s);
    const logits = linear(x, beta);
    return {
      coefficients: beta,
      standardErrors: se,
      method,
      ridgeLambda: method === 'ridge' ? options.ridgeLambda : null,
      problems,
      converged: raw.converged,
      iterations: raw.iterations,
      deviance: deviance(logits, y),
      logits,
      probabilities: logits.map(sigmoid),
    };
  };
  const mle = newton(s.x, y, 0, options);
  const problems: FitProblem[] = [];
  if (mle.singular) problems.push('singular');
  else {
    if (!mle.converged) problems.push('not-converged');
    const probabilities = linear(s.x, mle.gamma).map(sigmoid);
    if (probabilities.some((q) => q < options.separationEpsilon || q > 1 - options.separationEpsilon))
      problems.push('separation');
  }
  if (problems.length === 0) return finish(mle, 'maximum-likelihood', []);
  return finish(newton(s.x, y, options.ridgeLambda, options), 'ridge', problems);
}
