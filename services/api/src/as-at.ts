import type { PersonalDataVault } from '@vru/event-store';
import { asAtSchemaOf, projectionByName, replayUpTo, type Projection } from '@vru/projector';
import type { Sql } from '@vru/runtime';

/** Taken (per transaction) to build or drop read models at a position: builds never race, erasure waits for them. */
export const AS_AT_LOCK = 7_406_020;

/** How many positions' read models are kept, and how long an unused one lives. */
export const AS_AT_KEEP = 4;
export const AS_AT_TTL_MINUTES = 60;

/** The personal-data vault each database's as-at builds open sealed fields with (set once by the app). */
const vaults = new WeakMap<Sql, PersonalDataVault>();

export function enableAsAt(sql: Sql, vault: PersonalDataVault): void {
  vaults.set(sql, vault);
}

function projectionsOf(names: readonly string[]): Projection[] {
  return names.map((name) => {
    const projection = projectionByName(name);
    if (!projection) throw new Error(`no projection ${name}`);
    return projection;
  });
}

/**
 * The schemas holding the named read models at exactly `position` (every event at or below it applied, none
 * above), in the order asked, building those missing by replaying the log (see docs/metrics.md, "Positions and
 * as-at"). The caller has checked that every event at or below `position` is committed.
 */
export async function readModelsAt(sql: Sql, names: readonly string[], position: bigint): Promise<string[]> {
  const projections = projectionsOf(names);
  const schemas = projections.map((p) => asAtSchemaOf(p.name, position));
  const built = await sql<{ projection: string; projection_version: number }[]>`
    update as_at_read_models set last_used_at = now()
    where position = ${position.toString()}::bigint and projection = any(${names as string[]}::text[])
    returning projection, projection_version`;
  const current = (p: Projection) => built.some((b) => b.projection === p.name && b.projection_version === p.version);
  if (projections.every(current)) return schemas;

  const vault = vaults.get(sql);
  if (!vault) throw new Error('as-at reports need the personal-data vault (enableAsAt)');
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${AS_AT_LOCK})`;
    // Another request may have built them while this one waited for the lock.
    const ready = await tx<{ projection: string; projection_version: number }[]>`
      select projection, projection_version from as_at_read_models
      where position = ${position.toString()}::bigint and projection = any(${names as string[]}::text[])`;
    const missing = projections.filter((p) => !ready.some((r) => r.projection === p.name && r.projection_version === p.version));
    if (missing.length === 0) return;
    await replayUpTo(tx, missing, position, vault);
    await tx`
      insert into as_at_read_models (schema_name, projection, position, projection_version)
      select * from unnest(${missing.map((p) => asAtSchemaOf(p.name, position))}::text[], ${missing.map((p) => p.name)}::text[],
                           ${missing.map(() => position.toString())}::bigint[], ${missing.map((p) => p.version)}::int[])
      on conflict (schema_name) do update set projection_version = excluded.projection_version, built_at = now(), last_used_at = now()`;
  });
  await dropStaleAsAtReadModels(sql);
  return schemas;
}

/**
 * Runs `read` in a read-only transaction on the named read models at exactly `position` (their schemas, in the
 * order asked), building them first if missing. The copies never change once built, so one read-committed
 * transaction sees the same rows throughout; the shared lock keeps erasure and pruning from dropping them meanwhile
 * (a copy dropped between the build and the lock is built again).
 */
export async function withReadModelsAt<T>(
  sql: Sql, names: readonly string[], position: bigint, read: (tx: Sql, schemas: string[]) => Promise<T>,
): Promise<T> {
  for (;;) {
    const schemas = await readModelsAt(sql, names, position);
    const outcome = await sql.begin('read only', async (tx) => {
      await tx`select pg_advisory_xact_lock_shared(${AS_AT_LOCK})`;
      const [{ n } = { n: 0 }] = await tx<{ n: number }[]>`
        select count(*)::int as n from as_at_read_models where schema_name = any(${schemas}::text[])`;
      if (n < schemas.length) return { dropped: true as const };
      return { dropped: false as const, value: await read(tx as unknown as Sql, schemas) };
    });
    if (!outcome.dropped) return outcome.value as T;
  }
}

/** Drops the read models of positions beyond the AS_AT_KEEP most recently used, and any unused for the TTL. */
export async function dropStaleAsAtReadModels(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${AS_AT_LOCK})`;
    const stale = await tx<{ schema_name: string }[]>`
      with positions as (
        select position, max(last_used_at) as used, row_number() over (order by max(last_used_at) desc) as rank
        from as_at_read_models group by position
      )
      select m.schema_name from as_at_read_models m join positions p on p.position = m.position
      where p.rank > ${AS_AT_KEEP} or p.used < now() - make_interval(mins => ${AS_AT_TTL_MINUTES})`;
    await dropSchemas(tx as unknown as Sql, stale.map((s) => s.schema_name));
  });
}

/**
 * Drops every read model at a position: called when a participant is erased, since their rows derive from personal
 * data the erasure removes. Waits for a build under way (which may have opened the erased key) and drops it too.
 */
export async function dropAllAsAtReadModels(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${AS_AT_LOCK})`;
    const all = await tx<{ schema_name: string }[]>`select schema_name from as_at_read_models`;
    await dropSchemas(tx as unknown as Sql, all.map((s) => s.schema_name));
  });
}

async function dropSchemas(tx: Sql, schemas: string[]): Promise<void> {
  for (const schema of schemas) {
    if (!/^rm_[a-z0-9_]+_at_[0-9]+$/.test(schema)) throw new Error(`not an as-at schema: ${schema}`);
    await tx.unsafe(`drop schema if exists ${schema} cascade`);
  }
  if (schemas.length > 0) await tx`delete from as_at_read_models where schema_name = any(${schemas}::text[])`;
}
