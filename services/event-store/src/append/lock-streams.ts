import type { StreamKind } from '@vru/contracts';
import type { TransactionSql } from '@vru/runtime';

/** A stream as the writer needs it: its version and the decider state stored with it (its snapshot). */
export interface StreamRow {
  stream_id: string;
  kind: StreamKind;
  provider_id: string;
  version: number;
  state: unknown;
  state_version: number;
}

/**
 * Creates the streams that do not exist yet and locks all of them until the transaction ends, in id order so that
 * concurrent appends cannot deadlock.
 */
export async function lockStreams(
  tx: TransactionSql,
  streams: readonly { streamId: string; kind: StreamKind; providerId: string }[],
): Promise<StreamRow[]> {
  const sorted = [...streams].sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0));
  return tx<StreamRow[]>`
    insert into streams (stream_id, kind, provider_id)
    select id, kind, provider from unnest(${sorted.map((s) => s.streamId)}::text[], ${sorted.map((s) => s.kind)}::text[],
                                          ${sorted.map((s) => s.providerId)}::text[]) as x(id, kind, provider)
    order by id
    on conflict (stream_id) do update set stream_id = excluded.stream_id
    returning stream_id, kind, provider_id, version, state, state_version`;
}
