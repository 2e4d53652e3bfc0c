/** Small helpers shared by the benchmark drivers: percentiles, rates and progress lines. */

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const round = (x: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export const ratio = (a: number, b: number): number => (b > 0 ? round(a / b, 2) : 0);

/**
 * Periodic progress for long phases: one line every `everyMs` with the count and the rate since the start.
 * On a terminal the line is rewritten in place; otherwise (CI, a log file) each report is its own line.
 */
export function progress(label: string, count: () => number, everyMs = 2_000): () => void {
  const started = performance.now();
  const tty = process.stderr.isTTY;
  const timer = setInterval(() => {
    const n = count();
    const secs = (performance.now() - started) / 1000;
    const line = `  ${label}: ${n} in ${secs.toFixed(0)} s (${Math.round(n / secs)}/s)`;
    process.stderr.write(tty ? `\r${line}` : `${line}\n`);
  }, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (tty) process.stderr.write('\n');
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
