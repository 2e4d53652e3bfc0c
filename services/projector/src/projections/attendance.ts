import type { StoredEvent } from '@vru/contracts';
import { lastPerKey, recordset, type Projection } from '../projection.js';

/** One row per session offered to a participant: attended or missed. Figures are aggregated at query time. */
export interface SessionRow {
  streamId: string;
  sessionId: string;
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
    streamId: event.streamId,
    sessionId: String(d.sessionId),
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
  name: 'attendance',
  version: 1,
  handles: ['SessionAttended', 'SessionMissed'],
  tables: ['sessions'],
  ddl: `
    create table sessions (
      stream_id text not null,
      session_id text not null,
      provider_id text not null,
      programme_id text not null,
      session_date date not null,
      attended boolean not null,
      duration_minutes integer,
      session_type text not null,
      delivered_by text,
      primary key (stream_id, session_id)
    );
    create index sessions_programme_date on sessions (programme_id, session_date);
    create index sessions_provider_date on sessions (provider_id, session_date);
  `,
  project: projectAttendance,
  write: async (tx, changes) => {
    const rows = lastPerKey(changes, (r) => `${r.streamId}\u0000${r.sessionId}`);
    await tx`
      insert into sessions (stream_id, session_id, provider_id, programme_id, session_date, attended, duration_minutes, session_type, delivered_by)
      select "streamId", "sessionId", "providerId", "programmeId", "sessionDate", attended, "durationMinutes", "sessionType", "deliveredBy"
      from jsonb_to_recordset(${recordset(rows)}::text::jsonb) as x("streamId" text, "sessionId" text, "providerId" text, "programmeId" text,
        "sessionDate" date, attended boolean, "durationMinutes" integer, "sessionType" text, "deliveredBy" text)
      on conflict (stream_id, session_id) do update set
        attended = excluded.attended, session_date = excluded.session_date, duration_minutes = excluded.duration_minutes,
        session_type = excluded.session_type, delivered_by = excluded.delivered_by`;
  },
};
