import {
  conflict,
  DomainRuleError,
  recorded,
  unhandled,
  type RuleViolation,
  type StreamCommand,
  type StreamDecider,
  type StreamEvent,
} from '../decision.js';
import { timeRules } from '../participant/decide.js';

/** A comparison record's stream: shared once, then its proven offences, until it is erased. */
export interface ComparisonState {
  submitted: boolean;
  indexDate: string | null;
  erased: boolean;
}

export const initialComparisonState = (): ComparisonState => ({ submitted: false, indexDate: null, erased: false });

export type ComparisonEvent = StreamEvent<'comparison'>;
export type ComparisonCommand = StreamCommand<'comparison'>;

export function evolveComparison(state: ComparisonState, event: ComparisonEvent): ComparisonState {
  switch (event.type) {
    case 'ComparisonRecordSubmitted':
      return { ...state, submitted: true, indexDate: event.data.indexDate };
    case 'ComparisonRecordErased':
      return { ...state, erased: true };
    case 'ComparisonOffenceRecorded':
      return state;
    default:
      return unhandled(event);
  }
}

function comparisonRules(command: ComparisonCommand, state: ComparisonState): RuleViolation[] {
  if (state.erased) {
    return [
      conflict(
        'comparison-erased',
        '/comparisonRef',
        'This comparison record was erased; no further events are accepted',
      ),
    ];
  }
  switch (command.type) {
    case 'SubmitComparisonRecord':
      // Covariates are fixed at the index date; a second record under one reference would make two people of one.
      return state.submitted
        ? [
            conflict(
              'comparison-already-submitted',
              '/comparisonRef',
              'A record with this reference was already shared; erase it and share a new one',
            ),
          ]
        : [];
    case 'RecordComparisonOffence':
    case 'EraseComparisonRecord':
      return state.submitted
        ? []
        : [conflict('unknown-comparison', '/comparisonRef', 'No comparison record with this reference was shared')];
    default:
      return unhandled(command);
  }
}

export function decideComparison(command: ComparisonCommand, state: ComparisonState): ComparisonEvent[] {
  const violations = [...timeRules(recorded(command), command.context.now), ...comparisonRules(command, state)];
  if (violations.length > 0) throw new DomainRuleError(violations);
  return [recorded(command)];
}

export const comparisonDecider: StreamDecider<'comparison', ComparisonState> = {
  initialState: initialComparisonState,
  evolve: evolveComparison,
  decide: decideComparison,
  stateVersion: 1,
};
