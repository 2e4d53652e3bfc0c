import { upcast, type EventMetadata, type StoredEvent } from '@vru/contracts';
import type { Sql, TransactionSql } from '@vru/runtime';
import type { PersonalDataVault } from './personal-data.js';

/**
 * Taken (transaction-scoped) by every transaction that inserts into `events`, immediately before the insert, and
 * held until it commits: identity positions are then allocated and committed in the same order, so the committed
 * positions are always a prefix of the sequence (gaps only from rolled-back transactions). A reader that sees
 * position P committed knows nothing can later commit below P: that is what makes a read model's consistent
 * position (every event ≤ P applied) final, and a report at P reproducible.
 */
export const EVENT_APPEND_LOCK = 7_406_010;

const EVENT_COLUMN_NAMES = [
  'position',
  'event_id',
  'stream_id',
  'stream_version',
  'type',
  'schema_version',
  'provider_id',
  'programme_id',
  'occurred_at',
  'recorded_at',
  'data',
  'metadata',
] as const;

/** The columns an EventRow is selected with, qualified by a table alias where a join needs it. */
export const eventColumns = (alias?: string): string =>
  EVENT_COLUMN_NAMES.map((c) => (alias ? `${alias}.${c}` : c)).join(', ');

export const EVENT_COLUMNS = eventColumns();

export interface EventRow {
  position: bigint;
  event_id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  provider_id: string;
  programme_id: string | null;
  occurred_at: Date;
  recorded_at: Date;
  data: Record<string, unknown>;
  metadata: EventMetadata;
}

/** Reads any stored version as the latest: consumers and rebuilds call this, the relay publishes the fact as stored. */
export function upcastEvent(event: StoredEvent): StoredEvent {
  if (!event.type) return event;
  const { schemaVersion, data } = upcast(event.type, event.schemaVersion, event.data);
  return schemaVersion === event.schemaVersion ? event : { ...event, schemaVersion, data };
}

/**
 * The same row as the audit log reads it (ENTRY_COLUMNS): timestamps rendered in SQL as ISO text with microseconds,
 * which a Date would lose.
 */
export type EventEntryRow = Omit<EventRow, 'position' | 'occurred_at' | 'recorded_at'> & {
  position: bigint | string;
  occurred_at: string;
  recorded_at: string;
};

const isoTime = (t: Date | string): string => (typeof t === 'string' ? t : t.toISOString());

/** The one mapping from a stored row to the event as published (its stored schema version). */
export function toStoredEvent(row: EventRow | EventEntryRow): StoredEvent {
  return {
    position: row.position.toString(),
    eventId: row.event_id,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    type: row.type,
    schemaVersion: row.schema_version,
    providerId: row.provider_id,
    programmeId: row.programme_id,
    occurredAt: isoTime(row.occurred_at),
    recordedAt: isoTime(row.recorded_at),
    data: row.data,
    metadata: row.metadata,
  };
}

/** A stream's events in order, personal fields opened, upcast to the latest schema versions. */
export async function readStream(sql: Sql, vault: PersonalDataVault, streamId: string): Promise<StoredEvent[]> {
  const rows = await sql<EventRow[]>`
    select ${sql.unsafe(EVENT_COLUMNS)} from events where stream_id = ${streamId} order by stream_version`;
  return (await vault.open(sql, rows.map(toStoredEvent))).map(upcastEvent);
}

/** Versions after `afterVersion` and before `beforeVersion` of one stream, as readStream gives them. */
export async function readStreamRange(
  sql: Sql | TransactionSql,
  vault: PersonalDataVault,
  streamId: string,
  afterVersion: number,
  beforeVersion: number,
): Promise<StoredEvent[]> {
  const rows = await sql<EventRow[]>`
    select ${sql.unsafe(EVENT_COLUMNS)} from events
    where stream_id = ${streamId} and stream_version > ${afterVersion} and stream_version < ${beforeVersion} order by stream_version`;
  return (await vault.open(sql, rows.map(toStoredEvent))).map(upcastEvent);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The stored events with these ids, as the relay publishes them (sealed fields stay sealed), by event id. */
export async function storedEventsById(
  sql: Sql | TransactionSql,
  eventIds: readonly unknown[],
): Promise<Map<string, StoredEvent>> {
  const ids = [...new Set(eventIds.filter((id): id is string => typeof id === 'string' && UUID.test(id)))];
  if (ids.length === 0) return new Map();
  const rows = await sql<
    EventRow[]
  >`select ${sql.unsafe(EVENT_COLUMNS)} from events where event_id = any(${ids}::uuid[])`;
  return new Map(rows.map((r) => [r.event_id, toStoredEvent(r)]));
}
