import type { StoredEvent } from '@vru/contracts';
import type { TransactionSql } from '@vru/runtime';
import { EVENT_COLUMNS, toStoredEvent, upcastEvent, type EventRow } from '../event-row.js';
import type { PersonalDataVault } from '../personal-data.js';

/** Every event of these streams, in stream order, personal fields opened and upcast: for rebuilding their state. */
export async function readStreams(
  tx: TransactionSql,
  vault: PersonalDataVault,
  streamIds: readonly string[],
): Promise<StoredEvent[]> {
  const rows = await tx<EventRow[]>`
    select ${tx.unsafe(EVENT_COLUMNS)} from events where stream_id = any(${streamIds}::text[]) order by stream_id, stream_version`;
  return (await vault.open(tx, rows.map(toStoredEvent))).map(upcastEvent);
}
