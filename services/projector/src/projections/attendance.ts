import type { StoredEvent } from '@vru/contracts';
import type { TransactionSql } from '@vru/runtime';
import { atLatestVersionSql, recordset, type Positioned, type Projection } from '../projection.js';
import { changesInOrder } from '../apply.js';

/** The read model's projection name (its schema is rm_<name>) and tables: the reports and the audit read them by these names. */
export const attendanceReadModel = {
  name: 'attendance',
  tables: { sessions: 'sessions', people: 'session_people', cells: 'session_cells' },
} as const;

/**
 * The periods a session counts in, in SQL over a `session_date` column: its month, quarter and financial year (the
 * periods disclosure control judges a row against), as (period_level, period_from) pairs.
 */
export const SESSION_PERIODS_SQL = `(values
  ('month', date_trunc('month', session_date)::date),
  ('quarter', date_trunc('quarter', session_date)::date),
  ('financial-year', make_date(extract(year from session_date - interval '3 months')::int, 4, 1)))`;

/**
 * One row per session offered to a participant: attended or missed. Figures are aggregated at query time.
 * The provider's session id is free text from their system (it has been seen to carry a participant's reference), and
 * any digest of it would confirm a guessed id: the read model keeps nothing derived from it. A row is keyed by the
 * position of the event that recorded the session; the participant decider already refuses a session id recorded twice
 * in a stream, so one event is one session. Erasure leaves the rows as they are: they hold no personal field, and
 * still count.
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
  // 5: rows carry the position they became true at (as-at reads filter on it). 6: distinct people per cell. 7: sessions
  // keyed by position.
  version: 7,
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
      // The event's position: one row per event, as the event id would be, but a key that grows at its end, and it
      // serves as-at reads (the sessions above a position, subtracted from the cells' running counts) as well.
      key: ['valid_from'],
      indexes: ['programme_id, session_date', 'provider_id, session_date'],
    },
    {
      // Who is in each disclosure cell: a person once per programme, provider ('' for every provider together),
      // month / quarter / financial year and kind ('session': any session, 'attended': at least one attended), from
      // the first such session's position. Distinct people do not add up across periods or providers, so each cell
      // keeps its own; as-at reads subtract the rows above their position from the running counts.
      name: attendanceReadModel.tables.people,
      appendOnly: true,
      columns: [
        'period_from date not null',
        'programme_id text not null',
        'period_level text not null',
        'provider_id text not null',
        'kind text not null',
        'stream_id text not null',
      ],
      key: ['period_from', 'programme_id', 'period_level', 'provider_id', 'kind', 'stream_id'],
      indexes: ['valid_from'],
    },
    {
      // The current counts of each cell: people with a session, attenders, sessions attended and missed. A report
      // reads a financial year of these (a few hundred rows), not its sessions.
      name: attendanceReadModel.tables.cells,
      currentOnly: true,
      columns: [
        'period_from date not null',
        'programme_id text not null',
        'period_level text not null',
        'provider_id text not null',
        'people integer not null',
        'attenders integer not null',
        'attended integer not null',
        'missed integer not null',
      ],
      key: ['period_from', 'programme_id', 'period_level', 'provider_id'],
    },
  ],
  project: projectAttendance,
  write: async (tx, rows) => {
    if (rows.length === 0) return;
    // Only the sessions inserted count (an event seen twice counts once). A person joins a cell at the lowest
    // position of their sessions in it, whatever order partitions are applied in; only a row inserted adds to the
    // cell's people. Rows are written in key order: concurrent batches lock shared rows in the same order.
    await tx`
      with inserted as (
        ${insertSessions(tx, rows, 'live')}
        returning stream_id, provider_id, programme_id, session_date, attended, valid_from),
      cells as (
        select c.period_from, i.programme_id, c.period_level, p.provider_id, i.stream_id, i.attended, i.valid_from
        from inserted i ${tx.unsafe(CELLS_OF_SESSION('i'))}),
      members as (
        select period_from, programme_id, period_level, provider_id, k.kind, stream_id, min(valid_from) as valid_from
        from cells cross join lateral (select 'session' union all select 'attended' where cells.attended) as k(kind)
        group by 1, 2, 3, 4, 5, 6),
      -- Most sessions are by people already in their cells from an earlier position: those rows are left alone, since
      -- an upsert whose update does nothing still locks (and logs) the row it finds.
      joining as (
        select m.* from members m
        where not exists (
          select 1 from session_people_versions s
          where s.period_from = m.period_from and s.programme_id = m.programme_id and s.period_level = m.period_level
            and s.provider_id = m.provider_id and s.kind = m.kind and s.stream_id = m.stream_id
            and s.valid_from <= m.valid_from)),
      added as (
        insert into session_people_versions (period_from, programme_id, period_level, provider_id, kind, stream_id, valid_from)
        select period_from, programme_id, period_level, provider_id, kind, stream_id, valid_from
        from joining order by 1, 2, 3, 4, 5, 6
        on conflict (period_from, programme_id, period_level, provider_id, kind, stream_id) do update
          set valid_from = excluded.valid_from where session_people_versions.valid_from > excluded.valid_from
        returning period_from, programme_id, period_level, provider_id, kind, (xmax = 0) as new),
      joined as (
        select period_from, programme_id, period_level, provider_id,
          count(*) filter (where new and kind = 'session')::int as people,
          count(*) filter (where new and kind = 'attended')::int as attenders
        from added group by 1, 2, 3, 4),
      sums as (
        select period_from, programme_id, period_level, provider_id,
          count(*) filter (where attended)::int as attended, count(*) filter (where not attended)::int as missed
        from cells group by 1, 2, 3, 4)
      insert into session_cells (period_from, programme_id, period_level, provider_id, people, attenders, attended, missed)
      select s.period_from, s.programme_id, s.period_level, s.provider_id,
        coalesce(j.people, 0), coalesce(j.attenders, 0), s.attended, s.missed
      from sums s left join joined j using (period_from, programme_id, period_level, provider_id)
      order by 1, 2, 3, 4
      on conflict (period_from, programme_id, period_level, provider_id) do update
        set people = session_cells.people + excluded.people, attenders = session_cells.attenders + excluded.attenders,
          attended = session_cells.attended + excluded.attended, missed = session_cells.missed + excluded.missed`;
  },
  // A replay stores the sessions alone, copied from the log in SQL (SESSION_FROM_LOG_SQL) rather than decoded and sent
  // back as JSON; who is in each cell and the cells' counts are then derived once from all of them (finishReplay),
  // rather than looked up and upserted for every chunk.
  replayFromLog: async (tx, through, upcast) => {
    await tx`
      insert into sessions_versions (${tx.unsafe(SESSION_COLUMNS)})
      select ${tx.unsafe(SESSION_FROM_LOG_SQL)} from public.events
      where position <= ${through}::bigint and ${tx.unsafe(STORED_AT_LATEST_SQL)}`;
    // Sessions stored at an older version, as projectAttendance gives them once upcast.
    for await (const events of upcast) await insertSessions(tx, changesInOrder(attendanceProjection, events), 'replay');
  },
  finishReplay: async (tx) => {
    // A cell's periods are whole months, so one row per person, programme, provider and month (its first session and
    // first attended session, sessions attended and missed) decides every cell that person's sessions count in.
    await tx`
      with monthly as (
        select stream_id, programme_id, provider_id, date_trunc('month', session_date)::date as session_date,
          min(valid_from) as first_session, min(valid_from) filter (where attended) as first_attended,
          count(*) filter (where attended)::int as attended, count(*) filter (where not attended)::int as missed
        from sessions_versions group by 1, 2, 3, 4),
      cells as (
        select c.period_from, m.programme_id, c.period_level, p.provider_id, m.stream_id, m.first_session,
          m.first_attended, m.attended, m.missed
        from monthly m ${tx.unsafe(CELLS_OF_SESSION('m'))}),
      added as (
        insert into session_people_versions (period_from, programme_id, period_level, provider_id, kind, stream_id, valid_from)
        select period_from, programme_id, period_level, provider_id, k.kind, stream_id, min(k.valid_from)
        from cells cross join lateral (values ('session', first_session), ('attended', first_attended)) as k(kind, valid_from)
        where k.valid_from is not null
        group by 1, 2, 3, 4, 5, 6
        returning period_from, programme_id, period_level, provider_id, kind),
      joined as (
        select period_from, programme_id, period_level, provider_id,
          count(*) filter (where kind = 'session')::int as people,
          count(*) filter (where kind = 'attended')::int as attenders
        from added group by 1, 2, 3, 4),
      sums as (
        select period_from, programme_id, period_level, provider_id, sum(attended)::int as attended,
          sum(missed)::int as missed
        from cells group by 1, 2, 3, 4)
      insert into session_cells (period_from, programme_id, period_level, provider_id, people, attenders, attended, missed)
      select s.period_from, s.programme_id, s.period_level, s.provider_id, j.people, j.attenders, s.attended, s.missed
      from sums s join joined j using (period_from, programme_id, period_level, provider_id)`;
  },
};

const SESSION_COLUMNS =
  'event_id, stream_id, provider_id, programme_id, session_date, attended, duration_minutes, session_type, delivered_by, valid_from';

/**
 * projectAttendance's row in SQL over a stored session event at its type's latest version (STORED_AT_LATEST_SQL):
 * the same values, in SESSION_COLUMNS' order. A session's fields that rows keep are never sealed (only its id is
 * personal). services/projector/test/session-cells.int.test.ts compares a replay with live batches.
 */
const SESSION_FROM_LOG_SQL = `event_id, stream_id, provider_id, coalesce(programme_id, ''), (data->>'sessionDate')::date,
  type = 'SessionAttended', case when type = 'SessionAttended' then (data->>'durationMinutes')::integer end,
  data->>'sessionType', case when type = 'SessionAttended' then data->>'deliveredBy' end, position`;

/** Stored at the latest version of its type, among the types attendance handles: read as stored, without upcasting. */
const STORED_AT_LATEST_SQL = atLatestVersionSql(attendanceProjection.handles);

/**
 * The insert of sessions (a statement, or a CTE's body with a `returning` after it). Live, an event seen twice is
 * stored once; a replay stores each event once into a table without its key yet.
 */
const insertSessions = (tx: TransactionSql, rows: readonly Positioned<SessionRow>[], path: 'live' | 'replay') => tx`
  insert into sessions_versions (${tx.unsafe(SESSION_COLUMNS)})
  select "eventId", "streamId", "providerId", "programmeId", "sessionDate", attended, "durationMinutes", "sessionType", "deliveredBy", position
  from json_to_recordset(${recordset(rows)}::text::json) as x("eventId" uuid, "streamId" text, "providerId" text, "programmeId" text,
    "sessionDate" date, attended boolean, "durationMinutes" integer, "sessionType" text, "deliveredBy" text, position bigint)
  ${tx.unsafe(path === 'live' ? 'on conflict (valid_from) do nothing' : '')}`;

/**
 * The cells a row with `session_date`, `provider_id` and `programme_id` counts in, joined to it as
 * (period_level, period_from) and provider_id: its month, quarter and financial year, for its provider and for every
 * provider together ('').
 */
const CELLS_OF_SESSION = (alias: string): string =>
  `cross join lateral ${SESSION_PERIODS_SQL.replaceAll('session_date', `${alias}.session_date`)} as c(period_level, period_from)
   cross join lateral (values (${alias}.provider_id), ('')) as p(provider_id)`;
