import type { Sql } from '@vru/runtime';

/**
 * Wakes the relay once an append with outbox rows has committed. Sent after the commit, not from a trigger inside the
 * transaction: there PostgreSQL's cluster-wide notify lock is held through the commit's WAL flush, which serialised
 * every append (see migration 005). At most one NOTIFY in flight; appends meanwhile ask for one more. A NOTIFY lost to
 * a crash costs the relay one poll interval (RELAY_POLL_MS), never an event.
 */
export class RelayWaker {
  private notifying = false;
  private notifyAgain = false;

  constructor(private readonly sql: Sql) {}

  wake(): void {
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = true;
    this.sql`select pg_notify('outbox', '')`
      .catch(() => {})
      .finally(() => {
        this.notifying = false;
        if (this.notifyAgain) {
          this.notifyAgain = false;
          this.wake();
        }
      });
  }
}
