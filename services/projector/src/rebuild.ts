import type { Logger, Sql, EventRow } from '@vru/platform';
import { EVENT_COLUMNS, toStoredEvent, upcastEvent } from '@vru/platform';
import { applyInTransaction, createProjectionSchema, projectionLockKey } from './apply.js';
import { schemaOf, type Projection } from './projection.js';

const CHUNK = 5_000;

/** Replays the whole log, in position order, into a fresh schema of the projection (dropped first if it exists). */
export async function replayLogInto(sql: Sql, projection: Projection, schema: string, onProgress?: (events: number) => void): Promise<number> {
  await sql.begin(async (tx) => {
    await tx.unsafe(`drop schema if exists ${schema} cascade`);
    await createProjectionSchema(tx, projection, schema);
  });
  let after = 0n;
  let total = 0;
  for (;;) {
    const rows = await sql<EventRow[]>`
      select ${sql.unsafe(EVENT_COLUMNS)} from events where position > ${after.toString()}::bigint order by position limit ${CHUNK}`;
    if (rows.length === 0) break;
    await sql.begin((tx) => applyInTransaction(tx, projection, schema, rows.map((r) => upcastEvent(toStoredEvent(r)))));
    after = rows[rows.length - 1]!.position;
    total += rows.length;
    onProgress?.(total);
  }
  return total;
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
 * every table of the projection and its per-stream positions, row by row, plus the checkpoint's event count.
 * Meant for a quiet system (fault injection, checks after an incident); an empty list means they are equal.
 */
export async function compareWithRebuild(sql: Sql, projection: Projection): Promise<ProjectionDifference[]> {
  const live = schemaOf(projection.name);
  const shadow = schemaOf(projection.name, '__verify');
  await replayLogInto(sql, projection, shadow);
  try {
    const differences: ProjectionDifference[] = [];
    for (const table of [...projection.tables, 'stream_positions']) {
      const count = async (from: string, minus: string) => {
        const [row] = await sql.unsafe<{ n: number }[]>(
          `select count(*)::int as n from (select * from ${from}.${table} except all select * from ${minus}.${table}) d`);
        return row!.n;
      };
      const missing = await count(shadow, live);
      const extra = await count(live, shadow);
      if (missing > 0 || extra > 0) differences.push({ table, missing, extra });
    }
    const [counts] = await sql.unsafe<{ live: string; shadow: string }[]>(
      `select (select events_applied from ${live}.checkpoint)::text as live, (select events_applied from ${shadow}.checkpoint)::text as shadow`);
    const liveApplied = Number(counts!.live);
    const shadowApplied = Number(counts!.shadow);
    if (liveApplied !== shadowApplied) {
      differences.push({ table: 'checkpoint.events_applied', missing: Math.max(0, shadowApplied - liveApplied), extra: Math.max(0, liveApplied - shadowApplied) });
    }
    return differences;
  } finally {
    await sql.unsafe(`drop schema if exists ${shadow} cascade`);
  }
}

/**
 * Replays the whole log into a fresh schema while the live one keeps serving, then swaps them in one
 * transaction. The swap takes the projection's lock exclusively and first applies whatever the live
 * consumer saw that the replay has not (compared per stream version), so nothing is lost or doubled.
 */
export async function rebuildProjection(sql: Sql, projection: Projection, log: Logger, onProgress?: (events: number) => void): Promise<{ events: number; ms: number }> {
  const started = Date.now();
  const live = schemaOf(projection.name);
  const shadow = schemaOf(projection.name, '__rebuild');
  const retired = schemaOf(projection.name, '__retired');
  let total = await replayLogInto(sql, projection, shadow, onProgress);
  await sql.begin(async (tx) => {
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
    if (missing.length > 0) await applyInTransaction(tx, projection, shadow, missing.map((r) => upcastEvent(toStoredEvent(r))));
    total += missing.length;
    await tx.unsafe(`drop schema if exists ${retired} cascade`);
    const exists = await tx`select 1 from information_schema.schemata where schema_name = ${live}`;
    if (exists.length > 0) {
      // Keep the live consumer's Kafka positions: the swapped-in rows already include everything up to them.
      await tx.unsafe(`insert into ${shadow}.kafka_offsets select * from ${live}.kafka_offsets on conflict do nothing`);
      await tx.unsafe(`alter schema ${live} rename to ${retired}`);
    }
    await tx.unsafe(`alter schema ${shadow} rename to ${live}`);
    await tx.unsafe(`drop schema if exists ${retired} cascade`);
  });
  const ms = Date.now() - started;
  log.info({ projection: projection.name, events: total, ms }, 'projection rebuilt');
  return { events: total, ms };
}
