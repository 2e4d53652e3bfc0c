/** The few dense linear-algebra steps the propensity model needs: small symmetric systems (a dozen columns). */

export type Matrix = number[][];

/**
 * Cholesky factor L (lower triangular, A = L·Lᵀ) of a symmetric matrix, or null when A is not positive
 * definite to working precision: a pivot at or below `relativeTolerance` × the largest diagonal entry means a
 * column is (nearly) a combination of the others.
 */
export function cholesky(a: Matrix, relativeTolerance = 1e-12): Matrix | null {
  const n = a.length;
  const scale = Math.max(...a.map((row, i) => Math.abs(row[i]!)), 0);
  if (!(scale > 0)) return null;
  const l: Matrix = a.map(() => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    let pivot = a[j]![j]!;
    for (let k = 0; k < j; k++) pivot -= l[j]![k]! ** 2;
    if (!(pivot > relativeTolerance * scale)) return null;
    const ljj = Math.sqrt(pivot);
    l[j]![j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= l[i]![k]! * l[j]![k]!;
      l[i]![j] = s / ljj;
    }
  }
  return l;
}

/** Solves L·Lᵀ·x = b given the Cholesky factor L. */
export function choleskySolve(l: Matrix, b: readonly number[]): number[] {
  const n = l.length;
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i]![k]! * y[k]!;
    y[i] = s / l[i]![i]!;
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k]![i]! * x[k]!;
    x[i] = s / l[i]![i]!;
  }
  return x;
}

/** A⁻¹ from the Cholesky factor of A, one column at a time. */
export function choleskyInverse(l: Matrix): Matrix {
  const n = l.length;
  const columns = Array.from({ length: n }, (_, j) =>
    choleskySolve(
      l,
      Array.from({ length: n }, (_, i) => (i === j ? 1 : 0)),
    ),
  );
  return Array.from({ length: n }, (_, i) => columns.map((c) => c[i]!));
}
