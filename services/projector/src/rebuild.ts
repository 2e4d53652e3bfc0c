import type { StoredEvent } from '@vru/contracts';
import type { EventEntryRow, EventRow, PersonalDataVault } from '@vru/event-store';
import type { Logger, Sql, TransactionSql } from '@vru/runtime';
import { EVENT_COLUMNS, EVENT_COLUMNS_TIMES_AS_TEXT, toStoredEvent, upcastEvent } from '@vru/event-store';
import { rebuildEventsReplayed, rebuildEventsTotal } from '@vru/runtime';
import { applyInTransaction, createProjectionSchema, projectionLockKey, writeStreamPositions } from './apply.js';
import {
  STREAM_POSITIONS,
  asAtSchemaOf,
  readModelIndexDdl,
  readModelKeyDdl,
  replayDefersKeys,
  schemaOf,
  storedTableOf,
  closedTableOf,
  isMutable,
  atLatestVersionSql,
  personalFieldsReadBy,
  type Projection,
} from './projection.js';

/**
 * Events read, decoded and applied per transaction. A mutable read model writes one statement per round (a stream's
 * k-th event of the chunk), and a journey's events lie close together in the log, so a chunk costs about as many
 * statements whatever its size: larger chunks mean fewer statements per event. Two chunks are held at once (one
 * applied, the next read): at 40,000 a rebuild of a million events peaked at 725–845 MB resident against 555–590 MB
 * at 20,000, and took 2–4 s less (docs/performance.md).
 */
const CHUNK = 40_000;

export interface RebuildOptions {
  /** Decrypts personal fields where the participant's key still exists; erased participants replay without them. */
  vault: PersonalDataVault;
  /** `onProgress(replayed, total)` after each chunk; the same figures are the vru_rebuild_events_* metrics. */
  onProgress?: (replayed: number, total: number) => void;
}

/**
 * Replays the whole log into a fresh schema while the live one keeps serving, then swaps them in one
 * transaction. The swap takes the projection's lock exclusively and first applies what was appended after the log's
 * head the replay read through, checked per stream version as live batches are, so nothing is lost or doubled.
 */
export async function rebuildProjection(
  sql: Sql,
  projection: Projection,
  log: Logger,
  options: RebuildOptions,
): Promise<{ events: number; ms: number }> {
  return rebuildProjections(sql, [projection], log, options);
}

/**
 * Rebuilds several projections from one pass over the log (replayLogInto): each chunk is read and decoded once and
 * applied to every shadow schema that needs it, one transaction per schema, on as many connections as the pool has,
 * while the read models copied from the log in SQL are replayed and finished beside them (see docs/performance.md).
 * Each projection is then swapped in on its own, as rebuildProjection does.
 */
export async function rebuildProjections(
  sql: Sql,
  targets: readonly Projection[],
  log: Logger,
  options: RebuildOptions,
): Promise<{ events: number; ms: number }> {
  const started = Date.now();
  const readable = readableWith(options.vault, personalFieldsReadBy(targets));
  const { events: total, head } = await replayLogInto(sql, targets, '__rebuild', readable, (replayed, expected) => {
    for (const projection of targets) {
      rebuildEventsTotal.set({ projection: projection.name }, expected);
      rebuildEventsReplayed.set({ projection: projection.name }, replayed);
    }
    options.onProgress?.(replayed, Math.max(expected, replayed));
  });
  for (const projection of targets) {
    const caughtUp = await swapIn(sql, projection, readable, head);
    log.info({ projection: projection.name, events: total + caughtUp, ms: Date.now() - started }, 'projection rebuilt');
  }
  return { events: total, ms: Date.now() - started };
}

type Readable = (db: Sql | TransactionSql, rows: (EventRow | EventEntryRow)[]) => Promise<StoredEvent[]>;

/**
 * Stored rows as projections read them: the personal fields they read decrypted (while the key exists), upcast to the
 * latest version.
 */
const readableWith =
  (vault: PersonalDataVault, opens: (type: string) => boolean): Readable =>
  async (db, rows) =>
    (await vault.open(db, rows.map(toStoredEvent), opens)).map(upcastEvent);

/**
 * Replays the log through its head as it is now, in position order, into a fresh schema per projection
 * (`rm_<name><suffix>`, dropped first if it exists); the swap catches up with what follows. Returns the events replayed.
 * The read models that copy their replay from the log in SQL (replayFromLog) do so one after another, and take their
 * last steps at once, beside the others' chunks: each chunk, of the events those others handle, is read and decoded
 * once for all of them.
 */
async function replayLogInto(
  sql: Sql,
  targets: readonly Projection[],
  suffix: string,
  readable: Readable,
  onChunk: (replayed: number, total: number) => void,
  chunkSize = CHUNK,
): Promise<{ events: number; head: string }> {
  await sql.begin(async (tx) => {
    for (const projection of targets) {
      const shadow = schemaOf(projection.name, suffix);
      await dropProjectionSchema(tx, shadow);
      await createProjectionSchema(tx, projection, shadow, { deferIndexes: true });
    }
  });
  const log = await logThroughHead(sql);
  onChunk(0, log.events);
  const fromLog = targets.filter((projection) => projection.replayFromLog !== undefined);
  const chunked = targets.filter((projection) => projection.replayFromLog === undefined);
  const lanes = await Promise.allSettled([
    (async () => {
      for (const projection of fromLog) {
        const shadow = schemaOf(projection.name, suffix);
        await copyReplayFromLog(sql, projection, shadow, log.head, readable);
        await finishShadow(sql, projection, shadow, log);
      }
    })(),
    (async () => {
      if (chunked.length === 0) return;
      await replayChunks(sql, chunked, suffix, log, readable, onChunk, chunkSize);
      // Each read model's last steps, two read models at a time: the rebuild process has little left to do, and
      // PostgreSQL then works on both of this machine's cores (each of these statements runs on one).
      const waiting = [...chunked];
      await Promise.all(
        Array.from({ length: FINISHING_SIDE_BY_SIDE }, async () => {
          for (let projection = waiting.shift(); projection; projection = waiting.shift())
            await finishShadow(sql, projection, schemaOf(projection.name, suffix), log);
        }),
      );
    })(),
  ]);
  // Both lanes have stopped before a failure is passed on: none is left writing on a pool about to close.
  for (const lane of lanes) if (lane.status === 'rejected') throw lane.reason;
  onChunk(log.events, log.events);
  return { events: log.events, head: log.head };
}

/**
 * The log as a replay through its head sees it: the head, the events at or below it, and each stream's highest version
 * there. Every event at or below the head is committed already, and none can commit below it later
 * (EVENT_APPEND_LOCK), so a statement reading through it sees the same events whenever it runs; and a stream's
 * versions run from 1 without a gap (the next is appended only after the one before committed), so each of them is
 * applied once, in order, and the highest is the stream's applied version.
 */
interface LogThroughHead {
  head: string;
  events: number;
  streamPositions: ReadonlyMap<string, number>;
}

async function logThroughHead(sql: Sql): Promise<LogThroughHead> {
  return sql.begin('isolation level repeatable read', async (tx) => {
    const [{ head, events } = { head: '0', events: 0 }] = await tx<{ head: string; events: number }[]>`
      select coalesce(max(position), 0)::text as head, count(*)::int as events from events`;
    const versions = await tx<{ stream_id: string; version: number }[]>`
      select stream_id, max(stream_version) as version from events group by stream_id order by stream_id`;
    // In key order: each shadow's stream_positions key then grows at its end as they are stored.
    return { head, events, streamPositions: new Map(versions.map((v) => [v.stream_id, v.version])) };
  });
}

/** A read model's replay copied from the log through `head` (Projection.replayFromLog). */
async function copyReplayFromLog(
  sql: Sql,
  projection: Projection,
  shadow: string,
  head: string,
  readable: Readable,
): Promise<void> {
  await sql.begin(async (tx) => {
    // See replayChunks.
    await tx`set local synchronous_commit = off`;
    await tx.unsafe(`set local search_path to ${shadow}, public`);
    const olderVersions = `position <= ${BigInt(head)} and ${typeIn(projection.handles)}
      and not ${atLatestVersionSql(projection.handles)}`;
    await projection.replayFromLog!(tx, head, readLog(tx, readable, eventsWhere(olderVersions, CHUNK)));
  });
}

/** An SQL condition on `events`: of one of the given (catalogue) types. */
const typeIn = (types: readonly string[]): string => `type in (${types.map((type) => `'${type}'`).join(', ')})`;

/**
 * The chunked replay: the events the targets handle, through the head, each chunk read and decoded once and applied to
 * every target's shadow schema. Each chunk is awaited, so the event loop stays responsive during a replay.
 */
async function replayChunks(
  sql: Sql,
  targets: readonly Projection[],
  suffix: string,
  log: LogThroughHead,
  readable: Readable,
  onChunk: (replayed: number, total: number) => void,
  chunkSize: number,
): Promise<void> {
  const query = chunkedQuery(targets, suffix, log.head, chunkSize);
  for await (const events of readLog(sql, readable, query)) {
    // One transaction per read model, each shadow schema its own, as many at once as the pool has connections free.
    await Promise.all(
      targets.map((projection) =>
        sql.begin(async (tx) => {
          // The shadow schemas are nobody's until the swap, which commits durably: a crash before it loses only a
          // replay that starts again, so the chunks need not wait for their WAL to reach disk.
          await tx`set local synchronous_commit = off`;
          await applyInTransaction(
            tx,
            projection,
            schemaOf(projection.name, suffix),
            events,
            undefined,
            undefined,
            true,
          );
        }),
      ),
    );
    // Progress as the chunk's last position: a position counts the events up to it, but for the few a rolled-back
    // append left unused.
    onChunk(Math.min(log.events, Number(events[events.length - 1]!.position)), log.events);
  }
}

/** Read models whose last steps (finishShadow) run at once. */
const FINISHING_SIDE_BY_SIDE = 2;

/**
 * A replayed shadow schema made ready to read: what the replay left to the end (the stream positions and the
 * checkpoint, and see Projection.finishReplay), then the append-only tables' keys (where the replay left them out)
 * and the readers' indexes, each built by one sort over the loaded rows, and statistics for the planner.
 */
async function finishShadow(sql: Sql, projection: Projection, shadow: string, log: LogThroughHead): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`set local synchronous_commit = off`;
    // The end aggregates group every row of a table at once (hundreds of thousands of groups at a million events):
    // with the default 4 MB they spill to disk.
    await tx`set local work_mem = '64MB'`;
    await tx.unsafe(`set local search_path to ${shadow}, public`);
    await writeStreamPositions(tx, log.streamPositions);
    // As the live path leaves them for the same events: every event through the head applied.
    await tx`
      update checkpoint set position = ${log.head}::bigint, consistent_position = ${log.head}::bigint,
        events_applied = ${log.events}, updated_at = now()`;
    await projection.finishReplay?.(tx);
  });
  // Each version the replay closed left a dead tuple behind in the current rows' table (its copy went to the closed
  // versions): rewritten compactly, current reads scan the live rows only (a few times fewer pages at a million
  // events).
  for (const table of projection.tables.filter(isMutable))
    await sql.unsafe(`vacuum full ${shadow}.${storedTableOf(table)}`);
  const keys = replayDefersKeys(projection) ? readModelKeyDdl(projection.tables) : '';
  const indexes = [keys, readModelIndexDdl(projection.tables)].filter((ddl) => ddl !== '').join('\n');
  if (indexes !== '')
    await sql.begin(async (tx) => {
      await tx.unsafe(`set local search_path to ${shadow}, public`);
      await tx.unsafe(indexes);
    });
  // Vacuumed as well as analysed: a rewritten or freshly loaded table has no page marked all-visible, and until
  // one is, a report's index-only scan reads every row it finds from the table as well.
  for (const table of projection.tables) {
    await sql.unsafe(`vacuum (analyze) ${shadow}.${storedTableOf(table)}`);
    if (isMutable(table)) await sql.unsafe(`analyze ${shadow}.${closedTableOf(table)}`);
  }
}

/** Drops a projection schema and the schema of its as-at views (which depend on its tables). */
async function dropProjectionSchema(tx: Sql | TransactionSql, schema: string): Promise<void> {
  await tx.unsafe(`drop schema if exists ${asAtSchemaOf(schema)} cascade`);
  await tx.unsafe(`drop schema if exists ${schema} cascade`);
}

/**
 * Reads rows of `events` in position order, a chunk after a position: the rows, and the position the chunk reads
 * through (the next chunk reads after it), undefined once there is nothing left to read.
 */
type ChunkQuery = (
  db: Sql | TransactionSql,
  after: bigint,
) => Promise<{ rows: (EventEntryRow & { position: bigint })[]; through: bigint | undefined }>;

/** The events that meet `where` (SQL over `events`), `chunkSize` at a time. */
const eventsWhere =
  (where: string, chunkSize: number): ChunkQuery =>
  async (db, after) => {
    // Timestamps as text: a million Dates made and printed again cost this process seconds of a replay.
    const rows = await db<(EventEntryRow & { position: bigint })[]>`
      select ${db.unsafe(EVENT_COLUMNS_TIMES_AS_TEXT)} from events
      where position > ${after.toString()}::bigint and ${db.unsafe(where)}
      order by position limit ${chunkSize}`;
    return { rows, through: rows[rows.length - 1]?.position };
  };

/**
 * The chunked replay's query: the events the targets handle, through the head, less those that one target's
 * replayLowers leaves out where no other target handles their type. A chunk spans `chunkSize` positions; of the
 * events there it reads an event lowering a column only if it is below every earlier one of its stream in the chunk, and
 * below the value of its stream's row in the target's shadow schema. That row holds what the chunks before wrote, or
 * (read while the chunk before is applied) what the ones before that did: never a value below the log's, so an event
 * read here for nothing changes nothing, and none that lowers the column is left out.
 */
function chunkedQuery(targets: readonly Projection[], suffix: string, head: string, chunkSize: number): ChunkQuery {
  const handled = `position <= ${BigInt(head)} and ${typeIn([...new Set(targets.flatMap((p) => p.handles))])}`;
  const lowering = targets.flatMap((projection) =>
    (projection.replayLowers ?? [])
      .filter((rule) => targets.every((other) => other === projection || !other.handles.includes(rule.type)))
      .map((rule) => ({ ...rule, shadow: schemaOf(projection.name, suffix) })),
  );
  if (lowering.length === 0) return eventsWhere(handled, chunkSize);
  // The sort behind the window only groups a stream's events: bytewise, not by the database's collation (slower).
  const lowest = lowering.map(
    (rule, i) => `min(${rule.value}) filter (where type = '${rule.type}' and ${atLatestVersionSql([rule.type])})
      over (partition by stream_id collate "C" order by position rows between unbounded preceding and 1 preceding)
      as lowest_${i}`,
  );
  const leftOut = lowering.map((rule, i) => {
    const lowered = `select 1 from ${rule.shadow}.${rule.table} r
      where r.stream_id = e.stream_id and r.${rule.column} <= ${rule.value}`;
    return `(type = '${rule.type}' and ${atLatestVersionSql([rule.type])}
      and ((lowest_${i} <= ${rule.value}) is true or exists (${lowered})))`;
  });
  return async (db, after) => {
    // The next `chunkSize` positions (at most as many events), up to the head.
    if (after >= BigInt(head)) return { rows: [], through: undefined };
    const through = after + BigInt(chunkSize) < BigInt(head) ? after + BigInt(chunkSize) : BigInt(head);
    const rows = await db<(EventEntryRow & { position: bigint })[]>`
      select ${db.unsafe(EVENT_COLUMNS_TIMES_AS_TEXT)} from (
        select e.*, ${db.unsafe(lowest.join(', '))} from events e
        where position > ${after.toString()}::bigint and position <= ${through.toString()}::bigint and ${db.unsafe(handled)}
      ) e
      where not (${db.unsafe(leftOut.join(' or '))})
      order by position`;
    return { rows, through };
  };
}

/**
 * The events a query reads, chunk by chunk, decoded. The next chunk is read and decoded (on another of the pool's
 * connections) while the caller handles one, so the decoding's CPU overlaps PostgreSQL's writing instead of adding to
 * it. Each chunk is awaited, so the event loop stays responsive during a replay.
 */
async function* readLog(
  db: Sql | TransactionSql,
  readable: Readable,
  query: ChunkQuery,
): AsyncGenerator<StoredEvent[]> {
  const read = async (after: bigint): Promise<{ through: bigint | undefined; events: StoredEvent[] }> => {
    const { rows, through } = await query(db, after);
    return { through, events: rows.length === 0 ? [] : await readable(db, rows) };
  };
  let next = read(0n);
  try {
    for (;;) {
      const { through, events } = await next;
      if (through === undefined) return;
      next = read(through);
      // Awaited on the next turn; if the caller throws first, its rejection must not go unhandled meanwhile.
      next.catch(() => {});
      if (events.length > 0) yield events;
    }
  } finally {
    await next.catch(() => {});
  }
}

export interface ProjectionDifference {
  table: string;
  /** Rows a fresh rebuild has that the live read model lacks (a gap). */
  missing: number;
  /** Rows the live read model has that a fresh rebuild lacks (a double count or a stray row). */
  extra: number;
}

/**
 * Compares the live read model with a fresh replay of the log into a shadow schema (which is dropped again):
 * every version of every table of the projection and its per-stream positions, row by row, plus the checkpoint's
 * event count.
 * Meant for a quiet system (fault injection, checks after an incident); an empty list means they are equal.
 * `chunkSize`: events per chunk of the replay (a test's small log replayed over many chunks).
 */
export async function compareWithRebuild(
  sql: Sql,
  projection: Projection,
  vault: PersonalDataVault,
  chunkSize = CHUNK,
): Promise<ProjectionDifference[]> {
  const live = schemaOf(projection.name);
  const shadow = schemaOf(projection.name, '__verify');
  const readable = readableWith(vault, personalFieldsReadBy([projection]));
  await replayLogInto(sql, [projection], '__verify', readable, () => {}, chunkSize);
  try {
    const differences: ProjectionDifference[] = [];
    for (const table of [...projection.tables.map(storedTableOf), STREAM_POSITIONS]) {
      const count = async (from: string, minus: string) => {
        const [row] = await sql.unsafe<{ n: number }[]>(
          `select count(*)::int as n from (select * from ${from}.${table} except all select * from ${minus}.${table}) d`,
        );
        return row!.n;
      };
      const missing = await count(shadow, live);
      const extra = await count(live, shadow);
      if (missing > 0 || extra > 0) differences.push({ table, missing, extra });
    }
    const [counts] = await sql.unsafe<{ live: string; shadow: string }[]>(
      `select (select events_applied from ${live}.checkpoint)::text as live, (select events_applied from ${shadow}.checkpoint)::text as shadow`,
    );
    const liveApplied = Number(counts!.live);
    const shadowApplied = Number(counts!.shadow);
    if (liveApplied !== shadowApplied) {
      differences.push({
        table: 'checkpoint.events_applied',
        missing: Math.max(0, shadowApplied - liveApplied),
        extra: Math.max(0, liveApplied - shadowApplied),
      });
    }
    return differences;
  } finally {
    await sql.begin((tx) => dropProjectionSchema(tx, shadow));
  }
}

/** Applies what was appended after the replay's head, then renames the shadow schema over the live one; returns the events applied here. */
async function swapIn(sql: Sql, projection: Projection, readable: Readable, head: string): Promise<number> {
  const live = schemaOf(projection.name);
  const shadow = schemaOf(projection.name, '__rebuild');
  const retired = schemaOf(projection.name, '__retired');
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${projectionLockKey(projection.name)})`;
    // The replay applied every event through the head, and none can commit below it later (EVENT_APPEND_LOCK): what
    // it lacks was appended after it.
    const missing = await tx.unsafe<EventRow[]>(
      `select ${EVENT_COLUMNS} from events where position > $1::bigint order by position`,
      [head],
    );
    if (missing.length > 0) await applyInTransaction(tx, projection, shadow, await readable(tx, missing));
    await dropProjectionSchema(tx, retired);
    const exists = await tx`select 1 from information_schema.schemata where schema_name = ${live}`;
    if (exists.length > 0) {
      // Keep the live consumer's Kafka positions: the swapped-in rows already include everything up to them.
      await tx.unsafe(`insert into ${shadow}.kafka_offsets select * from ${live}.kafka_offsets on conflict do nothing`);
      await tx.unsafe(`alter schema ${live} rename to ${retired}`);
      // A read model from before versioning has no as-at views.
      const views = await tx`select 1 from information_schema.schemata where schema_name = ${asAtSchemaOf(live)}`;
      if (views.length > 0) await tx.unsafe(`alter schema ${asAtSchemaOf(live)} rename to ${asAtSchemaOf(retired)}`);
    }
    await tx.unsafe(`alter schema ${shadow} rename to ${live}`);
    await tx.unsafe(`alter schema ${asAtSchemaOf(shadow)} rename to ${asAtSchemaOf(live)}`);
    await dropProjectionSchema(tx, retired);
    return missing.length;
  });
}
