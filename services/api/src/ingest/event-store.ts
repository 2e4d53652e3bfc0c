import { createHmac, hkdfSync } from 'node:crypto';
import {
  upcast, type EventDefinition, type EventMetadata, type FieldError, type Principal, type StoredEvent, type StreamKind,
  type ValidSubmission,
} from '@vru/contracts';
import {
  comparisonDecider, DomainRuleError, grantDecider, participantDecider, type Decider, type DecisionContext, type DomainEvent,
} from '@vru/domain';
import {
  canonicalJson, comparisonStreamId, EVENT_APPEND_LOCK, grantStreamId, matchLookup, participantId, participantStreamId, PersonalDataVault,
  sessionDigest, sha256Hex,
} from '@vru/event-store';
import { countAppended, type Sql, type TransactionSql } from '@vru/runtime';
import { ReferenceData } from './reference-data.js';

/** Events that erase a person: their key is destroyed, and whatever was derived from their data dropped. */
const ERASURE_TYPES: ReadonlySet<string> = new Set(['ParticipantErased', 'ComparisonRecordErased']);

export interface AppendCommand {
  submission: ValidSubmission;
  definition: EventDefinition;
  principal: Principal;
  requestId: string;
  source: EventMetadata['source'];
  /** Set by the service itself (retention), never from a request: the participant stream, for lack of a reference. */
  streamId?: string;
}

export type Rejection = { status: 'rejected'; httpStatus: 403 | 409 | 422; code: string; title: string; errors: FieldError[] };
export type AppendOutcome =
  | { status: 'accepted' | 'duplicate'; eventId: string; streamVersion: number; position: string }
  | Rejection;

export const rejection = (httpStatus: Rejection['httpStatus'], code: string, title: string, errors: FieldError[]): Rejection => ({
  status: 'rejected', httpStatus, code, title, errors,
});

interface StreamRow {
  stream_id: string;
  kind: StreamKind;
  provider_id: string;
  version: number;
  state: unknown;
  state_version: number;
}

interface Match {
  streamId: string;
  providerId: string;
  programmeId: string | null;
}

interface Target {
  streamId: string;
  kind: StreamKind;
  providerId: string;
  programmeId: string | null;
}

const decidersWith = (pseudonymSecret: string): Record<StreamKind, Decider<unknown>> => ({
  participant: participantDecider(sessionDigest(pseudonymSecret)) as Decider<unknown>,
  grant: grantDecider as Decider<unknown>,
  comparison: comparisonDecider as Decider<unknown>,
});

/** Why a whole append transaction is retried: another writer stored the same eventId between our check and insert. */
const UNIQUE_VIOLATION = '23505';
/** Placeholder provider of a grant event sent by a commissioner or admin: replaced by the grant stream's provider. */
const GRANT_PROVIDER_FROM_STREAM = '';
const MAX_ATTEMPTS = 3;

/**
 * What tells a retry from a reused eventId. Keyed (HMAC with a key derived from PSEUDONYM_SECRET, held outside the
 * database): a plain hash of the submission, next to its event id in a backup, would let whoever guesses a participant's
 * reference and an offence confirm the guess although the offence itself is sealed. Without a key: the hash rows stored
 * before hashes were keyed hold, still honoured for retries of those events.
 */
export function requestHash(submission: ValidSubmission, key: Buffer | null = null): string {
  const { expectedVersion: _ignored, ...content } = submission;
  return key ? createHmac('sha256', key).update(canonicalJson(content)).digest('hex') : sha256Hex(canonicalJson(content));
}

const requestHashKey = (pseudonymSecret: string): Buffer => Buffer.from(hkdfSync('sha256', pseudonymSecret, 'vru', 'request-hash', 32));

export function toDomainEvent(row: { event_id: string; type: string; schema_version: number; occurred_at: Date | string; programme_id: string | null; data: Record<string, unknown> }): DomainEvent {
  const { data } = upcast(row.type, row.schema_version, row.data);
  return {
    eventId: row.event_id,
    type: row.type,
    occurredAt: row.occurred_at instanceof Date ? row.occurred_at.toISOString() : row.occurred_at,
    programmeId: row.programme_id ?? undefined,
    data,
  };
}

/** The answer to an eventId that is already stored: a duplicate if the body is the same, else a 409. */
function repeatOutcome(
  prior: { request_hash: string; stream_version: number; position: bigint }, hash: string, submission: ValidSubmission,
): AppendOutcome {
  const eventId = submission.eventId;
  return prior.request_hash === hash || prior.request_hash === requestHash(submission)
    ? { status: 'duplicate', eventId, streamVersion: prior.stream_version, position: prior.position.toString() }
    : rejection(409, 'event-id-reused', 'This eventId was already used for a different event', [
      { field: '/eventId', rule: 'event-id-reused', message: 'eventId already identifies a different event; use a new UUID' },
    ]);
}

/**
 * The append path. Takes many commands at once (a batch, or concurrent single requests coalesced by GroupCommit)
 * and stores the accepted ones in one transaction: event rows, outbox rows and stream snapshots together.
 * Each command still gets its own answer: accepted, duplicate, or rejected with the rule it broke.
 */
export class EventStore {
  readonly reference: ReferenceData;
  readonly vault: PersonalDataVault;

  private readonly requestHashKey: Buffer;
  private readonly deciders: Record<StreamKind, Decider<unknown>>;

  constructor(private readonly sql: Sql, private readonly pseudonymSecret: string, personalDataKey: string) {
    this.reference = new ReferenceData(sql);
    this.deciders = decidersWith(pseudonymSecret);
    this.vault = new PersonalDataVault(personalDataKey);
    this.requestHashKey = requestHashKey(pseudonymSecret);
  }

  private notifying = false;
  private notifyAgain = false;

  /**
   * Wakes the relay once an append with outbox rows has committed. Sent after the commit, not from a trigger
   * inside the transaction: there PostgreSQL's cluster-wide notify lock is held through the commit's WAL flush,
   * which serialised every append (see migration 005). At most one NOTIFY in flight; appends meanwhile ask for
   * one more. A NOTIFY lost to a crash costs the relay one poll interval (RELAY_POLL_MS), never an event.
   */
  private wakeRelay(): void {
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = true;
    this.sql`select pg_notify('outbox', '')`.catch(() => {}).finally(() => {
      this.notifying = false;
      if (this.notifyAgain) {
        this.notifyAgain = false;
        this.wakeRelay();
      }
    });
  }

  /** Participants that data partners' match tokens point at (token → streams), looked up before the transaction. */
  private async matchesFor(commands: AppendCommand[]): Promise<Map<string, Match[]>> {
    const tokens = [...new Set(commands.map((c) => c.submission.matchToken).filter((t): t is string => t !== undefined))];
    const out = new Map<string, Match[]>();
    if (tokens.length === 0) return out;
    const lookups = new Map(tokens.map((t) => [matchLookup(this.pseudonymSecret, t), t]));
    // The participant's programme comes from its latest event: the data partner does not know it.
    const rows = await this.sql<{ lookup: string; stream_id: string; provider_id: string; programme_id: string | null }[]>`
      select m.lookup, m.stream_id, m.provider_id,
             (select e.programme_id from events e where e.stream_id = m.stream_id order by e.stream_version desc limit 1) as programme_id
      from match_index m where m.lookup = any(${[...lookups.keys()]}::text[]) order by m.stream_id`;
    for (const r of rows) {
      const token = lookups.get(r.lookup)!;
      out.set(token, [...(out.get(token) ?? []), { streamId: r.stream_id, providerId: r.provider_id, programmeId: r.programme_id }]);
    }
    return out;
  }

  /** Where a command's event goes, or why it may not go anywhere. Pure apart from reference data and matches. */
  private target(cmd: AppendCommand, matches: Map<string, Match[]>): Target | Rejection {
    const { submission: s, definition: def, principal } = cmd;
    if (!def.submittedBy.includes(principal.role)) {
      return rejection(403, 'role-not-permitted', 'This key may not submit this event type', [
        { field: '/type', rule: 'role-not-permitted', message: `${def.type} is submitted by ${def.submittedBy.join(' or ')} keys only` },
      ]);
    }
    if (def.stream === 'grant') {
      const grantRef = s.grantRef as string;
      // A commissioner's targets belong to the grant's provider, known once the stream is loaded (see append).
      const providerId = def.type === 'GrantAwarded' ? (s.data.providerId as string) : (principal.providerId ?? GRANT_PROVIDER_FROM_STREAM);
      return { streamId: grantStreamId(grantRef), kind: 'grant', providerId, programmeId: (s.data.programmeId as string | undefined) ?? null };
    }
    if (cmd.streamId !== undefined) {
      return { streamId: cmd.streamId, kind: def.stream, providerId: principal.providerId as string, programmeId: s.programmeId ?? null };
    }
    if (def.stream === 'comparison') {
      // The data partner owns the record: its id stands where a participant's provider would.
      const dataPartnerId = s.dataPartnerId as string;
      return {
        streamId: comparisonStreamId(this.pseudonymSecret, dataPartnerId, s.comparisonRef as string),
        kind: 'comparison', providerId: dataPartnerId, programmeId: null,
      };
    }
    if (s.matchToken !== undefined) {
      const candidates = (matches.get(s.matchToken) ?? []).filter((m) => s.providerId === undefined || m.providerId === s.providerId);
      if (candidates.length === 0) {
        return rejection(422, 'no-match', 'No participant has this match token', [
          { field: '/matchToken', rule: 'no-match', message: 'No participant (of this provider, if providerId is given) has this match token' },
        ]);
      }
      if (candidates.length > 1) {
        return rejection(409, 'ambiguous-match', 'The match token names more than one participant', [
          { field: '/matchToken', rule: 'ambiguous-match', message: `The token matches ${candidates.length} participants; add providerId, or ask the providers to resolve the duplicate` },
        ]);
      }
      const match = candidates[0]!;
      return { streamId: match.streamId, kind: 'participant', providerId: match.providerId, programmeId: s.programmeId ?? match.programmeId };
    }
    const providerId = principal.role === 'provider' ? (principal.providerId as string) : (s.providerId as string);
    return {
      streamId: participantStreamId(participantId(this.pseudonymSecret, providerId, s.participantRef as string)),
      kind: 'participant',
      providerId,
      programmeId: s.programmeId ?? null,
    };
  }

  async append(commands: AppendCommand[]): Promise<AppendOutcome[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const outcomes = await this.appendOnce(commands);
        if (outcomes.some((o) => o.status === 'accepted')) this.wakeRelay();
        return countAppended(commands, outcomes);
      } catch (err) {
        if ((err as { code?: string }).code === UNIQUE_VIOLATION && attempt < MAX_ATTEMPTS) continue;
        throw err;
      }
    }
  }

  private async appendOnce(commands: AppendCommand[]): Promise<AppendOutcome[]> {
    const outcomes: (AppendOutcome | undefined)[] = new Array(commands.length);
    const targets: (Target | undefined)[] = new Array(commands.length);
    const hashes = commands.map((c) => requestHash(c.submission, this.requestHashKey));
    const now = new Date().toISOString();
    const [, matches] = await Promise.all([this.reference.refreshIfStale(), this.matchesFor(commands)]);

    commands.forEach((cmd, i) => {
      const t = this.target(cmd, matches);
      if ('status' in t) outcomes[i] = t;
      else {
        const refErrors = this.reference.check(cmd, t);
        if (refErrors.length > 0) outcomes[i] = rejection(422, 'unknown-reference', 'The submission names something that is not registered', refErrors);
        else targets[i] = t;
      }
    });

    const live = commands.map((_, i) => i).filter((i) => targets[i] !== undefined);
    if (live.length === 0) return outcomes as AppendOutcome[];

    return this.sql.begin(async (tx) => {
      const eventIds = [...new Set(live.map((i) => commands[i]!.submission.eventId))];
      const streamIds = [...new Set(live.map((i) => targets[i]!.streamId))].sort();
      const streamMeta = new Map(live.map((i) => [targets[i]!.streamId, targets[i]!]));
      const [existing, streams] = await Promise.all([
        tx<{ event_id: string; request_hash: string; stream_version: number; position: bigint }[]>`
          select event_id, request_hash, stream_version, position from events where event_id = any(${eventIds}::uuid[])`,
        // Creates missing streams and locks all of them, in id order so concurrent batches cannot deadlock.
        tx<StreamRow[]>`
          insert into streams (stream_id, kind, provider_id)
          select id, kind, provider from unnest(${streamIds}::text[], ${streamIds.map((id) => streamMeta.get(id)!.kind)}::text[],
                                                ${streamIds.map((id) => streamMeta.get(id)!.providerId)}::text[]) as x(id, kind, provider)
          order by id
          on conflict (stream_id) do update set stream_id = excluded.stream_id
          returning stream_id, kind, provider_id, version, state, state_version`,
      ]);
      const known = new Map(existing.map((r) => [r.event_id, r]));
      const states = await this.loadStates(tx, streams);

      const inserts: { i: number; target: Target; version: number; metadata: EventMetadata }[] = [];
      const seenInBatch = new Map<string, number>();
      // Refused because of the stream's state, which may be the state this very event produced: see below.
      const refusedByState: number[] = [];
      for (const i of live) {
        const cmd = commands[i]!;
        const s = cmd.submission;
        const prior = known.get(s.eventId);
        if (prior) {
          outcomes[i] = repeatOutcome(prior, hashes[i]!, s);
          continue;
        }
        const firstInBatch = seenInBatch.get(s.eventId);
        if (firstInBatch !== undefined) {
          outcomes[i] = hashes[firstInBatch] === hashes[i]
            ? { status: 'duplicate-in-batch', of: firstInBatch } as unknown as AppendOutcome
            : rejection(409, 'event-id-reused', 'This eventId was already used for a different event', [
              { field: '/eventId', rule: 'event-id-reused', message: 'eventId appears twice in this submission with different content' },
            ]);
          continue;
        }
        let target = targets[i]!;
        const stream = states.get(target.streamId)!;
        if (target.providerId === GRANT_PROVIDER_FROM_STREAM) target = { ...target, providerId: stream.providerId };
        if (stream.kind !== target.kind || (target.kind === 'grant' && !this.ownsGrant(cmd, stream))) {
          outcomes[i] = rejection(409, 'unknown-grant', 'No such grant for this provider', [
            { field: '/grantRef', rule: 'unknown-grant', message: 'No grant with this reference has been awarded to your organisation' },
          ]);
          refusedByState.push(i);
          continue;
        }
        if (s.expectedVersion !== undefined && s.expectedVersion !== stream.version) {
          outcomes[i] = rejection(409, 'version-conflict', 'The stream has changed since you read it', [
            { field: '/expectedVersion', rule: 'version-conflict', message: `Expected version ${s.expectedVersion}, stream is at ${stream.version}` },
          ]);
          refusedByState.push(i);
          continue;
        }
        const decider = this.deciders[target.kind];
        const event: DomainEvent = {
          eventId: s.eventId, type: s.type, occurredAt: s.occurredAt, programmeId: s.programmeId,
          data: upcast(s.type, s.schemaVersion, s.data).data,
        };
        const context: DecisionContext = { now, programme: target.kind === 'participant' ? this.reference.programme(target.programmeId) : undefined };
        try {
          const decided = decider.decide({ type: 'RecordFact', event, context }, stream.state);
          for (const e of decided) stream.state = decider.evolve(stream.state, e);
        } catch (err) {
          if (!(err instanceof DomainRuleError)) throw err;
          // A fact invalid on its own (a future date, before the programme started) is 422 whatever the stream's
          // history; 409 only when every reason is a conflict with that history.
          const status = err.violations.some((v) => v.status === 422) ? 422 : 409;
          outcomes[i] = rejection(status, err.violations[0]!.rule, 'The event breaks a business rule', err.violations.map(({ rule, field, message }) => ({ rule, field, message })));
          refusedByState.push(i);
          continue;
        }
        stream.version += 1;
        stream.dirty = true;
        if (target.kind === 'grant') stream.providerId = (stream.state as { providerId: string }).providerId;
        seenInBatch.set(s.eventId, i);
        inserts.push({
          i, target, version: stream.version,
          metadata: { requestId: cmd.requestId, keyId: cmd.principal.keyId, role: cmd.principal.role, source: cmd.source },
        });
      }

      // The eventId lookup ran alongside taking the stream locks, so it cannot see an event that another API
      // instance stored while this one waited for the lock (the same event retried on two instances at once).
      // Refused against the state that event produced, such a retry would answer 409 instead of duplicate:
      // look those up again, now under the lock, and answer as for any repeat.
      if (refusedByState.length > 0) {
        const ids = refusedByState.map((i) => commands[i]!.submission.eventId);
        const meanwhile = new Map((await tx<{ event_id: string; request_hash: string; stream_version: number; position: bigint }[]>`
          select event_id, request_hash, stream_version, position from events where event_id = any(${ids}::uuid[])`).map((r) => [r.event_id, r]));
        for (const i of refusedByState) {
          const prior = meanwhile.get(commands[i]!.submission.eventId);
          if (prior) outcomes[i] = repeatOutcome(prior, hashes[i]!, commands[i]!.submission);
        }
      }

      if (inserts.length > 0) {
        const dirty = [...states.values()].filter((st) => st.dirty);
        const storedData = await this.storedData(tx, inserts.map((x) => ({ streamId: x.target.streamId, submission: commands[x.i]!.submission })));
        // Before the insert, so that the append lock below is held for as short a time as possible.
        await this.recordKeeping(tx, inserts.map((x) => ({ streamId: x.target.streamId, providerId: x.target.providerId, submission: commands[x.i]!.submission })));
        // Positions are allocated and committed in one order (see EVENT_APPEND_LOCK). Taken as late as possible, so
        // appends serialise only for the insert and the commit; sent with the insert, not awaited alone (one round trip).
        const ordered = tx`select pg_advisory_xact_lock(${EVENT_APPEND_LOCK})`.execute();
        // Events, outbox rows and stream snapshots in one statement: one round trip and one write to the socket.
        const [, stored] = await Promise.all([ordered, tx<{ event_id: string; position: bigint }[]>`
            with input as (
              select * from unnest(
                ${inserts.map((x) => commands[x.i]!.submission.eventId)}::uuid[],
                ${inserts.map((x) => x.target.streamId)}::text[],
                ${inserts.map((x) => x.version)}::int[],
                ${inserts.map((x) => commands[x.i]!.submission.type)}::text[],
                ${inserts.map((x) => commands[x.i]!.submission.schemaVersion)}::int[],
                ${inserts.map((x) => x.target.providerId)}::text[],
                ${inserts.map((x) => x.target.programmeId ?? states.get(x.target.streamId)!.programmeId)}::text[],
                ${inserts.map((x) => commands[x.i]!.submission.occurredAt)}::timestamptz[],
                ${storedData.map((d) => JSON.stringify(d))}::text[],
                ${inserts.map((x) => JSON.stringify(x.metadata))}::text[],
                ${inserts.map((x) => hashes[x.i]!)}::text[]
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
              from unnest(${dirty.map((d) => d.streamId)}::text[], ${dirty.map((d) => d.version)}::int[],
                          ${dirty.map((d) => JSON.stringify(d.state))}::text[], ${dirty.map((d) => d.stateVersion)}::int[],
                          ${dirty.map((d) => d.providerId)}::text[])
                   as x(stream_id, version, state, state_version, provider_id)
              where s.stream_id = x.stream_id
            )
            select event_id, position from ins`]);
        const positions = new Map(stored.map((r) => [r.event_id, r.position.toString()]));
        for (const x of inserts) {
          const eventId = commands[x.i]!.submission.eventId;
          outcomes[x.i] = { status: 'accepted', eventId, streamVersion: x.version, position: positions.get(eventId)! };
        }
      }
      // Repeats inside one submission answer like the first, as a duplicate when the first was stored.
      return outcomes.map((o) => {
        const dup = o as unknown as { status: string; of?: number };
        if (dup?.status !== 'duplicate-in-batch') return o as AppendOutcome;
        const first = outcomes[dup.of!] as AppendOutcome;
        return first.status === 'accepted' ? { ...first, status: 'duplicate' as const } : first;
      });
    });
  }

  /** The data as stored: personal fields sealed with each participant's key (created on first need). */
  private async storedData(tx: TransactionSql, rows: { streamId: string; submission: ValidSubmission }[]): Promise<Record<string, unknown>[]> {
    const sealing = rows.filter((r) => PersonalDataVault.needsSealing(r.submission.type, r.submission.data));
    const keys = await this.vault.keysFor(tx, [...new Set(sealing.map((r) => r.streamId))].sort());
    // keysFor returns keys only for streams with something to seal; seal() leaves an event without personal fields as it is.
    return rows.map((r) => {
      const key = keys.get(r.streamId);
      return key ? PersonalDataVault.seal(r.submission.type, r.streamId, r.submission.data, key) : r.submission.data;
    });
  }

  /**
   * In the same transaction as the events: match tokens indexed; an erased participant's key destroyed and their
   * match-index entry deleted (it links the stream to a keyed hash of their name and date of birth).
   */
  private async recordKeeping(tx: TransactionSql, rows: { streamId: string; providerId: string; submission: ValidSubmission }[]): Promise<void> {
    const tokens = rows.filter((r) => r.submission.type === 'MatchTokenRecorded');
    if (tokens.length > 0) {
      // A participant has one token: a newer one (a corrected name or date of birth) replaces the old.
      await tx`delete from match_index where stream_id = any(${tokens.map((r) => r.streamId)}::text[])`;
      const last = new Map(tokens.map((r) => [r.streamId, r]));
      await tx`
        insert into match_index (lookup, stream_id, provider_id)
        select * from unnest(${[...last.values()].map((r) => matchLookup(this.pseudonymSecret, r.submission.data.matchToken as string))}::text[],
                             ${[...last.keys()]}::text[], ${[...last.values()].map((r) => r.providerId)}::text[])
        on conflict do nothing`;
    }
    const erased = rows.filter((r) => ERASURE_TYPES.has(r.submission.type))
      .map((r) => r.streamId);
    await PersonalDataVault.destroyKeys(tx, erased);
    if (erased.length > 0) await tx`delete from match_index where stream_id = any(${erased}::text[])`;
  }

  private ownsGrant(cmd: AppendCommand, stream: LoadedStream): boolean {
    // Commissioners and admins set awards and targets on any grant; a provider touches only its own.
    if (cmd.definition.type === 'GrantAwarded' || cmd.principal.role !== 'provider') return true;
    const state = stream.state as { providerId: string | null; awarded: boolean };
    // A grant not yet awarded falls through to the decider's unknown-grant rule.
    return !state.awarded || state.providerId === cmd.principal.providerId;
  }

  /** Stream snapshots, rebuilt from the stream's events when missing or of an older shape. */
  private async loadStates(tx: TransactionSql, rows: StreamRow[]): Promise<Map<string, LoadedStream>> {
    const out = new Map<string, LoadedStream>();
    const stale: StreamRow[] = [];
    for (const r of rows) {
      const decider = this.deciders[r.kind];
      const fresh = r.version === 0 || (r.state !== null && r.state_version === decider.stateVersion);
      if (!fresh) stale.push(r);
      out.set(r.stream_id, {
        streamId: r.stream_id, kind: r.kind, providerId: r.provider_id, version: r.version,
        state: r.version === 0 ? decider.initialState() : r.state, stateVersion: decider.stateVersion, dirty: false,
        programmeId: (r.state as { programmeId?: string } | null)?.programmeId ?? null,
      });
    }
    if (stale.length > 0) {
      const events = await tx<{ stream_id: string; event_id: string; type: string; schema_version: number; occurred_at: Date; programme_id: string | null; data: Record<string, unknown> }[]>`
        select stream_id, event_id, type, schema_version, occurred_at, programme_id, data from events
        where stream_id = any(${stale.map((s) => s.stream_id)}::text[]) order by stream_id, stream_version`;
      for (const s of stale) out.get(s.stream_id)!.state = this.deciders[s.kind].initialState();
      // Sealed fields opened first: the participant state keeps digests of the (sealed) session ids.
      const opened = await this.vault.open(tx, events.map((e) => ({ ...e, streamId: e.stream_id }) as unknown as StoredEvent));
      for (const [i, e] of events.entries()) {
        const st = out.get(e.stream_id)!;
        st.state = this.deciders[st.kind].evolve(st.state, toDomainEvent({ ...e, data: opened[i]!.data }));
      }
      for (const s of stale) out.get(s.stream_id)!.dirty = true;
    }
    return out;
  }
}

interface LoadedStream {
  streamId: string;
  kind: StreamKind;
  providerId: string;
  version: number;
  state: unknown;
  stateVersion: number;
  dirty: boolean;
  programmeId: string | null;
}
