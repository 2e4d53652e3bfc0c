import {
  conflict,
  DomainRuleError,
  recorded,
  unhandled,
  violation,
  type RuleViolation,
  type StreamCommand,
  type StreamDecider,
  type StreamEvent,
} from '../decision.js';
import { timeRules } from '../participant/decide.js';
import { calendarQuarterOf, quarterBounds } from '../metrics/quarters.js';

export interface GrantState {
  awarded: boolean;
  providerId: string | null;
  programmeId: string | null;
  amountPence: number;
  startDate: string | null;
  endDate: string | null;
  /** Current amount per spend eventId (after corrections). */
  spends: Record<string, number>;
  spentPence: number;
  /** Planned spend per quarter with targets ('2026Q3' → pence): which quarters have targets, and the spend profile. */
  spendProfile: Record<string, number>;
}

export const initialGrantState = (): GrantState => ({
  awarded: false,
  providerId: null,
  programmeId: null,
  amountPence: 0,
  startDate: null,
  endDate: null,
  spends: {},
  spentPence: 0,
  spendProfile: {},
});

export type GrantEvent = StreamEvent<'grant'>;
export type GrantCommand = StreamCommand<'grant'>;

export function evolveGrant(state: GrantState, event: GrantEvent): GrantState {
  switch (event.type) {
    case 'GrantAwarded': {
      const { providerId, programmeId, amountPence, startDate, endDate } = event.data;
      return { ...state, awarded: true, providerId, programmeId, amountPence, startDate, endDate };
    }
    case 'SpendRecorded': {
      const { amountPence } = event.data;
      return {
        ...state,
        spends: { ...state.spends, [event.eventId]: amountPence },
        spentPence: state.spentPence + amountPence,
      };
    }
    case 'SpendCorrected': {
      const { correctsEventId, amountPence } = event.data;
      const before = state.spends[correctsEventId] ?? 0;
      return {
        ...state,
        spends: { ...state.spends, [correctsEventId]: amountPence },
        spentPence: state.spentPence - before + amountPence,
      };
    }
    case 'DeliveryTargetsSet':
    case 'DeliveryTargetsRevised':
      return { ...state, spendProfile: { ...state.spendProfile, [event.data.quarter]: event.data.spendPence } };
    default:
      return unhandled(event);
  }
}

/** An awarded grant's dates: the rules past `unknown-grant` read them. */
type Awarded = GrantState & { startDate: string; endDate: string };

function targetRules(
  command: Extract<GrantCommand, { type: 'SetDeliveryTargets' | 'ReviseDeliveryTargets' }>,
  state: Awarded,
): RuleViolation[] {
  const { quarter, spendPence } = command.data;
  const out: RuleViolation[] = [];
  const { start, end } = quarterBounds(quarter);
  if (end < state.startDate || start > state.endDate) {
    out.push(
      conflict(
        'quarter-outside-grant-period',
        '/data/quarter',
        `Enter a quarter within the grant (${state.startDate} to ${state.endDate}), like ${calendarQuarterOf(state.startDate)}`,
      ),
    );
  }
  const alreadySet = Object.hasOwn(state.spendProfile, quarter);
  if (command.type === 'SetDeliveryTargets' && alreadySet) {
    out.push(
      conflict(
        'targets-already-set',
        '/data/quarter',
        `Targets for ${quarter} are already set; send DeliveryTargetsRevised with a reason to change them`,
      ),
    );
  }
  if (command.type === 'ReviseDeliveryTargets' && !alreadySet) {
    out.push(
      conflict(
        'targets-not-set',
        '/data/quarter',
        `No targets are set for ${quarter} yet; send DeliveryTargetsSet first`,
      ),
    );
  }
  const otherQuarters = Object.entries(state.spendProfile).reduce(
    (sum, [q, pence]) => (q === quarter ? sum : sum + pence),
    0,
  );
  const profile = otherQuarters + spendPence;
  if (profile > state.amountPence) {
    out.push(
      conflict(
        'spend-profile-exceeds-award',
        '/data/spendPence',
        `The spend profile would total ${profile} pence, more than the award of ${state.amountPence} pence`,
      ),
    );
  }
  return out;
}

const awarded = (state: GrantState): state is Awarded =>
  state.awarded && state.startDate !== null && state.endDate !== null;

function grantRules(command: GrantCommand, state: GrantState): RuleViolation[] {
  if (command.type === 'AwardGrant') {
    return state.awarded ? [conflict('grant-already-awarded', '/grantRef', 'This grant has already been awarded')] : [];
  }
  if (!awarded(state)) return [conflict('unknown-grant', '/grantRef', 'No grant with this reference has been awarded')];
  // Targets are agreed when the contract is signed, often before the grant starts.
  if (command.type === 'SetDeliveryTargets' || command.type === 'ReviseDeliveryTargets')
    return targetRules(command, state);
  const out: RuleViolation[] = [];
  if (command.occurredAt.slice(0, 10) < state.startDate) {
    out.push(
      violation('before-grant-start', '/occurredAt', `occurredAt is before the grant started (${state.startDate})`),
    );
  }
  switch (command.type) {
    case 'RecordSpend': {
      const { periodStart, periodEnd, amountPence } = command.data;
      if (periodStart < state.startDate || periodEnd > state.endDate) {
        out.push(
          conflict(
            'spend-outside-grant-period',
            '/data/periodStart',
            `The spend period must fall within the grant (${state.startDate} to ${state.endDate})`,
          ),
        );
      }
      if (state.spentPence + amountPence > state.amountPence) {
        out.push(
          conflict(
            'spend-exceeds-award',
            '/data/amountPence',
            `Spend would exceed the award (${state.amountPence - state.spentPence} pence remaining)`,
          ),
        );
      }
      break;
    }
    case 'CorrectSpend': {
      const { correctsEventId, amountPence } = command.data;
      const before = state.spends[correctsEventId];
      if (before === undefined) {
        out.push(
          conflict('unknown-spend', '/data/correctsEventId', 'No SpendRecorded with this eventId on this grant'),
        );
      } else if (state.spentPence - before + amountPence > state.amountPence) {
        out.push(conflict('spend-exceeds-award', '/data/amountPence', 'The corrected spend would exceed the award'));
      }
      break;
    }
    default:
      return unhandled(command);
  }
  return out;
}

export function decideGrant(command: GrantCommand, state: GrantState): GrantEvent[] {
  const violations = [...timeRules(recorded(command), command.context.now), ...grantRules(command, state)];
  // A spend period may end in the future (a quarter in progress); only its start must have passed.
  const mayBeFuture = new Set(['/data/periodEnd', '/data/endDate', '/data/startDate']);
  const relevant = violations.filter((v) => !(v.rule === 'date-in-future' && mayBeFuture.has(v.field)));
  if (relevant.length > 0) throw new DomainRuleError(relevant);
  return [recorded(command)];
}

export const grantDecider: StreamDecider<'grant', GrantState> = {
  initialState: initialGrantState,
  evolve: evolveGrant,
  decide: decideGrant,
  stateVersion: 2,
};
