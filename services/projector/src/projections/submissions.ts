import { LATE_AFTER_DAYS, type StoredEvent } from '@vru/contracts';
import type { TransactionSql } from '@vru/runtime';
import { lastPerKey, recordset, type Positioned, type Projection } from '../projection.js';

/** The read model's projection name (its schema is rm_<name>) and tables: the reports and the audit read them by these names. */
export const submissionsReadModel = {
  name: 'submissions',
  tables: { submissions: 'submissions', counts: 'submission_counts' },
} as const;

/**
 * A submission's lateness in whole days (recorded minus occurred, rounded down), over a submissions row's columns:
 * the bucket submission_counts counts it in, and an index expression, so that the submissions of one bucket (where
 * an exact median lies) are found without reading the others.
 */
export const LAG_DAYS_SQL = 'floor(extract(epoch from recorded_at - occurred_at) / 86400)::integer';

/** Whether a submissions row was late: recorded more than LATE_AFTER_DAYS after it occurred. */
export const LATE_SQL = `recorded_at - occurred_at > make_interval(days => ${LATE_AFTER_DAYS})`;

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
  // 3: rows carry the position they became true at. 4: counts per provider, day received and days late. 5: keyed by
  // position.
  version: 5,
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
      // The event's position, as in attendance's sessions: it also finds the submissions above a position (as-at reads
      // subtract them from the counts).
      key: ['valid_from'],
      // One provider's submissions of one lateness bucket by time received (where a median lies).
      indexes: [`provider_id, (${LAG_DAYS_SQL}), recorded_at`],
    },
    {
      // Accepted and late submissions per provider, day received (UTC) and days late: the data-quality report's
      // counts, and where its median lies, without reading every submission.
      name: submissionsReadModel.tables.counts,
      currentOnly: true,
      columns: [
        'provider_id text not null',
        'received_on date not null',
        'lag_days integer not null',
        'accepted integer not null',
        'late integer not null',
      ],
      key: ['provider_id', 'received_on', 'lag_days'],
    },
  ],
  project: projectSubmission,
  write: async (tx, changes) => {
    const rows = lastPerKey(changes, (r) => r.eventId);
    // Only the rows inserted are counted, so a submission seen twice is counted once. Totals are upserted in key
    // order: concurrent batches lock shared rows in the same order and cannot deadlock.
    await tx`
      with inserted as (
        ${insertSubmissions(tx, rows)}
        returning provider_id, occurred_at, recorded_at)
      insert into submission_counts (provider_id, received_on, lag_days, accepted, late)
      ${tx.unsafe(COUNTS_OF('inserted'))} order by 1, 2, 3
      on conflict (provider_id, received_on, lag_days) do update
        set accepted = submission_counts.accepted + excluded.accepted, late = submission_counts.late + excluded.late`;
  },
  // A replay stores the submissions alone and counts them once at the end. A row is columns of its event's envelope
  // (which upcasting leaves as stored, so no event needs upcasting here), so the replay copies them from the log in
  // SQL rather than decoding each event and sending its row back as JSON: the same row as projectSubmission's, times to
  // the millisecond as a stored event carries them (services/projector/test/session-cells.int.test.ts compares a
  // replay with live batches).
  replayFromLog: async (tx, through) => {
    await tx`
      insert into submissions_versions (event_id, provider_id, programme_id, type, source, occurred_at, recorded_at, valid_from)
      select event_id, provider_id, programme_id, type, metadata->>'source',
        date_trunc('milliseconds', occurred_at), date_trunc('milliseconds', recorded_at), position
      from public.events where position <= ${through}::bigint and type = any(${[...submissionsProjection.handles]}::text[])`;
  },
  finishReplay: async (tx) => {
    await tx`
      insert into submission_counts (provider_id, received_on, lag_days, accepted, late)
      ${tx.unsafe(COUNTS_OF('submissions_versions'))}`;
  },
};

/** The insert of live submissions (a CTE's body with a `returning` after it): an event seen twice is stored once. */
const insertSubmissions = (tx: TransactionSql, rows: readonly Positioned<SubmissionRow>[]) => tx`
  insert into submissions_versions (event_id, provider_id, programme_id, type, source, occurred_at, recorded_at, valid_from)
  select "eventId", "providerId", "programmeId", type, source, "occurredAt", "recordedAt", position
  from json_to_recordset(${recordset(rows)}::text::json) as x("eventId" uuid, "providerId" text, "programmeId" text,
    type text, source text, "occurredAt" timestamptz, "recordedAt" timestamptz, position bigint)
  on conflict (valid_from) do nothing`;

/** submission_counts' rows counted from a relation of submissions rows (provider, occurred and recorded times). */
const COUNTS_OF = (relation: string): string => `
  select provider_id, (recorded_at at time zone 'UTC')::date, ${LAG_DAYS_SQL}, count(*), count(*) filter (where ${LATE_SQL})
  from ${relation} group by 1, 2, 3`;
