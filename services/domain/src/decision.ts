/** A business rule the submitted fact breaks. `status` 409 = conflicts with the stream's history, 422 = never valid. */
export interface RuleViolation {
  rule: string;
  field: string;
  message: string;
  status: 409 | 422;
}

export class DomainRuleError extends Error {
  constructor(readonly violations: RuleViolation[]) {
    super(violations.map((v) => v.message).join('; '));
    this.name = 'DomainRuleError';
  }
}

/** A fact as the deciders see it: already validated against the catalogue and upcast to the latest version. */
export interface DomainEvent {
  eventId: string;
  type: string;
  occurredAt: string;
  programmeId?: string | undefined;
  data: Record<string, unknown>;
}

/** Everything from outside the stream a decision may use. Time comes in here, so tests need no clock. */
export interface DecisionContext {
  /** ISO timestamp of receipt. */
  now: string;
  /** The programme named in the envelope, as registered (participant events). */
  programme?: { programmeId: string; startsOn: string; endsOn: string | null } | undefined;
}

/** Submitting a fact is the command: `RecordFact` carries the event the submitter says happened. */
export interface RecordFact {
  type: 'RecordFact';
  event: DomainEvent;
  context: DecisionContext;
}

export interface Decider<State> {
  readonly initialState: () => State;
  readonly evolve: (state: State, event: DomainEvent) => State;
  /** Returns the events to append, or throws DomainRuleError. */
  readonly decide: (command: RecordFact, state: State) => DomainEvent[];
  /** Bump when State's shape changes: stored snapshots of an older shape are rebuilt from the events. */
  readonly stateVersion: number;
}

export function violation(rule: string, field: string, message: string, status: 409 | 422 = 422): RuleViolation {
  return { rule, field, message, status };
}

export const dateOf = (isoDateTime: string): string => isoDateTime.slice(0, 10);
