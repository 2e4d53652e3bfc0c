/**
 * The README's recipe "adding an event type", followed once for an event type that exists only in this test:
 * a schema, a case in the decider (the compiler points at the missing one), a case in a projection that needs it.
 * Nothing here touches production code paths: it extends the participant stream's types and decider locally.
 */
import t from 'tap';
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { IsoDate, StringEnum, type ReadEvent } from '@vru/contracts';
import {
  DomainRuleError,
  conflict,
  decideParticipant,
  evolveParticipant,
  initialParticipantState,
  unhandled,
  type Decider,
  type DecisionContext,
  type ParticipantCommand,
  type ParticipantEvent,
  type ParticipantState,
} from '@vru/domain';
import { spec } from '@vru/domain/testing';

// 1. A schema (in the catalogue, for a real event type): the data of MentorAssigned version 1.
const MentorAssignedV1 = Type.Object(
  {
    assignedOn: IsoDate('Date the mentor was assigned.'),
    mentorRole: StringEnum(['staff', 'volunteer', 'peer-mentor'] as const),
  },
  { additionalProperties: false },
);
type MentorAssignedData = Static<typeof MentorAssignedV1>;

// The typed union grows by the new type, as the catalogue-derived union would.
interface MentorAssigned {
  type: 'MentorAssigned';
  eventId: string;
  occurredAt: string;
  programmeId?: string | undefined;
  data: MentorAssignedData;
}
type AssignMentor = Omit<MentorAssigned, 'type'> & { type: 'AssignMentor'; context: DecisionContext };
type Event = ParticipantEvent | MentorAssigned;
type Command = ParticipantCommand | AssignMentor;
type State = ParticipantState & { mentorRole: string | null };

// 2. A case in the decider. Without it the switch's `never` check does not compile:
function decideWithoutTheCase(command: Command): string {
  switch (command.type) {
    case 'RecordReferral':
    case 'RecordConsent':
    case 'WithdrawConsent':
    case 'RecordEnrolment':
    case 'RecordAttendance':
    case 'RecordMissedSession':
    case 'RecordOutcomeMeasure':
    case 'RecordExit':
    case 'RecordFollowUp':
    case 'RecordOffence':
    case 'RecordMatchToken':
    case 'EraseParticipant':
      return command.type;
    default:
      // @ts-expect-error AssignMentor is not handled: this is where the compiler points.
      return unhandled(command);
  }
}

const sessionDigest = (sessionId: string) => `digest:${sessionId}`;
const decideExisting = decideParticipant(sessionDigest);
const evolveExisting = evolveParticipant(sessionDigest);

const extendedDecider: Decider<State, Event, Command> = {
  initialState: () => ({ ...initialParticipantState(), mentorRole: null }),
  stateVersion: 1,
  evolve: (state, event) => {
    switch (event.type) {
      case 'MentorAssigned':
        return { ...state, mentorRole: event.data.mentorRole };
      default:
        return { ...state, ...evolveExisting(state, event) };
    }
  },
  decide: (command, state) => {
    switch (command.type) {
      case 'AssignMentor': {
        if (state.startDate === null)
          throw new DomainRuleError([conflict('mentor-before-enrolment', '/type', 'Enrol the participant first')]);
        const { context: _context, type: _type, ...event } = command;
        return [{ ...event, type: 'MentorAssigned' }];
      }
      default:
        return decideExisting(command, state);
    }
  },
};

// 3. A case in each projection that needs it: the projection's handles name the type, and project reads typed data.
type ExtendedReadEvent =
  | ReadEvent
  | (Omit<ReadEvent<'ParticipantEnrolled'>, 'type' | 'data'> & { type: 'MentorAssigned'; data: MentorAssignedData });
const mentorRows = (event: ExtendedReadEvent) =>
  event.type === 'MentorAssigned' ? [{ streamId: event.streamId, role: event.data.mentorRole }] : [];

const NOW = '2026-06-01T12:00:00.000Z';
const base = { occurredAt: '2026-05-01T10:00:00Z', programmeId: 'mentoring-test' };
const referred: ParticipantEvent = {
  ...base,
  eventId: '00000000-0000-4000-8000-000000000001',
  type: 'ParticipantReferred',
  data: {
    referralDate: '2026-01-10',
    referralSource: 'school',
    gender: 'male',
    ethnicity: 'white-british',
    postcodeDistrict: 'DE23',
    riskFactors: [],
  },
};
const enrolled: ParticipantEvent = {
  ...base,
  eventId: '00000000-0000-4000-8000-000000000002',
  type: 'ParticipantEnrolled',
  data: { startDate: '2026-01-15', plannedSessions: 10, deliverySetting: 'community' },
};
const assign: AssignMentor = {
  ...base,
  eventId: '00000000-0000-4000-8000-000000000003',
  type: 'AssignMentor',
  context: { now: NOW },
  data: { assignedOn: '2026-01-20', mentorRole: 'peer-mentor' },
};

t.test('an event type added by the recipe goes through validation, the decider, evolve and a projection', async (t) => {
  t.equal(
    decideWithoutTheCase({ ...assign, type: 'RecordReferral' } as unknown as Command),
    'RecordReferral',
    'the other orders still decide',
  );
  const valid = Compile(MentorAssignedV1);
  t.ok(valid.Check(assign.data), 'the schema accepts the data');
  t.notOk(valid.Check({ ...assign.data, mentorRole: 'friend' }), 'and refuses a role outside its vocabulary');

  const [event] = spec(extendedDecider)
    .given([referred, enrolled])
    .when(assign)
    .then([
      {
        ...base,
        eventId: assign.eventId,
        type: 'MentorAssigned',
        data: assign.data,
      },
    ]);
  const state = [referred, enrolled, event!].reduce(extendedDecider.evolve, extendedDecider.initialState());
  t.equal(state.mentorRole, 'peer-mentor', 'evolve applies the new event');
  t.equal(state.startDate, '2026-01-15', 'and the existing cases still apply');

  spec(extendedDecider).given([referred]).when(assign).thenThrows('mentor-before-enrolment');

  const stored = {
    position: '7',
    streamId: 'participant-x',
    streamVersion: 3,
    schemaVersion: 1,
    providerId: 'prov-a',
    programmeId: 'mentoring-test',
    recordedAt: NOW,
    metadata: { requestId: 'r', keyId: 'k', role: 'provider', source: 'api' as const },
    ...event!,
  } as ExtendedReadEvent;
  t.same(
    mentorRows(stored),
    [{ streamId: 'participant-x', role: 'peer-mentor' }],
    'a projection that needs it reads its typed data',
  );
});
