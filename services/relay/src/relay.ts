import { setTimeout as delay } from 'node:timers/promises';
import type { Kafka, Producer } from 'kafkajs';
import { EVENT_COLUMNS, toStoredEvent, type EventRow } from '@vru/event-store';
import { createSql, relayErrors, relayPublished, type Logger, type Sql } from '@vru/runtime';

/** Only one relay publishes at a time; a second instance waits and takes over if the first dies. */
export const RELAY_LOCK = 7_406_002;
const LOCK_CHECK_MS = 1_000;

export interface RelayOptions {
  sql: Sql;
  /** The relay holds its publishing lock on a connection of its own to this database. */
  databaseUrl: string;
  kafka: Kafka;
  topic: string;
  logger: Logger;
  batchSize?: number;
  pollMs?: number;
  /** After less than a full batch, wait this long before reading again (0: read again at once). */
  lingerMs?: number;
}

export interface RunningRelay {
  stop(): Promise<void>;
  /** Resolves when the outbox has been seen empty after the call (for tests and shutdown). */
  drained(): Promise<void>;
  readonly published: number;
}

/**
 * The outbox relay: publishes events in log order to Kafka, keyed by stream id so each participant's
 * events stay in order on one partition, with acks = all. A row leaves the
 * outbox only after Kafka acknowledged it; if Kafka is down, rows wait and the relay retries with backoff.
 */
export async function startRelay(opts: RelayOptions): Promise<RunningRelay> {
  const { sql, kafka, topic } = opts;
  const log = opts.logger.child({ component: 'relay' });
  const batchSize = opts.batchSize ?? 500;
  const pollMs = opts.pollMs ?? 200;
  const lingerMs = opts.lingerMs ?? 0;
  let running = true;
  let published = 0;
  let wake: (() => void) | null = null;
  let drainWaiters: (() => void)[] = [];
  // No retries inside kafkajs: its retry of a produce request that failed on one broker (the broker died) has been
  // seen to resolve without the messages for that broker's partitions reaching the topic (scripts/chaos
  // broker-killed-3-brokers: fewer messages on the topic than events stored, the outbox empty). Any failure is
  // thrown here instead, and the whole batch is sent again from the outbox, in order, on the next attempt. The
  // price is a possible repeat on the topic, which consumers skip by stream version (and kafkajs' idempotent
  // producer needs its own retries, so it is off: one publisher at a time and one request in flight keep order).
  const producer: Producer = kafka.producer({
    idempotent: false,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: 0 },
  });
  let connected = false;

  // The lock lives on a client of exactly one connection, apart from the pool. If that connection dies (database
  // restarted) the client reconnects by itself as a new session that does not hold the lock, so the relay asks
  // again: "do I hold it, and if not, can I take it?" at least every LOCK_CHECK_MS. (A connection reserved from the
  // pool cannot do this: postgres.js never reconnects it, and releasing it after it died hands a closed connection
  // back to the pool, which then wedges every later query of the relay.)
  const lockSql = createSql(opts.databaseUrl, { max: 1, applicationName: 'vru-relay-lock' });
  let lockCheckedAt = 0;
  const holdsLock = async (): Promise<boolean> => {
    const [row] = await lockSql<{ held: boolean }[]>`
      select case when exists (
        select 1 from pg_locks
        where locktype = 'advisory' and pid = pg_backend_pid() and classid = 0 and objid = ${RELAY_LOCK} and objsubid = 1 and granted
      ) then true else pg_try_advisory_lock(${RELAY_LOCK}) end as held`;
    lockCheckedAt = Date.now();
    return row?.held === true;
  };
  const listener = await sql.listen('outbox', () => wake?.()).catch(() => null);

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(t);
        wake = null;
        resolve();
      };
    });

  const loop = async () => {
    let backoff = pollMs;
    let haveLock = false;
    // The highest position this relay has published and deleted. Positions commit in order (EVENT_APPEND_LOCK), so
    // every outbox row still to publish lies above it: reading from there skips the deleted rows that vacuum has not
    // yet removed, which a read from the outbox's start walks through one by one (between two vacuums, most of its
    // index). Forgotten whenever the lock is taken again or a batch fails: the next read starts from the bottom.
    // The events are then fetched by position from the batch's array, so that no plan can join the outbox to a scan
    // of the whole log (a join of the two, planned from estimates, was seen reading about 4,000 pages per batch).
    let publishedThrough = 0n;
    while (running) {
      try {
        if (!haveLock || Date.now() - lockCheckedAt >= LOCK_CHECK_MS) {
          const had = haveLock;
          haveLock = await holdsLock();
          if (!haveLock) {
            if (had) log.warn('relay lost the publishing lock');
            await sleep(1_000);
            continue;
          }
          if (!had) {
            publishedThrough = 0n;
            log.info('relay holds the publishing lock');
          }
        }
        if (!connected) {
          await producer.connect();
          connected = true;
        }
        const rows = await sql<EventRow[]>`
          select ${sql.unsafe(EVENT_COLUMNS)}
          from events e
          where e.position = any(array(
            select position from outbox where position > ${publishedThrough.toString()}::bigint
            order by position limit ${batchSize}))
          order by e.position`;
        if (rows.length === 0) {
          const waiters = drainWaiters;
          drainWaiters = [];
          waiters.forEach((w) => w());
          backoff = pollMs;
          await sleep(pollMs);
          continue;
        }
        await producer.send({
          topic,
          acks: -1,
          messages: rows.map((r) => {
            const event = toStoredEvent(r);
            return {
              key: event.streamId,
              value: JSON.stringify(event),
              headers: {
                'event-type': event.type,
                'schema-version': String(event.schemaVersion),
                'event-id': event.eventId,
                'correlation-id': event.metadata.requestId,
              },
            };
          }),
        });
        await sql`delete from outbox where position = any(${rows.map((r) => r.position.toString())}::bigint[])`;
        publishedThrough = rows.at(-1)!.position;
        published += rows.length;
        relayPublished.inc(rows.length);
        backoff = pollMs;
        // Under a steady load the outbox gains one commit's events at a time: reading it again at once would cost a
        // read, a Kafka request and a delete per commit (and a fetch and a transaction downstream). A short wait lets
        // the next read take several commits together. A full batch means a backlog: no wait then.
        if (rows.length < batchSize && lingerMs > 0) await delay(lingerMs);
      } catch (err) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() clears it while the batch is awaited
        if (!running) break;
        relayErrors.inc();
        log.warn(
          { err: { message: (err as Error).message, name: (err as Error).name } },
          'relay could not publish; will retry',
        );
        // The lock's connection may have died with the error: ask again before the next batch.
        lockCheckedAt = 0;
        publishedThrough = 0n;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  };
  const done = loop();

  return {
    get published() {
      return published;
    },
    drained: () =>
      new Promise<void>((resolve) => {
        drainWaiters.push(resolve);
        wake?.();
      }),
    stop: async () => {
      running = false;
      wake?.();
      await done;
      await listener?.unlisten().catch(() => {});
      await lockSql`select pg_advisory_unlock_all()`.catch(() => {});
      await lockSql.end({ timeout: 1 }).catch(() => {});
      if (connected) await producer.disconnect().catch(() => {});
    },
  };
}
