import { DomainRuleError, violation, dateOf, type Decider, type DomainEvent, type RecordFact, type RuleViolation } from '../decision.js';
import {
  consentInForce, evolveParticipant, hasOpenConsent, initialParticipantState, type ConsentScope, type ParticipantState, type SessionDigest,
} from './participant.js';

/** Allowance for clock differences between a provider's system and ours. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The date field that says when the fact happened, per event type. */
export const FACT_DATE_FIELD: Record<string, string> = {
  ParticipantReferred: 'referralDate',
  ConsentRecorded: 'recordedOn',
  ConsentWithdrawn: 'withdrawnOn',
  ParticipantEnrolled: 'startDate',
  SessionAttended: 'sessionDate',
  SessionMissed: 'sessionDate',
  OutcomeMeasured: 'measuredOn',
  ParticipantExited: 'exitDate',
  FollowUpRecorded: 'followUpDate',
  OffenceRecorded: 'provenDate',
  ParticipantErased: 'requestedOn',
};

/** Facts about the record, not about the intervention: not bound to the programme's dates or the exit date. */
const RECORD_KEEPING = new Set(['MatchTokenRecorded', 'ParticipantErased']);

/** Events allowed to describe things after the participant's exit date. */
const AFTER_EXIT_ALLOWED = new Set(['FollowUpRecorded', 'OffenceRecorded', 'ConsentWithdrawn', 'ConsentRecorded', ...RECORD_KEEPING]);

function timeRules(event: DomainEvent, now: string): RuleViolation[] {
  const out: RuleViolation[] = [];
  if (Date.parse(event.occurredAt) > Date.parse(now) + CLOCK_SKEW_MS) {
    out.push(violation('occurred-in-future', '/occurredAt', 'occurredAt is in the future'));
  }
  const today = dateOf(now);
  for (const [field, value] of Object.entries(event.data)) {
    if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) && value > today) {
      out.push(violation('date-in-future', `/data/${field}`, `${field} is in the future`));
    }
  }
  return out;
}

function participantRules(event: DomainEvent, state: ParticipantState, command: RecordFact, sessionDigest: SessionDigest): RuleViolation[] {
  const d = event.data;
  const field = FACT_DATE_FIELD[event.type];
  const date = field ? (d[field] as string) : dateOf(event.occurredAt);
  const at = `/data/${field}`;
  const programme = command.context.programme;
  const out: RuleViolation[] = [];

  if (state.erased) {
    return [violation('participant-erased', '/participantRef', 'This participant\'s personal data was erased; no further events are accepted', 409)];
  }
  if (programme && event.type !== 'OffenceRecorded' && event.type !== 'FollowUpRecorded' && !RECORD_KEEPING.has(event.type)) {
    if (date < programme.startsOn) out.push(violation('before-programme-start', at, `${field} is before the programme started (${programme.startsOn})`));
    if (programme.endsOn && date > programme.endsOn && event.type !== 'ParticipantExited' && !event.type.startsWith('Consent')) {
      out.push(violation('after-programme-end', at, `${field} is after the programme ended (${programme.endsOn})`));
    }
  }

  if (event.type !== 'ParticipantReferred' && state.referralDate === null) {
    const rule = event.type === 'ParticipantEnrolled' ? 'enrolment-without-referral' : 'unknown-participant';
    return [...out, violation(rule, '/participantRef', 'No referral has been recorded for this participant', 409)];
  }
  if (state.exitDate !== null && !AFTER_EXIT_ALLOWED.has(event.type) && date > state.exitDate) {
    out.push(violation('after-exit', at, `${field} is after the participant exited (${state.exitDate})`, 409));
  }

  switch (event.type) {
    case 'ParticipantReferred':
      if (state.referralDate !== null) out.push(violation('already-referred', '/type', 'This participant has already been referred', 409));
      break;
    case 'ConsentRecorded':
    case 'ConsentWithdrawn': {
      if (state.referralDate !== null && date < state.referralDate) out.push(violation('before-referral', at, `${field} is before the referral`, 409));
      const scope = d.scope as ConsentScope;
      if (event.type === 'ConsentWithdrawn' && !hasOpenConsent(state, scope)) {
        out.push(violation('consent-not-given', '/data/scope', `No ${scope} consent is in force to withdraw`, 409));
      }
      if (event.type === 'ConsentRecorded' && hasOpenConsent(state, scope)) {
        out.push(violation('consent-already-given', '/data/scope', `${scope} consent is already in force`, 409));
      }
      break;
    }
    case 'ParticipantEnrolled':
      if (state.startDate !== null) out.push(violation('already-enrolled', '/type', 'This participant is already enrolled', 409));
      else if (state.referralDate !== null && date < state.referralDate) out.push(violation('enrolment-before-referral', at, 'startDate is before the referral date', 409));
      break;
    case 'SessionAttended':
    case 'SessionMissed':
      if (state.startDate === null || date < state.startDate) {
        out.push(violation('session-before-enrolment', at, 'A session cannot be recorded before enrolment', 409));
      }
      if (state.sessionKeys.includes(sessionDigest(d.sessionId as string))) {
        out.push(violation('session-already-recorded', '/data/sessionId', 'This session is already recorded for this participant', 409));
      }
      break;
    case 'OutcomeMeasured':
      if (state.startDate === null || date < state.startDate) {
        out.push(violation('measure-before-enrolment', at, 'An outcome measure cannot be recorded before enrolment', 409));
      }
      // Outcome measures are evaluation data: without evaluation consent on that date they are refused, not stored and hidden.
      if (!consentInForce(state, 'evaluation', date)) {
        out.push(violation('evaluation-consent-required', at, 'No evaluation consent was in force on measuredOn', 409));
      }
      break;
    case 'ParticipantExited':
      if (state.exitDate !== null) out.push(violation('already-exited', '/type', 'This participant has already exited', 409));
      else if (date < (state.startDate ?? state.referralDate ?? date)) {
        out.push(violation('exit-before-start', at, 'exitDate is before enrolment (or referral)', 409));
      }
      if (d.reason === 'completed' && state.startDate === null) {
        out.push(violation('completion-without-enrolment', '/data/reason', 'Only an enrolled participant can complete', 409));
      }
      break;
    case 'FollowUpRecorded':
      if (state.exitDate === null) out.push(violation('follow-up-before-exit', '/type', 'Follow-ups are recorded after exit', 409));
      else if (date < state.exitDate) out.push(violation('follow-up-before-exit', at, 'followUpDate is before the exit date', 409));
      if (d.contactMade === true && !consentInForce(state, 'follow-up-contact', date)) {
        out.push(violation('follow-up-consent-required', '/data/contactMade', 'No follow-up-contact consent was in force on followUpDate', 409));
      }
      break;
    case 'OffenceRecorded':
    case 'MatchTokenRecorded':
    case 'ParticipantErased':
      break;
  }
  return out;
}

export const decideParticipant = (sessionDigest: SessionDigest) => (command: RecordFact, state: ParticipantState): DomainEvent[] => {
  const violations = [...timeRules(command.event, command.context.now), ...participantRules(command.event, state, command, sessionDigest)];
  if (violations.length > 0) throw new DomainRuleError(violations);
  return [command.event];
};

/** The participant decider, given the session-id digest port (keyed by the event store). */
export const participantDecider = (sessionDigest: SessionDigest): Decider<ParticipantState> => ({
  initialState: initialParticipantState,
  evolve: evolveParticipant(sessionDigest),
  decide: decideParticipant(sessionDigest),
  // 4: session digests are keyed; snapshots holding unkeyed ones are rebuilt from the events.
  stateVersion: 4,
});

export { timeRules };
