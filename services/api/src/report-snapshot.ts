import type { Principal } from '@vru/contracts';
import { asAtSchemaOf } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { tenantOf } from './auth.js';
import { HttpProblem } from './problem.js';

/** The read models reports read, by projection name (schema rm_<name>). */
export type ReadModel =
  'attendance' | 'participants' | 'outcomes' | 'offences' | 'spend' | 'submissions' | 'comparisons';

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
  asAt?: string | undefined;
}

export const todayUtc = (): string => new Date().toISOString().slice(0, 10);

/** The date a report's date-dependent rules use: asOf if given (never in the future), else today. */
export function reportAsOf(q: SnapshotQuery, today = todayUtc()): string {
  if (q.asOf === undefined) return today;
  if (q.asOf > today) {
    throw new HttpProblem(422, 'validation-failed', 'asOf is in the future', [
      {
        field: '/querystring/asOf',
        rule: 'not-in-future',
        message: `asOf must be on or before today (${today}); figures cannot be computed as of a later date`,
      },
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
 * Report SQL names tables without a schema, so the same query reads the current rows (rm_<name>) or the rows true at
 * a position (rm_<name>_as_at).
 */
export function readModelSearchPath(schemas: readonly string[]): string {
  for (const s of schemas) if (!/^[a-z][a-z0-9_]*$/.test(s)) throw new Error(`bad schema name ${s}`);
  return [...schemas, 'public'].join(', ');
}

/**
 * The position a report reads at: asAt if given, else P (the lowest consistent position of its read models); and
 * whether the current rows are exactly those true at P (no read model has applied anything above P), or the rows
 * true at P must be filtered from the versions instead. An asAt above P is refused: not every event at or below it
 * is applied yet (409, retry shortly).
 */
export function readingPosition(
  checkpoints: readonly { position: bigint; consistent_position: bigint }[],
  asAt: string | undefined,
): { position: bigint; live: boolean } {
  const consistent = checkpoints.reduce(
    (p, r) => (r.consistent_position < p ? r.consistent_position : p),
    checkpoints[0]?.consistent_position ?? 0n,
  );
  if (asAt !== undefined && BigInt(asAt) > consistent) throw positionNotYetApplied(asAt, consistent);
  const position = asAt === undefined ? consistent : BigInt(asAt);
  return { position, live: checkpoints.every((r) => r.position <= position && r.consistent_position >= position) };
}

function positionNotYetApplied(asAt: string, consistent: bigint): HttpProblem {
  return new HttpProblem(
    409,
    'position-not-yet-applied',
    'The read models have not applied every event up to asAt yet',
    [
      {
        field: '/querystring/asAt',
        rule: 'position-applied',
        message: `asAt must be at or below ${consistent}, the highest position every read model this report reads has applied; retry shortly`,
      },
    ],
    undefined,
    1,
  );
}

/**
 * What the log says at a position every read model has applied, per database: the count of events at or below it and
 * when the last of them was stored. Those events never change (appends commit in position order), so each report
 * counts only the events between the last count and its P rather than the whole log again (a scan of every event per
 * report at a million events), and a report at the position of the last one asks nothing.
 */
interface LogAt {
  position: bigint;
  n: bigint;
  last: Date | null;
}
const logAtPosition = new WeakMap<Sql, LogAt>();

async function logAt(pool: Sql, tx: Sql, position: bigint): Promise<LogAt> {
  const known = logAtPosition.get(pool);
  if (known?.position === position) return known;
  const count = async (above: bigint, upTo: bigint) =>
    (
      await tx<{ n: bigint }[]>`
    select count(*) as n from events where position > ${above.toString()}::bigint and position <= ${upTo.toString()}::bigint`
    )[0]!.n;
  const [n, [log]] = await Promise.all([
    !known
      ? count(0n, position)
      : position >= known.position
        ? count(known.position, position).then((above) => known.n + above)
        : count(position, known.position).then((between) => known.n - between),
    tx<{ last: Date | null }[]>`
    select recorded_at as last from events where position <= ${position.toString()}::bigint order by position desc limit 1`,
  ]);
  const at = { position, n, last: log?.last ?? null };
  if (!known || position > known.position) logAtPosition.set(pool, at);
  return at;
}

/** What computedAt says of every read model at P: the events at or below P (each applied once) and when the last was stored. */
async function computedAtPosition(
  pool: Sql,
  tx: Sql,
  readModels: readonly ReadModel[],
  position: bigint,
): Promise<ComputedAt[]> {
  const { n, last } = await logAt(pool, tx, position);
  return readModels.map((projection) => ({
    projection,
    position: position.toString(),
    eventsApplied: n.toString(),
    updatedAt: last ? last.toISOString() : null,
  }));
}

/**
 * Runs a report at a position P such that exactly the events at or below P are counted, in every read model it
 * reads, and tells it P. P is the query's asAt, else the lowest consistent position of the read models (every
 * committed event at or below it is in each of them). The report runs in one read-only repeatable-read transaction
 * whose one snapshot is taken by the checkpoint read, so rows and P agree whatever commits meanwhile. When no read
 * model has applied an event above P it reads the current rows (rm_<name>); otherwise the rows true at P
 * (rm_<name>_as_at, with P in the transaction's vru.as_at setting): read-model rows are versioned by position, so
 * "as at P" is a filter (docs/metrics.md, "Positions and as-at"). Before the projector has created a read model
 * there is no position to read at: the report then runs on one reserved connection at position 0, and its queries
 * answer no rows from the missing read model (emptyIfNoReadModel; outside a transaction, so one missing table does
 * not abort the others).
 */
export async function atConsistentPosition<T>(
  sql: Sql,
  principal: Principal,
  readModels: readonly ReadModel[],
  q: SnapshotQuery,
  report: (sql: Sql, at: ReportSnapshot) => Promise<T>,
): Promise<T> {
  const asOf = reportAsOf(q);
  const underDisclosureControl = tenantOf(principal) === null;
  if (underDisclosureControl && q.asAt !== undefined) await refuseUnpublishedPosition(sql, q.asAt);
  const result = await readAtConsistentPosition(sql, readModels, q, asOf, report);
  if (underDisclosureControl)
    await sql`insert into published_positions (position) values (${result.position}) on conflict do nothing`;
  return result.value;
}

/**
 * Across providers a past position may be asked only where figures were already published (a report answered at it,
 * or a frozen return's): otherwise a reader could pick, after the fact, two positions one event apart and read that
 * one person's contribution as the difference. What a reader could have polled live stays askable.
 */
async function refuseUnpublishedPosition(sql: Sql, asAt: string): Promise<void> {
  const [row] = await sql<{ published: boolean }[]>`
    select exists (select 1 from published_positions where position = ${asAt}::bigint)
        or exists (select 1 from frozen_returns where position = ${asAt}::bigint) as published`;
  if (row?.published) return;
  throw new HttpProblem(422, 'position-not-published', 'No figures were published at asAt', [
    {
      field: '/querystring/asAt',
      rule: 'published-position',
      message:
        'Across providers asAt must be a position figures were published at: ' +
        'the position of a report answered earlier or of a frozen return (a provider key may ask any position of its own figures)',
    },
  ]);
}

async function readAtConsistentPosition<T>(
  sql: Sql,
  readModels: readonly ReadModel[],
  q: SnapshotQuery,
  asOf: string,
  report: (sql: Sql, at: ReportSnapshot) => Promise<T>,
): Promise<{ position: string; value: T }> {
  if (!(await allReady(sql, readModels))) {
    if (q.asAt !== undefined) throw positionNotYetApplied(q.asAt, 0n);
    const connection = await sql.reserve();
    try {
      await connection.unsafe(`set search_path to ${readModelSearchPath(readModels.map((m) => `rm_${m}`))}`);
      return {
        position: '0',
        value: await report(connection, {
          position: '0',
          asOf,
          computedAt: readModels.map((projection) => ({
            projection,
            position: '0',
            eventsApplied: '0',
            updatedAt: null,
          })),
        }),
      };
    } finally {
      await connection.unsafe('reset search_path').catch(() => undefined);
      connection.release();
    }
  }
  const checkpoints = readModels
    .map((m) => `select position, consistent_position from rm_${m}.checkpoint`)
    .join(' union all ');
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    const at = readingPosition(
      await tx.unsafe<{ position: bigint; consistent_position: bigint }[]>(checkpoints),
      q.asAt,
    );
    const schemas = readModels.map((m) => (at.live ? `rm_${m}` : asAtSchemaOf(`rm_${m}`)));
    if (!at.live) {
      // Read models from before versioning (until the projector has rebuilt them) have no as-at views.
      const [{ n } = { n: 0 }] = await tx<
        { n: number }[]
      >`select count(*)::int as n from pg_namespace where nspname = any(${schemas}::text[])`;
      if (n < schemas.length) {
        throw new HttpProblem(
          503,
          'read-models-rebuilding',
          'The read models are being rebuilt',
          undefined,
          `Reading at position ${at.position} needs the versioned read models the projector is rebuilding; retry shortly`,
          5,
        );
      }
      await tx`select set_config('vru.as_at', ${at.position.toString()}, true)`;
    }
    // Sent now and awaited with the report (whose failure it then is too): the connection runs it before the report's
    // queries, one round trip less.
    const searchPath = tx.unsafe(`set local search_path to ${readModelSearchPath(schemas)}`).execute();
    const [value] = await Promise.all([
      computedAtPosition(sql, tx as unknown as Sql, readModels, at.position).then((computedAt) =>
        // The transaction stands in for the pool: reports only run queries on it (never begin, end or listen).
        report(tx as unknown as Sql, { position: at.position.toString(), asOf, computedAt }),
      ),
      searchPath,
    ]);
    return { position: at.position.toString(), value };
  });
}

/** The filters a report echoes: asAt is left out (position says it), so a report at P reads the same asked at P or not. */
export function reportFilters<Q extends SnapshotQuery>(q: Q): Omit<Q, 'asAt'> {
  const { asAt: _asAt, ...filters } = q;
  return filters;
}
