import { upcast, type EventMetadata, type StoredEvent } from '@vru/contracts';

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

/**
 * A timestamp column as ISO 8601 text in UTC: to the millisecond exactly as a Date read from it prints it
 * (`toISOString`; both drop the microseconds), or to the microsecond.
 */
export const isoTimeSql = (column: string, unit: 'milliseconds' | 'microseconds'): string =>
  `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.${unit === 'milliseconds' ? 'MS' : 'US'}"Z"')`;

/**
 * EVENT_COLUMNS with the timestamps as a Date's ISO text, for readers of many rows (a replay): toStoredEvent gives the
 * same event without a Date made and printed for each timestamp.
 */
export const EVENT_COLUMNS_TIMES_AS_TEXT = EVENT_COLUMN_NAMES.map((c) =>
  c === 'occurred_at' || c === 'recorded_at' ? `${isoTimeSql(c, 'milliseconds')} as ${c}` : c,
).join(', ');

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
 * A row read with its timestamps rendered in SQL as ISO text: as the audit log reads it (ENTRY_COLUMNS, with the
 * microseconds a Date would lose), or with EVENT_COLUMNS_TIMES_AS_TEXT.
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
