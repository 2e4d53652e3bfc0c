import { EventCatalogue, type ReadEvent, type StoredEvent } from '@vru/contracts';
import type { TransactionSql } from '@vru/runtime';

/**
 * A read model: a pure `project` from one event to row changes, and a thin SQL `write` for them.
 * Each projection lives in its own schema (rm_<name>) with its own stream positions and checkpoint,
 * so it can be rebuilt into a fresh schema and swapped in without touching the others.
 *
 * Rows are versioned: each table is stored as `<table>_versions`, whose rows carry the position at which they became
 * true (`valid_from`) and, unless append-only, the position at which they stopped being true (`valid_to`, null while
 * current). A mutable table's closed versions live in `<table>_closed`, a child table (inheritance) of
 * `<table>_versions`: the current rows stay compact for the reads that want only them, while a statement on
 * `<table>_versions` (an erasure's rewrite, a test) still reaches every version. The original table names are views:
 * in rm_<name> the current rows, in rm_<name>_as_at the rows true at the position in the transaction's `vru.as_at`
 * setting. Reports name tables without a schema, so the same SQL reads either (docs/metrics.md, "Positions and
 * as-at").
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the runner handles projections of any row type
export interface Projection<Change = any, Event extends ReadEvent = ReadEvent> {
  readonly name: string;
  /** Bump when the rows' meaning changes: a projector finding an older version rebuilds from the log. */
  readonly version: number;
  readonly handles: readonly Event['type'][];
  /** The read model's tables; their DDL, views and versioning come from these (readModelDdl). */
  readonly tables: readonly ReadModelTable[];
  /**
   * The event types whose personal fields `project` reads: only those are decrypted for it. Every other event reaches
   * it with its personal fields left sealed and out of the data (personal-fields.unit.test.ts checks that its rows do not
   * depend on them).
   */
  readonly readsPersonalFieldsOf?: readonly Event['type'][];
  readonly project: (event: Event) => Change[];
  /**
   * Writes changes to the `<table>_versions` tables, each at its event's position. A mutable row is written at most
   * once per call (the runner splits a batch so), so one statement can version every row it touches. An update of
   * current rows names `only <table>_versions`, so it does not search the closed versions too.
   */
  readonly write: (tx: TransactionSql, changes: Positioned<Change>[]) => Promise<void>;
  /**
   * Optional: writes a replay's chunk (a rebuild into a shadow schema no other writer touches, every change in
   * position order) with the same resulting rows as `write` round by round would, but in a few statements: a round
   * costs a statement whatever its size, and a mutable read model has as many rounds as a stream has events in a chunk.
   * It writes each append-only row once (it never relies on their primary keys, which the replay builds at its end).
   */
  readonly writeReplay?: (tx: TransactionSql, changes: Positioned<Change>[]) => Promise<void>;
  /**
   * Optional, with writeReplay or replayFromLog: a replay's last step, after its last chunk and before the swap's
   * catch-up (which writes live). Derives from the rows the replay stored the tables it left out (running counts,
   * people per cell), as one aggregate over the whole read model instead of an upsert per chunk; the result equals
   * what `write` keeps.
   */
  readonly finishReplay?: (tx: TransactionSql) => Promise<void>;
  /**
   * Optional: event types whose only effect on this read model is to lower a column of their stream's current row to a
   * value the event carries (or set it while null), such as the first session's date. A replay reads only those that
   * may still lower it: below every earlier one of their stream in the chunk read, and below the row the replay has
   * stored so far (as of some earlier event, so never below the value before this one). The others would change
   * nothing, and they are most of a log: not decoding them saves most of a replay's work.
   */
  readonly replayLowers?: readonly LoweringEvents<Event['type']>[];
  /**
   * Optional, instead of writeReplay, for a read model whose rows are columns of its events: the whole replay of the
   * log at or below position `through`, copied from it in SQL in a few statements (into the transaction's search path,
   * a shadow schema no other writer touches) instead of chunk by chunk. SQL reads an event as stored, so `upcast`
   * yields, chunk by chunk in position order, this projection's events at or below `through` stored at an older version
   * than their type's latest (atLatestVersionSql tells them apart), upcast; it reads the log only when iterated.
   * finishReplay follows. The result equals what `write` keeps, applied event by event.
   */
  readonly replayFromLog?: (tx: TransactionSql, through: string, upcast: AsyncIterable<StoredEvent[]>) => Promise<void>;
}

/**
 * Events of `type` that lower `column` of their stream's current row in `table` (keyed by `stream_id`) to `value`:
 * SQL over the stored event at its type's latest version (the others a replay reads and upcasts all).
 */
export interface LoweringEvents<Type extends string = string> {
  readonly type: Type;
  readonly value: string;
  readonly table: string;
  readonly column: string;
}

/**
 * Whether a stored event (a row of `events`) is at its type's latest version, for the given types: SQL reads such an
 * event's data as a projection would after upcasting. False for a type not given.
 */
export const atLatestVersionSql = (types: readonly ReadEvent['type'][]): string =>
  `(type, schema_version) in (${types.map((type) => `('${type}', ${EventCatalogue[type].latest})`).join(', ')})`;

/** Whether any of the projections reads the personal fields of an event type (Projection.readsPersonalFieldsOf). */
export function personalFieldsReadBy(projections: readonly Projection[]): (type: string) => boolean {
  const read: ReadonlySet<string> = new Set(projections.flatMap((p) => p.readsPersonalFieldsOf ?? []));
  return (type) => read.has(type);
}

/** A change with the position of the event it came from: where the row version it writes becomes true. */
export type Positioned<Change> = Change & { position: string };

/**
 * One table of a read model. `columns` are its column definitions (the view's columns, in order); `key` identifies a
 * row across its versions; `indexes` are column lists the reports filter on. An append-only table's rows never change
 * once written (erasure may delete them): it needs no `valid_to`, and its indexes serve current and as-at reads alike.
 * A mutable table's key and indexes are partial on the current rows (`valid_to is null`), so the current view costs
 * what the unversioned table did; a non-partial (key, valid_from) index serves as-at reads by key.
 */
export interface ReadModelTable {
  readonly name: string;
  readonly columns: readonly string[];
  readonly key: readonly string[];
  readonly indexes?: readonly (string | ReadModelIndex)[];
  readonly appendOnly?: boolean;
  /**
   * Running totals of the current rows only (counts that every event of a kind adds to): stored under its own name
   * with its key as primary key, without versions or an as-at view, since a version per event would cost what the
   * rows counted do. A reader at a past position derives the totals from a versioned table of the same projection.
   */
  readonly currentOnly?: boolean;
}

/** An index's column list and the columns it carries for index-only scans (`include`). */
export interface ReadModelIndex {
  readonly columns: string;
  readonly include: string;
}

/** The stored table behind a read model table: its versions (read through views), or itself when current-only. */
export const storedTableOf = (table: ReadModelTable): string =>
  table.currentOnly ? table.name : `${table.name}_versions`;

/** A table whose rows change: versioned, with its closed versions in a table of their own. */
export const isMutable = (table: ReadModelTable): boolean => !table.appendOnly && !table.currentOnly;

/** A mutable table's closed versions: a child of its `<table>_versions`, written only by the versioning trigger. */
export const closedTableOf = (table: ReadModelTable): string => `${table.name}_closed`;

/**
 * The positions a closed version was true at, [valid_from, valid_to), indexed (GiST) so that an as-at read finds the
 * versions true at P without visiting every version that ended after P. `greatest` keeps a version whose end lies
 * below its start (a row keyed across streams, updated out of position order) an empty range, true at no position,
 * as the plain comparisons would, instead of an error.
 */
const TRUE_DURING = 'int8range(valid_from, greatest(valid_from, valid_to))';

/** The schema holding a projection schema's as-at views. */
export const asAtSchemaOf = (schema: string): string => `${schema}_as_at`;

const columnName = (definition: string): string => definition.trim().split(/\s+/)[0]!;

/**
 * A mutable table's row as of before an update that moves `valid_from`, kept as a closed version in the closed table
 * named by the trigger's argument (same columns, same order: it inherits them).
 */
const VERSION_ROW_DDL = `
create function version_row() returns trigger language plpgsql as $$
declare moved_to bigint := new.valid_from;
begin
  -- valid_from unchanged: a rewrite in place (erasure rewriting every version), not a new version.
  if new.valid_from = old.valid_from then return new; end if;
  new.valid_from := old.valid_from;
  -- Nothing but the position changed: the current version stays as it is.
  if new is not distinct from old then return null; end if;
  old.valid_to := moved_to;
  execute format('insert into %I.%I select ($1).*', tg_table_schema, tg_argv[0]) using old;
  new.valid_from := moved_to;
  return new;
end $$;
`;

/**
 * Unqualified DDL for a projection's tables, run with search_path set to its schema: the versioned tables, the
 * indexes their writes need (keys), the versioning trigger and the current views under the original names; with
 * `deferIndexes`, the indexes only readers use are left for readModelIndexDdl (a rebuild creates them after its bulk
 * load: one sort per index instead of an index insertion per row); with `deferKeys` as well, so are the append-only
 * tables' primary keys (readModelKeyDdl), for a replay that writes each of their rows once.
 */
export function readModelDdl(
  tables: readonly ReadModelTable[],
  options: { deferIndexes?: boolean; deferKeys?: boolean } = {},
): string {
  const parts: string[] = [];
  if (tables.some(isMutable)) parts.push(VERSION_ROW_DDL);
  for (const t of tables) {
    const stored = storedTableOf(t);
    const names = t.columns.map(columnName).join(', ');
    const key = t.key.join(', ');
    if (t.currentOnly) {
      parts.push(`create table ${stored} (${[...t.columns, `primary key (${key})`].join(', ')});`);
    } else if (t.appendOnly) {
      parts.push(
        `create table ${stored} (${[...t.columns, 'valid_from bigint not null', ...(options.deferKeys ? [] : [`primary key (${key})`])].join(', ')});`,
      );
      parts.push(`create view ${t.name} as select ${names} from ${stored};`);
    } else {
      parts.push(
        `create table ${stored} (${[...t.columns, 'valid_from bigint not null', 'valid_to bigint'].join(', ')});`,
      );
      parts.push(`create table ${closedTableOf(t)} () inherits (${stored});`);
      parts.push(`create unique index ${t.name}_current on ${stored} (${key}) where valid_to is null;`);
      parts.push(
        `create trigger ${t.name}_versions before update on ${stored} for each row execute function version_row('${closedTableOf(t)}');`,
      );
      parts.push(`create view ${t.name} as select ${names} from only ${stored} where valid_to is null;`);
    }
  }
  if (!options.deferIndexes) parts.push(readModelIndexDdl(tables));
  return parts.join('\n');
}

/** Whether a replay of this projection loads its append-only tables before their keys (it writes them itself). */
export const replayDefersKeys = (projection: Projection): boolean =>
  projection.writeReplay !== undefined || projection.replayFromLog !== undefined;

/** The append-only tables' primary keys, when readModelDdl left them out (`deferKeys`): each built by one sort. */
export const readModelKeyDdl = (tables: readonly ReadModelTable[]): string =>
  tables
    .filter((t) => t.appendOnly === true)
    .map((t) => `alter table ${storedTableOf(t)} add primary key (${t.key.join(', ')});`)
    .join('\n');

/**
 * The indexes of a projection's tables that only readers use: on a mutable table's closed versions (key, valid_from)
 * for reads and erasures by key and the positions each was true at (TRUE_DURING) for as-at reads; every table's
 * `indexes` (partial on the current rows of a mutable table).
 */
export function readModelIndexDdl(tables: readonly ReadModelTable[]): string {
  const parts: string[] = [];
  for (const t of tables) {
    const stored = storedTableOf(t);
    const mutable = isMutable(t);
    if (mutable) {
      parts.push(`create index ${t.name}_history on ${closedTableOf(t)} (${t.key.join(', ')}, valid_from);`);
      parts.push(`create index ${t.name}_true_during on ${closedTableOf(t)} using gist (${TRUE_DURING});`);
    }
    t.indexes?.forEach((index, i) => {
      const [cols, include] = typeof index === 'string' ? [index, ''] : [index.columns, ` include (${index.include})`];
      parts.push(
        `create index ${t.name}_${i} on ${stored} (${cols})${include}${mutable ? ' where valid_to is null' : ''};`,
      );
    });
  }
  return parts.join('\n');
}

/**
 * The as-at views of a projection's tables (in `asAtSchema`, over the tables in `schema`): the rows true at vru.as_at.
 * Current-only tables have none.
 */
export function asAtViewsDdl(schema: string, asAtSchema: string, tables: readonly ReadModelTable[]): string {
  // A scalar subquery is evaluated once per statement (an InitPlan); the bare call was evaluated for every row
  // scanned, which made a scan of the current rows several times slower than the same scan without it.
  const at = `(select current_setting('vru.as_at')::bigint)`;
  return tables
    .filter((t) => !t.currentOnly)
    .map((t) => {
      const names = t.columns.map(columnName).join(', ');
      const stored = `${schema}.${storedTableOf(t)}`;
      if (t.appendOnly)
        return `create view ${asAtSchema}.${t.name} as select ${names} from ${stored} where valid_from <= ${at};`;
      // The current rows that were already true, and the closed versions true then: each branch reads its own table.
      return (
        `create view ${asAtSchema}.${t.name} as select ${names} from only ${stored} where valid_to is null and valid_from <= ${at} ` +
        `union all select ${names} from ${schema}.${closedTableOf(t)} where ${TRUE_DURING} @> ${at};`
      );
    })
    .join('\n');
}

export const schemaOf = (name: string, suffix = ''): string => {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`bad projection name ${name}`);
  return `rm_${name}${suffix}`;
};

/** A read model's table qualified by its live schema, for readers that do not set the search path (the audit). */
export const liveTable = (readModel: { readonly name: string }, table: string): string =>
  `${schemaOf(readModel.name)}.${table}`;

/** The framework's table of applied stream versions, in every projection schema. */
export const STREAM_POSITIONS = 'stream_positions';

/**
 * The framework's own tables in every projection schema: idempotence per stream and the checkpoint. The checkpoint's
 * `position` is the highest position applied (partitions are applied independently, so some below it may be
 * missing); `consistent_position` is the highest P such that every committed event at or below P is applied.
 */
export const FRAMEWORK_DDL = `
create table stream_positions (stream_id text primary key, version integer not null);
create table checkpoint (
  id boolean primary key default true check (id),
  projection_version integer not null,
  position bigint not null default 0,
  consistent_position bigint not null default 0,
  events_applied bigint not null default 0,
  updated_at timestamptz
);
create table kafka_offsets (topic text not null, partition integer not null, next_offset bigint not null, primary key (topic, partition));
`;

/** A participant's erasure, for read models that must drop or rekey what linked their rows to the person. */
export interface StreamErased {
  kind: 'erased';
  streamId: string;
}

/** Keeps the last change per key: one multi-row upsert may not touch the same row twice. */
export function lastPerKey<T>(rows: T[], key: (row: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const r of rows) byKey.set(key(r), r);
  return [...byKey.values()];
}

/**
 * Rows as one JSON parameter for `json_to_recordset`: typed columns, nulls and booleans intact, and one
 * statement text whatever the row count (postgres.js encodes typed array parameters unreliably). `json`, not `jsonb`:
 * the text is read once, where `jsonb` first builds (and sorts the keys of) a binary copy of every row.
 */
export const recordset = (rows: readonly object[]): string => JSON.stringify(rows);
// Use as `json_to_recordset(${recordset(rows)}::text::json)`: typed as text so postgres.js does not encode it twice.
