import t, { type Test } from 'tap';
import { fitLogistic } from './propensity.js';

const close = (t: Test, actual: number | undefined, expected: number, what: string, eps = 1e-6) =>
  t.ok(actual !== undefined && Math.abs(actual - expected) < eps, `${what}: ${actual} ≈ ${expected}`);

/** Rows [1, x] repeated for a 2×2 table. */
const table = (cells: { x: 0 | 1; y: 0 | 1; n: number }[]) => {
  const x: number[][] = [];
  const y: (0 | 1)[] = [];
  for (const c of cells)
    for (let i = 0; i < c.n; i++) {
      x.push([1, c.x]);
      y.push(c.y);
    }
  return { x, y };
};

t.test('one binary covariate: the slope is the log odds ratio of the 2×2 table', async (t) => {
  // x = 0: 10 participants, 30 not; x = 1: 20 participants, 10 not. Odds 1/3 and 2, odds ratio 6.
  const { x, y } = table([
    { x: 0, y: 1, n: 10 },
    { x: 0, y: 0, n: 30 },
    { x: 1, y: 1, n: 20 },
    { x: 1, y: 0, n: 10 },
  ]);
  const fit = fitLogistic(x, y);
  t.equal(fit.method, 'maximum-likelihood');
  t.ok(fit.converged);
  close(t, fit.coefficients[0], Math.log(10 / 30), 'intercept = log odds at x = 0');
  close(t, fit.coefficients[1], Math.log(6), 'slope = log odds ratio');
  // At the MLE the standard error of the log odds ratio is Woolf's √(1/a + 1/b + 1/c + 1/d).
  close(t, fit.standardErrors[1], Math.sqrt(1 / 10 + 1 / 30 + 1 / 20 + 1 / 10), 'Woolf standard error');
  close(t, fit.probabilities[0], 0.25, 'fitted probability at x = 0 is the observed share');
  close(t, fit.probabilities[45], 2 / 3, 'fitted probability at x = 1 is the observed share');
});

// The fixture printed by propensity.statsmodels.py: [prior offences, prior custody, area (0, 1, 2), participant].
const FIXTURE = [
  [6, 0, 1, 1],
  [1, 0, 1, 0],
  [1, 0, 1, 0],
  [3, 1, 0, 0],
  [6, 1, 0, 1],
  [0, 1, 2, 1],
  [1, 1, 1, 1],
  [3, 0, 0, 1],
  [1, 0, 2, 1],
  [2, 1, 1, 0],
  [2, 0, 1, 1],
  [0, 1, 1, 1],
  [0, 0, 1, 0],
  [0, 0, 2, 0],
  [4, 1, 2, 0],
  [6, 0, 0, 1],
  [6, 1, 1, 1],
  [4, 1, 2, 1],
  [6, 0, 2, 1],
  [3, 0, 0, 1],
  [3, 0, 0, 1],
  [4, 0, 1, 1],
  [2, 0, 2, 0],
  [1, 0, 0, 0],
  [4, 0, 0, 0],
  [2, 0, 0, 0],
  [3, 0, 0, 1],
  [0, 1, 0, 0],
  [1, 1, 2, 1],
  [0, 1, 0, 0],
  [4, 0, 2, 1],
  [5, 1, 1, 0],
  [6, 1, 0, 1],
  [5, 1, 0, 1],
  [6, 0, 2, 0],
  [0, 0, 2, 0],
  [5, 0, 0, 1],
  [2, 1, 0, 0],
  [4, 0, 1, 0],
  [0, 0, 1, 0],
] as const;
const fixtureX = FIXTURE.map(([prior, custody, area]) => [1, prior, custody, area === 1 ? 1 : 0, area === 2 ? 1 : 0]);
const fixtureY = FIXTURE.map((r) => r[3]);

t.test('agrees with statsmodels Logit on a fixture', async (t) => {
  const fit = fitLogistic(fixtureX, fixtureY);
  t.equal(fit.method, 'maximum-likelihood');
  t.same(fit.problems, []);
  const coefficients = [-1.132923099, 0.3996787266, 0.292230427, -0.1224034236, 0.2363417512];
  const standardErrors = [0.8195551357, 0.1753930488, 0.7070309137, 0.8197045418, 0.8631059089];
  coefficients.forEach((b, j) => close(t, fit.coefficients[j], b, `coefficient ${j}`));
  standardErrors.forEach((s, j) => close(t, fit.standardErrors[j], s, `standard error ${j}`));
  close(t, fit.deviance, 48.90417946, 'deviance');
});

t.test("the score equations X'(y − p) = 0 hold at the optimum", async (t) => {
  const fit = fitLogistic(fixtureX, fixtureY);
  for (let j = 0; j < fixtureX[0]!.length; j++) {
    const score = fixtureX.reduce((s, row, i) => s + row[j]! * (fixtureY[i]! - fit.probabilities[i]!), 0);
    close(t, score, 0, `score for column ${j}`, 1e-8);
  }
});

t.test('complete separation falls back to the ridge fit and says so', async (t) => {
  // x ≤ 2 never a participant, x ≥ 3 always: the maximum-likelihood slope is infinite.
  const xs = [0, 1, 1, 2, 2, 3, 3, 4, 5, 5];
  const fit = fitLogistic(
    xs.map((v) => [1, v]),
    xs.map((v) => (v >= 3 ? 1 : 0)),
  );
  t.equal(fit.method, 'ridge');
  t.equal(fit.ridgeLambda, 1);
  t.ok(fit.problems.includes('separation'), `problems: ${fit.problems.join(', ')}`);
  t.ok(fit.converged);
  // Reference: scipy's BFGS on −log L + ½ γ² over the standardised slope (propensity.statsmodels.py).
  close(t, fit.coefficients[0], -2.335140218, 'intercept', 1e-6);
  close(t, fit.coefficients[1], 0.9079665302, 'slope', 1e-6);
  t.ok(
    fit.probabilities.every((p) => p > 0.01 && p < 0.99),
    'finite, usable scores',
  );
});

t.test('a column that copies another is singular: ridge fit, reported', async (t) => {
  const x = fixtureX.map((r) => [...r, r[1]!]);
  const fit = fitLogistic(x, fixtureY);
  t.equal(fit.method, 'ridge');
  t.same(fit.problems, ['singular']);
  t.ok(fit.coefficients.every(Number.isFinite));
  close(t, fit.coefficients[1], fit.coefficients[5]!, 'the penalty shares the effect equally between the copies', 1e-9);
});

t.test('a fit that does not converge within the iteration limit is reported and replaced', async (t) => {
  const fit = fitLogistic(fixtureX, fixtureY, { maxIterations: 1 });
  t.equal(fit.method, 'ridge');
  t.same(fit.problems, ['not-converged']);
});

t.test('refuses data it cannot fit', async (t) => {
  t.throws(
    () =>
      fitLogistic(
        [
          [1, 0],
          [1, 1],
        ],
        [1, 1],
      ),
    RangeError,
    'only one outcome',
  );
  t.throws(() => fitLogistic([[1, 0]], [1, 0]), RangeError, 'rows and outcomes differ');
});
