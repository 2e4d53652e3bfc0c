import type { StoredEvent } from '@vru/contracts';
import { sessionKey } from '@vru/domain';
import { lastPerKey, recordset, type Projection } from '../projection.js';

/**
 * One row per session offered to a participant: attended or missed. Figures are aggregated at query time.
 * The provider's session id is free text from their system (it has been seen to carry a participant's reference): the
 * read model keeps only a digest of it, enough to tell a stream's sessions apart and to apply a correction to the same row.
 */
export interface SessionRow {
  streamId: string;
  sessionKey: string;
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
    sessionKey: sessionKey(String(d.sessionId)),
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
  version: 2,
  handles: ['SessionAttended', 'SessionMissed'],
  tables: ['sessions'],
  ddl: `
    create table sessions (
      stream_id text not null,
      session_key text not null,
      provider_id text not null,
      programme_id text not null,
      session_date date not null,
      attended boolean not null,
      duration_minutes integer,
      session_type text not null,
      delivered_by text,
      primary key (stream_id, session_key)
    );
    create index sessions_programme_date on sessions (programme_id, session_date);
    create index sessions_provider_date on sessions (provider_id, session_date);
  `,
  project: projectAttendance,
  write: async (tx, changes) => {
    const rows = lastPerKey(changes, (r) => `${r.streamId}\u0000${r.sessionKey}`);
    await tx`
      insert into sessions (
        stream_id, session_key, provider_id, programme_id, session_date, attended, duration_minutes, session_type, delivered_by)
      select "streamId", "sessionKey", "providerId", "programmeId", "sessionDate", attended, "durationMinutes", "sessionType", "deliveredBy"
      from jsonb_to_recordset(${recordset(rows)}::text::jsonb) as x("streamId" text, "sessionKey" text, "providerId" text,
        "programmeId" text,
        "sessionDate" date, attended boolean, "durationMinutes" integer, "sessionType" text, "deliveredBy" text)
      on conflict (stream_id, session_key) do update set
        attended = excluded.attended, session_date = excluded.session_date, duration_minutes = excluded.duration_minutes,
        session_type = excluded.session_type, delivered_by = excluded.delivered_by`;
  },
};
