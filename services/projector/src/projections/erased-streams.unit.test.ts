import t from 'tap';
import { projectAttendance } from './attendance.js';
import { projectOffence } from './offences.js';
import { STORED_EVENT_ID as EVENT_ID, storedEvent as stored } from './stored-event.testing.js';

const attended = { sessionDate: '2026-02-01', durationMinutes: 60, sessionType: 'one-to-one', deliveredBy: 'staff' };

t.test('a session row holds nothing derived from its id, and counts the same once the id is erased', async (t) => {
  const [open] = projectAttendance(stored('SessionAttended', { ...attended, sessionId: 'MEN-1006-S1' }));
  t.same(open, {
    kind: 'session',
    eventId: EVENT_ID,
    streamId: 'participant-x',
    providerId: 'prov-a',
    programmeId: 'mentoring-test',
    sessionDate: '2026-02-01',
    attended: true,
    durationMinutes: 60,
    sessionType: 'one-to-one',
    deliveredBy: 'staff',
  });
  const [erased] = projectAttendance(stored('SessionAttended', { ...attended, $erased: true }));
  t.same(erased, open, 'the same row once the session id cannot be read');
  t.same(projectAttendance(stored('ParticipantErased', { requestedOn: '2026-03-01' })), [], 'erasure leaves the rows');
});

t.test(
  "an offence is projected only while its details can be read; erasure removes the stream's offences",
  async (t) => {
    const details = {
      offenceDate: '2026-03-02',
      provenDate: '2026-03-27',
      disposal: 'conviction',
      offenceCategory: 'robbery',
      seriousViolence: true,
    };
    t.match(projectOffence(stored('OffenceRecorded', details)), [
      { kind: 'offence', offenceDate: '2026-03-02', custodial: false },
    ]);
    t.same(
      projectOffence(stored('OffenceRecorded', { custodial: false, $erased: true })),
      [],
      'nothing of an erased offence',
    );
    t.same(projectOffence(stored('ParticipantErased', { requestedOn: '2026-03-01' })), [
      { kind: 'erased', streamId: 'participant-x' },
    ]);
  },
);
