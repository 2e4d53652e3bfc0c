import type { EventData, EventType, EventTypeOf, FieldError, StreamKind, SubmittedData } from '@vru/contracts';

/**
 * Why a rule refuses a command: `invalid` whatever the stream's history (a future date, before the programme started),
 * or `conflicts-with-history` (already enrolled, spend over the award). The API chooses the HTTP status from the kind.
 */
export type ViolationKind = 'invalid' | 'conflicts-with-history';

/** A business rule the command breaks. */
export interface RuleViolation {
  rule: string;
  field: string;
  message: string;
  kind: ViolationKind;
}

export class DomainRuleError extends Error {
  constructor(readonly violations: RuleViolation[]) {
    super(violations.map((v) => v.message).join('; '));
    this.name = 'DomainRuleError';
  }
}

/** Why a submission is refused, wherever it is refused: by a rule of the domain, or because the key may not send it. */
export type RefusalKind = ViolationKind | 'not-permitted';

/** The one refusal shape from the domain (and the ingest checks around it) to the problem body. */
export interface Refusal {
  status: 'rejected';
  kind: RefusalKind;
  code: string;
  title: string;
  errors: FieldError[];
}

export const refusal = (kind: RefusalKind, code: string, title: string, errors: FieldError[]): Refusal => ({
  status: 'rejected',
  kind,
  code,
  title,
  errors,
});

/** A decider's refusal as a Refusal: invalid on its own if any reason is, a conflict only when every reason is one. */
export function refusalOf(err: DomainRuleError): Refusal {
  const kind = err.violations.some((v) => v.kind === 'invalid') ? 'invalid' : 'conflicts-with-history';
  const errors = err.violations.map(({ rule, field, message }) => ({ rule, field, message }));
  return refusal(kind, err.violations[0]!.rule, 'The event breaks a business rule', errors);
}

interface EventEnvelope {
  eventId: string;
  occurredAt: string;
  programmeId?: string | undefined;
}

/**
 * A fact as the deciders and evolve see it, typed by the catalogue: upcast to the latest version, discriminated by `type`.
 * Personal fields may be absent (erased), see EventData.
 */
export type DomainEvent<T extends EventType = EventType> = T extends EventType
  ? EventEnvelope & { type: T; data: EventData<T> }
  : never;
/** The events of one stream kind. */
export type StreamEvent<S extends StreamKind> = DomainEvent<EventTypeOf<S>>;

/** Everything from outside the stream a decision may use. Time comes in here, so tests need no clock. */
export interface DecisionContext {
  /** ISO timestamp of receipt. */
  now: string;
  /** The programme named in the envelope, as registered (participant events). */
  programme?: { programmeId: string; startsOn: string; endsOn: string | null } | undefined;
}

/** The order that records each event type: submitting a fact asks the decider to record it. */
export const COMMAND_OF_EVENT = {
  ParticipantReferred: 'RecordReferral',
  ConsentRecorded: 'RecordConsent',
  ConsentWithdrawn: 'WithdrawConsent',
  ParticipantEnrolled: 'RecordEnrolment',
  SessionAttended: 'RecordAttendance',
  SessionMissed: 'RecordMissedSession',
  OutcomeMeasured: 'RecordOutcomeMeasure',
  ParticipantExited: 'RecordExit',
  FollowUpRecorded: 'RecordFollowUp',
  OffenceRecorded: 'RecordOffence',
  MatchTokenRecorded: 'RecordMatchToken',
  ParticipantErased: 'EraseParticipant',
  ComparisonRecordSubmitted: 'SubmitComparisonRecord',
  ComparisonOffenceRecorded: 'RecordComparisonOffence',
  ComparisonRecordErased: 'EraseComparisonRecord',
  GrantAwarded: 'AwardGrant',
  SpendRecorded: 'RecordSpend',
  SpendCorrected: 'CorrectSpend',
  DeliveryTargetsSet: 'SetDeliveryTargets',
  DeliveryTargetsRevised: 'ReviseDeliveryTargets',
} as const satisfies Record<EventType, string>;

const EVENT_OF_COMMAND = Object.fromEntries(
  Object.entries(COMMAND_OF_EVENT).map(([event, command]) => [command, event]),
) as Record<string, EventType>;

/** A command: the order, what the submitter says happened (the latest version's data, every field present) and the context. */
export type Command<T extends EventType = EventType> = T extends EventType
  ? EventEnvelope & { type: (typeof COMMAND_OF_EVENT)[T]; data: SubmittedData<T>; context: DecisionContext }
  : never;
/** The commands of one stream kind. */
export type StreamCommand<S extends StreamKind> = Command<EventTypeOf<S>>;

const withProgramme = (programmeId: string | undefined) => (programmeId === undefined ? {} : { programmeId });

/** The order for a submitted fact. The data was validated against the catalogue (and upcast) before it gets here. */
export function commandFor(
  event: EventEnvelope & { type: EventType; data: object },
  context: DecisionContext,
): Command {
  return {
    type: COMMAND_OF_EVENT[event.type],
    eventId: event.eventId,
    occurredAt: event.occurredAt,
    ...withProgramme(event.programmeId),
    data: event.data,
    context,
  } as Command;
}

/** The event type a command records. */
export type EventOfCommand<C extends Command> = {
  [T in EventType]: (typeof COMMAND_OF_EVENT)[T] extends C['type'] ? T : never;
}[EventType];

/** The event that records a command once the rules accept it. */
export function recorded<C extends Command>(command: C): DomainEvent<EventOfCommand<C>> {
  return {
    eventId: command.eventId,
    type: EVENT_OF_COMMAND[command.type],
    occurredAt: command.occurredAt,
    ...withProgramme(command.programmeId),
    data: command.data,
  } as DomainEvent<EventOfCommand<C>>;
}

/** Ends an exhaustive switch: an event or command type without a case fails to compile here. */
export function unhandled(value: never): never {
  throw new Error(`unhandled ${(value as { type?: string }).type ?? 'value'}`);
}

export interface Decider<State, Event = DomainEvent, Cmd = Command> {
  readonly initialState: () => State;
  readonly evolve: (state: State, event: Event) => State;
  /** Returns the events to append, or throws DomainRuleError. */
  readonly decide: (command: Cmd, state: State) => Event[];
  /** Bump when State's shape changes: stored snapshots of an older shape are rebuilt from the events. */
  readonly stateVersion: number;
}

/** The decider of one stream kind. */
export type StreamDecider<S extends StreamKind, State> = Decider<State, StreamEvent<S>, StreamCommand<S>>;

export function violation(
  rule: string,
  field: string,
  message: string,
  kind: ViolationKind = 'invalid',
): RuleViolation {
  return { rule, field, message, kind };
}

/** A violation that conflicts with the stream's history. */
export const conflict = (rule: string, field: string, message: string): RuleViolation =>
  violation(rule, field, message, 'conflicts-with-history');

export const dateOf = (isoDateTime: string): string => isoDateTime.slice(0, 10);
