import type { Sql } from '@vru/runtime';

/** The erasure already stored in a participant's stream, if any: a retried erasure request answers with it. */
export async function storedErasure(
  sql: Sql,
  streamId: string,
): Promise<{ eventId: string; streamVersion: number; position: string } | null> {
  const [row] = await sql<{ event_id: string; stream_version: number; position: bigint }[]>`
    select event_id, stream_version, position from events where stream_id = ${streamId} and type = 'ParticipantErased' limit 1`;
  return row ? { eventId: row.event_id, streamVersion: row.stream_version, position: row.position.toString() } : null;
}
