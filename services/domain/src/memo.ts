/**
 * A pure function of one string, remembered. Report code calls the calendar helpers hundreds of thousands of times
 * per request on a few thousand distinct dates; the cache is emptied when it reaches `limit` entries so its memory
 * stays bounded whatever the input. Results are shared between callers: return immutable values only.
 */
export function memoized<V>(compute: (key: string) => V, limit = 10_000): (key: string) => V {
  const cache = new Map<string, V>();
  return (key) => {
    const hit = cache.get(key);
    if (hit !== undefined || cache.has(key)) return hit as V;
    const value = compute(key);
    if (cache.size >= limit) cache.clear();
    cache.set(key, value);
    return value;
  };
}
