import type { AppendCommand, AppendOutcome, CommandHandler } from './command-handler.js';

interface Pending {
  command: AppendCommand;
  resolve: (o: AppendOutcome) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: single-event requests that arrive while earlier appends are in flight are coalesced into
 * one transaction. No timer: a lone request is written at once; under load each transaction carries
 * everything that queued behind the previous one (up to maxBatch). Each request keeps its own outcome.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private inFlight = 0;

  /**
   * `timeoutMs`: an append that has not settled by then answers as "database unavailable" (503, retry) and frees
   * its slot. A connection lost mid-query can leave a postgres.js query pending for good; a client must not wait
   * on it, and its retry is safe (the eventId makes it a duplicate if the first attempt committed after all).
   */
  constructor(private readonly commands: CommandHandler, private readonly maxInFlight = 4, private readonly maxBatch = 500, private readonly timeoutMs = 10_000) {}

  append(command: AppendCommand): Promise<AppendOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight += 1;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('append did not finish in time'), { code: 'ETIMEDOUT' })), this.timeoutMs);
      });
      Promise.race([this.commands.handle(batch.map((p) => p.command)), timedOut])
        .then(
          (outcomes) => batch.forEach((p, i) => p.resolve(outcomes[i]!)),
          (err) => batch.forEach((p) => p.reject(err)),
        )
        .finally(() => {
          clearTimeout(timer);
          this.inFlight -= 1;
          this.pump();
        });
    }
  }
}
