import type { ValidSubmission } from '@vru/contracts';
import { matchLookup, PersonalDataVault } from '@vru/event-store';
import type { TransactionSql } from '@vru/runtime';

/** Events that erase a person: their key is destroyed, and whatever was derived from their data dropped. */
export const ERASURE_TYPES: ReadonlySet<string> = new Set(['ParticipantErased', 'ComparisonRecordErased']);

/**
 * In the same transaction as the events: match tokens indexed; an erased participant's key destroyed and their
 * match-index entry deleted (it links the stream to a keyed hash of their name and date of birth).
 */
export async function recordKeeping(
  tx: TransactionSql,
  pseudonymSecret: string,
  rows: readonly { streamId: string; providerId: string; submission: ValidSubmission }[],
): Promise<void> {
  const tokens = rows.filter((r) => r.submission.type === 'MatchTokenRecorded');
  if (tokens.length > 0) {
    // A participant has one token: a newer one (a corrected name or date of birth) replaces the old.
    await tx`delete from match_index where stream_id = any(${tokens.map((r) => r.streamId)}::text[])`;
    const last = new Map(tokens.map((r) => [r.streamId, r]));
    await tx`
      insert into match_index (lookup, stream_id, provider_id)
      select * from unnest(${[...last.values()].map((r) => matchLookup(pseudonymSecret, r.submission.data.matchToken as string))}::text[],
                           ${[...last.keys()]}::text[], ${[...last.values()].map((r) => r.providerId)}::text[])
      on conflict do nothing`;
  }
  const erased = rows.filter((r) => ERASURE_TYPES.has(r.submission.type)).map((r) => r.streamId);
  await PersonalDataVault.destroyKeys(tx, erased);
  if (erased.length > 0) await tx`delete from match_index where stream_id = any(${erased}::text[])`;
}
