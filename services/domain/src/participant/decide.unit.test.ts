import { createHmac } from 'node:crypto';
import t, { type Test } from 'tap';
import { commandFor, type DecisionContext, type StreamCommand, type StreamEvent } from '../decision.js';
import { spec } from '../testing/spec.js';
import { participantDecider } from './decide.js';

const NOW = '2026-06-01T12:00:00.000Z';
const PROGRAMME = { programmeId: 'mentoring-test', startsOn: '2025-01-01', endsOn: null };

let counter = 0;
function fact(
  type: string,
  data: Record<string, unknown>,
  over: { occurredAt?: string; programmeId?: string } = {},
): StreamEvent<'participant'> {
  counter += 1;
  return {
    eventId: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    type,
    occurredAt: '2026-05-01T10:00:00Z',
    programmeId: PROGRAMME.programmeId,
    data,
    ...over,
  } as StreamEvent<'participant'>;
}

const referred = (referralDate = '2026-01-10', over: { occurredAt?: string; programmeId?: string } = {}) =>
  fact(
    'ParticipantReferred',
    {
      referralDate,
      referralSource: 'school',
      ageAtReferral: 15,
      gender: 'male',
      ethnicity: 'white-british',
      postcodeDistrict: 'DE23',
      riskFactors: [],
    },
    over,
  );
const consent = (scope: string, recordedOn: string) => fact('ConsentRecorded', { scope, recordedOn });
const withdrawn = (scope: string, withdrawnOn: string) => fact('ConsentWithdrawn', { scope, withdrawnOn });
const enrolled = (startDate = '2026-01-15') =>
  fact('ParticipantEnrolled', { startDate, plannedSessions: 10, deliverySetting: 'community' });
const attended = (sessionId: string, sessionDate: string) =>
  fact('SessionAttended', {
    sessionId,
    sessionDate,
    durationMinutes: 60,
    sessionType: 'one-to-one',
    deliveredBy: 'staff',
  });
const missed = (sessionId: string, sessionDate: string) =>
  fact('SessionMissed', { sessionId, sessionDate, sessionType: 'group' });
const measured = (measuredOn: string) =>
  fact('OutcomeMeasured', { instrument: 'swemwbs', timepoint: 'baseline', measuredOn, score: 20 });
const exited = (exitDate = '2026-04-01', reason = 'completed') => fact('ParticipantExited', { exitDate, reason });
const followUp = (followUpDate: string, contactMade = false) =>
  fact('FollowUpRecorded', {
    monthsAfterExit: 3,
    followUpDate,
    contactMade,
    status: 'unknown',
  });
const offence = (provenDate: string) =>
  fact('OffenceRecorded', {
    offenceDate: provenDate,
    provenDate,
    disposal: 'caution',
    offenceCategory: 'robbery',
    seriousViolence: true,
  });

const record = (event: StreamEvent<'participant'>, context: Partial<DecisionContext> = {}) =>
  commandFor(event, { now: NOW, programme: PROGRAMME, ...context }) as StreamCommand<'participant'>;

/** The digest port as the event store keys it, under a test key. */
const sessionDigest = (sessionId: string) =>
  createHmac('sha256', 'test-key').update(sessionId).digest('hex').slice(0, 32);
const given = (history: StreamEvent<'participant'>[]) => spec(participantDecider(sessionDigest)).given(history);

/** The history of a participant who was referred, consented to evaluation, enrolled and attended one session. */
const ENROLLED = [referred(), consent('evaluation', '2026-01-11'), enrolled(), attended('S-1', '2026-02-01')];
const EXITED = [...ENROLLED, exited('2026-04-01')];

function should(t: Test, outcome: string, check: (t: Test) => unknown) {
  return t.test(`should ${outcome}`, async (t) => {
    check(t);
    t.pass(outcome);
  });
}

t.test('When the participant has no history', async (t) => {
  should(t, 'accept a referral', () => {
    const e = referred();
    given([]).when(record(e)).then([e]);
  });
  should(t, 'refuse a fact that occurred in the future beyond clock skew', () => {
    given([])
      .when(record(referred('2026-06-01', { occurredAt: '2026-06-01T12:06:00Z' })))
      .thenThrows('occurred-in-future');
  });
  should(t, 'allow a few minutes of clock skew in occurredAt', () => {
    const e = referred('2026-06-01', { occurredAt: '2026-06-01T12:04:00Z' });
    given([]).when(record(e)).then([e]);
  });
  should(t, 'refuse a fact date after today', (t) => {
    const err = given([])
      .when(record(referred('2026-06-02')))
      .thenThrows('date-in-future');
    t.equal(err.violations[0]!.field, '/data/referralDate');
  });
  should(t, 'accept a fact dated today', () => {
    const e = referred('2026-06-01');
    given([]).when(record(e)).then([e]);
  });
  should(t, 'refuse a referral before the programme started', (t) => {
    const err = given([])
      .when(record(referred('2024-12-31')))
      .thenThrows('before-programme-start');
    t.equal(err.violations[0]!.kind, 'invalid');
  });
  should(t, 'refuse a referral after the programme ended', () => {
    given([])
      .when(record(referred('2026-04-01'), { programme: { ...PROGRAMME, endsOn: '2026-03-31' } }))
      .thenThrows('after-programme-end');
  });
  should(t, 'refuse an enrolment without a referral', (t) => {
    const err = given([]).when(record(enrolled())).thenThrows('enrolment-without-referral');
    t.equal(err.violations[0]!.field, '/participantRef');
  });
  should(t, 'refuse any other fact as about an unknown participant', () => {
    given([])
      .when(record(attended('S-1', '2026-02-01')))
      .thenThrows('unknown-participant');
    given([])
      .when(record(consent('evaluation', '2026-01-11')))
      .thenThrows('unknown-participant');
  });
});

t.test('When the participant has been referred', async (t) => {
  const history = [referred('2026-01-10')];
  should(t, 'refuse a second referral', () => {
    given(history)
      .when(record(referred('2026-01-12')))
      .thenThrows('already-referred');
  });
  should(t, 'refuse consent dated before the referral', () => {
    given(history)
      .when(record(consent('evaluation', '2026-01-09')))
      .thenThrows('before-referral');
  });
  should(t, 'refuse to withdraw consent that was never given', () => {
    given(history)
      .when(record(withdrawn('evaluation', '2026-01-20')))
      .thenThrows('consent-not-given');
  });
  should(t, 'refuse an enrolment dated before the referral', () => {
    given(history)
      .when(record(enrolled('2026-01-09')))
      .thenThrows('enrolment-before-referral');
  });
  should(t, 'accept an enrolment on the referral date', () => {
    const e = enrolled('2026-01-10');
    given(history).when(record(e)).then([e]);
  });
  should(t, 'refuse a session before enrolment', (t) => {
    const err = given(history)
      .when(record(attended('S-1', '2026-02-01')))
      .thenThrows('session-before-enrolment');
    t.same(
      err.violations.map((v) => [v.field, v.kind]),
      [['/data/sessionDate', 'conflicts-with-history']],
    );
    given(history)
      .when(record(missed('S-2', '2026-02-01')))
      .thenThrows('session-before-enrolment');
  });
  should(t, 'refuse an outcome measure before enrolment (and without evaluation consent)', () => {
    given(history)
      .when(record(measured('2026-02-01')))
      .thenThrows('measure-before-enrolment', 'evaluation-consent-required');
  });
  should(t, 'refuse a completion without enrolment', () => {
    given(history)
      .when(record(exited('2026-02-01', 'completed')))
      .thenThrows('completion-without-enrolment');
  });
  should(t, 'accept a disengagement without enrolment', () => {
    const e = exited('2026-02-01', 'disengaged');
    given(history).when(record(e)).then([e]);
  });
  should(t, 'refuse an exit before the referral', () => {
    given(history)
      .when(record(exited('2026-01-09', 'disengaged')))
      .thenThrows('exit-before-start');
  });
  should(t, 'refuse a follow-up before exit', (t) => {
    const err = given(history)
      .when(record(followUp('2026-02-01')))
      .thenThrows('follow-up-before-exit');
    t.equal(err.violations[0]!.field, '/type');
  });
});

t.test('When consent has been given', async (t) => {
  const history = [referred(), consent('evaluation', '2026-01-11')];
  should(t, 'refuse the same consent again while it is in force', () => {
    given(history)
      .when(record(consent('evaluation', '2026-01-12')))
      .thenThrows('consent-already-given');
  });
  should(t, 'accept consent for another scope', () => {
    const e = consent('follow-up-contact', '2026-01-12');
    given(history).when(record(e)).then([e]);
  });
  should(t, 'accept consent again after it was withdrawn', () => {
    const e = consent('evaluation', '2026-02-01');
    given([...history, withdrawn('evaluation', '2026-01-20')])
      .when(record(e))
      .then([e]);
  });
  should(t, 'refuse a second withdrawal', () => {
    given([...history, withdrawn('evaluation', '2026-01-20')])
      .when(record(withdrawn('evaluation', '2026-01-21')))
      .thenThrows('consent-not-given');
  });
});

t.test('When the participant is enrolled', async (t) => {
  should(t, 'refuse a second enrolment', () => {
    given(ENROLLED)
      .when(record(enrolled('2026-01-20')))
      .thenThrows('already-enrolled');
  });
  should(t, 'accept a session on the start date', () => {
    const e = attended('S-2', '2026-01-15');
    given(ENROLLED).when(record(e)).then([e]);
  });
  should(t, 'refuse a session dated before the start date', () => {
    given(ENROLLED)
      .when(record(attended('S-2', '2026-01-14')))
      .thenThrows('session-before-enrolment');
  });
  should(t, 'refuse a session already recorded, attended or missed', (t) => {
    const err = given(ENROLLED)
      .when(record(attended('S-1', '2026-02-02')))
      .thenThrows('session-already-recorded');
    t.equal(err.violations[0]!.field, '/data/sessionId');
    given(ENROLLED)
      .when(record(missed('S-1', '2026-02-02')))
      .thenThrows('session-already-recorded');
  });
  should(t, 'keep in state only what the digest port makes of a session id', (t) => {
    const decider = participantDecider(sessionDigest);
    const state = ENROLLED.reduce(decider.evolve, decider.initialState());
    t.same(state.sessionKeys, [sessionDigest('S-1')]);
    const otherKey = participantDecider((id) =>
      createHmac('sha256', 'another-key').update(id).digest('hex').slice(0, 32),
    );
    t.not(
      ENROLLED.reduce(otherKey.evolve, otherKey.initialState()).sessionKeys[0],
      state.sessionKeys[0],
      'the digest depends on the key',
    );
  });
  should(t, 'refuse an outcome measure dated before the start date', () => {
    given(ENROLLED)
      .when(record(measured('2026-01-14')))
      .thenThrows('measure-before-enrolment');
  });
  should(t, 'accept an outcome measure while evaluation consent is in force', () => {
    const e = measured('2026-02-01');
    given(ENROLLED).when(record(e)).then([e]);
  });
  should(t, 'refuse an outcome measure without evaluation consent', () => {
    given([referred(), consent('service-delivery', '2026-01-11'), enrolled()])
      .when(record(measured('2026-02-01')))
      .thenThrows('evaluation-consent-required');
  });
  should(t, 'refuse an outcome measure dated before evaluation consent was given', () => {
    given([referred(), enrolled(), consent('evaluation', '2026-02-01')])
      .when(record(measured('2026-01-31')))
      .thenThrows('evaluation-consent-required');
  });
  should(t, 'treat a withdrawal as taking effect from its date', () => {
    const history = [...ENROLLED, withdrawn('evaluation', '2026-03-01')];
    const before = measured('2026-02-28');
    given(history).when(record(before)).then([before]);
    given(history)
      .when(record(measured('2026-03-01')))
      .thenThrows('evaluation-consent-required');
  });
  should(t, 'refuse an exit dated before the start date', () => {
    given(ENROLLED)
      .when(record(exited('2026-01-14')))
      .thenThrows('exit-before-start');
  });
  should(t, 'accept a completion', () => {
    const e = exited('2026-04-01', 'completed');
    given(ENROLLED).when(record(e)).then([e]);
  });
  should(t, 'refuse a session after the programme ended but accept an exit then', () => {
    const programme = { ...PROGRAMME, endsOn: '2026-03-31' };
    given(ENROLLED)
      .when(record(attended('S-2', '2026-04-01'), { programme }))
      .thenThrows('after-programme-end');
    const e = exited('2026-04-01');
    given(ENROLLED).when(record(e, { programme })).then([e]);
  });
});

t.test('When the participant has exited', async (t) => {
  should(t, 'refuse a session after the exit date', (t) => {
    const err = given(EXITED)
      .when(record(attended('S-2', '2026-04-02')))
      .thenThrows('after-exit');
    t.equal(err.violations[0]!.field, '/data/sessionDate');
  });
  should(t, 'refuse an outcome measure after the exit date', () => {
    given(EXITED)
      .when(record(measured('2026-04-02')))
      .thenThrows('after-exit');
  });
  should(t, 'accept a late-submitted session dated before the exit', () => {
    const e = attended('S-2', '2026-03-20');
    given(EXITED).when(record(e)).then([e]);
  });
  should(t, 'accept a follow-up after the exit', () => {
    const e = followUp('2026-05-01');
    given(EXITED).when(record(e)).then([e]);
  });
  should(t, 'accept an offence proven after the exit', () => {
    const e = offence('2026-05-01');
    given(EXITED).when(record(e)).then([e]);
  });
  should(t, 'refuse a second exit', () => {
    given(EXITED)
      .when(record(exited('2026-03-31', 'disengaged')))
      .thenThrows('already-exited');
  });
  should(t, 'refuse a follow-up dated before the exit date', (t) => {
    const err = given(EXITED)
      .when(record(followUp('2026-03-31')))
      .thenThrows('follow-up-before-exit');
    t.equal(err.violations[0]!.field, '/data/followUpDate');
  });
  should(t, 'refuse a follow-up contact without follow-up-contact consent', (t) => {
    const err = given(EXITED)
      .when(record(followUp('2026-05-01', true)))
      .thenThrows('follow-up-consent-required');
    t.equal(err.violations[0]!.field, '/data/contactMade');
  });
  should(t, 'accept a follow-up contact with follow-up-contact consent in force', () => {
    const e = followUp('2026-05-01', true);
    given([...EXITED, consent('follow-up-contact', '2026-04-02')])
      .when(record(e))
      .then([e]);
  });
});

const erased = (requestedOn = '2026-05-20') =>
  fact('ParticipantErased', { requestedOn, basis: 'data-subject-request' });
const matchToken = () => fact('MatchTokenRecorded', { matchToken: 'a'.repeat(64) });

t.test('When a participant asks for erasure', async (t) => {
  should(t, 'accept the erasure of a referred participant, after exit and outside the programme dates', () => {
    const e = erased();
    given(EXITED)
      .when(record(e, { programme: { ...PROGRAMME, endsOn: '2026-04-30' } }))
      .then([e]);
  });
  should(t, 'refuse the erasure of a participant who was never referred', () => {
    given([]).when(record(erased())).thenThrows('unknown-participant');
  });
  should(t, 'refuse every later fact, the offences of data partners included', (t) => {
    for (const later of [
      attended('S-9', '2026-03-01'),
      offence('2026-05-21'),
      matchToken(),
      erased('2026-05-21'),
      exited('2026-04-01'),
    ]) {
      const err = given([...ENROLLED, erased()])
        .when(record(later))
        .thenThrows('participant-erased');
      t.equal(err.violations.length, 1);
    }
  });
  should(t, 'accept a match token for a referred participant, also after exit', () => {
    const e = matchToken();
    given(EXITED).when(record(e)).then([e]);
  });
});
