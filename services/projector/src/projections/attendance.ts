import type { StoredEvent } from '@vru/contracts';
import { recordset, type Projection } from '../projection.js';

/** The read model's projection name (its schema is rm_<name>) and tables: the reports and the audit read them by these names. */
export const attendanceReadModel = { name: 'attendance', tables: { sessions: 'sessions' } } as const;

/**
 * One row per session offered to a participant: attended or missed. Figures are aggregated at query time.
 * The provider's session id is free text from their system (it has been seen to carry a participant's reference), and
 * any digest of it would confirm a guessed id: the read model keeps nothing derived from it. A row is keyed by the
 * event that recorded the session; the participant decider already refuses a session id recorded twice in a stream,
 * so one event is one session. Erasure leaves the rows as they are: they hold no personal field, and still count.
 */
export interface SessionRow {
  kind: 'session';
  eventId: string;
  streamId: string;
  providerId: string;
  programmeId: string;
  sessionDate: string;
  attended: boolean;
  durationMinutes: number | null;
  sessionType: string;
  deliveredBy: string | null;
}

export function projectAttendance(event: StoredEvent): SessionRow[] {
  if (event.type !== 'SessionAttended' && event.type !== 'SessionMissed') return [];
  const d = event.data as Record<string, string | number>;
  return [
    {
      kind: 'session',
      eventId: event.eventId,
      streamId: event.streamId,
      providerId: event.providerId,
      programmeId: event.programmeId ?? '',
      sessionDate: String(d.sessionDate),
      attended: event.type === 'SessionAttended',
      durationMinutes: event.type === 'SessionAttended' ? Number(d.durationMinutes) : null,
      sessionType: String(d.sessionType),
      deliveredBy: event.type === 'SessionAttended' ? String(d.deliveredBy) : null,
    },
  ];
}

export const attendanceProjection: Projection<SessionRow> = {
  name: attendanceReadModel.name,
  // 5: rows carry the position they became true at (as-at reads filter on it).
  version: 5,
  handles: ['SessionAttended', 'SessionMissed'],
  tables: [
    {
      name: attendanceReadModel.tables.sessions,
      appendOnly: true,
      columns: [
        'event_id uuid not null',
        'stream_id text not null',
        'provider_id text not null',
        'programme_id text not null',
        'session_date date not null',
        'attended boolean not null',
        'duration_minutes integer',
        'session_type text not null',
        'delivered_by text',
      ],
      key: ['event_id'],
      indexes: ['programme_id, session_date', 'provider_id, session_date'],
    },
  ],
  project: projectAttendance,
  write: async (tx, rows) => {
    if (rows.length > 0)
      await tx`
      insert into sessions_versions (
        event_id, stream_id, provider_id, programme_id, session_date, attended, duration_minutes, session_type, delivered_by, valid_from)
      select "eventId", "streamId", "providerId", "programmeId", "sessionDate", attended, "durationMinutes", "sessionType", "deliveredBy", position
      from jsonb_to_recordset(${recordset(rows)}::text::jsonb) as x("eventId" uuid, "streamId" text, "providerId" text, "programmeId" text,
        "sessionDate" date, attended boolean, "durationMinutes" integer, "sessionType" text, "deliveredBy" text, position bigint)
      on conflict (event_id) do nothing`;
  },
};
