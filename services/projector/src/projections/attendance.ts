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
  return [{
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
  }];
}

export const attendanceProjection: Projection<SessionRow> = {
  name: attendanceReadModel.name,
  // 4: rows keyed by event id; no digest of the session id.
  version: 4,
  handles: ['SessionAttended', 'SessionMissed'],
  tables: Object.values(attendanceReadModel.tables),
  ddl: `
    create table sessions (
      event_id uuid primary key,
      stream_id text not null,
      provider_id text not null,
      programme_id text not null,
      session_date date not null,
      attended boolean not null,
      duration_minutes integer,
      session_type text not null,
      delivered_by text
    );
    create index sessions_programme_date on sessions (programme_id, session_date);
    create index sessions_provider_date on sessions (provider_id, session_date);
  `,
  project: projectAttendance,
  write: async (tx, rows) => {
    if (rows.length > 0) await tx`
      insert into sessions (
        event_id, stream_id, provider_id, programme_id, session_date, attended, duration_minutes, session_type, delivered_by)
      select "eventId", "streamId", "providerId", "programmeId", "sessionDate", attended, "durationMinutes", "sessionType", "deliveredBy"
      from jsonb_to_recordset(${recordset(rows)}::text::jsonb) as x("eventId" uuid, "streamId" text, "providerId" text, "programmeId" text,
        "sessionDate" date, attended boolean, "durationMinutes" integer, "sessionType" text, "deliveredBy" text)
      on conflict (event_id) do nothing`;
  },
};
