import type { ReadEvent } from '@vru/contracts';
import type { TransactionSql } from '@vru/runtime';

/**
 * A read model: a pure `project` from one event to row changes, and a thin SQL `write` for them.
 * Each projection lives in its own schema (rm_<name>) with its own stream positions and checkpoint,
 * so it can be rebuilt into a fresh schema and swapped in without touching the others.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the runner handles projections of any row type
export interface Projection<Change = any, Event extends ReadEvent = ReadEvent> {
  readonly name: string;
  /** Bump when the rows' meaning changes: a projector finding an older version rebuilds from the log. */
  readonly version: number;
  readonly handles: readonly Event['type'][];
  /** Unqualified CREATE statements, run with search_path set to the projection's schema. */
  readonly ddl: string;
  readonly project: (event: Event) => Change[];
  readonly write: (tx: TransactionSql, changes: Change[]) => Promise<void>;
  /** Tables compared row by row after a rebuild (the framework's own are excluded). */
  readonly tables: readonly string[];
}

export const schemaOf = (name: string, suffix = ''): string => {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`bad projection name ${name}`);
  return `rm_${name}${suffix}`;
};

/** A read model's table qualified by its live schema, for readers that do not set the search path (the audit). */
export const liveTable = (readModel: { readonly name: string }, table: string): string => `${schemaOf(readModel.name)}.${table}`;

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
 * Rows as one JSON parameter for `jsonb_to_recordset`: typed columns, nulls and booleans intact, and one
 * statement text whatever the row count (postgres.js encodes typed array parameters unreliably).
 */
export const recordset = (rows: readonly object[]): string => JSON.stringify(rows);
// Use as `jsonb_to_recordset(${recordset(rows)}::text::jsonb)`: typed as text so postgres.js does not encode it twice.
