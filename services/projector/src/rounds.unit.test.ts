import t from 'tap';
import type { StoredEvent } from '@vru/contracts';
import { changeRounds } from './apply.js';
import { attendanceProjection } from './projections/attendance.js';
import { participantsProjection } from './projections/participants.js';
import { readModelDdl, asAtViewsDdl } from './projection.js';

let position = 100;
const stored = (streamId: string, type: string, data: Record<string, unknown>): StoredEvent => ({
  position: String(++position),
  eventId: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
  streamId,
  streamVersion: position,
  type,
  schemaVersion: 2,
  providerId: 'prov-a',
  programmeId: 'prog',
  occurredAt: '2026-01-01T00:00:00Z',
  recordedAt: '2026-01-01T00:00:00Z',
  data,
  metadata: { requestId: 'r', keyId: 'k', role: 'provider', source: 'api' },
});
const session = (streamId: string, date: string) =>
  stored(streamId, 'SessionAttended', {
    sessionId: date,
    sessionDate: date,
    durationMinutes: 60,
    sessionType: 'one-to-one',
    deliveredBy: 'staff',
  });

t.test(
  "a mutable read model gets each stream's k-th event in the k-th round, each change at its event's position",
  async (t) => {
    const events = [
      stored('p-1', 'ParticipantReferred', { referralDate: '2026-01-02', referralSource: 'school' }),
      stored('p-2', 'ParticipantReferred', { referralDate: '2026-01-03', referralSource: 'police' }),
      session('p-1', '2026-01-10'),
      stored('p-1', 'SessionMissed', { sessionId: 'x', sessionDate: '2026-01-11' }),
      session('p-1', '2026-01-12'),
    ];
    const rounds = changeRounds(participantsProjection, events);
    t.same(
      rounds.map((r) => r.map((c) => `${c.streamId}@${c.position}`)),
      [['p-1@101', 'p-2@102'], ['p-1@103'], ['p-1@105']],
      'no round touches a stream twice; an event the read model ignores (a missed session) takes no round',
    );
  },
);

t.test('an append-only read model takes the whole batch in one round', async (t) => {
  const rounds = changeRounds(attendanceProjection, [
    session('p-1', '2026-01-10'),
    session('p-1', '2026-01-11'),
    session('p-2', '2026-01-11'),
  ]);
  t.equal(rounds.length, 1);
  t.same(
    rounds[0]!.map((c) => c.position),
    ['106', '107', '108'],
  );
});

t.test("current views read the current rows only; as-at views filter on the transaction's position", async (t) => {
  const ddl = readModelDdl(participantsProjection.tables);
  t.match(
    ddl,
    /create view participants as select stream_id, provider_id, .* from only participants_versions where valid_to is null;/,
  );
  t.match(ddl, /create table participants_closed \(\) inherits \(participants_versions\);/);
  t.match(
    ddl,
    /before update on participants_versions for each row execute function version_row\('participants_closed'\)/,
  );
  t.match(
    ddl,
    /create unique index participants_current on participants_versions \(stream_id\) where valid_to is null;/,
  );
  t.match(
    ddl,
    /create index participants_0 on participants_versions \(programme_id, referral_date\) where valid_to is null;/,
  );
  t.match(
    asAtViewsDdl('rm_participants', 'rm_participants_as_at', participantsProjection.tables),
    /from only rm_participants\.participants_versions where valid_to is null and valid_from <= \(select current_setting\('vru\.as_at'\)::bigint\) union all select .* from rm_participants\.participants_closed where int8range\(valid_from, greatest\(valid_from, valid_to\)\) @> \(select current_setting\('vru\.as_at'\)::bigint\);/,
    'the position read once per statement, not once per row',
  );
  t.notMatch(
    readModelDdl(attendanceProjection.tables),
    /valid_to|trigger/,
    'append-only rows need no end position and no trigger',
  );
});
