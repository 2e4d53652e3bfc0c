import { Coalescer } from '@vru/runtime';
import type { AppendCommand, AppendOutcome, CommandHandler } from './command-handler.js';

/**
 * A second transaction starts beside the one in flight only for this many commands or more (a batch): deciding and
 * sealing a batch is worth overlapping with the other's database time. Fewer wait and go together in one fuller
 * transaction, which costs PostgreSQL and this process less per event than two small ones that queue for the append
 * lock anyway (docs/performance.md).
 */
const OVERLAP_MIN_COMMANDS = 100;

/**
 * Group commit: requests that arrive while earlier appends are in flight are coalesced into one transaction. No timer:
 * a lone request is written at once; under load each transaction carries everything that queued behind the previous
 * one (up to maxBatch commands; a request with more goes alone). A request's commands are never split between
 * transactions, so its events for one stream apply in the order given; each keeps its own outcome.
 */
export class GroupCommit {
  private readonly requests: Coalescer<AppendCommand[], AppendOutcome[]>;

  /**
   * `timeoutMs`: an append that has not settled by then answers as "database unavailable" (503, retry) and frees
   * its slot. A connection lost mid-query can leave a postgres.js query pending for good; a client must not wait
   * on it, and its retry is safe (the eventId makes it a duplicate if the first attempt committed after all).
   */
  constructor(commands: CommandHandler, maxInFlight = 2, maxBatch = 500, timeoutMs = 10_000) {
    this.requests = new Coalescer(
      async (requests) => {
        const outcomes = await commands.handle(requests.flat());
        let from = 0;
        return requests.map((r) => outcomes.slice(from, (from += r.length)));
      },
      { maxInFlight, maxWeight: maxBatch, overlapMinWeight: OVERLAP_MIN_COMMANDS, weight: (r) => r.length, timeoutMs },
    );
  }

  /** Appends one request's commands in one transaction, possibly with other requests'. */
  append(commands: AppendCommand[]): Promise<AppendOutcome[]> {
    if (commands.length === 0) return Promise.resolve([]);
    return this.requests.submit(commands);
  }
}
