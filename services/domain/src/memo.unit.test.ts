import t from 'tap';
import { memoized } from './memo.js';

t.test('computes each key once, and forgets everything at its limit', async (t) => {
  const calls: string[] = [];
  const length = memoized((key) => {
    calls.push(key);
    return key.length;
  }, 3);
  t.equal(length('a'), 1);
  t.equal(length('bb'), 2);
  t.equal(length('a'), 1);
  t.same(calls, ['a', 'bb'], 'the second "a" came from the cache');
  length('ccc');
  length('dddd');
  t.same(calls, ['a', 'bb', 'ccc', 'dddd'], 'a fourth key emptied the full cache');
  length('a');
  t.same(calls.at(-1), 'a', 'so "a" was computed again');
});

t.test('remembers an undefined result and does not remember a throw', async (t) => {
  let computed = 0;
  const nothing = memoized(() => {
    computed += 1;
    return undefined;
  });
  nothing('x');
  nothing('x');
  t.equal(computed, 1);
  let tries = 0;
  const failing = memoized((key) => {
    tries += 1;
    if (tries === 1) throw new RangeError(key);
    return key;
  });
  t.throws(() => failing('y'), RangeError);
  t.equal(failing('y'), 'y', 'a throw leaves nothing cached');
});
