import { randomUUID } from 'node:crypto';

// Here rather than in harness.ts, so that the bench's load generators can build journeys without loading the harness.
export const PROGRAMME = 'mentoring-test';
export const PROGRAMME_2 = 'sport-test';

type Json = Record<string, unknown>;

/** Builders for valid submissions; tests override only what they are about. */
export const event = {
  referred: (ref: string, over: Json = {}) =>
    envelope(
      'ParticipantReferred',
      1,
      ref,
      {
        referralDate: '2026-01-10',
        referralSource: 'school',
        ageAtReferral: 15,
        gender: 'male',
        ethnicity: 'white-british',
        postcodeDistrict: 'DE23',
        riskFactors: ['school-exclusion'],
      },
      over,
    ),
  consent: (ref: string, scope = 'evaluation', over: Json = {}) =>
    envelope('ConsentRecorded', 1, ref, { scope, recordedOn: '2026-01-11' }, over),
  withdrawn: (ref: string, scope = 'evaluation', over: Json = {}) =>
    envelope('ConsentWithdrawn', 1, ref, { scope, withdrawnOn: '2026-10-01' }, over),
  enrolled: (ref: string, over: Json = {}) =>
    envelope(
      'ParticipantEnrolled',
      1,
      ref,
      { startDate: '2026-01-15', plannedSessions: 10, deliverySetting: 'community' },
      over,
    ),
  attended: (ref: string, sessionId: string, date = '2026-02-01', over: Json = {}) =>
    envelope(
      'SessionAttended',
      2,
      ref,
      {
        sessionId,
        sessionDate: date,
        durationMinutes: 60,
        sessionType: 'one-to-one',
        deliveredBy: 'staff',
      },
      over,
    ),
  attendedV1: (ref: string, sessionId: string, date = '2026-02-01', over: Json = {}) =>
    envelope(
      'SessionAttended',
      1,
      ref,
      {
        sessionId,
        sessionDate: date,
        durationMinutes: 45,
        sessionType: 'group',
      },
      over,
    ),
  missed: (ref: string, sessionId: string, date = '2026-02-08', over: Json = {}) =>
    envelope(
      'SessionMissed',
      1,
      ref,
      {
        sessionId,
        sessionDate: date,
        sessionType: 'one-to-one',
        reason: 'did-not-attend',
      },
      over,
    ),
  exited: (ref: string, over: Json = {}) =>
    envelope('ParticipantExited', 1, ref, { exitDate: '2026-04-01', reason: 'completed' }, over),
};

function envelope(type: string, schemaVersion: number, participantRef: string, data: Json, over: Json): Json {
  const { data: dataOver, ...rest } = over as { data?: Json };
  return {
    eventId: randomUUID(),
    type,
    schemaVersion,
    occurredAt: '2026-02-10T10:00:00Z',
    programmeId: PROGRAMME,
    participantRef,
    data: { ...data, ...(dataOver ?? {}) },
    ...rest,
  };
}

/** A participant's journey: referral, evaluation consent, enrolment, then sessions as given. */
export function journey(ref: string, sessions: { attended: number; missed: number }, programmeId = PROGRAMME): Json[] {
  const out: Json[] = [
    event.referred(ref, { programmeId }),
    event.consent(ref, 'evaluation', { programmeId }),
    event.enrolled(ref, { programmeId }),
  ];
  for (let i = 0; i < sessions.attended; i++)
    out.push(event.attended(ref, `s-a-${i}`, `2026-02-${String(i + 1).padStart(2, '0')}`, { programmeId }));
  for (let i = 0; i < sessions.missed; i++)
    out.push(event.missed(ref, `s-m-${i}`, `2026-03-${String(i + 1).padStart(2, '0')}`, { programmeId }));
  return out;
}
