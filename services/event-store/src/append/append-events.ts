import type { EventMetadata } from '@vru/contracts';
import type { Commit, TransactionSql } from '@vru/runtime';
import { EVENT_APPEND_LOCK } from '../event-row.js';

/** One event to append at the stream version its writer decided under the stream's lock. */
export interface NewEvent {
  eventId: string;
  streamId: string;
  streamVersion: number;
  type: string;
  schemaVersion: number;
  providerId: string;
  programmeId: string | null;
  occurredAt: string;
  /** As stored: personal fields already sealed. */
  data: Record<string, unknown>;
  metadata: EventMetadata;
  requestHash: string;
}

/** A stream's new version and decider state, stored with the events that produced them. */
export interface StreamSnapshot {
  streamId: string;
  version: number;
  state: unknown;
  stateVersion: number;
  providerId: string;
}

/**
 * Appends events, their outbox rows and the streams' snapshots in one statement (one round trip, one write to the
 * socket), under the append lock; answers each event's log position by event id. The caller holds the streams' locks
 * (lockStreams) and chose the versions. With `commit` (pipelinedTransaction's), the transaction commits in the same
 * round trip, so the append lock is held for the insert and the commit's WAL flush only.
 */
export async function appendEvents(
  tx: TransactionSql,
  events: readonly NewEvent[],
  snapshots: readonly StreamSnapshot[],
  commit?: Commit,
): Promise<Map<string, string>> {
  // Positions are allocated and committed in one order (see EVENT_APPEND_LOCK). Taken as late as possible, so appends
  // serialise only for the insert and the commit; sent with the insert, not awaited alone (one round trip).
  const ordered = tx`select pg_advisory_xact_lock(${EVENT_APPEND_LOCK})`.execute();
  const inserted = tx<{ event_id: string; position: bigint }[]>`
      with input as (
        select * from unnest(
          ${events.map((e) => e.eventId)}::uuid[],
          ${events.map((e) => e.streamId)}::text[],
          ${events.map((e) => e.streamVersion)}::int[],
          ${events.map((e) => e.type)}::text[],
          ${events.map((e) => e.schemaVersion)}::int[],
          ${events.map((e) => e.providerId)}::text[],
          ${events.map((e) => e.programmeId)}::text[],
          ${events.map((e) => e.occurredAt)}::timestamptz[],
          ${events.map((e) => JSON.stringify(e.data))}::text[],
          ${events.map((e) => JSON.stringify(e.metadata))}::text[],
          ${events.map((e) => e.requestHash)}::text[]
        ) with ordinality as x(event_id, stream_id, stream_version, type, schema_version, provider_id, programme_id,
                                occurred_at, data, metadata, request_hash, ord)
      ), ins as (
        insert into events (event_id, stream_id, stream_version, type, schema_version, provider_id, programme_id,
                            occurred_at, data, metadata, request_hash)
        -- JSON travels as text: postgres.js would encode a jsonb[] parameter's elements as JSON strings.
        select event_id, stream_id, stream_version, type, schema_version, provider_id, programme_id,
               occurred_at, data::jsonb, metadata::jsonb, request_hash
        from input order by ord
        returning position, event_id
      ), outbox_rows as (
        insert into outbox (position) select position from ins
      ), snapshots as (
        update streams s set version = x.version, state = x.state::jsonb, state_version = x.state_version, provider_id = x.provider_id
        from unnest(${snapshots.map((d) => d.streamId)}::text[], ${snapshots.map((d) => d.version)}::int[],
                    ${snapshots.map((d) => JSON.stringify(d.state))}::text[], ${snapshots.map((d) => d.stateVersion)}::int[],
                    ${snapshots.map((d) => d.providerId)}::text[])
             as x(stream_id, version, state, state_version, provider_id)
        where s.stream_id = x.stream_id
      )
      select event_id, position from ins`.execute();
  // Sent after the insert: statements run in the order they are sent.
  const [, stored] = await Promise.all([ordered, inserted, commit?.()]);
  return new Map(stored.map((r) => [r.event_id, r.position.toString()]));
}
