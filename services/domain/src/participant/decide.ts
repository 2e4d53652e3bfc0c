import type { EventTypeOf } from '@vru/contracts';
import {
  conflict,
  DomainRuleError,
  violation,
  dateOf,
  recorded,
  unhandled,
  type DomainEvent,
  type RuleViolation,
  type StreamCommand,
  type StreamDecider,
} from '../decision.js';
import {
  consentInForce,
  evolveParticipant,
  hasOpenConsent,
  initialParticipantState,
  type ParticipantEvent,
  type ParticipantState,
  type SessionDigest,
} from './participant.js';

/** The orders a participant's stream takes. */
export type ParticipantCommand = StreamCommand<'participant'>;

/** Allowance for clock differences between a provider's system and ours. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The date field that says when the fact happened, per event type. */
export const FACT_DATE_FIELD: Partial<Record<EventTypeOf<'participant'>, string>> = {
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
const RECORD_KEEPING: ReadonlySet<string> = new Set(['MatchTokenRecorded', 'ParticipantErased']);

/** Events allowed to describe things after the participant's exit date. */
const AFTER_EXIT_ALLOWED: ReadonlySet<string> = new Set([
  'FollowUpRecorded',
  'OffenceRecorded',
  'ConsentWithdrawn',
  'ConsentRecorded',
  ...RECORD_KEEPING,
]);

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

function participantRules(
  command: ParticipantCommand,
  state: ParticipantState,
  sessionDigest: SessionDigest,
): RuleViolation[] {
  const event = recorded(command);
  const field = FACT_DATE_FIELD[event.type];
  const date = field ? ((event.data as Record<string, unknown>)[field] as string) : dateOf(event.occurredAt);
  const at = `/data/${field}`;
  const programme = command.context.programme;
  const out: RuleViolation[] = [];

  if (state.erased) {
    return [
      conflict(
        'participant-erased',
        '/participantRef',
        "This participant's personal data was erased; no further events are accepted",
      ),
    ];
  }
  if (
    programme &&
    event.type !== 'OffenceRecorded' &&
    event.type !== 'FollowUpRecorded' &&
    !RECORD_KEEPING.has(event.type)
  ) {
    if (date < programme.startsOn)
      out.push(
        violation('before-programme-start', at, `${field} is before the programme started (${programme.startsOn})`),
      );
    if (
      programme.endsOn &&
      date > programme.endsOn &&
      event.type !== 'ParticipantExited' &&
      !event.type.startsWith('Consent')
    ) {
      out.push(violation('after-programme-end', at, `${field} is after the programme ended (${programme.endsOn})`));
    }
  }

  if (event.type !== 'ParticipantReferred' && state.referralDate === null) {
    const rule = event.type === 'ParticipantEnrolled' ? 'enrolment-without-referral' : 'unknown-participant';
    return [...out, conflict(rule, '/participantRef', 'No referral has been recorded for this participant')];
  }
  if (state.exitDate !== null && !AFTER_EXIT_ALLOWED.has(event.type) && date > state.exitDate) {
    out.push(conflict('after-exit', at, `${field} is after the participant exited (${state.exitDate})`));
  }
  return [...out, ...commandRules(command, state, date, at, sessionDigest)];
}

/** The rules of each order, past the ones every participant command shares. */
function commandRules(
  command: ParticipantCommand,
  state: ParticipantState,
  date: string,
  at: string,
  sessionDigest: SessionDigest,
): RuleViolation[] {
  const out: RuleViolation[] = [];
  switch (command.type) {
    case 'RecordReferral':
      if (state.referralDate !== null)
        out.push(conflict('already-referred', '/type', 'This participant has already been referred'));
      break;
    case 'RecordConsent':
    case 'WithdrawConsent': {
      const field = command.type === 'RecordConsent' ? 'recordedOn' : 'withdrawnOn';
      if (state.referralDate !== null && date < state.referralDate)
        out.push(conflict('before-referral', at, `${field} is before the referral`));
      const scope = command.data.scope;
      if (command.type === 'WithdrawConsent' && !hasOpenConsent(state, scope)) {
        out.push(conflict('consent-not-given', '/data/scope', `No ${scope} consent is in force to withdraw`));
      }
      if (command.type === 'RecordConsent' && hasOpenConsent(state, scope)) {
        out.push(conflict('consent-already-given', '/data/scope', `${scope} consent is already in force`));
      }
      break;
    }
    case 'RecordEnrolment':
      if (state.startDate !== null)
        out.push(conflict('already-enrolled', '/type', 'This participant is already enrolled'));
      else if (state.referralDate !== null && date < state.referralDate) {
        out.push(conflict('enrolment-before-referral', at, 'startDate is before the referral date'));
      }
      break;
    case 'RecordAttendance':
    case 'RecordMissedSession':
      if (state.startDate === null || date < state.startDate) {
        out.push(conflict('session-before-enrolment', at, 'A session cannot be recorded before enrolment'));
      }
      if (state.sessionKeys.includes(sessionDigest(command.data.sessionId))) {
        out.push(
          conflict(
            'session-already-recorded',
            '/data/sessionId',
            'This session is already recorded for this participant',
          ),
        );
      }
      break;
    case 'RecordOutcomeMeasure':
      if (state.startDate === null || date < state.startDate) {
        out.push(conflict('measure-before-enrolment', at, 'An outcome measure cannot be recorded before enrolment'));
      }
      // Outcome measures are evaluation data: without evaluation consent on that date they are refused, not stored and hidden.
      if (!consentInForce(state, 'evaluation', date)) {
        out.push(conflict('evaluation-consent-required', at, 'No evaluation consent was in force on measuredOn'));
      }
      break;
    case 'RecordExit':
      if (state.exitDate !== null) out.push(conflict('already-exited', '/type', 'This participant has already exited'));
      else if (date < (state.startDate ?? state.referralDate ?? date)) {
        out.push(conflict('exit-before-start', at, 'exitDate is before enrolment (or referral)'));
      }
      if (command.data.reason === 'completed' && state.startDate === null) {
        out.push(conflict('completion-without-enrolment', '/data/reason', 'Only an enrolled participant can complete'));
      }
      break;
    case 'RecordFollowUp':
      if (state.exitDate === null)
        out.push(conflict('follow-up-before-exit', '/type', 'Follow-ups are recorded after exit'));
      else if (date < state.exitDate)
        out.push(conflict('follow-up-before-exit', at, 'followUpDate is before the exit date'));
      if (command.data.contactMade && !consentInForce(state, 'follow-up-contact', date)) {
        out.push(
          conflict(
            'follow-up-consent-required',
            '/data/contactMade',
            'No follow-up-contact consent was in force on followUpDate',
          ),
        );
      }
      break;
    case 'RecordOffence':
    case 'RecordMatchToken':
    case 'EraseParticipant':
      break;
    default:
      return unhandled(command);
  }
  return out;
}

export const decideParticipant =
  (sessionDigest: SessionDigest) =>
  (command: ParticipantCommand, state: ParticipantState): ParticipantEvent[] => {
    const violations = [
      ...timeRules(recorded(command), command.context.now),
      ...participantRules(command, state, sessionDigest),
    ];
    if (violations.length > 0) throw new DomainRuleError(violations);
    return [recorded(command)];
  };

/** The participant decider, given the session-id digest port (keyed by the event store). */
export const participantDecider = (sessionDigest: SessionDigest): StreamDecider<'participant', ParticipantState> => ({
  initialState: initialParticipantState,
  evolve: evolveParticipant(sessionDigest),
  decide: decideParticipant(sessionDigest),
  // 4: session digests are keyed; snapshots holding unkeyed ones are rebuilt from the events.
  stateVersion: 4,
});

export { timeRules };
