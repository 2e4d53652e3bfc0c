import { eventDefinition } from '@vru/contracts';
import type { Sql } from '@vru/runtime';
import type { CommandHandler } from './command-handler.js';

export interface RetentionResult {
  /** Participants whose personal fields were erased because their retention period ended. */
  participantsErased: number;
  /** Refused-submission records deleted. */
  rejectionsDeleted: number;
  cutoff: string;
}

/**
 * Applies the retention policy (RETENTION_MONTHS, REJECTION_RETENTION_DAYS): a participant with no event for
 * longer than the retention period gets a ParticipantErased event (basis retention-period-ended), which destroys
 * their key exactly as a data subject's request would; old refused-submission records are deleted. The events
 * stay, so reported counts are unchanged. `dryRun` counts without changing anything. Idempotent: an erased
 * participant has no key left and is not selected again.
 */
export async function applyRetention(
  sql: Sql,
  commands: CommandHandler,
  policy: { retentionMonths: number; rejectionRetentionDays: number; dryRun?: boolean; now?: Date },
): Promise<RetentionResult> {
  const now = policy.now ?? new Date();
  const cutoff = new Date(now);
  cutoff.setUTCMonth(cutoff.getUTCMonth() - policy.retentionMonths);
  const due = await sql<{ stream_id: string; kind: string; provider_id: string; programme_id: string | null }[]>`
    select e.stream_id, min(s.kind) as kind, min(e.provider_id) as provider_id, max(e.programme_id) as programme_id
    from participant_keys k join events e on e.stream_id = k.stream_id join streams s on s.stream_id = k.stream_id
    -- A grant stream has a key too (it seals correction reasons), but grants are not people: they are never erased here.
    where s.kind in ('participant', 'comparison')
    group by e.stream_id
    having max(e.occurred_at) < ${cutoff.toISOString()}::timestamptz
    order by e.stream_id`;
  const rejectionCutoff = new Date(now.getTime() - policy.rejectionRetentionDays * 86_400_000).toISOString();
  if (policy.dryRun) {
    const [row] = await sql<
      { n: number }[]
    >`select count(*)::int as n from rejected_submissions where received_at < ${rejectionCutoff}::timestamptz`;
    return { participantsErased: due.length, rejectionsDeleted: row?.n ?? 0, cutoff: cutoff.toISOString() };
  }
  const today = now.toISOString().slice(0, 10);
  // Comparison records follow the participants' retention: the same erasure, by their own event type.
  const participantErased = eventDefinition('ParticipantErased')!;
  const comparisonErased = eventDefinition('ComparisonRecordErased')!;
  let erased = 0;
  for (let i = 0; i < due.length; i += 500) {
    const outcomes = await commands.handle(
      due.slice(i, i + 500).map((p) => ({
        streamId: p.stream_id,
        definition: p.kind === 'comparison' ? comparisonErased : participantErased,
        principal: {
          keyId: 'system:retention',
          role: p.kind === 'comparison' ? ('data-partner' as const) : ('provider' as const),
          providerId: p.provider_id,
        },
        requestId: `retention-${today}`,
        source: 'system' as const,
        submission: {
          eventId: crypto.randomUUID(),
          type: p.kind === 'comparison' ? 'ComparisonRecordErased' : 'ParticipantErased',
          schemaVersion: 1,
          occurredAt: now.toISOString(),
          ...(p.programme_id ? { programmeId: p.programme_id } : {}),
          data: { requestedOn: today, basis: 'retention-period-ended' },
        },
      })),
    );
    erased += outcomes.filter((o) => o.status === 'accepted').length;
  }
  const deleted = await sql`delete from rejected_submissions where received_at < ${rejectionCutoff}::timestamptz`;
  return { participantsErased: erased, rejectionsDeleted: deleted.count, cutoff: cutoff.toISOString() };
}
