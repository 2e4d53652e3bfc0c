import type { Sql } from '@vru/runtime';
import { HttpProblem } from './problem.js';

/** The read models reports read, by projection name (schema rm_<name>). */
export type ReadModel = 'attendance' | 'participants' | 'outcomes' | 'offences' | 'spend' | 'submissions' | 'comparisons';

/** One read model's entry in a report's computedAt: every entry carries the report's position. */
export interface ComputedAt {
  projection: ReadModel;
  position: string;
  eventsApplied: string;
  updatedAt: string | null;
}

/** Where and when a report is computed: its position P, the date its date-dependent rules use, and computedAt. */
export interface ReportSnapshot {
  position: string;
  asOf: string;
  computedAt: ComputedAt[];
}

/** What every report's query may say about its snapshot. */
export interface SnapshotQuery {
  asOf?: string | undefined;
}

export const todayUtc = (): string => new Date().toISOString().slice(0, 10);

/** The date a report's date-dependent rules use: asOf if given (never in the future), else today. */
export function reportAsOf(q: SnapshotQuery, today = todayUtc()): string {
  if (q.asOf === undefined) return today;
  if (q.asOf > today) {
    throw new HttpProblem(422, 'validation-failed', 'asOf is in the future', [
      { field: '/querystring/asOf', rule: 'not-in-future', message: `asOf must be on or before today (${today}); figures cannot be computed as of a later date` },
    ]);
  }
  return q.asOf;
}

/** Per database, read models whose checkpoint has a consistent position: once there, a schema is only ever swapped. */
const readyIn = new WeakMap<Sql, Set<ReadModel>>();

async function allReady(sql: Sql, readModels: readonly ReadModel[]): Promise<boolean> {
  const ready = readyIn.get(sql) ?? new Set<ReadModel>();
  readyIn.set(sql, ready);
  const missing = readModels.filter((m) => !ready.has(m));
  if (missing.length === 0) return true;
  const rows = await sql<{ schema: string }[]>`
    select n.nspname as schema from pg_namespace n
    join pg_class c on c.relnamespace = n.oid and c.relname = 'checkpoint'
    join pg_attribute a on a.attrelid = c.oid and a.attname = 'consistent_position' and not a.attisdropped
    where n.nspname = any(${missing.map((m) => `rm_${m}`)}::text[])`;
  for (const r of rows) ready.add(r.schema.slice('rm_'.length) as ReadModel);
  return readModels.every((m) => ready.has(m));
}

/**
 * The search path a report's queries resolve unqualified table names on: the read models' schemas, then public.
 * Report SQL names tables without a schema, so the same query reads the live read models or a copy of them.
 */
export function readModelSearchPath(schemas: readonly string[]): string {
  for (const s of schemas) if (!/^[a-z][a-z0-9_]*$/.test(s)) throw new Error(`bad schema name ${s}`);
  return [...schemas, 'public'].join(', ');
}

/**
 * Runs a report inside one read-only repeatable-read transaction, at P = the lowest consistent position of the read
 * models it reads (every committed event at or below P is in each of them), and tells it P. The transaction's one
 * snapshot is taken by the checkpoint read, so rows and P agree whatever commits meanwhile. Before the projector has
 * created a read model there is no position to read at: the report then runs on one reserved connection at position
 * 0, and its queries answer no rows from the missing read model (emptyIfNoReadModel; outside a transaction, so one
 * missing table does not abort the others).
 */
export async function atConsistentPosition<T>(
  sql: Sql, readModels: readonly ReadModel[], q: SnapshotQuery, report: (sql: Sql, at: ReportSnapshot) => Promise<T>,
): Promise<T> {
  const asOf = reportAsOf(q);
  const searchPath = readModelSearchPath(readModels.map((m) => `rm_${m}`));
  if (!(await allReady(sql, readModels))) {
    const connection = await sql.reserve();
    try {
      await connection.unsafe(`set search_path to ${searchPath}`);
      return await report(connection as unknown as Sql, {
        position: '0', asOf, computedAt: readModels.map((projection) => ({ projection, position: '0', eventsApplied: '0', updatedAt: null })),
      });
    } finally {
      await connection.unsafe('reset search_path').catch(() => undefined);
      connection.release();
    }
  }
  const checkpoints = readModels.map((m, i) =>
    `select ${i} as i, consistent_position, events_applied, updated_at from rm_${m}.checkpoint`).join(' union all ');
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    const rows = await tx.unsafe<{ i: number; consistent_position: bigint; events_applied: bigint; updated_at: Date | null }[]>(checkpoints);
    await tx.unsafe(`set local search_path to ${searchPath}`);
    const byModel = new Map(rows.map((r) => [r.i, r]));
    const position = rows.reduce((p, r) => (r.consistent_position < p ? r.consistent_position : p), rows[0]?.consistent_position ?? 0n).toString();
    const computedAt = readModels.map((projection, i): ComputedAt => {
      const r = byModel.get(i);
      return { projection, position, eventsApplied: (r?.events_applied ?? 0n).toString(), updatedAt: r?.updated_at ? r.updated_at.toISOString() : null };
    });
    // The transaction stands in for the pool: reports only run queries on it (never begin, end or listen).
    return report(tx as unknown as Sql, { position, asOf, computedAt });
  }) as Promise<T>;
}
