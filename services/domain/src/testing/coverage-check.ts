/**
 * How often the matched 95% interval covers the true effect over many synthetic worlds: the check behind the
 * coverage figures in docs/evaluation.md (the unit test runs a smaller version). Development only:
 *   node services/domain/dist/testing/coverage-check.js [worlds=200] [ratio=1]
 */
import { evaluateImpact } from '../evaluation/evaluate.js';
import { SYNTHETIC_EFFECT, syntheticWorld } from './synthetic-evaluation.js';

const worlds = Number(process.argv[2] ?? 200);
const ratio = Number(process.argv[3] ?? 1);
const errors = { binary: [] as number[], frequency: [] as number[] };
const standardErrors = { binary: 0, frequency: 0 };
const covered = { binary: 0, frequency: 0, naiveBinary: 0, naiveFrequency: 0 };
const covers = (ci: { lower: number; upper: number }, truth: number) => ci.lower <= truth && truth <= ci.upper;

for (let seed = 1000; seed < 1000 + worlds; seed++) {
  const world = syntheticWorld(seed);
  const e = evaluateImpact(world.subjects, '2026-12-31', { matching: { ratio } }).estimate;
  if (e.status !== 'estimated') throw new Error(`world ${seed}: ${e.wording}`);
  const truth = { binary: world.trueBinaryEffect, frequency: -SYNTHETIC_EFFECT };
  for (const measure of ['binary', 'frequency'] as const) {
    errors[measure].push(e[measure].matched.difference - truth[measure]);
    standardErrors[measure] += e[measure].matched.standardError / worlds;
    if (covers(e[measure].matched.ci, truth[measure])) covered[measure] += 1;
  }
  if (covers(e.binary.unadjusted!.ci, truth.binary)) covered.naiveBinary += 1;
  if (covers(e.frequency.unadjusted!.ci, truth.frequency)) covered.naiveFrequency += 1;
}

const spread = (xs: number[]) => {
  const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
  return { meanError: mean, sd: Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / (xs.length - 1)) };
};
console.log(
  JSON.stringify({
    worlds,
    ratio,
    coverage: Object.fromEntries(Object.entries(covered).map(([k, v]) => [k, v / worlds])),
    binary: { ...spread(errors.binary), meanStandardError: standardErrors.binary },
    frequency: { ...spread(errors.frequency), meanStandardError: standardErrors.frequency },
  }),
);
