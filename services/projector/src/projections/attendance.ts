import type { StoredEvent } from '@vru/contracts';
import { sessionKey } from '@vru/domain';
import { lastPerKey, recordset, type Projection, type StreamErased } from '../projection.js';

/**
 * One row per session offered to a participant: attended or missed. Figures are aggregated at query time.
 * The provider's session id is free text from their system (it has been seen to carry a participant's reference): the
 * read model keeps only a digest of it, enough to tell a stream's sessions apart (a session is recorded once per stream).
 * The session id is sealed under the participant's key: once they are erased it cannot be read, and the digest (a plain
 * hash, guessable for a low-entropy id) is replaced by the id of the event that recorded the session. A rebuild keys
 * an erased stream's sessions the same way, so counts stay and rebuilt rows match.
 */
export interface SessionRow {
  kind: 'session';
  eventId: string;
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

export type AttendanceChange = SessionRow | StreamErased;

const ERASED_KEY_PREFIX = 'event:';

export function projectAttendance(event: StoredEvent): AttendanceChange[] {
  if (event.type === 'ParticipantErased') return [{ kind: 'erased', streamId: event.streamId }];
  if (event.type !== 'SessionAttended' && event.type !== 'SessionMissed') return [];
  const d = event.data as Record<string, string | number>;
  return [{
    kind: 'session',
    eventId: event.eventId,
    streamId: event.streamId,
    sessionKey: typeof d.sessionId === 'string' ? sessionKey(d.sessionId) : `${ERASED_KEY_PREFIX}${event.eventId}`,
    providerId: event.providerId,
    programmeId: event.programmeId ?? '',
    sessionDate: String(d.sessionDate),
    attended: event.type === 'SessionAttended',
    durationMinutes: event.type === 'SessionAttended' ? Number(d.durationMinutes) : null,
    sessionType: String(d.sessionType),
    deliveredBy: event.type === 'SessionAttended' ? String(d.deliveredBy) : null,
  }];
}

export const attendanceProjection: Projection<AttendanceChange> = {
  name: 'attendance',
  version: 3,
  handles: ['SessionAttended', 'SessionMissed', 'ParticipantErased'],
  tables: ['sessions'],
  ddl: `
    create table sessions (
      stream_id text not null,
      session_key text not null,
      event_id uuid not null,
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
    // A stream's erasure is its last event: its sessions are all in an earlier batch or earlier in this one.
    const rows = lastPerKey(changes.filter((c) => c.kind === 'session'), (r) => `${r.streamId}\u0000${r.sessionKey}`);
    const erased = changes.filter((c) => c.kind === 'erased').map((c) => c.streamId);
    if (rows.length > 0) await tx`
      insert into sessions (
        stream_id, session_key, event_id, provider_id, programme_id, session_date, attended, duration_minutes, session_type, delivered_by)
      select "streamId", "sessionKey", "eventId", "providerId", "programmeId", "sessionDate", attended, "durationMinutes", "sessionType",
             "deliveredBy"
      from jsonb_to_recordset(${recordset(rows)}::text::jsonb) as x("streamId" text, "sessionKey" text, "eventId" uuid, "providerId" text,
        "programmeId" text,
        "sessionDate" date, attended boolean, "durationMinutes" integer, "sessionType" text, "deliveredBy" text)
      on conflict (stream_id, session_key) do update set
        attended = excluded.attended, session_date = excluded.session_date, duration_minutes = excluded.duration_minutes,
        event_id = excluded.event_id, session_type = excluded.session_type, delivered_by = excluded.delivered_by`;
    if (erased.length > 0) await tx`
      update sessions set session_key = ${ERASED_KEY_PREFIX} || event_id::text
      where stream_id = any(${erased}::text[]) and session_key not like ${`${ERASED_KEY_PREFIX}%`}`;
  },
};
