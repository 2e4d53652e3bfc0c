import type { EventDefinition, EventMetadata, Principal, StreamKind, ValidSubmission } from '@vru/contracts';
import { refusal, type Refusal } from '@vru/domain';
import { comparisonStreamId, grantStreamId, matchLookup, participantId, participantStreamId } from '@vru/event-store';
import type { Sql } from '@vru/runtime';

/** One submission to decide and append, with who sent it and how. */
export interface AppendCommand {
  submission: ValidSubmission;
  definition: EventDefinition;
  principal: Principal;
  requestId: string;
  source: EventMetadata['source'];
  /** Set by the service itself (retention), never from a request: the participant stream, for lack of a reference. */
  streamId?: string;
}

/** Where a submission's event goes. */
export interface Target {
  streamId: string;
  kind: StreamKind;
  providerId: string;
  programmeId: string | null;
}

export interface Match {
  streamId: string;
  providerId: string;
  programmeId: string | null;
}

/** Placeholder provider of a grant event sent by a commissioner or admin: replaced by the grant stream's provider. */
export const GRANT_PROVIDER_FROM_STREAM = '';

/** Participants that data partners' match tokens point at (token → streams), looked up before the transaction. */
export async function matchesFor(
  sql: Sql,
  pseudonymSecret: string,
  commands: readonly AppendCommand[],
): Promise<Map<string, Match[]>> {
  const tokens = [...new Set(commands.map((c) => c.submission.matchToken).filter((t): t is string => t !== undefined))];
  const out = new Map<string, Match[]>();
  if (tokens.length === 0) return out;
  const lookups = new Map(tokens.map((t) => [matchLookup(pseudonymSecret, t), t]));
  // The participant's programme comes from its latest event: the data partner does not know it.
  const rows = await sql<{ lookup: string; stream_id: string; provider_id: string; programme_id: string | null }[]>`
    select m.lookup, m.stream_id, m.provider_id,
           (select e.programme_id from events e where e.stream_id = m.stream_id order by e.stream_version desc limit 1) as programme_id
    from match_index m where m.lookup = any(${[...lookups.keys()]}::text[]) order by m.stream_id`;
  for (const r of rows) {
    const token = lookups.get(r.lookup)!;
    out.set(token, [
      ...(out.get(token) ?? []),
      { streamId: r.stream_id, providerId: r.provider_id, programmeId: r.programme_id },
    ]);
  }
  return out;
}

/** Where a command's event goes, or why it may not go anywhere. Pure apart from the matches; the key's role was checked on ingest. */
export function targetOf(cmd: AppendCommand, matches: Map<string, Match[]>, pseudonymSecret: string): Target | Refusal {
  const { submission: s, definition: def, principal } = cmd;
  if (def.stream === 'grant') {
    const grantRef = s.grantRef!;
    // A commissioner's targets belong to the grant's provider, known once the stream is loaded (see the command handler).
    const providerId =
      def.type === 'GrantAwarded'
        ? (s.data.providerId as string)
        : (principal.providerId ?? GRANT_PROVIDER_FROM_STREAM);
    return {
      streamId: grantStreamId(grantRef),
      kind: 'grant',
      providerId,
      programmeId: (s.data.programmeId as string | undefined) ?? null,
    };
  }
  if (cmd.streamId !== undefined) {
    return {
      streamId: cmd.streamId,
      kind: def.stream,
      providerId: principal.providerId!,
      programmeId: s.programmeId ?? null,
    };
  }
  if (def.stream === 'comparison') {
    // The data partner owns the record: its id stands where a participant's provider would.
    const dataPartnerId = s.dataPartnerId!;
    return {
      streamId: comparisonStreamId(pseudonymSecret, dataPartnerId, s.comparisonRef!),
      kind: 'comparison',
      providerId: dataPartnerId,
      programmeId: null,
    };
  }
  if (s.matchToken !== undefined) {
    const candidates = (matches.get(s.matchToken) ?? []).filter(
      (m) => s.providerId === undefined || m.providerId === s.providerId,
    );
    if (candidates.length === 0) {
      return refusal('invalid', 'no-match', 'No participant has this match token', [
        {
          field: '/matchToken',
          rule: 'no-match',
          message: 'No participant (of this provider, if providerId is given) has this match token',
        },
      ]);
    }
    if (candidates.length > 1) {
      return refusal('conflicts-with-history', 'ambiguous-match', 'The match token names more than one participant', [
        {
          field: '/matchToken',
          rule: 'ambiguous-match',
          message: `The token matches ${candidates.length} participants; add providerId, or ask the providers to resolve the duplicate`,
        },
      ]);
    }
    const match = candidates[0]!;
    return {
      streamId: match.streamId,
      kind: 'participant',
      providerId: match.providerId,
      programmeId: s.programmeId ?? match.programmeId,
    };
  }
  const providerId = principal.role === 'provider' ? principal.providerId! : s.providerId!;
  return {
    streamId: participantStreamId(participantId(pseudonymSecret, providerId, s.participantRef!)),
    kind: 'participant',
    providerId,
    programmeId: s.programmeId ?? null,
  };
}
