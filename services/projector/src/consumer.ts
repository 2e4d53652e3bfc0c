import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoredEvent } from '@vru/contracts';
import { readStreamRange, upcastEvent, type PersonalDataVault } from '@vru/event-store';
import {
  Coalescer,
  projectorRejected,
  projectorStreamGaps,
  recordProjected,
  type Logger,
  type Sql,
} from '@vru/runtime';
import { applyBatches, ensureProjectionSchema, type ReadModelBatch } from './apply.js';
import { personalFieldsReadBy, type Projection } from './projection.js';
import { projections as allProjections } from './projections/index.js';
import { rebuildProjections } from './rebuild.js';
import { StoredEvents } from './stored-events.js';
import { checkAgainstStore } from './verify.js';

/** No batch for this long while messages wait on the topic: the consumer is taken for stalled and replaced. */
const STALL_AFTER_MS = 45_000;
const STALL_CHECK_MS = 15_000;
const FETCH_MAX_WAIT_MS = 40;
const FETCH_MIN_BYTES = 256 * 1024;
/** Batches that could not be applied (PostgreSQL down, say) are fetched again after this, doubling to the maximum. */
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 5_000;
const HEARTBEAT_INTERVAL_MS = 3_000;
/**
 * kafkajs hands each partition's batch of a fetch to a worker of its own, this many at most: with one worker per
 * partition (the topic has 12 by default) every batch of a fetch is handed over at once and applied together.
 */
const PARTITIONS_AT_ONCE = 32;

/**
 * Waits before a failed batch is fetched again, heartbeating meanwhile: kafkajs heartbeats only between batches, so a
 * wait longer than the session timeout inside one would have the group drop this member (seen with PostgreSQL down).
 */
async function backOff(ms: number, payloads: readonly EachBatchPayload[]): Promise<void> {
  const until = Date.now() + ms;
  for (let left = ms; left > 0; left = until - Date.now()) {
    // kafkajs sends a heartbeat only once the interval has passed since the last: asking every second keeps the gap
    // near the interval. One refused during a rebalance changes nothing here: the batch is given up either way.
    await sleep(Math.min(left, 1_000));
    for (const payload of payloads) await payload.heartbeat().catch(() => {});
  }
}

export interface RunningProjector {
  /** The names of the projections this consumer applies. */
  projections: string[];
  groupId: string;
  stop(): Promise<void>;
}

/**
 * The consumer group of a set of projections: `<prefix>-all` for every projection, else their names. Instances that run
 * the same set share the work; a projection added to the set is rebuilt from the log when its schema is created
 * (ensureProjectionSchema), so the group's committed offsets never leave it without the events before them.
 */
export function projectorGroupId(prefix: string | undefined, selected: readonly Pick<Projection, 'name'>[]): string {
  const names = [...new Set(selected.map((p) => p.name))].sort();
  const everyOne = names.length === allProjections.length && allProjections.every((p) => names.includes(p.name));
  return `${prefix ?? 'vru-projection'}-${everyOne ? 'all' : names.join('+')}`;
}

/**
 * Runs a set of projections from one consumer group: each message is fetched, parsed and checked against the store
 * once, then applied to every projection, all in one transaction. Kafka's committed offsets say where to resume;
 * PostgreSQL's stream positions (written with each read model's rows) make any redelivery harmless.
 */
export async function startProjector(opts: {
  sql: Sql;
  kafka: Kafka;
  topic: string;
  projections: readonly Projection[];
  logger: Logger;
  vault: PersonalDataVault;
  /** The store's copies of the events checked (a redelivered message is not read again). */
  storedEvents?: StoredEvents;
  groupPrefix?: string;
  sessionTimeoutMs?: number;
}): Promise<RunningProjector> {
  const { sql, kafka, topic, vault } = opts;
  const storedEvents = opts.storedEvents ?? new StoredEvents(sql);
  const names = opts.projections.map((p) => p.name);
  if (names.length === 0) throw new Error('a projector needs at least one projection to run');
  const log = opts.logger.child({ projections: names });
  const outdated: Projection[] = [];
  for (const projection of opts.projections) {
    const stored = await ensureProjectionSchema(sql, projection);
    if (stored === projection.version) continue;
    log.info(
      { projection: projection.name, stored, current: projection.version },
      stored === 0
        ? 'new read model on a log that has events: building it from the log'
        : 'projection version changed: rebuilding from the log',
    );
    outdated.push(projection);
  }
  if (outdated.length > 0) await rebuildProjections(sql, outdated, log, { vault });
  // Each projection is given only the personal fields it reads; those that read none share one copy of the events.
  const appliers = opts.projections.map((projection) => ({
    projection,
    opens: personalFieldsReadBy([projection]),
    readsPersonalFields: (projection.readsPersonalFieldsOf ?? []).length > 0,
    log: opts.logger.child({ projection: projection.name }),
  }));
  const groupId = projectorGroupId(opts.groupPrefix, opts.projections);
  let stopped = false;
  let consumer: Consumer | null = null;
  let restartTimer: NodeJS.Timeout | null = null;
  let lastProgressAt = Date.now();
  let failedBatches = 0;

  // kafkajs' own restart after a crash (e.g. the broker went away) can leave the old connections open;
  // instead a crashed consumer is disconnected and replaced by a new one.
  const connect = async (): Promise<void> => {
    // A new consumer gets a whole stall window: after a broker restart it may wait for its crashed predecessor to
    // leave the group (a session timeout) before it is given partitions, and replacing it again would only wait longer.
    lastProgressAt = Date.now();
    const c = kafka.consumer({
      groupId,
      sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: HEARTBEAT_INTERVAL_MS,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 4 * 1024 * 1024,
      // The broker holds a fetch until it has this many bytes or this long has passed: under load, fewer and fuller
      // batches (each costs a store read, a key read and a transaction, per projection). Every event waits for it, so
      // it is short: at 1,000 events/s, 100 ms saved the projector about 0.03 ms of CPU per event and cost 150-500 ms of
      // end-to-end lag at p99; 20 ms cost PostgreSQL and the projector more CPU for no clear gain in lag.
      // A stop waits for the fetch in flight, so kafkajs' 5 s default made every stop (SIGTERM, a test's teardown) slow.
      maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
      minBytes: FETCH_MIN_BYTES,
      retry: { restartOnFailure: async () => false },
    });
    consumer = c;
    c.on(c.events.CRASH, ({ payload }) => {
      log.warn({ error: payload.error.message }, 'consumer crashed; reconnecting');
      void c
        .disconnect()
        .catch(() => {})
        .finally(() => scheduleRestart());
    });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: PARTITIONS_AT_ONCE,
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
        // Never thrown to kafkajs: its runner leaves a second partition's rejection unhandled, which ends the process
        // (seen when PostgreSQL stopped under load). A failed group was logged and waited for once, by the group; nothing
        // of this batch was resolved, so the next fetch delivers it again (applying it is idempotent).
        await partitionsTogether.submit(payload).catch(() => {});
      },
    });
  };
  /**
   * Applies the batches of several partitions (those handed over while the previous group was applied) in one
   * transaction: one read of the store to check them, one decryption, one write per table, instead of one of each per
   * partition. Each stream lives on one partition, whose batches come in order, so every stream's events stay in order.
   */
  const projectBatches = async (payloads: readonly EachBatchPayload[]): Promise<void> => {
    const current = payloads.filter((p) => p.isRunning() && !p.isStale());
    const published: StoredEvent[] = [];
    // One child logger per event, carrying its correlation id (the HTTP request that appended it).
    const eventLogs: Logger[] = [];
    const perEvent = log.isLevelEnabled('debug');
    for (const { batch } of current) {
      for (const m of batch.messages) {
        const correlationId = m.headers?.['correlation-id']?.toString();
        try {
          const event = JSON.parse(m.value?.toString() ?? 'null') as StoredEvent;
          published.push(event);
          if (perEvent) {
            eventLogs.push(
              log.child({
                // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a message is parsed JSON, checked against the store only later
                correlationId: correlationId ?? event.metadata?.requestId,
                eventId: event.eventId,
                eventType: event.type,
                position: event.position,
                partition: batch.partition,
                offset: m.offset,
              }),
            );
          }
        } catch {
          // A message that is not an event cannot be projected; it must not block the partition either.
          log.error({ correlationId, partition: batch.partition, offset: m.offset }, 'skipping unreadable message');
        }
      }
    }
    // Only what the store holds is applied: a message that is not, field for field, a stored event is refused.
    const { accepted, rejected } = checkAgainstStore(
      published,
      await storedEvents.byId(
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- `null` parses to a null entry, which the check refuses
        published.map((e) => e?.eventId),
      ),
    );
    for (const r of rejected) {
      // Counted for each projection the message was offered to, as when each ran a consumer of its own.
      for (const name of names) projectorRejected.inc({ projection: name, reason: r.reason });
      const named = { eventId: String(r.eventId).slice(0, 64), position: String(r.position).slice(0, 32) };
      log.error({ ...named, reason: r.reason }, 'refusing a message that is not the event the store holds');
    }
    const positions = current.map(({ batch }) => ({
      topic,
      partition: batch.partition,
      nextOffset: (BigInt(batch.lastOffset()) + 1n).toString(),
    }));
    // Kafka carries personal fields sealed; those a read model reads are decrypted for it, while the key exists.
    let withoutPersonalFields: Promise<StoredEvent[]> | undefined;
    const eventsFor = async ({ opens, readsPersonalFields }: (typeof appliers)[number]) =>
      readsPersonalFields
        ? (await vault.open(sql, accepted, opens)).map(upcastEvent)
        : (withoutPersonalFields ??= vault.open(sql, accepted, opens).then((events) => events.map(upcastEvent)));
    const perReadModel = await Promise.all(
      appliers.map(async (applier): Promise<ReadModelBatch> => ({
        projection: applier.projection,
        events: await eventsFor(applier),
        gaps: {
          fill: (tx, streamId, after, before) => readStreamRange(tx, vault, streamId, after, before, applier.opens),
          report: (gap) => {
            projectorStreamGaps.inc({ projection: applier.projection.name });
            applier.log.warn(
              gap,
              gap.filled
                ? 'stream version gap: the missing events were read from the store first'
                : 'stream version gap the store cannot fill: the event is not applied (a stored event is missing)',
            );
          },
        },
      })),
    );
    // Every read model's rows, stream positions and checkpoint commit together, in one transaction for the batch.
    const counts = await applyBatches(sql, perReadModel, positions);
    const applied: Record<string, number> = {};
    perReadModel.forEach(({ projection, events }, i) => {
      applied[projection.name] = counts[i]!;
      recordProjected(
        projection.name,
        counts[i]!,
        events.map((e) => e.position),
      );
    });
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kafkajs builds these per batch as closures (its own examples destructure them)
    for (const { batch, resolveOffset } of current) resolveOffset(batch.lastOffset());
    for (const payload of current) await payload.commitOffsetsIfNecessary();
    lastProgressAt = Date.now();
    for (const payload of current) await payload.heartbeat();
    // Redelivered events are skipped inside applyBatches; the line says the event is in the read models either way.
    for (const eventLog of eventLogs) eventLog.debug('event projected');
    log.debug(
      {
        partitions: current.map(({ batch }) => batch.partition),
        received: published.length,
        applied,
        nextOffsets: positions.map((p) => p.nextOffset),
      },
      'batches projected',
    );
  };
  const partitionsTogether = new Coalescer<EachBatchPayload, void>(
    async (payloads) => {
      try {
        await projectBatches(payloads);
        failedBatches = 0;
      } catch (err) {
        failedBatches += 1;
        const retryInMs = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(failedBatches - 1, 6));
        log.warn(
          {
            error: (err as Error).message,
            partitions: payloads.map(({ batch }) => batch.partition),
            failedBatches,
            retryInMs,
          },
          'batches not applied; they are fetched again',
        );
        await backOff(retryInMs, payloads);
        throw err;
      }
      return payloads.map(() => undefined);
    },
    { gatherSameTurn: true },
  );
  const scheduleRestart = () => {
    // One replacement at a time: a crash and the stall watchdog may both ask for one.
    if (stopped || restartTimer) return;
    restartTimer = setTimeout(() => {
      restartTimer = null;
      if (stopped) return;
      connect().catch((err: unknown) => {
        log.warn({ error: (err as Error).message }, 'consumer could not reconnect');
        void consumer?.disconnect().catch(() => {});
        scheduleRestart();
      });
    }, 2_000);
  };
  // kafkajs' consumer can also stop fetching without crashing after a broker of the cluster dies (seen with
  // scripts/chaos broker-killed-3-brokers). A consumer that has applied nothing for STALL_AFTER_MS while its
  // group is behind the end of the topic is replaced like a crashed one; redelivery is harmless.
  const groupLag = async (): Promise<number> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [ends, [committed]] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId, topics: [topic] }),
      ]);
      const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      return ends.reduce(
        (n, p) => n + Math.max(0, Number(p.high) - Math.max(at.get(p.partition) ?? 0, Number(p.low))),
        0,
      );
    } finally {
      await admin.disconnect().catch(() => {});
    }
  };
  let checking = false;
  const watchdog = setInterval(() => {
    if (stopped || checking || restartTimer || Date.now() - lastProgressAt < STALL_AFTER_MS) return;
    checking = true;
    groupLag()
      .then(
        (behind) => {
          if (behind === 0 || stopped || restartTimer) return;
          log.warn(
            { behind, idleMs: Date.now() - lastProgressAt },
            'consumer made no progress while messages wait; replacing it',
          );
          lastProgressAt = Date.now();
          const stuck = consumer;
          void Promise.race([stuck?.disconnect(), new Promise((r) => setTimeout(r, 10_000))])
            .catch(() => {})
            .finally(() => scheduleRestart());
        },
        (err: unknown) => log.debug({ error: (err as Error).message }, 'consumer lag check failed'),
      )
      .finally(() => {
        checking = false;
      });
  }, STALL_CHECK_MS);
  watchdog.unref();
  await connect();
  return {
    projections: names,
    groupId,
    stop: async () => {
      stopped = true;
      clearInterval(watchdog);
      if (restartTimer) clearTimeout(restartTimer);
      await consumer?.disconnect().catch(() => {});
    },
  };
}
