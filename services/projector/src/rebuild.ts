import type { Logger, Sql, EventRow, PersonalDataVault, TransactionSql } from '@vru/platform';
import { EVENT_COLUMNS, rebuildEventsReplayed, rebuildEventsTotal, toStoredEvent, upcastEvent } from '@vru/platform';
import { applyInTransaction, createProjectionSchema, projectionLockKey } from './apply.js';
import { schemaOf, type Projection } from './projection.js';

const CHUNK = 5_000;

export interface RebuildOptions {
  /** Decrypts personal fields where the participant's key still exists; erased participants replay without them. */
  vault: PersonalDataVault;
  /** `onProgress(replayed, total)` after each chunk; the same figures are the vru_rebuild_events_* metrics. */
  onProgress?: (replayed: number, total: number) => void;
}

/**
 * Replays the whole log into a fresh schema while the live one keeps serving, then swaps them in one
 * transaction. The swap takes the projection's lock exclusively and first applies whatever the live
 * consumer saw that the replay has not (compared per stream version), so nothing is lost or doubled.
 */
export async function rebuildProjection(sql: Sql, projection: Projection, log: Logger, options: RebuildOptions): Promise<{ events: number; ms: number }> {
  return rebuildProjections(sql, [projection], log, options);
}

/**
 * Rebuilds several projections from one pass over the log: each chunk is read and decoded once and applied
 * to every shadow schema in one transaction (reading and decoding cost as much as applying; see
 * docs/performance.md). Each projection is then swapped in on its own, as rebuildProjection does.
 */
export async function rebuildProjections(sql: Sql, targets: readonly Projection[], log: Logger, options: RebuildOptions): Promise<{ events: number; ms: number }> {
  const { vault, onProgress } = options;
  const readable = async (db: Sql | TransactionSql, rows: EventRow[]) => (await vault.open(db, rows.map(toStoredEvent))).map(upcastEvent);
  const started = Date.now();
  await sql.begin(async (tx) => {
    for (const projection of targets) {
      const shadow = schemaOf(projection.name, '__rebuild');
      await tx.unsafe(`drop schema if exists ${shadow} cascade`);
      await createProjectionSchema(tx, projection, shadow);
    }
  });
  let after = 0n;
  let total = 0;
  const [{ n: expected } = { n: 0 }] = await sql<{ n: number }[]>`select count(*)::int as n from events`;
  const progress = (replayed: number) => {
    for (const projection of targets) rebuildEventsReplayed.set({ projection: projection.name }, replayed);
    onProgress?.(replayed, Math.max(expected, replayed));
  };
  for (const projection of targets) rebuildEventsTotal.set({ projection: projection.name }, expected);
  progress(0);
  for (;;) {
    const rows = await sql<EventRow[]>`
      select ${sql.unsafe(EVENT_COLUMNS)} from events where position > ${after.toString()}::bigint order by position limit ${CHUNK}`;
    if (rows.length === 0) break;
    const events = await readable(sql, rows);
    await sql.begin(async (tx) => {
      for (const projection of targets) await applyInTransaction(tx, projection, schemaOf(projection.name, '__rebuild'), events);
    });
    after = rows[rows.length - 1]!.position;
    total += rows.length;
    progress(total);
  }
  for (const projection of targets) {
    const caughtUp = await swapIn(sql, projection, readable);
    log.info({ projection: projection.name, events: total + caughtUp, ms: Date.now() - started }, 'projection rebuilt');
  }
  return { events: total, ms: Date.now() - started };
}

/** Applies what the replay missed, then renames the shadow schema over the live one; returns the events applied here. */
async function swapIn(
  sql: Sql, projection: Projection, readable: (db: TransactionSql, rows: EventRow[]) => Promise<ReturnType<typeof upcastEvent>[]>,
): Promise<number> {
  const live = schemaOf(projection.name);
  const shadow = schemaOf(projection.name, '__rebuild');
  const retired = schemaOf(projection.name, '__retired');
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${projectionLockKey(projection.name)})`;
    // Events committed out of position order (or after the replay read past them) that the shadow lacks.
    // The streams table has one row per stream, so finding the laggards does not scan the whole log.
    const missing = await tx.unsafe<EventRow[]>(`
      with behind as (
        select s.stream_id, coalesce(sp.version, 0) as applied from streams s
        left join ${shadow}.stream_positions sp on sp.stream_id = s.stream_id
        where s.version > coalesce(sp.version, 0)
      )
      select ${EVENT_COLUMNS.split(', ').map((c) => `e.${c}`).join(', ')} from behind b
      join events e on e.stream_id = b.stream_id and e.stream_version > b.applied
      order by e.position`);
    if (missing.length > 0) await applyInTransaction(tx, projection, shadow, await readable(tx, missing));
    await tx.unsafe(`drop schema if exists ${retired} cascade`);
    const exists = await tx`select 1 from information_schema.schemata where schema_name = ${live}`;
    if (exists.length > 0) {
      // Keep the live consumer's Kafka positions: the swapped-in rows already include everything up to them.
      await tx.unsafe(`insert into ${shadow}.kafka_offsets select * from ${live}.kafka_offsets on conflict do nothing`);
      await tx.unsafe(`alter schema ${live} rename to ${retired}`);
    }
    await tx.unsafe(`alter schema ${shadow} rename to ${live}`);
    await tx.unsafe(`drop schema if exists ${retired} cascade`);
    return missing.length;
  });
}
