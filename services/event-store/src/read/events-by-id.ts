import type { StoredEvent } from '@vru/contracts';
import type { Sql, TransactionSql } from '@vru/runtime';
import { EVENT_COLUMNS, toStoredEvent, type EventRow } from '../event-row.js';

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
