import t from 'tap';
import { pairedChange, reliablyImproved } from './outcomes.js';

t.test('reliable change thresholds', async (t) => {
  t.equal(reliablyImproved('swemwbs', { baseline: 20, exit: 23 }), true, 'SWEMWBS +3');
  t.equal(reliablyImproved('swemwbs', { baseline: 20, exit: 22.9 }), false);
  t.equal(reliablyImproved('wemwbs', { baseline: 40, exit: 48 }), true, 'WEMWBS +8');
  t.equal(reliablyImproved('wemwbs', { baseline: 40, exit: 47 }), false);
  t.equal(reliablyImproved('sdq-total', { baseline: 20, exit: 14 }), true, 'SDQ 6 lower');
  t.equal(reliablyImproved('sdq-total', { baseline: 20, exit: 26 }), false, 'SDQ higher is worse');
  t.equal(reliablyImproved('outcomes-star', { baseline: 2, exit: 9 }), null, 'no threshold');
});

t.test('paired change', async (t) => {
  // Changes +4, +1, +3, 0: mean 2, Σ(d − 2)² = 4 + 1 + 1 + 4 = 10, sd = √(10/3) = 1.8257, se = 0.91287, t(3) = 3.182.
  const r = pairedChange('swemwbs', [
    { baseline: 18, exit: 22 },
    { baseline: 20, exit: 21 },
    { baseline: 16, exit: 19 },
    { baseline: 22, exit: 22 },
  ]);
  t.equal(r.pairs, 4);
  t.equal(r.meanBaseline, 19);
  t.equal(r.meanExit, 21);
  t.equal(r.change!.mean, 2);
  t.ok(Math.abs(r.change!.ci!.lower - (2 - 3.182 * 0.912871)) < 1e-4);
  t.equal(r.reliablyImproved!.numerator, 2, '+4 and +3');
  t.equal(r.reliablyImproved!.denominator, 4);
  const star = pairedChange('outcomes-star', [{ baseline: 3, exit: 5 }]);
  t.equal(star.reliablyImproved, null);
  t.equal(star.change!.ci, null, 'one pair, no interval');
  const none = pairedChange('wemwbs', []);
  t.same([none.meanBaseline, none.change, none.reliablyImproved], [null, null, null]);
});
