import t from 'tap';
import type { StoredEvent } from '@vru/contracts';
import { ageAtReferral, ageBand } from '@vru/domain';
import { mergeParticipantChanges, projectParticipant } from './participants.js';
import { mergeOutcomes, projectOutcome } from './outcomes.js';
import { projectSpend } from './spend.js';

let position = 0;
const stored = (type: string, data: Record<string, unknown>, streamId = 'participant-x'): StoredEvent => ({
  position: String(++position),
  eventId: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
  streamId,
  streamVersion: position,
  type,
  schemaVersion: 1,
  providerId: 'prov-a',
  programmeId: 'prog',
  occurredAt: '2026-01-01T00:00:00Z',
  recordedAt: '2026-01-01T00:00:00Z',
  data,
  metadata: { requestId: 'r', keyId: 'k', role: 'provider', source: 'api' },
});

t.test('age at referral and bands', async (t) => {
  t.equal(ageAtReferral({ ageAtReferral: 16, referralDate: '2026-01-01' }), 16);
  t.equal(
    ageAtReferral({ birthYearMonth: '2009-04', referralDate: '2025-03-10' }),
    15,
    'the month before the birthday month',
  );
  t.equal(
    ageAtReferral({ birthYearMonth: '2009-04', referralDate: '2025-04-01' }),
    16,
    'the birthday month counts as reached',
  );
  t.equal(ageAtReferral({ referralDate: '2025-04-01' }), null);
  t.same([9, 10, 13, 14, 17, 18, 21, 22, 25, 26].map(ageBand), [
    'under-10',
    '10-13',
    '10-13',
    '14-17',
    '14-17',
    '18-21',
    '18-21',
    '22-25',
    '22-25',
    '26+',
  ]);
});

t.test('participant changes fold in stream order', async (t) => {
  const changes = [
    stored('ParticipantReferred', {
      referralDate: '2025-01-10',
      referralSource: 'school',
      ageAtReferral: 15,
      gender: 'male',
      ethnicity: 'white-british',
      postcodeDistrict: 'DE23',
    }),
    stored('ConsentRecorded', { scope: 'evaluation', recordedOn: '2025-01-11' }),
    stored('SessionAttended', { sessionId: 'b', sessionDate: '2025-02-10' }),
    stored('SessionAttended', { sessionId: 'a', sessionDate: '2025-02-03' }),
    stored('ConsentWithdrawn', { scope: 'evaluation', withdrawnOn: '2025-03-01' }),
    stored('FollowUpRecorded', {
      monthsAfterExit: 3,
      followUpDate: '2025-09-01',
      contactMade: false,
      status: 'unknown',
    }),
    stored('SessionMissed', { sessionId: 'c', sessionDate: '2025-02-17' }),
  ].flatMap(projectParticipant);
  t.equal(changes.length, 6, 'a missed session changes nothing');
  const [merged] = mergeParticipantChanges(changes);
  t.equal(merged!.patch.firstSessionDate, '2025-02-03', 'the earliest session, whatever the order');
  t.equal(merged!.patch.evaluationConsentFrom, '2025-01-11');
  t.equal(merged!.patch.evaluationConsentWithdrawnOn, '2025-03-01');
  t.equal(merged!.patch.ageBand, '14-17');
  t.same(Object.keys(merged!.patch.followUps ?? {}), ['3']);
  const [again] = mergeParticipantChanges(
    projectParticipant(stored('ConsentRecorded', { scope: 'evaluation', recordedOn: '2025-04-01' })),
  );
  t.same(
    again!.patch,
    { evaluationConsentFrom: '2025-04-01', evaluationConsentWithdrawnOn: null },
    'consenting again clears the withdrawal',
  );
});

t.test('a participant row records whether a baseline and an exit measure were taken, not the scores', async (t) => {
  const m = (timepoint: string) =>
    projectParticipant(
      stored('OutcomeMeasured', { instrument: 'sdq-total', timepoint, measuredOn: '2025-02-01', score: 9 }),
    );
  t.same(m('baseline')[0]?.patch, { measuredBaseline: true });
  t.same(m('exit')[0]?.patch, { measuredExit: true });
  t.same(m('interim'), [], 'an interim measure changes nothing');
  const [merged] = mergeParticipantChanges([...m('baseline'), ...m('interim'), ...m('exit')]);
  t.same(merged!.patch, { measuredBaseline: true, measuredExit: true });
});

t.test('outcome pairs: first baseline, last exit', async (t) => {
  const m = (timepoint: string, measuredOn: string, score: number) =>
    stored('OutcomeMeasured', { instrument: 'sdq-total', timepoint, measuredOn, score });
  const rows = mergeOutcomes(
    [
      m('baseline', '2025-02-01', 20),
      m('baseline', '2025-01-15', 25),
      m('interim', '2025-03-01', 18),
      m('exit', '2025-06-30', 12),
      m('exit', '2025-06-01', 30),
    ].flatMap(projectOutcome),
  );
  t.equal(rows.length, 1);
  t.same(
    [rows[0]!.baselineScore, rows[0]!.exitScore, rows[0]!.measurements, rows[0]!.higherIsBetter],
    [25, 12, 5, false],
  );
});

t.test('spend changes', async (t) => {
  const [grant] = projectSpend(
    stored(
      'GrantAwarded',
      {
        providerId: 'prov-a',
        programmeId: 'prog',
        amountPence: 100,
        startDate: '2025-01-01',
        endDate: '2025-12-31',
        targetParticipants: 5,
      },
      'grant-G-1',
    ),
  );
  t.match(grant, { kind: 'grant', grantRef: 'G-1', amountPence: 100 });
  const [c] = projectSpend(
    stored('SpendCorrected', { correctsEventId: 'e', amountPence: 0, category: 'staff', reason: 'x' }, 'grant-G-1'),
  );
  t.match(c, { kind: 'correction', correctsEventId: 'e', amountPence: 0 });
});
