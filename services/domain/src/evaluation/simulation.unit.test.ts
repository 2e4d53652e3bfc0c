import t from 'tap';
import { SYNTHETIC_EFFECT as EFFECT, syntheticWorld as world } from '../testing/synthetic-evaluation.js';
import { evaluateImpact, type ImpactEvaluation } from './evaluate.js';

// Synthetic worlds with a known effect and confounding: see testing/synthetic-evaluation.ts.
const AS_OF = '2026-12-31';

const covers = (ci: { lower: number; upper: number }, truth: number) => ci.lower <= truth && truth <= ci.upper;

function estimated(e: ImpactEvaluation) {
  if (e.estimate.status !== 'estimated') throw new Error(`not estimated: ${e.estimate.wording}`);
  return e.estimate;
}

// One world shown in full. A 95% interval misses the truth in about 1 world in 20, which is why the next test
// counts how often the intervals cover over 30 worlds rather than trusting one.
t.test('one synthetic world: matching recovers the effect that the naive comparison hides', async (t) => {
  const w = world(2);
  const e = evaluateImpact(w.subjects, AS_OF);
  const est = estimated(e);
  t.ok(est.matchedParticipants >= 200, `${est.matchedParticipants} matched participants`);
  t.equal(e.provisional, false, 'every follow-up and waiting period has ended by the as-of date');
  const smd = (name: string) => e.balance!.covariates.find((c) => c.name === name)!;
  const prior = smd('priorOffences');
  t.ok(
    prior.before.smd! > 0.8,
    `participants had many more prior offences before matching (SMD ${prior.before.smd!.toFixed(2)})`,
  );
  for (const name of ['priorOffences', 'priorSeriousViolence']) {
    t.ok(
      Math.abs(smd(name).after!.smd!) < 0.1,
      `${name} balanced after matching (SMD ${smd(name).after!.smd!.toFixed(3)})`,
    );
  }

  t.ok(
    covers(est.frequency.matched.ci, -EFFECT),
    `matched frequency interval [${est.frequency.matched.ci.lower.toFixed(3)}, ` +
      `${est.frequency.matched.ci.upper.toFixed(3)}] covers the true −0.15`,
  );
  t.notOk(
    covers(est.frequency.unadjusted!.ci, -EFFECT),
    `naive frequency interval [${est.frequency.unadjusted!.ci.lower.toFixed(3)}, ` +
      `${est.frequency.unadjusted!.ci.upper.toFixed(3)}] does not`,
  );
  t.ok(
    covers(est.binary.matched.ci, w.trueBinaryEffect),
    `matched binary interval [${est.binary.matched.ci.lower.toFixed(3)}, ` +
      `${est.binary.matched.ci.upper.toFixed(3)}] covers the true ${w.trueBinaryEffect.toFixed(3)}`,
  );
  t.notOk(
    covers(est.binary.unadjusted!.ci, w.trueBinaryEffect),
    `naive binary interval [${est.binary.unadjusted!.ci.lower.toFixed(3)}, ` +
      `${est.binary.unadjusted!.ci.upper.toFixed(3)}] does not`,
  );
  t.ok(est.binary.unadjusted!.difference > 0, 'the naive comparison even points the wrong way');
});

t.test(
  'over 30 worlds the matched 95% interval covers the truth about 95% of the time, the naive one almost never',
  async (t) => {
    const worlds = 30;
    let matchedBinary = 0;
    let matchedFrequency = 0;
    let naiveBinary = 0;
    let naiveFrequency = 0;
    let bias = 0;
    for (let seed = 100; seed < 100 + worlds; seed++) {
      const w = world(seed);
      const est = estimated(evaluateImpact(w.subjects, AS_OF));
      if (covers(est.binary.matched.ci, w.trueBinaryEffect)) matchedBinary += 1;
      if (covers(est.frequency.matched.ci, -EFFECT)) matchedFrequency += 1;
      if (covers(est.binary.unadjusted!.ci, w.trueBinaryEffect)) naiveBinary += 1;
      if (covers(est.frequency.unadjusted!.ci, -EFFECT)) naiveFrequency += 1;
      bias += (est.frequency.matched.difference + EFFECT) / worlds;
    }
    // With true 95% intervals, 25 or more of 30 cover with probability 0.997.
    t.ok(matchedBinary >= 25, `matched binary interval covered the truth in ${matchedBinary} of ${worlds}`);
    t.ok(matchedFrequency >= 25, `matched frequency interval covered the truth in ${matchedFrequency} of ${worlds}`);
    t.ok(naiveBinary <= 2, `naive binary interval covered the truth in ${naiveBinary} of ${worlds}`);
    t.ok(naiveFrequency <= 2, `naive frequency interval covered the truth in ${naiveFrequency} of ${worlds}`);
    t.ok(Math.abs(bias) < 0.03, `mean error of the matched frequency estimate ${bias.toFixed(4)}`);
  },
);
