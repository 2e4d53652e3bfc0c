import type { StoredEvent } from '@vru/contracts';
import type { Sql } from '@vru/runtime';
import { EVENT_COLUMNS, toStoredEvent, upcastEvent, type EventRow } from '../event-row.js';
import type { PersonalDataVault } from '../personal-data.js';

/** A stream's events in order, personal fields opened, upcast to the latest schema versions. */
export async function readStream(sql: Sql, vault: PersonalDataVault, streamId: string): Promise<StoredEvent[]> {
  const rows = await sql<EventRow[]>`
    select ${sql.unsafe(EVENT_COLUMNS)} from events where stream_id = ${streamId} order by stream_version`;
  return (await vault.open(sql, rows.map(toStoredEvent))).map(upcastEvent);
}
