import t, { type Test } from 'tap';
import { meanWithCI, median, medianOfCounts, tCritical95, wilsonInterval } from './intervals.js';
import { seededRandom } from '../testing/random.js';
import { addMonths, daysBetween } from './dates.js';
import { quarterOf } from './spend.js';

const close = (t: Test, actual: number | undefined, expected: number, what: string, eps = 5e-4) =>
  t.ok(actual !== undefined && Math.abs(actual - expected) < eps, `${what}: ${actual} ≈ ${expected}`);

t.test('Wilson 95% interval', async (t) => {
  const r = wilsonInterval(3, 10)!;
  t.equal(r.value, 0.3);
  // By hand: centre = (0.3 + z²/20) / (1 + z²/10) = 0.35551, half-width 0.24772.
  close(t, r.lower, 0.1078, 'lower 3/10');
  close(t, r.upper, 0.6032, 'upper 3/10');
  const none = wilsonInterval(0, 5)!;
  t.equal(none.lower, 0, 'k = 0 starts at 0');
  close(t, none.upper, 0.4345, 'upper 0/5 = (z²/n) / (1 + z²/n)');
  const all = wilsonInterval(5, 5)!;
  t.equal(all.upper, 1);
  close(t, all.lower, 0.5655, 'lower 5/5 mirrors 0/5');
  const two = wilsonInterval(2, 3)!;
  close(t, two.lower, 0.2077, 'lower 2/3');
  close(t, two.upper, 0.9385, 'upper 2/3');
  t.equal(wilsonInterval(0, 0), null, 'no denominator, no rate');
  t.throws(() => wilsonInterval(4, 3));
});

t.test('t critical values', async (t) => {
  t.equal(tCritical95(1), 12.706);
  t.equal(tCritical95(7), 2.365);
  t.equal(tCritical95(30), 2.042);
  t.equal(tCritical95(35), 2.042, 'between tabled values the smaller df (wider interval)');
  t.equal(tCritical95(45), 2.021);
  t.equal(tCritical95(500), 1.98);
  t.equal(tCritical95(5000), 1.96);
  t.throws(() => tCritical95(0));
});

t.test('mean with a t interval', async (t) => {
  // mean 5, Σ(x - 5)² = 32, sd = √(32/7) = 2.13809, se = 0.755929, t(7) = 2.365, half-width 1.78777.
  const m = meanWithCI([2, 4, 4, 4, 5, 5, 7, 9])!;
  t.equal(m.n, 8);
  t.equal(m.mean, 5);
  close(t, m.sd!, 2.13809, 'sd');
  close(t, m.ci!.lower, 3.21223, 'lower');
  close(t, m.ci!.upper, 6.78777, 'upper');
  const two = meanWithCI([1, 3])!;
  close(t, two.ci!.lower, -10.706, 'df 1: mean 2 ± 12.706 · 1');
  close(t, two.ci!.upper, 14.706, 'df 1 upper');
  t.same(meanWithCI([4]), { n: 1, mean: 4, sd: null, ci: null }, 'one value: no interval');
  t.equal(meanWithCI([]), null);
});

t.test('median', async (t) => {
  t.equal(median([5, 1, 3]), 3);
  t.equal(median([4, 1, 3, 10]), 3.5);
  t.equal(median([]), null);
});

t.test('calendar dates', async (t) => {
  t.equal(addMonths('2025-01-31', 1), '2025-02-28', 'clamped to the end of a shorter month');
  t.equal(addMonths('2024-02-29', 12), '2025-02-28');
  t.equal(addMonths('2025-11-15', 3), '2026-02-15', 'across a year end');
  t.equal(addMonths('2025-01-15', 18), '2026-07-15');
  t.equal(daysBetween('2025-01-01', '2025-03-01'), 59);
  t.equal(daysBetween('2025-03-01', '2025-01-01'), -59);
  t.equal(quarterOf('2025-07-01'), '2025-Q3');
  t.equal(quarterOf('2026-03-31'), '2026-Q1');
  t.throws(() => addMonths('2025-1-1', 1));
});

t.test('the median of counted values is the median of the values', async (t) => {
  const random = seededRandom(7);
  t.equal(medianOfCounts([]), null);
  t.equal(medianOfCounts([{ value: 4, n: 0 }]), null);
  t.equal(
    medianOfCounts([
      { value: 9, n: 1 },
      { value: 2, n: 1 },
    ]),
    5.5,
  );
  for (let i = 0; i < 200; i++) {
    const values = Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * 30) - 5);
    const counts = new Map<number, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    const counted = medianOfCounts([...counts].map(([value, n]) => ({ value, n })));
    if (counted !== median(values)) t.fail(`${values.join(',')}: ${counted} against ${median(values)}`);
  }
});
