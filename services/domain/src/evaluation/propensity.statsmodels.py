"""Reference fit for propensity.unit.test.ts: the fixture's coefficients and standard errors from statsmodels.

Run with python3 and statsmodels (0.15) installed:  python3 propensity.statsmodels.py
The data are written out literally in the test; this script prints them and the statsmodels Logit fit.
"""
import numpy as np
import statsmodels.api as sm

rng = np.random.default_rng(20)
n = 40
prior = rng.integers(0, 7, n)              # prior offences 0..6
custody = rng.integers(0, 2, n)            # prior custody 0/1
area = rng.integers(0, 3, n)               # 3 areas: 0 reference, dummies for 1 and 2
eta = -1.2 + 0.45 * prior + 0.6 * custody - 0.5 * (area == 1) + 0.4 * (area == 2)
treated = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)

X = np.column_stack([np.ones(n), prior, custody, (area == 1).astype(float), (area == 2).astype(float)])
fit = sm.Logit(treated, X).fit(disp=0, tol=1e-12, maxiter=100)

print('rows (prior, custody, area, treated):')
print([[int(prior[i]), int(custody[i]), int(area[i]), int(treated[i])] for i in range(n)])
print('coefficients:', [float(f'{b:.10g}') for b in fit.params])
print('standard errors:', [float(f'{s:.10g}') for s in fit.bse])
print('deviance:', float(f'{-2 * fit.llf:.10g}'))

# Ridge fallback reference: a completely separated fixture (x <= 2 never treated, x >= 3 always), fitted by
# minimising -log L + lambda/2 * sum(gamma_j^2) over the standardised slope (population SD), lambda = 1, with scipy.
from scipy.optimize import minimize

xs = np.array([0, 1, 1, 2, 2, 3, 3, 4, 5, 5], dtype=float)
ys = (xs >= 3).astype(float)
m, s = xs.mean(), xs.std()
z = (xs - m) / s

def objective(g):
    eta = g[0] + g[1] * z
    return -np.sum(ys * eta - np.logaddexp(0, eta)) + 0.5 * g[1] ** 2

g = minimize(objective, np.zeros(2), method='BFGS', options={'gtol': 1e-12}).x
print('ridge (lambda 1) on x:', [float(f'{v:.10g}') for v in (g[0] - g[1] * m / s, g[1] / s)])
