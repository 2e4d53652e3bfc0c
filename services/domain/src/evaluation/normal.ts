/** The standard normal distribution, for p-values and power calculations. */

/**
 * Complementary error function, Chebyshev fit with fractional error below 1.2e-7 everywhere (Press et al.,
 * Numerical Recipes, 2nd ed., §6.2, erfcc): ample for p-values reported to three decimals.
 */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -z * z -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(poly);
  return x >= 0 ? r : 2 - r;
}

/** P(Z ≤ z) for a standard normal Z. */
export const normalCdf = (z: number): number => 0.5 * erfc(-z / Math.SQRT2);

/** Two-sided p-value of a z statistic: P(|Z| ≥ |z|). */
export const twoSidedPValue = (z: number): number => Math.min(1, erfc(Math.abs(z) / Math.SQRT2));

/** z for 80% power (the 80th percentile of the standard normal). */
export const Z_POWER_80 = 0.8416212335729143;
