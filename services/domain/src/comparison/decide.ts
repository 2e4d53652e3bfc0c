import { DomainRuleError, violation, type Decider, type DomainEvent, type RecordFact, type RuleViolation } from '../decision.js';
import { timeRules } from '../participant/decide.js';

/** A comparison record's stream: shared once, then its proven offences, until it is erased. */
export interface ComparisonState {
  submitted: boolean;
  indexDate: string | null;
  erased: boolean;
}

export const initialComparisonState = (): ComparisonState => ({ submitted: false, indexDate: null, erased: false });

export function evolveComparison(state: ComparisonState, event: DomainEvent): ComparisonState {
  switch (event.type) {
    case 'ComparisonRecordSubmitted':
      return { ...state, submitted: true, indexDate: event.data.indexDate as string };
    case 'ComparisonRecordErased':
      return { ...state, erased: true };
    default:
      return state;
  }
}

function comparisonRules(event: DomainEvent, state: ComparisonState): RuleViolation[] {
  if (state.erased) {
    return [violation('comparison-erased', '/comparisonRef', 'This comparison record was erased; no further events are accepted', 409)];
  }
  switch (event.type) {
    case 'ComparisonRecordSubmitted':
      // Covariates are fixed at the index date; a second record under one reference would make two people of one.
      return state.submitted
        ? [violation('comparison-already-submitted', '/comparisonRef',
          'A record with this reference was already shared; erase it and share a new one', 409)]
        : [];
    case 'ComparisonOffenceRecorded':
    case 'ComparisonRecordErased':
      return state.submitted
        ? []
        : [violation('unknown-comparison', '/comparisonRef', 'No comparison record with this reference was shared', 409)];
    default:
      return [];
  }
}

export function decideComparison(command: RecordFact, state: ComparisonState): DomainEvent[] {
  const violations = [...timeRules(command.event, command.context.now), ...comparisonRules(command.event, state)];
  if (violations.length > 0) throw new DomainRuleError(violations);
  return [command.event];
}

export const comparisonDecider: Decider<ComparisonState> = {
  initialState: initialComparisonState,
  evolve: evolveComparison,
  decide: decideComparison,
  stateVersion: 1,
};
