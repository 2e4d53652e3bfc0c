import type { StoredEvent } from '@vru/contracts';
import { storedEventsById } from '@vru/event-store';
import type { Sql } from '@vru/runtime';

/**
 * The store's copies of events by id, kept across batches: a batch that failed (PostgreSQL down, say) and a
 * redelivery are checked again without reading the store again, and a read in flight is shared. Stored events never
 * change (the log is append-only; erasure destroys a participant's key, not the rows), so a kept copy is what a new
 * read would return; the copies are frozen, as the read models of a batch share them. Decryption is not kept: it
 * happens per batch with the keys as they are then. The oldest copies go first beyond `capacity`: a few fetches'
 * worth, enough for a redelivery. Every copy kept outlives the young generation, so a larger store costs the
 * projector memory and old-generation collections (20,000 kept 50 MB more, and the projector's stage p99 was higher
 * in three pairs of three; docs/performance.md).
 */
export class StoredEvents {
  private readonly kept = new Map<string, Promise<StoredEvent | undefined>>();

  constructor(
    private readonly sql: Sql,
    private readonly capacity = 2_000,
  ) {}

  async byId(eventIds: readonly unknown[]): Promise<Map<string, StoredEvent>> {
    const wanted = new Map<string, Promise<StoredEvent | undefined>>();
    const missing: string[] = [];
    for (const id of eventIds) {
      if (typeof id !== 'string' || wanted.has(id)) continue;
      const kept = this.kept.get(id);
      if (kept) wanted.set(id, kept);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const read = storedEventsById(this.sql, missing);
      for (const id of missing) {
        const one = read.then(
          (found) => {
            const e = found.get(id);
            return e && deepFreeze(e);
          },
          (err: unknown) => {
            // A failed read is not kept: every batch waiting on it fails, is fetched again and reads again.
            if (this.kept.get(id) === one) this.kept.delete(id);
            throw err;
          },
        );
        one.catch(() => {}); // awaited below and by any other batch that asks meanwhile
        this.kept.set(id, one);
        wanted.set(id, one);
      }
      while (this.kept.size > this.capacity) this.kept.delete(this.kept.keys().next().value!);
    }
    const out = new Map<string, StoredEvent>();
    for (const [id, one] of wanted) {
      const e = await one;
      if (e) out.set(id, e);
      // Not in the store: not kept, so that a later batch asks the store again.
      else if (this.kept.get(id) === one) this.kept.delete(id);
    }
    return out;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
