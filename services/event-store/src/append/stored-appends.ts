import type { Sql, TransactionSql } from '@vru/runtime';

/** What an earlier append of an eventId left behind: enough to tell a retry from a reused eventId, and to answer it. */
export interface StoredAppend {
  event_id: string;
  request_hash: string;
  stream_version: number;
  position: bigint;
}

/** The appends already stored under these event ids, by event id. */
export async function storedAppends(
  sql: Sql | TransactionSql,
  eventIds: readonly string[],
): Promise<Map<string, StoredAppend>> {
  const rows = await sql<StoredAppend[]>`
    select event_id, request_hash, stream_version, position from events where event_id = any(${[...new Set(eventIds)]}::uuid[])`;
  return new Map(rows.map((r) => [r.event_id, r]));
}
