import t from 'tap';
import { rateSuppressed, suppressCount, suppressRate, suppressRecord, suppressRow } from './suppression.js';

t.test('primary suppression of counts', async (t) => {
  t.same([0, 1, 4, 5, 100].map(suppressCount), [0, null, null, 5, 100]);
});

t.test('secondary suppression in a row with a total', async (t) => {
  t.same(suppressRow([3, 10, 20]), [null, null, 20], 'one small cell: the next smallest goes too');
  t.same(suppressRow([3, 0, 20, 7]), [null, 0, 20, null], 'zeros are skipped when a non-zero cell is left');
  t.same(suppressRow([3, 0]), [null, null], 'a zero when nothing else is left');
  t.same(suppressRow([3, 2, 20]), [null, null, 20], 'two suppressed cells already protect each other');
  t.same(suppressRow([0, 5, 6]), [0, 5, 6], 'nothing small, nothing suppressed');
  t.same(suppressRow([3, 10], false), [null, 10], 'no published total: primary only');
  t.same(suppressRecord({ completed: 12, disengaged: 2, other: 6 }), { completed: 12, disengaged: null, other: null });
});

t.test('rates', async (t) => {
  t.equal(rateSuppressed(5, 9), true, 'denominator under 10');
  t.equal(rateSuppressed(5, 10), false);
  t.equal(rateSuppressed(3, 50), true, 'a small numerator could be recovered from rate × denominator');
  t.equal(rateSuppressed(0, 10), false);
  t.equal(rateSuppressed(null, 12), false, 'no numerator (a mean): only the denominator matters');
  t.equal(suppressRate(0.5, 6, 12), 0.5);
  t.equal(suppressRate(0.5, 4, 8), null);
});
