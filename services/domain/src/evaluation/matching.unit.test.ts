import t from 'tap';
import { matchOnPropensity, type MatchingUnit } from './matching.js';

const p = (id: string, logit: number, stratum = 'M'): MatchingUnit => ({ id, group: 'participant', logit, stratum });
const c = (id: string, logit: number, stratum = 'M'): MatchingUnit => ({ id, group: 'comparison', logit, stratum });

// By hand: participant logits 0, 0.1, 3.0 (M) and 0.5 (F): mean 0.9, variance 6.02 / 4 = 1.505.
// Comparison logits −0.05, 0.3, 1.0 (all M): mean 0.41667, variance 0.571667 / 3 = 0.190556.
// Pooled SD √((1.505 + 0.190556) / 2) = 0.920749; caliper 0.2 × 0.920749 = 0.184150.
const units = [p('P1', 0), p('P2', 0.1), p('P3', 3.0), p('P4', 0.5, 'F'), c('C1', -0.05), c('C2', 0.3), c('C3', 1.0)];

t.test('caliper, replacement and unmatched participants', async (t) => {
  const m = matchOnPropensity(units);
  t.ok(Math.abs(m.logitSd - 0.920749) < 1e-6, `pooled SD of the logit ${m.logitSd}`);
  t.ok(Math.abs(m.caliper! - 0.18415) < 1e-5, `caliper ${m.caliper}`);
  t.same(
    m.matched,
    [
      { participantId: 'P1', comparisons: [{ id: 'C1', distance: 0.05 }] },
      { participantId: 'P2', comparisons: [{ id: 'C1', distance: 0.15000000000000002 }] },
    ],
    'P2 is 0.15 from C1 and 0.2 from C2: C1 again (with replacement)',
  );
  t.same(
    m.unmatched,
    [
      { participantId: 'P3', reason: 'none-within-caliper' },
      { participantId: 'P4', reason: 'no-comparison-in-stratum' },
    ],
    "P3 is 2.0 from the nearest comparison; nobody in P4's stratum",
  );
  t.same(m.comparisonWeights, [{ id: 'C1', weight: 2, uses: 2 }], 'a comparison used twice weighs 2');
  t.same(m.counts, {
    participants: 4,
    matched: 2,
    unmatched: 2,
    unmatchedNoComparisonInStratum: 1,
    unmatchedNoneWithinCaliper: 1,
    matchedWithFewerThanRatio: 0,
    comparisonsAvailable: 3,
    comparisonsUsed: 1,
    comparisonsUsedMoreThanOnce: 1,
  });
});

t.test('k:1 matching and its weights', async (t) => {
  const m = matchOnPropensity(units, { ratio: 2, caliperSd: null });
  t.same(
    m.matched.map((s) => [s.participantId, s.comparisons.map((x) => x.id)]),
    [
      ['P1', ['C1', 'C2']],
      ['P2', ['C1', 'C2']],
      ['P3', ['C3', 'C2']],
    ],
  );
  // Each participant's two matches weigh 1/2 each: C1 1/2 + 1/2, C2 three halves, C3 one half.
  t.same(m.comparisonWeights, [
    { id: 'C1', weight: 1, uses: 2 },
    { id: 'C2', weight: 1.5, uses: 3 },
    { id: 'C3', weight: 0.5, uses: 1 },
  ]);
  t.equal(
    m.comparisonWeights.reduce((s, w) => s + w.weight, 0),
    m.counts.matched,
    'comparison weights add up to the matched participants',
  );

  const withCaliper = matchOnPropensity(units, { ratio: 2 });
  t.same(
    withCaliper.matched.map((s) => [s.participantId, s.comparisons.map((x) => x.id)]),
    [
      ['P1', ['C1']],
      ['P2', ['C1']],
    ],
    'only comparisons inside the caliper, even if fewer than k',
  );
  t.equal(withCaliper.counts.matchedWithFewerThanRatio, 2);
  t.same(
    withCaliper.comparisonWeights,
    [{ id: 'C1', weight: 2, uses: 2 }],
    'a participant with one match gives it its whole weight',
  );
});

t.test('exact strata are never crossed', async (t) => {
  const m = matchOnPropensity([p('F1', 0, 'F'), c('M-near', 0.001, 'M'), c('F-far', 2, 'F'), p('M1', 2, 'M')], {
    caliperSd: null,
  });
  t.same(
    m.matched.map((s) => [s.participantId, s.comparisons[0]!.id]),
    [
      ['F1', 'F-far'],
      ['M1', 'M-near'],
    ],
  );
  const caliper = matchOnPropensity([
    p('F1', 0, 'F'),
    c('M-near', 0.001, 'M'),
    c('F-far', 2, 'F'),
    p('M1', 2, 'M'),
    c('F-2', 2.1, 'F'),
  ]);
  t.same(
    caliper.unmatched.map((u) => u.participantId),
    ['F1', 'M1'],
    'the near comparison of the other stratum is never used',
  );
});

t.test('ties are broken by id, whatever the input order', async (t) => {
  const tied = [p('P', 0), c('b', 0.5), c('a', -0.5), c('c', 0.5), c('d', 0.7)];
  const one = matchOnPropensity(tied, { caliperSd: null });
  t.same(
    one.matched[0]!.comparisons.map((x) => x.id),
    ['a'],
    'a, b and c are equally near: a',
  );
  const two = matchOnPropensity(tied, { caliperSd: null, ratio: 2 });
  t.same(
    two.matched[0]!.comparisons.map((x) => x.id),
    ['a', 'b'],
  );
  const three = matchOnPropensity(tied, { caliperSd: null, ratio: 3 });
  t.same(
    three.matched[0]!.comparisons.map((x) => x.id),
    ['a', 'b', 'c'],
  );
  for (const order of [
    [4, 3, 2, 1, 0],
    [2, 0, 4, 1, 3],
    [1, 4, 0, 3, 2],
  ]) {
    t.same(
      matchOnPropensity(
        order.map((i) => tied[i]!),
        { caliperSd: null, ratio: 2 },
      ),
      two,
      `input order ${order.join('')}`,
    );
  }
  const shuffled = [...units].reverse();
  t.same(matchOnPropensity(shuffled), matchOnPropensity(units), 'the whole matching is independent of the input order');
});

t.test('refuses a ratio that is not a positive whole number', async (t) => {
  t.throws(() => matchOnPropensity(units, { ratio: 0 }), RangeError);
  t.throws(() => matchOnPropensity(units, { ratio: 1.5 }), RangeError);
});
