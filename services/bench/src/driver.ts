import { writeFileSync } from 'node:fs';
import { Pool } from 'undici';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { STREAM_DOES_NOT_EXIST, type Event } from '@event-driven-io/emmett';
import { createSql, type Sql } from '@vru/runtime';
import { percentile, progress, round, sleep } from './stats.js';
import { ceilingRows, Journeys, streamIdOf, type Body, type CeilingRow } from './workload.js';

/**
 * One benchmark phase, run in its own process so that the load generator never shares a CPU budget with
 * what it measures in-process. The orchestrator (main.ts) passes the task as JSON in BENCH_TASK; the result
 * is the last line on stdout, progress goes to stderr.
 */
export type Task =
  | { kind: 'http-single'; url: string; apiKey: string; concurrency: number; seconds: number; warmupSeconds: number }
  | {
      kind: 'http-batch';
      url: string;
      apiKey: string;
      concurrency: number;
      seconds: number;
      warmupSeconds: number;
      batchSize: number;
    }
  | {
      kind: 'ceiling-single';
      databaseUrl: string;
      secret: string;
      concurrency: number;
      seconds: number;
      warmupSeconds: number;
    }
  | {
      kind: 'ceiling-batch';
      databaseUrl: string;
      secret: string;
      concurrency: number;
      seconds: number;
      warmupSeconds: number;
      batchSize: number;
    }
  | { kind: 'emmett'; databaseUrl: string; concurrency: number; seconds: number; warmupSeconds: number }
  | {
      kind: 'lag';
      url: string;
      apiKey: string;
      databaseUrl: string;
      secret: string;
      rate: number;
      seconds: number;
      concurrency: number;
      /**
       * Offered on the same schedule before the measured `seconds`, and not counted: the services' and the broker's
       * JIT compilers and caches warm up, as in every throughput contender's warm-up.
       */
      warmupSeconds: number;
      /** After the schedule, wait at most this long for answers and visibility (default: 60 s for visibility). */
      drainSeconds?: number;
    };

export interface Result {
  events: number;
  seconds: number;
  eps: number;
  p50_ms?: number;
  p99_ms?: number;
  max_ms?: number;
  errors: number;
  firstError?: string;
  /** Lag only: events offered per second (the schedule's), events never seen in the read model within the wait, events
   * sent after their due time because their predecessor's answer was not back, and answers received. */
  offered_eps?: number;
  unseen?: number;
  late?: number;
  answered?: number;
  /** Lag only: true when events not seen by the end of a bounded wait reach the percentile, which is then a lower bound. */
  p50_lower_bound?: boolean;
  p99_lower_bound?: boolean;
  /** Up to 20,000 latencies (ms, evenly sampled), so that the orchestrator can merge rounds. */
  samples?: number[];
  /**
   * Lag only: each event seen in the read model as [log position, due, sent, answered (2xx), seen applied], wall-clock
   * milliseconds (the clock the relay's message timestamps and PostgreSQL's recorded_at use), for the split by stage.
   */
  stages?: [string, number, number, number, number][];
}

const MAX_SAMPLES = 20_000;
const sample = (sorted: number[]): number[] => {
  const step = Math.max(1, sorted.length / MAX_SAMPLES);
  const out: number[] = [];
  for (let i = 0; i < sorted.length; i += step) out.push(round(sorted[Math.floor(i)]!, 2));
  return out;
};

/**
 * Runs `concurrency` workers until the deadline. Only work finished after the warm-up counts (JIT, pools and
 * caches settle first); each worker reports the events and the latency of each unit of work it completes.
 */
async function closedLoop(
  label: string,
  concurrency: number,
  seconds: number,
  warmupSeconds: number,
  worker: (
    slot: number,
    running: () => boolean,
    done: (events: number, ms: number) => void,
    fail: (why: string) => void,
  ) => Promise<void>,
): Promise<Result> {
  const started = performance.now();
  const measureFrom = started + warmupSeconds * 1000;
  const deadline = measureFrom + seconds * 1000;
  let events = 0;
  let errors = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const stop = progress(label, () => events);
  const running = () => performance.now() < deadline;
  const done = (n: number, ms: number) => {
    if (performance.now() < measureFrom) return;
    events += n;
    latencies.push(ms);
  };
  const fail = (why: string) => {
    errors += 1;
    firstError ??= why;
  };
  await Promise.all(Array.from({ length: concurrency }, (_, slot) => worker(slot, running, done, fail)));
  stop();
  const elapsed = (performance.now() - measureFrom) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    events,
    seconds: round(elapsed, 1),
    eps: round(events / elapsed),
    errors,
    firstError,
    p50_ms: round(percentile(latencies, 50), 1),
    p99_ms: round(percentile(latencies, 99), 1),
    max_ms: round(latencies.at(-1) ?? 0, 1),
    samples: sample(latencies),
  };
}

function httpPool(url: string, connections: number): Pool {
  return new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
}

async function post(
  pool: Pool,
  path: string,
  apiKey: string,
  body: unknown,
): Promise<{ status: number; body: string }> {
  const res = await pool.request({
    method: 'POST',
    path,
    body: JSON.stringify(body),
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
  });
  return { status: res.statusCode, body: await res.body.text() };
}

/** Single events over HTTP: each worker walks one participant's journey at a time, one request per event. */
async function httpSingle(t: Extract<Task, { kind: 'http-single' }>): Promise<Result> {
  const pool = httpPool(t.url, t.concurrency);
  const result = await closedLoop(
    'single-event ingest',
    t.concurrency,
    t.seconds,
    t.warmupSeconds,
    async (slot, running, done, fail) => {
      const journeys = new Journeys(`s${slot}-${process.pid}`);
      while (running()) {
        for (const e of journeys.next().events) {
          if (!running()) return;
          const t0 = performance.now();
          const res = await post(pool, '/v1/events', t.apiKey, e).catch((err: unknown) => ({
            status: 0,
            body: (err as Error).message,
          }));
          if (res.status === 202) done(1, performance.now() - t0);
          else {
            fail(`${res.status} ${res.body.slice(0, 300)}`);
            break;
          }
        }
      }
    },
  );
  await pool.close();
  return result;
}

/** Batches over HTTP: whole journeys, `batchSize` events per request. */
async function httpBatch(t: Extract<Task, { kind: 'http-batch' }>): Promise<Result> {
  const pool = httpPool(t.url, t.concurrency);
  const result = await closedLoop(
    'batch ingest',
    t.concurrency,
    t.seconds,
    t.warmupSeconds,
    async (slot, running, done, fail) => {
      const journeys = new Journeys(`b${slot}-${process.pid}`);
      let carry: Body[] = [];
      while (running()) {
        const all = [...carry, ...journeys.take(t.batchSize - carry.length)];
        // Cutting a journey between batches is fine: the next batch continues it in order.
        const events = all.slice(0, t.batchSize);
        carry = all.slice(t.batchSize);
        const t0 = performance.now();
        const res = await post(pool, '/v1/events/batch', t.apiKey, { events }).catch((err: unknown) => ({
          status: 0,
          body: (err as Error).message,
        }));
        if (res.status !== 200) {
          fail(`${res.status} ${res.body.slice(0, 300)}`);
          continue;
        }
        const answer = JSON.parse(res.body) as {
          accepted: number;
          rejected: number;
          results: { status: string; problem?: unknown }[];
        };
        if (answer.rejected > 0)
          fail(
            `rejected in batch: ${JSON.stringify(answer.results.find((r) => r.status === 'rejected')?.problem).slice(0, 300)}`,
          );
        done(answer.accepted, performance.now() - t0);
      }
    },
  );
  await pool.close();
  return result;
}

const CEILING_COLUMNS = [
  'event_id',
  'stream_id',
  'stream_version',
  'type',
  'schema_version',
  'provider_id',
  'programme_id',
  'occurred_at',
  'data',
  'metadata',
  'request_hash',
] as const;

/** The single-row ceiling: the same rows, one durable insert per transaction, no HTTP, no validation. */
async function ceilingSingle(t: Extract<Task, { kind: 'ceiling-single' }>): Promise<Result> {
  const sql = createSql(t.databaseUrl, { max: t.concurrency, applicationName: 'vru-bench-ceiling' });
  const result = await closedLoop(
    'single-row ceiling',
    t.concurrency,
    t.seconds,
    t.warmupSeconds,
    async (slot, running, done, fail) => {
      const journeys = new Journeys(`cs${slot}-${process.pid}`);
      while (running()) {
        const { ref, events } = journeys.next();
        for (const r of ceilingRows(t.secret, ref, events)) {
          if (!running()) return;
          const t0 = performance.now();
          try {
            await sql`
            insert into bench_ceiling.events (event_id, stream_id, stream_version, type, schema_version, provider_id, programme_id,
                                              occurred_at, data, metadata, request_hash)
            values (${r.event_id}::uuid, ${r.stream_id}, ${r.stream_version}, ${r.type}, ${r.schema_version}, ${r.provider_id},
                    ${r.programme_id}, ${r.occurred_at}::timestamptz, ${r.data}::jsonb, ${r.metadata}::jsonb, ${r.request_hash})`;
            done(1, performance.now() - t0);
          } catch (err) {
            fail((err as Error).message);
          }
        }
      }
    },
  );
  await sql.end();
  return result;
}

/** The batch ceiling: `batchSize` rows per multi-row insert (one statement, one transaction). */
async function ceilingBatch(t: Extract<Task, { kind: 'ceiling-batch' }>): Promise<Result> {
  const sql = createSql(t.databaseUrl, { max: t.concurrency, applicationName: 'vru-bench-ceiling' });
  const result = await closedLoop(
    'batch ceiling',
    t.concurrency,
    t.seconds,
    t.warmupSeconds,
    async (slot, running, done, fail) => {
      const journeys = new Journeys(`cb${slot}-${process.pid}`);
      let rows: CeilingRow[] = [];
      while (running()) {
        while (rows.length < t.batchSize) {
          const { ref, events } = journeys.next();
          rows.push(...ceilingRows(t.secret, ref, events));
        }
        const batch = rows.slice(0, t.batchSize);
        rows = rows.slice(t.batchSize);
        const t0 = performance.now();
        try {
          await sql`insert into bench_ceiling.events ${sql(
            batch.map((r) => ({
              ...r,
              data: JSON.parse(r.data) as unknown,
              metadata: JSON.parse(r.metadata) as unknown,
            })),
            CEILING_COLUMNS,
          )}`;
          done(batch.length, performance.now() - t0);
        } catch (err) {
          fail((err as Error).message);
        }
      }
    },
  );
  await sql.end();
  return result;
}

/** The peer: Emmett's PostgreSQL event store, one appendToStream per event with the expected stream version. */
async function emmett(t: Extract<Task, { kind: 'emmett' }>): Promise<Result> {
  const store = getPostgreSQLEventStore(t.databaseUrl);
  // Creates Emmett's schema before the clock starts.
  await store.appendToStream(`bench-warmup-${process.pid}`, [{ type: 'Warmup', data: {} }]);
  const result = await closedLoop(
    'Emmett appendToStream',
    t.concurrency,
    t.seconds,
    t.warmupSeconds,
    async (slot, running, done, fail) => {
      const journeys = new Journeys(`e${slot}-${process.pid}`);
      while (running()) {
        const { ref, events } = journeys.next();
        let expected: bigint | typeof STREAM_DOES_NOT_EXIST = STREAM_DOES_NOT_EXIST;
        for (const e of events) {
          if (!running()) return;
          const { data, participantRef: _ref, ...envelope } = e;
          const event = { type: e.type as string, data: data as Record<string, unknown>, metadata: envelope } as Event;
          const t0 = performance.now();
          try {
            const appended: { nextExpectedStreamVersion: bigint } = await store.appendToStream(
              `participant-${ref}`,
              [event],
              { expectedStreamVersion: expected },
            );
            expected = appended.nextExpectedStreamVersion;
            done(1, performance.now() - t0);
          } catch (err) {
            fail((err as Error).message);
            break;
          }
        }
      }
    },
  );
  await store.close();
  return result;
}

/**
 * End-to-end lag under an open-loop load: event i is due at start + i / rate whatever has been answered, so
 * the offered rate is the schedule's, not what the API lets through. Events go to `participants` journeys in
 * rotation (each participant's next event is due participants / rate seconds after its previous one); a
 * participant's events stay in order, so an event whose predecessor is still unanswered when it falls due waits
 * for it, and counts as late. Lag is measured from the time an event was due (so a slow answer is part of it,
 * not hidden by a later send) to the moment the attendance read model's stream position, written in the same
 * transaction as its rows, reaches the event's stream version; positions are polled every 10 ms.
 */
async function lag(t: Extract<Task, { kind: 'lag' }>): Promise<Result> {
  const pool = new Pool(t.url, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
  const sql: Sql = createSql(t.databaseUrl, { max: 2, applicationName: 'vru-bench-lag' });
  const pending = new Map<
    string,
    { version: number; dueAt: number; position: string; sentAt: number; answeredAt: number; counted: boolean }[]
  >();
  const lags: number[] = [];
  const stages: [string, number, number, number, number][] = [];
  let sent = 0;
  let answered = 0;
  let late = 0;
  let errors = 0;
  let firstError: string | undefined;
  let polling = true;
  const started = performance.now();
  const measuredFrom = started + t.warmupSeconds * 1000;
  const deadline = measuredFrom + t.seconds * 1000;
  // A bounded wait (drainSeconds) ends when the schedule's events are not all answered and visible by then: what is
  // still queued is not sent, what is in flight is dropped, and each of those events counts as unseen with its lag
  // at least the time from its due time to the end.
  let drainUntil = Number.POSITIVE_INFINITY;
  const bounded: number[] = [];
  const poller = (async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the caller clears the flag while this loop awaits
    while (polling || pending.size > 0) {
      const ids = [...pending.keys()];
      if (ids.length > 0) {
        const rows = await sql<{ stream_id: string; version: number }[]>`
          select stream_id, version from rm_attendance.stream_positions where stream_id = any(${ids}::text[])`;
        const now = performance.now();
        for (const r of rows) {
          const waiting = pending.get(r.stream_id)!;
          const still = waiting.filter((w) => w.version > r.version);
          const seenAt = Date.now();
          for (const w of waiting)
            if (w.version <= r.version && w.counted) {
              lags.push(now - w.dueAt);
              stages.push([w.position, performance.timeOrigin + w.dueAt, w.sentAt, w.answeredAt, seenAt]);
            }
          if (still.length === 0) pending.delete(r.stream_id);
          else pending.set(r.stream_id, still);
        }
      }
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the caller clears the flag while this loop awaits
      if (!polling && performance.now() > Math.min(deadline + 60_000, drainUntil)) break;
      await sleep(10);
    }
  })();
  // Progress counts the warm-up's events too: the rate shown is the schedule's.
  let scheduled = 0;
  const stopProgress = progress('lag (events offered, warm-up included)', () => scheduled);
  const journeys = new Journeys(`l-${process.pid}`);
  interface Slot {
    ref: string;
    streamId: string;
    events: Body[];
    next: number;
    chain: Promise<void>;
    inFlight: number;
    broken: boolean;
  }
  const fresh = (): Slot => {
    const { ref, events } = journeys.next();
    return {
      ref,
      streamId: streamIdOf(t.secret, ref),
      events,
      next: 0,
      chain: Promise.resolve(),
      inFlight: 0,
      broken: false,
    };
  };
  const slots: Slot[] = Array.from({ length: t.concurrency }, fresh);
  const send = async (slot: Slot, e: Body, dueAt: number) => {
    if (slot.broken) return;
    const counted = dueAt >= measuredFrom;
    if (performance.now() > drainUntil) {
      if (counted) bounded.push(performance.now() - dueAt);
      return;
    }
    const sentAt = Date.now();
    const res = await post(pool, '/v1/events', t.apiKey, e).catch((err: unknown) => ({
      status: 0,
      body: (err as Error).message,
    }));
    const answeredAt = Date.now();
    if (performance.now() > drainUntil) {
      if (counted) bounded.push(performance.now() - dueAt);
      return;
    }
    if (counted) answered += 1;
    if (res.status !== 202) {
      errors += 1;
      firstError ??= `${res.status} ${res.body.slice(0, 300)}`;
      slot.broken = true; // the rest of this journey would be refused for want of its predecessor
      return;
    }
    const { streamVersion, position } = JSON.parse(res.body) as { streamVersion: number; position: string };
    const list = pending.get(slot.streamId) ?? [];
    list.push({ version: streamVersion, dueAt, position, sentAt, answeredAt, counted });
    pending.set(slot.streamId, list);
  };
  // The schedule: every event due by now is issued now; never waits for an answer.
  const total = Math.floor(t.rate * (t.warmupSeconds + t.seconds));
  for (let i = 0; i < total;) {
    const now = performance.now();
    for (; i < total && started + (i * 1000) / t.rate <= now; i++) {
      const k = i % slots.length;
      if (slots[k]!.next >= slots[k]!.events.length) slots[k] = fresh();
      const slot = slots[k]!;
      const e = slot.events[slot.next++]!;
      const dueAt = started + (i * 1000) / t.rate;
      const counted = dueAt >= measuredFrom;
      if (slot.inFlight > 0 && counted) late += 1;
      slot.inFlight += 1;
      slot.chain = slot.chain
        .then(() => send(slot, e, dueAt))
        .finally(() => {
          slot.inFlight -= 1;
        });
      if (counted) sent += 1;
      scheduled += 1;
    }
    await sleep(1);
  }
  const sendSeconds = (performance.now() - measuredFrom) / 1000;
  if (t.drainSeconds !== undefined) {
    drainUntil = performance.now() + t.drainSeconds * 1000;
    const answers = Promise.all(slots.map((s) => s.chain));
    if (!(await Promise.race([answers.then(() => true), sleep(t.drainSeconds * 1000).then(() => false)])))
      await pool.destroy(); // the requests still in flight fail at once; their events count as unseen
    await answers;
  } else await Promise.all(slots.map((s) => s.chain));
  polling = false;
  await poller;
  stopProgress();
  const end = performance.now();
  for (const waiting of pending.values()) for (const w of waiting) if (w.counted) bounded.push(end - w.dueAt);
  const unseen = bounded.length;
  if (!pool.destroyed) await pool.close();
  await sql.end();
  const seen = lags.length;
  lags.push(...bounded);
  lags.sort((a, b) => a - b);
  return {
    events: seen,
    seconds: round(sendSeconds, 1),
    eps: round(seen / sendSeconds),
    offered_eps: round(sent / sendSeconds),
    errors,
    firstError,
    unseen,
    late,
    answered,
    p50_ms: round(percentile(lags, 50), 1),
    p99_ms: round(percentile(lags, 99), 1),
    max_ms: round(lags.at(-1) ?? 0, 1),
    p50_lower_bound: bounded.length > 0 && percentile(lags, 50) >= Math.min(...bounded),
    p99_lower_bound: bounded.length > 0 && percentile(lags, 99) >= Math.min(...bounded),
    stages,
  };
}

const run: Record<Task['kind'], (t: never) => Promise<Result>> = {
  'http-single': httpSingle,
  'http-batch': httpBatch,
  'ceiling-single': ceilingSingle,
  'ceiling-batch': ceilingBatch,
  emmett,
  lag,
};

const task = JSON.parse(process.env.BENCH_TASK ?? 'null') as Task | null;
if (!task || !(task.kind in run)) {
  process.stderr.write('driver.js is started by scripts/bench (BENCH_TASK missing or unknown)\n');
  process.exit(2);
}
const result = await run[task.kind](task as never);
// To a file: a result of several megabytes (the lag phase's per-event stages) arrived cut or garbled through stdout
// when the process exited right after writing it.
writeFileSync(process.env.BENCH_RESULT_FILE ?? '/dev/stdout', `${JSON.stringify(result)}\n`);
process.exit(0);
