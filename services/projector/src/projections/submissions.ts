import { LATE_AFTER_DAYS, type StoredEvent } from '@vru/contracts';
import type { TransactionSql } from '@vru/runtime';
import { lastPerKey, recordset, type Positioned, type Projection } from '../projection.js';
import { canonicalDate, copyInto, copyLine, isText } from '../replay.js';

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

/**
 * A timestamp as a rebuild reads it (Date's ISO form: UTC, milliseconds), on which this process computes exactly; its
 * time of day in range (Date.parse would take 24:00 and 30 February as the next day, PostgreSQL refuses the second).
 */
const ISO_MILLIS = /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;
const DAY_MS = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Each day's first millisecond (UTC), or null where it is not a calendar day; remembered, as a chunk's fall on few. */
const dayStarts = new Map<string, number | null>();
const millisOf = (iso: string): number | undefined => {
  if (!ISO_MILLIS.test(iso)) return undefined;
  const day = iso.slice(0, 10);
  let start = dayStarts.get(day);
  if (start === undefined) {
    start = canonicalDate(day) ? Date.parse(day) : null;
    if (dayStarts.size > 100_000) dayStarts.clear();
    dayStarts.set(day, start);
  }
  if (start === null) return undefined;
  const [h, m, sec, ms] = [iso.slice(11, 13), iso.slice(14, 16), iso.slice(17, 19), iso.slice(20, 23)].map(Number);
  return start + h! * 3_600_000 + m! * 60_000 + sec! * 1000 + ms!;
};

/**
 * Where submission_counts counts a submission, as the SQL of `write` computes it: the day received (UTC), the whole
 * days late (LAG_DAYS_SQL) and whether it was late (LATE_SQL). Undefined where a timestamp is not in the form above.
 */
export function submissionBucket(
  row: Pick<SubmissionRow, 'occurredAt' | 'recordedAt'>,
): { receivedOn: string; lagDays: number; late: boolean } | undefined {
  const [occurred, recorded] = [millisOf(row.occurredAt), millisOf(row.recordedAt)];
  if (occurred === undefined || recorded === undefined) return undefined;
  const lag = recorded - occurred;
  return { receivedOn: row.recordedAt.slice(0, 10), lagDays: Math.floor(lag / DAY_MS), late: lag > LATE_AFTER_DAYS * DAY_MS };
}

const SUBMISSION_COLUMNS = [
  'event_id',
  'provider_id',
  'programme_id',
  'type',
  'source',
  'occurred_at',
  'recorded_at',
  'valid_from',
];

/**
 * A replay's chunk: the rows by COPY and the chunk's counts added in one statement, computed here (the same rows and
 * counts as `write`, which inserted from JSON and counted in SQL). The log's event ids are unique, so a replay inserts
 * every row `write` would. A chunk with a value this code does not know to read back as it is goes through `write`.
 */
export async function writeSubmissionsReplay(
  tx: TransactionSql,
  changes: readonly Positioned<SubmissionRow>[],
): Promise<void> {
  const counts = new Map<string, { providerId: string; receivedOn: string; lagDays: number; accepted: number; late: number }>();
  const lines: string[] = [];
  // Providers, programmes, types and sources repeat: each is checked and put in COPY's form once per chunk.
  const texts = new Map<string | null, string | undefined>();
  const text = (v: string | null): string | undefined => {
    if (!texts.has(v)) texts.set(v, v === null ? '\\N' : isText(v) ? copyLine([v]).slice(0, -1) : undefined);
    return texts.get(v);
  };
  for (const c of changes) {
    const bucket = submissionBucket(c);
    const [provider, programme, type, source] = [text(c.providerId), text(c.programmeId), text(c.type), text(c.source)];
    const known =
      bucket !== undefined &&
      UUID.test(c.eventId) &&
      provider !== undefined &&
      programme !== undefined &&
      type !== undefined &&
      source !== undefined;
    if (!known) return submissionsProjection.write(tx, [...changes]);
    const key = `${c.providerId}\0${bucket.receivedOn}\0${bucket.lagDays}`;
    const count = counts.get(key) ?? { providerId: c.providerId, ...bucket, accepted: 0, late: 0 };
    count.accepted += 1;
    if (bucket.late) count.late += 1;
    counts.set(key, count);
    // The id, the timestamps and the position are checked above: nothing in them needs escaping.
    lines.push(
      `${c.eventId}\t${provider}\t${programme}\t${type}\t${source}\t${c.occurredAt}\t${c.recordedAt}\t${c.position}\n`,
    );
  }
  // Before the COPY: no other statement may be sent on the connection while a COPY runs (copyInto).
  if (counts.size > 0)
    await tx`
      insert into submission_counts (provider_id, received_on, lag_days, accepted, late)
      select "providerId", "receivedOn", "lagDays", accepted, late
      from jsonb_to_recordset(${recordset([...counts.values()])}::text::jsonb)
        as x("providerId" text, "receivedOn" date, "lagDays" integer, accepted integer, late integer)
      order by 1, 2, 3
      on conflict (provider_id, received_on, lag_days) do update
        set accepted = submission_counts.accepted + excluded.accepted, late = submission_counts.late + excluded.late`;
  await copyInto(tx, 'submissions_versions', SUBMISSION_COLUMNS, lines);
}

export const submissionsProjection: Projection<SubmissionRow> = {
  name: submissionsReadModel.name,
  // 3: rows carry the position they became true at. 4: counts per provider, day received and days late.
  version: 4,
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
      // The submissions above a position (as-at reads subtract them from the counts), and one provider's submissions
      // of one lateness bucket by time received (where a median lies).
      indexes: ['valid_from', `provider_id, (${LAG_DAYS_SQL}), recorded_at`],
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
  writeReplay: writeSubmissionsReplay,
  write: async (tx, changes) => {
    const rows = lastPerKey(changes, (r) => r.eventId);
    // Only the rows inserted are counted, so a submission seen twice is counted once. Totals are upserted in key
    // order: concurrent batches lock shared rows in the same order and cannot deadlock.
    await tx`
      with inserted as (
        insert into submissions_versions (event_id, provider_id, programme_id, type, source, occurred_at, recorded_at, valid_from)
        select "eventId", "providerId", "programmeId", type, source, "occurredAt", "recordedAt", position
        from jsonb_to_recordset(${recordset(rows)}::text::jsonb) as x("eventId" uuid, "providerId" text, "programmeId" text,
          type text, source text, "occurredAt" timestamptz, "recordedAt" timestamptz, position bigint)
        on conflict (event_id) do nothing
        returning provider_id, occurred_at, recorded_at)
      insert into submission_counts (provider_id, received_on, lag_days, accepted, late)
      select provider_id, (recorded_at at time zone 'UTC')::date, ${tx.unsafe(LAG_DAYS_SQL)}, count(*),
        count(*) filter (where ${tx.unsafe(LATE_SQL)})
      from inserted group by 1, 2, 3 order by 1, 2, 3
      on conflict (provider_id, received_on, lag_days) do update
        set accepted = submission_counts.accepted + excluded.accepted, late = submission_counts.late + excluded.late`;
  },
};
