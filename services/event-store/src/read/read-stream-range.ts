import type { StoredEvent } from '@vru/contracts';
import type { Sql, TransactionSql } from '@vru/runtime';
import { EVENT_COLUMNS, toStoredEvent, upcastEvent, type EventRow } from '../event-row.js';
import type { PersonalDataVault } from '../personal-data.js';

/**
 * Versions after `afterVersion` and before `beforeVersion` of one stream, as readStream gives them (personal fields
 * decrypted for the types `opens` accepts, as PersonalDataVault.open).
 */
export async function readStreamRange(
  sql: Sql | TransactionSql,
  vault: PersonalDataVault,
  streamId: string,
  afterVersion: number,
  beforeVersion: number,
  opens?: (type: string) => boolean,
): Promise<StoredEvent[]> {
  const rows = await sql<EventRow[]>`
    select ${sql.unsafe(EVENT_COLUMNS)} from events
    where stream_id = ${streamId} and stream_version > ${afterVersion} and stream_version < ${beforeVersion} order by stream_version`;
  return (await vault.open(sql, rows.map(toStoredEvent), opens)).map(upcastEvent);
}
