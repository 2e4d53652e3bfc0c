import { DomainRuleError, violation, type Decider, type DomainEvent, type RecordFact, type RuleViolation } from '../decision.js';
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
  awarded: false, providerId: null, programmeId: null, amountPence: 0, startDate: null, endDate: null,
  spends: {}, spentPence: 0, spendProfile: {},
});

export function evolveGrant(state: GrantState, event: DomainEvent): GrantState {
  const d = event.data;
  switch (event.type) {
    case 'GrantAwarded':
      return {
        ...state, awarded: true, providerId: d.providerId as string, programmeId: d.programmeId as string,
        amountPence: d.amountPence as number, startDate: d.startDate as string, endDate: d.endDate as string,
      };
    case 'SpendRecorded':
      return { ...state, spends: { ...state.spends, [event.eventId]: d.amountPence as number }, spentPence: state.spentPence + (d.amountPence as number) };
    case 'SpendCorrected': {
      const id = d.correctsEventId as string;
      const before = state.spends[id] ?? 0;
      return { ...state, spends: { ...state.spends, [id]: d.amountPence as number }, spentPence: state.spentPence - before + (d.amountPence as number) };
    }
    case 'DeliveryTargetsSet':
    case 'DeliveryTargetsRevised':
      return { ...state, spendProfile: { ...state.spendProfile, [d.quarter as string]: d.spendPence as number } };
    default:
      return state;
  }
}

const TARGET_EVENTS = new Set(['DeliveryTargetsSet', 'DeliveryTargetsRevised']);

function targetRules(event: DomainEvent, state: GrantState): RuleViolation[] {
  const d = event.data;
  const quarter = d.quarter as string;
  const out: RuleViolation[] = [];
  const { start, end } = quarterBounds(quarter);
  if (end < (state.startDate as string) || start > (state.endDate as string)) {
    out.push(violation('quarter-outside-grant-period', '/data/quarter',
      `Enter a quarter within the grant (${state.startDate} to ${state.endDate}), like ${calendarQuarterOf(state.startDate as string)}`,
      409));
  }
  const alreadySet = Object.hasOwn(state.spendProfile, quarter);
  if (event.type === 'DeliveryTargetsSet' && alreadySet) {
    out.push(violation('targets-already-set', '/data/quarter',
      `Targets for ${quarter} are already set; send DeliveryTargetsRevised with a reason to change them`, 409));
  }
  if (event.type === 'DeliveryTargetsRevised' && !alreadySet) {
    out.push(violation('targets-not-set', '/data/quarter', `No targets are set for ${quarter} yet; send DeliveryTargetsSet first`, 409));
  }
  const otherQuarters = Object.entries(state.spendProfile).reduce((sum, [q, pence]) => (q === quarter ? sum : sum + pence), 0);
  const profile = otherQuarters + (d.spendPence as number);
  if (profile > state.amountPence) {
    out.push(violation('spend-profile-exceeds-award', '/data/spendPence',
      `The spend profile would total ${profile} pence, more than the award of ${state.amountPence} pence`, 409));
  }
  return out;
}

function grantRules(event: DomainEvent, state: GrantState): RuleViolation[] {
  const d = event.data;
  if (event.type === 'GrantAwarded') {
    return state.awarded ? [violation('grant-already-awarded', '/grantRef', 'This grant has already been awarded', 409)] : [];
  }
  if (!state.awarded) return [violation('unknown-grant', '/grantRef', 'No grant with this reference has been awarded', 409)];
  // Targets are agreed when the contract is signed, often before the grant starts.
  if (TARGET_EVENTS.has(event.type)) return targetRules(event, state);
  const out: RuleViolation[] = [];
  if (event.occurredAt.slice(0, 10) < (state.startDate as string)) {
    out.push(violation('before-grant-start', '/occurredAt', `occurredAt is before the grant started (${state.startDate})`));
  }
  if (event.type === 'SpendRecorded') {
    if ((d.periodStart as string) < (state.startDate as string) || (d.periodEnd as string) > (state.endDate as string)) {
      out.push(violation('spend-outside-grant-period', '/data/periodStart', `The spend period must fall within the grant (${state.startDate} to ${state.endDate})`, 409));
    }
    if (state.spentPence + (d.amountPence as number) > state.amountPence) {
      out.push(violation('spend-exceeds-award', '/data/amountPence', `Spend would exceed the award (${state.amountPence - state.spentPence} pence remaining)`, 409));
    }
  }
  if (event.type === 'SpendCorrected') {
    const id = d.correctsEventId as string;
    const before = state.spends[id];
    if (before === undefined) {
      out.push(violation('unknown-spend', '/data/correctsEventId', 'No SpendRecorded with this eventId on this grant', 409));
    } else if (state.spentPence - before + (d.amountPence as number) > state.amountPence) {
      out.push(violation('spend-exceeds-award', '/data/amountPence', 'The corrected spend would exceed the award', 409));
    }
  }
  return out;
}

export function decideGrant(command: RecordFact, state: GrantState): DomainEvent[] {
  const violations = [...timeRules(command.event, command.context.now), ...grantRules(command.event, state)];
  // A spend period may end in the future (a quarter in progress); only its start must have passed.
  const relevant = violations.filter((v) => !(v.rule === 'date-in-future' && (v.field === '/data/periodEnd' || v.field === '/data/endDate' || v.field === '/data/startDate')));
  if (relevant.length > 0) throw new DomainRuleError(relevant);
  return [command.event];
}

export const grantDecider: Decider<GrantState> = {
  initialState: initialGrantState,
  evolve: evolveGrant,
  decide: decideGrant,
  stateVersion: 2,
};
