import {
  upcast,
  type EventMetadata,
  type EventType,
  type StoredEvent,
  type StreamKind,
  type ValidSubmission,
} from '@vru/contracts';
import {
  commandFor,
  DomainRuleError,
  refusal,
  refusalOf,
  streamDeciders,
  type AnyDecider,
  type DecisionContext,
  type DomainEvent,
  type Refusal,
} from '@vru/domain';
import {
  appendEvents,
  lockStreams,
  PersonalDataVault,
  readStreams,
  RelayWaker,
  sessionDigest,
  storedAppends,
  type NewEvent,
  type StoredAppend,
  type StreamRow,
} from '@vru/event-store';
import { countAppended, pipelinedTransaction, type Sql, type TransactionSql } from '@vru/runtime';
import { ReferenceData } from './reference-data.js';
import { recordKeeping } from './record-keeping.js';
import { requestHash, requestHashKey } from './request-hash.js';
import { GRANT_PROVIDER_FROM_STREAM, matchesFor, targetOf, type AppendCommand, type Target } from './targets.js';

export type { AppendCommand } from './targets.js';

export type AppendOutcome =
  { status: 'accepted' | 'duplicate'; eventId: string; streamVersion: number; position: string } | Refusal;

/** Why a whole append transaction is retried: another writer stored the same eventId between our check and insert. */
const UNIQUE_VIOLATION = '23505';
const MAX_ATTEMPTS = 3;

/** A stored event as the deciders read it. Stored events were validated against the catalogue when appended; read upcast. */
export const toDomainEvent = (event: StoredEvent): DomainEvent =>
  ({
    eventId: event.eventId,
    type: event.type,
    occurredAt: event.occurredAt,
    programmeId: event.programmeId ?? undefined,
    data: event.data,
  }) as DomainEvent;

const eventIdReused = (message: string): Refusal =>
  refusal('conflicts-with-history', 'event-id-reused', 'This eventId was already used for a different event', [
    { field: '/eventId', rule: 'event-id-reused', message },
  ]);

/** The answer to an eventId that is already stored: a duplicate if the body is the same, else a conflict. */
function repeatOutcome(prior: StoredAppend, hash: string, submission: ValidSubmission): AppendOutcome {
  return prior.request_hash === hash || prior.request_hash === requestHash(submission)
    ? {
        status: 'duplicate',
        eventId: submission.eventId,
        streamVersion: prior.stream_version,
        position: prior.position.toString(),
      }
    : eventIdReused('eventId already identifies a different event; use a new UUID');
}

/** A locked stream in the handler's hands: its decider state, evolved by the events decided in this transaction. */
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

/**
 * The command handler. Takes many commands at once (a batch, or concurrent single requests coalesced by GroupCommit):
 * finds each one's stream, loads the streams' state (snapshot, or the events when it is missing or of an older shape),
 * asks the stream's decider, and appends what it decides in one transaction through the event store. Each command
 * gets its own answer: accepted, duplicate, or refused with the rule it broke.
 */
export class CommandHandler {
  readonly reference: ReferenceData;
  readonly vault: PersonalDataVault;

  private readonly requestHashKey: Buffer;
  private readonly deciders: Record<StreamKind, AnyDecider>;
  private readonly relay: RelayWaker;

  constructor(
    private readonly sql: Sql,
    private readonly pseudonymSecret: string,
    personalDataKey: string,
  ) {
    this.reference = new ReferenceData(sql);
    this.deciders = streamDeciders(sessionDigest(pseudonymSecret));
    this.vault = new PersonalDataVault(personalDataKey);
    this.requestHashKey = requestHashKey(pseudonymSecret);
    this.relay = new RelayWaker(sql);
  }

  async handle(commands: AppendCommand[]): Promise<AppendOutcome[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const outcomes = await this.handleOnce(commands);
        if (outcomes.some((o) => o.status === 'accepted')) this.relay.wake();
        return countAppended(commands, outcomes);
      } catch (err) {
        if ((err as { code?: string }).code === UNIQUE_VIOLATION && attempt < MAX_ATTEMPTS) continue;
        throw err;
      }
    }
  }

  private async handleOnce(commands: AppendCommand[]): Promise<AppendOutcome[]> {
    const outcomes = new Array<AppendOutcome | undefined>(commands.length);
    const targets = new Array<Target | undefined>(commands.length);
    const hashes = commands.map((c) => requestHash(c.submission, this.requestHashKey));
    const now = new Date().toISOString();
    const [, matches] = await Promise.all([
      this.reference.refreshIfStale(),
      matchesFor(this.sql, this.pseudonymSecret, commands),
    ]);

    commands.forEach((cmd, i) => {
      const t = targetOf(cmd, matches, this.pseudonymSecret);
      if ('status' in t) outcomes[i] = t;
      else {
        const refErrors = this.reference.check(cmd, t);
        if (refErrors.length > 0)
          outcomes[i] = refusal(
            'invalid',
            'unknown-reference',
            'The submission names something that is not registered',
            refErrors,
          );
        else targets[i] = t;
      }
    });

    const live = commands.map((_, i) => i).filter((i) => targets[i] !== undefined);
    if (live.length === 0) return outcomes as AppendOutcome[];

    return pipelinedTransaction(this.sql, async (tx, commit) => {
      const streamMeta = new Map(live.map((i) => [targets[i]!.streamId, targets[i]!]));
      const [known, streams] = await Promise.all([
        storedAppends(
          tx,
          live.map((i) => commands[i]!.submission.eventId),
        ),
        lockStreams(tx, [...streamMeta.values()]),
      ]);
      const states = await this.loadStates(tx, streams);

      const decided: { i: number; target: Target; version: number; metadata: EventMetadata }[] = [];
      const seenInBatch = new Map<string, number>();
      /** Repeats inside one submission: answered like their first, once that is known. */
      const repeatOf = new Map<number, number>();
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
          if (hashes[firstInBatch] === hashes[i]) repeatOf.set(i, firstInBatch);
          else outcomes[i] = eventIdReused('eventId appears twice in this submission with different content');
          continue;
        }
        let target = targets[i]!;
        const stream = states.get(target.streamId)!;
        if (target.providerId === GRANT_PROVIDER_FROM_STREAM) target = { ...target, providerId: stream.providerId };
        if (stream.kind !== target.kind || (target.kind === 'grant' && !ownsGrant(cmd, stream))) {
          outcomes[i] = refusal('conflicts-with-history', 'unknown-grant', 'No such grant for this provider', [
            {
              field: '/grantRef',
              rule: 'unknown-grant',
              message: 'No grant with this reference has been awarded to your organisation',
            },
          ]);
          refusedByState.push(i);
          continue;
        }
        if (s.expectedVersion !== undefined && s.expectedVersion !== stream.version) {
          outcomes[i] = refusal(
            'conflicts-with-history',
            'version-conflict',
            'The stream has changed since you read it',
            [
              {
                field: '/expectedVersion',
                rule: 'version-conflict',
                message: `Expected version ${s.expectedVersion}, stream is at ${stream.version}`,
              },
            ],
          );
          refusedByState.push(i);
          continue;
        }
        const decider = this.deciders[target.kind];
        const context: DecisionContext = {
          now,
          programme: target.kind === 'participant' ? this.reference.programme(target.programmeId) : undefined,
        };
        const command = commandFor(
          {
            eventId: s.eventId,
            type: cmd.definition.type as EventType,
            occurredAt: s.occurredAt,
            programmeId: s.programmeId,
            data: upcast(s.type, s.schemaVersion, s.data).data,
          },
          context,
        );
        try {
          for (const e of decider.decide(command, stream.state)) stream.state = decider.evolve(stream.state, e);
        } catch (err) {
          if (!(err instanceof DomainRuleError)) throw err;
          outcomes[i] = refusalOf(err);
          refusedByState.push(i);
          continue;
        }
        stream.version += 1;
        stream.dirty = true;
        if (target.kind === 'grant') stream.providerId = (stream.state as { providerId: string }).providerId;
        seenInBatch.set(s.eventId, i);
        decided.push({
          i,
          target,
          version: stream.version,
          metadata: {
            requestId: cmd.requestId,
            keyId: cmd.principal.keyId,
            role: cmd.principal.role,
            source: cmd.source,
          },
        });
      }

      // The eventId lookup ran alongside taking the stream locks, so it cannot see an event that another API
      // instance stored while this one waited for the lock (the same event retried on two instances at once).
      // Refused against the state that event produced, such a retry would answer 409 instead of duplicate:
      // look those up again, now under the lock, and answer as for any repeat.
      if (refusedByState.length > 0) {
        const meanwhile = await storedAppends(
          tx,
          refusedByState.map((i) => commands[i]!.submission.eventId),
        );
        for (const i of refusedByState) {
          const prior = meanwhile.get(commands[i]!.submission.eventId);
          if (prior) outcomes[i] = repeatOutcome(prior, hashes[i]!, commands[i]!.submission);
        }
      }

      if (decided.length > 0) {
        const storedData = await this.storedData(
          tx,
          decided.map((x) => ({ streamId: x.target.streamId, submission: commands[x.i]!.submission })),
        );
        // Before the append, so that the append lock it takes is held for as short a time as possible.
        await recordKeeping(
          tx,
          this.pseudonymSecret,
          decided.map((x) => ({
            streamId: x.target.streamId,
            providerId: x.target.providerId,
            submission: commands[x.i]!.submission,
          })),
        );
        const events: NewEvent[] = decided.map((x, k) => {
          const s = commands[x.i]!.submission;
          return {
            eventId: s.eventId,
            streamId: x.target.streamId,
            streamVersion: x.version,
            type: s.type,
            schemaVersion: s.schemaVersion,
            providerId: x.target.providerId,
            programmeId: x.target.programmeId ?? states.get(x.target.streamId)!.programmeId,
            occurredAt: s.occurredAt,
            data: storedData[k]!,
            metadata: x.metadata,
            requestHash: hashes[x.i]!,
          };
        });
        const snapshots = [...states.values()].filter((st) => st.dirty);
        const positions = await appendEvents(tx, events, snapshots, commit);
        events.forEach((e, k) => {
          outcomes[decided[k]!.i] = {
            status: 'accepted',
            eventId: e.eventId,
            streamVersion: e.streamVersion,
            position: positions.get(e.eventId)!,
          };
        });
      }
      // Repeats inside one submission answer like the first, as a duplicate when the first was stored.
      for (const [i, first] of repeatOf) {
        const answer = outcomes[first]!;
        outcomes[i] = answer.status === 'accepted' ? { ...answer, status: 'duplicate' } : answer;
      }
      return outcomes as AppendOutcome[];
    });
  }

  /** The data as stored: personal fields sealed with each participant's key (created on first need). */
  private async storedData(
    tx: TransactionSql,
    rows: { streamId: string; submission: ValidSubmission }[],
  ): Promise<Record<string, unknown>[]> {
    const sealing = rows.filter((r) => PersonalDataVault.needsSealing(r.submission.type, r.submission.data));
    const keys = await this.vault.keysFor(tx, [...new Set(sealing.map((r) => r.streamId))].sort());
    // keysFor returns keys only for streams with something to seal; seal() leaves an event without personal fields as it is.
    return rows.map((r) => {
      const key = keys.get(r.streamId);
      return key ? PersonalDataVault.seal(r.submission.type, r.streamId, r.submission.data, key) : r.submission.data;
    });
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
        streamId: r.stream_id,
        kind: r.kind,
        providerId: r.provider_id,
        version: r.version,
        state: r.version === 0 ? decider.initialState() : r.state,
        stateVersion: decider.stateVersion,
        dirty: false,
        programmeId: (r.state as { programmeId?: string } | null)?.programmeId ?? null,
      });
    }
    if (stale.length > 0) {
      for (const s of stale) out.get(s.stream_id)!.state = this.deciders[s.kind].initialState();
      // Sealed fields opened: the participant state keeps digests of the (sealed) session ids.
      for (const e of await readStreams(
        tx,
        this.vault,
        stale.map((s) => s.stream_id),
      )) {
        const st = out.get(e.streamId)!;
        st.state = this.deciders[st.kind].evolve(st.state, toDomainEvent(e));
      }
      for (const s of stale) out.get(s.stream_id)!.dirty = true;
    }
    return out;
  }
}

function ownsGrant(cmd: AppendCommand, stream: LoadedStream): boolean {
  // Commissioners and admins set awards and targets on any grant; a provider touches only its own.
  if (cmd.definition.type === 'GrantAwarded' || cmd.principal.role !== 'provider') return true;
  const state = stream.state as { providerId: string | null; awarded: boolean };
  // A grant not yet awarded falls through to the decider's unknown-grant rule.
  return !state.awarded || state.providerId === cmd.principal.providerId;
}
