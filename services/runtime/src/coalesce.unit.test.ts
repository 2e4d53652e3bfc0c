import t from 'tap';
import { Coalescer } from './coalesce.js';

/** A handler whose calls wait until released, recording each call's items. */
function gatedHandler() {
  const calls: number[][] = [];
  const releases: (() => void)[] = [];
  const handle = async (items: number[]): Promise<string[]> => {
    calls.push(items);
    await new Promise<void>((resolve) => releases.push(resolve));
    return items.map((i) => `answer ${i}`);
  };
  const releaseNext = async () => {
    releases.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { calls, handle, releaseNext };
}

t.test('a lone item is handled at once; what queues behind it goes together, each answered in order', async (t) => {
  const h = gatedHandler();
  const c = new Coalescer(h.handle);
  const first = c.submit(1);
  const rest = [2, 3, 4].map((i) => c.submit(i));
  t.same(h.calls, [[1]], 'the first item did not wait for company');
  await h.releaseNext();
  t.equal(await first, 'answer 1');
  t.same(h.calls, [[1], [2, 3, 4]], 'the items that waited form the next group, in arrival order');
  await h.releaseNext();
  t.same(await Promise.all(rest), ['answer 2', 'answer 3', 'answer 4']);
});

t.test('gatherSameTurn: items submitted by one run of synchronous code form the first group', async (t) => {
  const h = gatedHandler();
  const c = new Coalescer(h.handle, { gatherSameTurn: true });
  const all = [1, 2, 3].map((i) => c.submit(i));
  t.same(h.calls, [], 'nothing starts before the submitting code has run to its end');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(h.calls, [[1, 2, 3]]);
  await h.releaseNext();
  t.same(await Promise.all(all), ['answer 1', 'answer 2', 'answer 3']);
});

t.test(
  'maxInFlight groups at once; a group stays within maxWeight unless its first item alone is heavier',
  async (t) => {
    const h = gatedHandler();
    const c = new Coalescer(h.handle, { maxInFlight: 2, maxWeight: 5, weight: (i) => i });
    const all = [1, 4, 2, 3, 9, 1].map((i) => c.submit(i));
    t.same(h.calls, [[1], [4]], 'two groups in flight, each started alone');
    await h.releaseNext();
    t.same(h.calls, [[1], [4], [2, 3]], 'the next group holds what fits in the weight');
    await h.releaseNext();
    t.same(h.calls, [[1], [4], [2, 3], [9]], 'an item heavier than the limit goes alone');
    await h.releaseNext();
    await h.releaseNext();
    t.same(h.calls.at(-1), [1]);
    await h.releaseNext();
    t.same(await Promise.all(all), ['answer 1', 'answer 4', 'answer 2', 'answer 3', 'answer 9', 'answer 1']);
  },
);

t.test(
  'overlapMinWeight: beside a group in flight only a heavy group starts; light ones wait and go together',
  async (t) => {
    const h = gatedHandler();
    const c = new Coalescer(h.handle, { maxInFlight: 2, maxWeight: 10, overlapMinWeight: 5, weight: (i) => i });
    const all = [1, 2, 1].map((i) => c.submit(i));
    t.same(h.calls, [[1]], 'the first group starts at once, however light; 2 + 1 wait beside it');
    all.push(c.submit(6));
    t.same(h.calls, [[1], [2, 1, 6]], 'once what waits weighs 5 or more, it starts beside the group in flight');
    all.push(c.submit(1), c.submit(1));
    await h.releaseNext();
    t.same(h.calls.length, 2, 'a slot is free, but 1 + 1 is too light to start beside the heavy group');
    await h.releaseNext();
    t.same(h.calls.at(-1), [1, 1], 'with nothing in flight the light ones start, together');
    await h.releaseNext();
    t.same(await Promise.all(all), ['answer 1', 'answer 2', 'answer 1', 'answer 6', 'answer 1', 'answer 1']);
  },
);

t.test('a failed group rejects each of its items and frees its slot for the next', async (t) => {
  let calls = 0;
  const c = new Coalescer<number, number>(async (items) => {
    calls += 1;
    if (calls === 1) throw new Error('database unavailable');
    return items.map((i) => i * 10);
  });
  const a = c.submit(1);
  const b = c.submit(2);
  const d = c.submit(3);
  await t.rejects(a, /database unavailable/);
  t.same(await Promise.all([b, d]), [20, 30]);
});

t.test('a group not settled in time fails with ETIMEDOUT and the next group still runs', async (t) => {
  const c = new Coalescer<number, number>(
    (items) => (items[0] === 1 ? new Promise<number[]>(() => {}) : Promise.resolve(items)),
    { timeoutMs: 20 },
  );
  const stuck = c.submit(1);
  const next = c.submit(2);
  await t.rejects(stuck, { code: 'ETIMEDOUT' });
  t.equal(await next, 2);
});
