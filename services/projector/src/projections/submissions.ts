import type { StoredEvent } from '@vru/contracts';
import { lastPerKey, recordset, type Projection } from '../projection.js';

/** The read model's projection name (its schema is rm_<name>) and tables: the reports and the audit read them by these names. */
export const submissionsReadModel = { name: 'submissions', tables: { submissions: 'submissions' } } as const;

/** One row per accepted event: who sent what, when it happened and when it arrived (for data quality). */
export interface SubmissionRow {
  eventId: string;
  providerId: string;
  programmeId: string | null;
  type: string;
  source: string;
  occurredAt: string;
  recordedAt: string;
}

export function projectSubmission(event: StoredEvent): SubmissionRow[] {
  return [
    {
      eventId: event.eventId,
      providerId: event.providerId,
      programmeId: event.programmeId,
      type: event.type,
      source: event.metadata.source,
      occurredAt: event.occurredAt,
      recordedAt: event.recordedAt,
    },
  ];
}

export const submissionsProjection: Projection<SubmissionRow> = {
  name: submissionsReadModel.name,
  // 3: rows carry the position they became true at.
  version: 3,
  handles: [
    'ParticipantReferred',
    'ConsentRecorded',
    'ConsentWithdrawn',
    'ParticipantEnrolled',
    'SessionAttended',
    'SessionMissed',
    'OutcomeMeasured',
    'ParticipantExited',
    'FollowUpRecorded',
    'OffenceRecorded',
    'GrantAwarded',
    'SpendRecorded',
    'SpendCorrected',
    'DeliveryTargetsSet',
    'DeliveryTargetsRevised',
    'MatchTokenRecorded',
    'ParticipantErased',
  ],
  tables: [
    {
      name: submissionsReadModel.tables.submissions,
      appendOnly: true,
      columns: [
        'event_id uuid not null',
        'provider_id text not null',
        'programme_id text',
        'type text not null',
        'source text not null',
        'occurred_at timestamptz not null',
        'recorded_at timestamptz not null',
      ],
      key: ['event_id'],
      indexes: ['provider_id, recorded_at'],
    },
  ],
  project: projectSubmission,
  write: async (tx, changes) => {
    const rows = lastPerKey(changes, (r) => r.eventId);
    await tx`
      insert into submissions_versions (event_id, provider_id, programme_id, type, source, occurred_at, recorded_at, valid_from)
      select "eventId", "providerId", "programmeId", type, source, "occurredAt", "recordedAt", position
      from jsonb_to_recordset(${recordset(rows)}::text::jsonb) as x("eventId" uuid, "providerId" text, "programmeId" text,
        type text, source text, "occurredAt" timestamptz, "recordedAt" timestamptz, position bigint)
      on conflict (event_id) do nothing`;
  },
};
