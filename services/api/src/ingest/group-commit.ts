import type { AppendCommand, AppendOutcome, CommandHandler } from './command-handler.js';

/** Commands that go into one transaction together, in order (one request's events), and their answers. */
interface Pending {
  commands: AppendCommand[];
  resolve: (o: AppendOutcome[]) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: requests that arrive while earlier appends are in flight are coalesced into one transaction. No timer:
 * a lone request is written at once; under load each transaction carries everything that queued behind the previous
 * one (up to maxBatch commands; a request with more goes alone). A request's commands are never split between
 * transactions, so its events for one stream apply in the order given; each keeps its own outcome.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private inFlight = 0;

  /**
   * `timeoutMs`: an append that has not settled by then answers as "database unavailable" (503, retry) and frees
   * its slot. A connection lost mid-query can leave a postgres.js query pending for good; a client must not wait
   * on it, and its retry is safe (the eventId makes it a duplicate if the first attempt committed after all).
   */
  constructor(
    private readonly commands: CommandHandler,
    private readonly maxInFlight = 2,
    private readonly maxBatch = 500,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Appends one request's commands in one transaction, possibly with other requests'. */
  append(commands: AppendCommand[]): Promise<AppendOutcome[]> {
    if (commands.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ commands, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      let size = this.queue[0]!.commands.length;
      let take = 1;
      while (take < this.queue.length && size + this.queue[take]!.commands.length <= this.maxBatch)
        size += this.queue[take++]!.commands.length;
      const batch = this.queue.splice(0, take);
      this.inFlight += 1;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(Object.assign(new Error('append did not finish in time'), { code: 'ETIMEDOUT' })),
          this.timeoutMs,
        );
      });
      Promise.race([this.commands.handle(batch.flatMap((p) => p.commands)), timedOut])
        .then(
          (outcomes) => {
            let from = 0;
            for (const p of batch) {
              p.resolve(outcomes.slice(from, from + p.commands.length));
              from += p.commands.length;
            }
          },
          (err: unknown) => batch.forEach((p) => p.reject(err)),
        )
        .finally(() => {
          clearTimeout(timer);
          this.inFlight -= 1;
          this.pump();
        });
    }
  }
}
