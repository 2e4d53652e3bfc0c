import type { ReadEvent, StoredEvent } from '@vru/contracts';
import type { Sql, TransactionSql } from '@vru/runtime';
import {
  FRAMEWORK_DDL,
  asAtSchemaOf,
  asAtViewsDdl,
  readModelDdl,
  replayDefersKeys,
  schemaOf,
  type Positioned,
  type Projection,
} from './projection.js';

/**
 * Reads the versions of a stream between two versions from the store, for a batch in which a later version arrived
 * before an earlier one (a gap). The store holds every version before one it holds: a stream's next version is
 * appended only after the one before it committed.
 */
export type GapFiller = (
  tx: TransactionSql,
  streamId: string,
  afterVersion: number,
  beforeVersion: number,
) => Promise<StoredEvent[]>;

/** Told of each gap: the stream, the versions missing, and whether the store filled it. */
export type GapReporter = (gap: {
  streamId: string;
  afterVersion: number;
  beforeVersion: number;
  filled: boolean;
}) => void;

export interface KafkaPosition {
  topic: string;
  partition: number;
  nextOffset: string;
}

/** One advisory lock key per projection: live batches take it shared, a rebuild's swap takes it exclusively. */
export function projectionLockKey(name: string): number {
  let h = 0;
  for (const c of `projection:${name}`) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
}

/**
 * Creates a projection's schema (its tables, versioning and current views) and the schema of its as-at views; with
 * `deferIndexes` (a rebuild's bulk load), without the indexes only readers use (readModelIndexDdl, created later),
 * nor, for a projection that writes its replay itself, the append-only tables' primary keys (readModelKeyDdl).
 */
export async function createProjectionSchema(
  tx: TransactionSql,
  projection: Projection,
  schema: string,
  options: { deferIndexes?: boolean } = {},
): Promise<void> {
  await tx.unsafe(`create schema ${schema}`);
  await tx.unsafe(`set local search_path to ${schema}, public`);
  const deferKeys = options.deferIndexes === true && replayDefersKeys(projection);
  await tx.unsafe(FRAMEWORK_DDL + readModelDdl(projection.tables, { ...options, deferKeys }));
  await replaceAsAtViews(tx, projection, schema);
  await tx`insert into checkpoint (projection_version) values (${projection.version})`;
}

/**
 * (Re)creates the schema of a projection schema's as-at views. They hold no rows, so a projector recreates them on
 * start from this code's definitions: a change to how they read needs no rebuild.
 */
async function replaceAsAtViews(tx: TransactionSql, projection: Projection, schema: string): Promise<void> {
  await tx.unsafe(`drop schema if exists ${asAtSchemaOf(schema)} cascade`);
  await tx.unsafe(`create schema ${asAtSchemaOf(schema)}`);
  await tx.unsafe(asAtViewsDdl(schema, asAtSchemaOf(schema), projection.tables));
}

/**
 * The changes of a batch's events, each at its event's position, in rounds that each hold at most one event per stream
 * (the k-th round holds each stream's k-th event), in order: every row a projection keeps belongs to one stream, so a
 * write touches a mutable row at most once and versions it at that event's position. A projection whose tables are
 * all append-only (or current-only totals) takes the whole batch in one round.
 */
export function changeRounds<Change>(
  projection: Projection<Change>,
  events: readonly StoredEvent[],
): Positioned<Change>[][] {
  const handled: ReadonlySet<string> = new Set(projection.handles);
  // Events arrive upcast to their latest version, and every type a projection handles is a catalogue type.
  const handledHere = (e: StoredEvent): e is ReadEvent => handled.has(e.type);
  // Running totals are added to, never versioned: any number of a stream's events may count in one write.
  const single = projection.tables.every((t) => t.appendOnly === true || t.currentOnly === true);
  const rounds: Positioned<Change>[][] = [];
  const seen = new Map<string, number>();
  for (const e of events) {
    if (!handledHere(e)) continue;
    const changes = projection.project(e);
    if (changes.length === 0) continue;
    const round = single ? 0 : (seen.get(e.streamId) ?? 0);
    seen.set(e.streamId, round + 1);
    (rounds[round] ??= []).push(...changes.map((c) => ({ ...c, position: e.position })));
  }
  return rounds;
}

/** The changes of a batch's events in event order, each at its event's position: a replay's chunk for writeReplay. */
export function changesInOrder<Change>(
  projection: Projection<Change>,
  events: readonly StoredEvent[],
): Positioned<Change>[] {
  const handled: ReadonlySet<string> = new Set(projection.handles);
  const handledHere = (e: StoredEvent): e is ReadEvent => handled.has(e.type);
  const out: Positioned<Change>[] = [];
  for (const e of events) {
    if (!handledHere(e)) continue;
    for (const c of projection.project(e)) out.push({ ...c, position: e.position });
  }
  return out;
}

/**
 * Creates the projection's schema if it is missing; returns the stored projection version, or 0 for a schema just
 * created while the log already holds events: a consumer group that has moved past them would never deliver them
 * to a new read model, so it is built from the log first.
 */
export async function ensureProjectionSchema(sql: Sql, projection: Projection): Promise<number> {
  const schema = schemaOf(projection.name);
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${projectionLockKey(projection.name)})`;
    const exists = await tx`select 1 from information_schema.schemata where schema_name = ${schema}`;
    if (exists.length === 0) {
      await createProjectionSchema(tx, projection, schema);
      const [log] = await tx<{ empty: boolean }[]>`select not exists (select 1 from public.events) as empty`;
      return log?.empty === false ? 0 : projection.version;
    }
    // Schemas created before the consistent position existed get it here; it catches up with the next batch.
    await tx.unsafe(
      `alter table ${schema}.checkpoint add column if not exists consistent_position bigint not null default 0`,
    );
    const [row] = await tx.unsafe<{ projection_version: number }[]>(
      `select projection_version from ${schema}.checkpoint`,
    );
    const stored = row?.projection_version ?? 0;
    // An older version's tables may not be what the views read: its rebuild creates them instead.
    if (stored === projection.version) await replaceAsAtViews(tx, projection, schema);
    return stored;
  });
}

/** Streams per statement when a replay stores its stream positions: bounds one statement's size. */
const POSITIONS_PER_STATEMENT = 50_000;

/** Stores a replay's stream positions (into the transaction's search path), once, after its last chunk. */
export async function writeStreamPositions(tx: TransactionSql, positions: ReadonlyMap<string, number>): Promise<void> {
  const all = [...positions];
  for (let i = 0; i < all.length; i += POSITIONS_PER_STATEMENT) {
    const part = all.slice(i, i + POSITIONS_PER_STATEMENT);
    await tx`
      insert into stream_positions (stream_id, version)
      select * from unnest(${part.map(([id]) => id)}::text[], ${part.map(([, v]) => v)}::int[])`;
  }
}

/**
 * Applies events to a projection in the transaction given: skips every event whose stream version was already
 * applied (so redelivery, replays and overlaps between a rebuild and the live consumer never double count),
 * writes the rows, the stream positions and the checkpoint together. A replay's chunk (`replay`: events of the log in
 * position order through a head below which it has no gap, none applied yet) needs no check; the replay stores the
 * stream positions and the checkpoint once, at its end (rebuild.ts).
 */
export async function applyInTransaction(
  tx: TransactionSql,
  projection: Projection,
  schema: string,
  events: StoredEvent[],
  kafka?: readonly KafkaPosition[],
  gaps?: { fill: GapFiller; report: GapReporter },
  replay = false,
): Promise<number> {
  // Statements that do not depend on each other's results are sent together (postgres.js pipelines them on the
  // transaction's connection, in order): a live batch costs four round trips instead of nine.
  const streamIds = replay ? [] : [...new Set(events.map((e) => e.streamId))];
  const [, rows] = await Promise.all([
    tx.unsafe(`set local search_path to ${schema}, public`),
    streamIds.length > 0
      ? tx<{ stream_id: string; version: number }[]>`
          select stream_id, version from stream_positions where stream_id = any(${streamIds}::text[])`
      : Promise.resolve([]),
  ]);
  const known = new Map<string, number>();
  for (const r of rows) known.set(r.stream_id, r.version);
  const fresh: StoredEvent[] = replay ? events : [];
  const applied = new Map<string, number>();
  if (!replay)
    for (const e of events) {
      const at = applied.get(e.streamId) ?? known.get(e.streamId) ?? 0;
      if (e.streamVersion <= at) continue;
      if (e.streamVersion > at + 1) {
        // A gap is never applied over: the missing versions come from the store first, or the event waits.
        const missing = gaps ? await gaps.fill(tx, e.streamId, at, e.streamVersion) : [];
        const filled =
          missing.length === e.streamVersion - at - 1 && missing.every((m, i) => m.streamVersion === at + 1 + i);
        gaps?.report({ streamId: e.streamId, afterVersion: at, beforeVersion: e.streamVersion, filled });
        if (!filled) continue;
        fresh.push(...missing);
      }
      applied.set(e.streamId, e.streamVersion);
      fresh.push(e);
    }
  const maxPosition = fresh.reduce((m, e) => (isLaterPosition(e.position, m) ? e.position : m), '0');
  const writeReplay = replay ? projection.writeReplay : undefined;
  await Promise.all([
    // A replay's chunk is in position order into a schema only the replay writes: a projection that can compute its
    // versions itself writes the chunk at once; otherwise (and always live) one statement per round.
    writeReplay
      ? writeReplay(tx, changesInOrder(projection, fresh))
      : (async () => {
          for (const round of changeRounds(projection, fresh)) await projection.write(tx, round);
        })(),
    applied.size > 0 && !replay
      ? tx`
          insert into stream_positions (stream_id, version)
          select * from unnest(${[...applied.keys()]}::text[], ${[...applied.values()]}::int[])
          on conflict (stream_id) do update set version = greatest(stream_positions.version, excluded.version)`
      : undefined,
    replay
      ? undefined
      : tx`
          update checkpoint set position = greatest(position, ${maxPosition}::bigint),
            events_applied = events_applied + ${fresh.length}, updated_at = now()`,
    replay
      ? undefined
      : // After the checkpoint update above, which holds the checkpoint row until commit: this statement's snapshot
        // therefore sees every batch of this projection committed before it (other partitions, other instances), and
        // the last batch to commit sees them all, so the position also advances for partitions that are idle.
        // An event is applied when its stream's applied version reaches it: events of types this read model ignores
        // and erased streams are recorded in stream_positions like any other. Positions commit in order (see
        // EVENT_APPEND_LOCK), so nothing can commit below the highest visible position later. The scan starts at the
        // stored consistent position and stops at the first event not applied: it costs what the position advances.
        tx`
        update checkpoint set consistent_position = greatest(consistent_position, coalesce(
          (select e.position - 1 from public.events e
           where e.position > checkpoint.consistent_position
             and not exists (select 1 from stream_positions sp where sp.stream_id = e.stream_id and sp.version >= e.stream_version)
           order by e.position limit 1),
          (select coalesce(max(position), 0) from public.events)))`,
    kafka && kafka.length > 0
      ? tx`
          insert into kafka_offsets (topic, partition, next_offset)
          select * from unnest(${kafka.map((k) => k.topic)}::text[], ${kafka.map((k) => k.partition)}::int[],
            ${kafka.map((k) => k.nextOffset)}::bigint[])
          on conflict (topic, partition) do update set next_offset = greatest(kafka_offsets.next_offset, excluded.next_offset)`
      : undefined,
  ]);
  return fresh.length;
}

/** Whether position `a` is after `b`: both decimal strings as a stored event carries them (no sign, no leading zero). */
const isLaterPosition = (a: string, b: string): boolean => (a.length === b.length ? a > b : a.length > b.length);

/** One read model's part of a live batch: its events (opened and upcast for it) and how its gaps are filled. */
export interface ReadModelBatch {
  projection: Projection;
  events: StoredEvent[];
  gaps?: { fill: GapFiller; report: GapReporter };
}

/**
 * A live batch applied to several read models in one transaction, one read model after another (each sets its own
 * search path); returns how many events each applied. Each read model's lock is taken shared, in name order, so
 * instances run side by side but never during a rebuild's swap, which takes one read model's lock exclusively.
 */
export async function applyBatches(
  sql: Sql,
  batches: readonly ReadModelBatch[],
  kafka?: readonly KafkaPosition[],
): Promise<number[]> {
  return sql.begin(async (tx) => {
    // Sent now (execute) so that they precede every statement of applyInTransaction on the connection, but not
    // awaited alone: the locks and the first reads share one round trip.
    const names = [...new Set(batches.map((b) => b.projection.name))].sort();
    const locked = Promise.all(
      names.map((name) => tx`select pg_advisory_xact_lock_shared(${projectionLockKey(name)})`.execute()),
    );
    locked.catch(() => {}); // awaited below; a failed lock fails the statements after it too
    const applied: number[] = [];
    for (const { projection, events, gaps } of batches)
      applied.push(await applyInTransaction(tx, projection, schemaOf(projection.name), events, kafka, gaps));
    await locked;
    return applied;
  });
}

/** A live batch of one read model (applyBatches). */
export async function applyBatch(
  sql: Sql,
  projection: Projection,
  events: StoredEvent[],
  kafka?: readonly KafkaPosition[],
  gaps?: { fill: GapFiller; report: GapReporter },
): Promise<number> {
  const [applied] = await applyBatches(sql, [{ projection, events, gaps }], kafka);
  return applied!;
}
