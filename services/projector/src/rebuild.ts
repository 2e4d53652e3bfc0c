import type { Logger, Sql, EventRow, PersonalDataVault, TransactionSql } from '@vru/platform';
import { EVENT_COLUMNS, rebuildEventsReplayed, rebuildEventsTotal, toStoredEvent, upcastEvent } from '@vru/platform';
import { applyInTransaction, createProjectionSchema, projectionLockKey } from './apply.js';
import { schemaOf, type Projection } from './projection.js';

const CHUNK = 5_000;

/**
 * Replays the whole log into a fresh schema while the live one keeps serving, then swaps them in one
 * transaction. The swap takes the projection's lock exclusively and first applies whatever the live
 * consumer saw that the replay has not (compared per stream version), so nothing is lost or doubled.
 */
/** `onProgress(replayed, total)` after each chunk; the same figures are the vru_rebuild_events_* metrics. */
export async function rebuildProjection(
  sql: Sql, projection: Projection, log: Logger,
  options: { vault: PersonalDataVault; onProgress?: (replayed: number, total: number) => void },
): Promise<{ events: number; ms: number }> {
  const { vault, onProgress } = options;
  // Personal fields decrypted where the participant's key still exists; erased participants replay without them.
  const readable = async (db: Sql | TransactionSql, rows: EventRow[]) =>
    (await vault.open(db, rows.map(toStoredEvent))).map(upcastEvent);
  const started = Date.now();
  const live = schemaOf(projection.name);
  const shadow = schemaOf(projection.name, '__rebuild');
  const retired = schemaOf(projection.name, '__retired');
  await sql.begin(async (tx) => {
    await tx.unsafe(`drop schema if exists ${shadow} cascade`);
    await createProjectionSchema(tx, projection, shadow);
  });
  let after = 0n;
  let total = 0;
  const [{ n: expected } = { n: 0 }] = await sql<{ n: number }[]>`select count(*)::int as n from events`;
  rebuildEventsTotal.set({ projection: projection.name }, expected);
  rebuildEventsReplayed.set({ projection: projection.name }, 0);
  onProgress?.(0, expected);
  for (;;) {
    const rows = await sql<EventRow[]>`
      select ${sql.unsafe(EVENT_COLUMNS)} from events where position > ${after.toString()}::bigint order by position limit ${CHUNK}`;
    if (rows.length === 0) break;
    const events = await readable(sql, rows);
    await sql.begin((tx) => applyInTransaction(tx, projection, shadow, events));
    after = rows[rows.length - 1]!.position;
    total += rows.length;
    rebuildEventsReplayed.set({ projection: projection.name }, total);
    onProgress?.(total, Math.max(expected, total));
  }
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
    if (missing.length > 0) await applyInTransaction(tx, projection, shadow, await readable(tx, missing));
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
