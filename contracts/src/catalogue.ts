import { Type, type Static, type TObject, type TSchema } from 'typebox';
import {
  ComparisonRef,
  DataPartnerId,
  GrantRef,
  IsoDateTime,
  ParticipantRef,
  ProgrammeId,
  ProviderId,
  Uuid,
} from './primitives.js';
import * as P from './events/participant.js';
import * as G from './events/grant.js';
import * as C from './events/comparison.js';

export const Roles = ['provider', 'data-partner', 'commissioner', 'funder', 'admin'] as const;
export type Role = (typeof Roles)[number];

export type StreamKind = 'participant' | 'grant' | 'comparison';

/** An upcaster turns the data of version n into version n + 1. Pure and total: stored events never fail to read. */
export type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

export interface EventDefinition {
  readonly type: string;
  readonly stream: StreamKind;
  /** Roles whose keys may submit this event type. */
  readonly submittedBy: readonly Role[];
  /** Data schema per schema version, 1..latest. */
  readonly versions: Readonly<Record<number, TObject>>;
  readonly latest: number;
  /** upcasters[n] upgrades version n to n + 1. */
  readonly upcasters: Readonly<Record<number, Upcaster>>;
  /**
   * Versions still read (and upcast) but refused on submission: they let free text in where the latest version does
   * not, so accepting them would reopen the hole the new version closes.
   */
  readonly retiredVersions?: readonly number[];
  readonly example: Record<string, unknown>;
  readonly summary: string;
  /**
   * Data fields that are personal data: stored encrypted with the participant's own key (crypto-shredding),
   * so erasure makes them unrecoverable everywhere the event was copied, Kafka included.
   */
  readonly personalFields?: readonly string[];
}

/** One catalogue entry with its literal type, stream, schemas and personal fields kept: the typed event union is derived from them. */
interface TypedDefinition<
  T extends string,
  S extends StreamKind,
  V extends Readonly<Record<number, TObject>>,
  P extends readonly string[],
> extends EventDefinition {
  readonly type: T;
  readonly stream: S;
  readonly versions: V;
  readonly personalFields?: P;
}

function define<
  const T extends string,
  const S extends StreamKind,
  V extends Readonly<Record<number, TObject>>,
  const P extends readonly string[] = readonly [],
>(
  def: Omit<EventDefinition, 'latest' | 'upcasters' | 'type' | 'stream' | 'versions' | 'personalFields'> & {
    type: T;
    stream: S;
    versions: V;
    personalFields?: P;
    upcasters?: Record<number, Upcaster>;
  },
): TypedDefinition<T, S, V, NoInfer<P>> {
  const latest = Math.max(...Object.keys(def.versions).map(Number));
  return { ...def, latest, upcasters: def.upcasters ?? {} };
}

const PROVIDER = ['provider'] as const;
/** The comparison pool is criminal offence data shared under a data-sharing agreement: only the partner's own keys write it. */
const DATA_PARTNER = ['data-partner'] as const;
const COMPARISON_PERSONAL_FIELDS = [
  'ageAtIndex',
  'birthYearMonth',
  'gender',
  'ethnicity',
  'postcodeDistrict',
  'policeDistrict',
  'priorOffences',
  'priorSeriousViolence',
  'priorCustody',
] as const;

/**
 * A version 1 scale was free text. Read as version 2: a label that normalises to a scale id (`Making a difference`
 * becomes `making-a-difference`) is read as that id, so old and new measures of one scale still pair; anything else is
 * kept as it was stored (the log is append-only), for the report to group by as before.
 */
function scaleIdOf(scale: unknown): unknown {
  if (typeof scale !== 'string') return scale;
  const id = scale
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return new RegExp(P.SCALE_ID_PATTERN).test(id) && id.length <= 40 ? id : scale;
}

/** The provider's session id is free text from their system: it has been seen to carry a participant's reference. */
const SESSION_PERSONAL_FIELDS = ['sessionId'] as const;
/** Criminal offence data, a participant's or a comparison record's: every detail is sealed; the envelope routes it. */
const OFFENCE_PERSONAL_FIELDS = [
  'offenceDate',
  'provenDate',
  'disposal',
  'offenceCategory',
  'seriousViolence',
  'custodial',
] as const;
/**
 * A correction's or revision's reason is free text written about a grant, and may name a person: sealed under the grant
 * stream's own key (docs/security.md says why that key).
 */
const REASON_PERSONAL_FIELDS = ['reason'] as const;

export const EventCatalogue = {
  ParticipantReferred: define({
    type: 'ParticipantReferred',
    stream: 'participant',
    submittedBy: PROVIDER,
    versions: { 1: P.ParticipantReferredV1 },
    summary: 'Referral received',
    personalFields: [
      'ageAtReferral',
      'birthYearMonth',
      'gender',
      'ethnicity',
      'postcodeDistrict',
      'riskFactors',
      'protectiveFactors',
    ],
    example: {
      referralDate: '2026-09-01',
      referralSource: 'school',
      ageAtReferral: 15,
      gender: 'male',
      ethnicity: 'white-british',
      postcodeDistrict: 'DE23',
      riskFactors: ['school-exclusion', 'victim-of-violence'],
      protectiveFactors: ['trusted-adult'],
    },
  }),
  ConsentRecorded: define({
    type: 'ConsentRecorded',
    stream: 'participant',
    submittedBy: PROVIDER,
    versions: { 1: P.ConsentRecordedV1 },
    summary: 'Consent given for one scope',
    example: { scope: 'evaluation', recordedOn: '2026-09-03' },
  }),
  ConsentWithdrawn: define({
    type: 'ConsentWithdrawn',
    stream: 'participant',
    submittedBy: PROVIDER,
    versions: { 1: P.ConsentWithdrawnV1 },
    summary: 'Consent withdrawn for one scope',
    example: { scope: 'evaluation', withdrawnOn: '2026-10-20' },
  }),
  ParticipantEnrolled: define({
    type: 'ParticipantEnrolled',
    stream: 'participant',
    submittedBy: PROVIDER,
    versions: { 1: P.ParticipantEnrolledV1 },
    summary: 'Started the intervention',
    example: { startDate: '2026-09-08', plannedSessions: 12, deliverySetting: 'community' },
  }),
  SessionAttended: define({
    type: 'SessionAttended',
    stream: 'participant',
    submittedBy: PROVIDER,
    versions: { 1: P.SessionAttendedV1, 2: P.SessionAttendedV2 },
    upcasters: { 1: (data) => ({ ...data, deliveredBy: 'not-recorded' }) },
    summary: 'Attended a session',
    personalFields: SESSION_PERSONAL_FIELDS,
    example: {
      sessionId: 'S-2026-09-14-A',
      sessionDate: '2026-09-14',
      durationMinutes: 60,
      sessionType: 'one-to-one',
      deliveredBy: 'staff',
    },
  }),
  SessionMissed: define({
    type: 'SessionMissed',
    stream: 'participant',
    submittedBy: PROVIDER,
    versions: { 1: P.SessionMissedV1 },
    summary: 'Missed an offered session',
    personalFields: SESSION_PERSONAL_FIELDS,
    example: {
      sessionId: 'S-2026-09-21-A',
      sessionDate: '2026-09-21',
      sessionType: 'one-to-one',
      reason: 'did-not-attend',
    },
  }),
  OutcomeMeasured: define({
    type: 'OutcomeMeasured',
    stream: 'participant',
    submittedBy: PROVIDER,
    versions: { 1: P.OutcomeMeasuredV1, 2: P.OutcomeMeasuredV2 },
    upcasters: { 1: (data) => (data.scale === undefined ? data : { ...data, scale: scaleIdOf(data.scale) }) },
    retiredVersions: [1],
    summary: 'Outcome measure taken',
    example: { instrument: 'swemwbs', timepoint: 'baseline', measuredOn: '2026-09-08', score: 19.5 },
  }),
  ParticipantExited: define({
    type: 'ParticipantExited',
    stream: 'participant',
    submittedBy: PROVIDER,
    versions: { 1: P.ParticipantExitedV1 },
    summary: 'Left the intervention',
    example: { exitDate: '2026-12-01', reason: 'completed' },
  }),
  FollowUpRecorded: define({
    type: 'FollowUpRecorded',
    stream: 'participant',
    submittedBy: PROVIDER,
    versions: { 1: P.FollowUpRecordedV1 },
    summary: 'Follow-up after exit',
    example: {
      monthsAfterExit: 3,
      followUpDate: '2027-03-01',
      contactMade: true,
      status: 'in-education-training-employment',
    },
  }),
  OffenceRecorded: define({
    type: 'OffenceRecorded',
    stream: 'participant',
    submittedBy: ['data-partner'],
    versions: { 1: P.OffenceRecordedV1, 2: P.OffenceRecordedV2 },
    upcasters: { 1: (data) => ({ ...data, custodial: false }) },
    summary: 'Proven offence (data partners only)',
    personalFields: OFFENCE_PERSONAL_FIELDS,
    example: {
      offenceDate: '2026-11-02',
      provenDate: '2027-01-15',
      disposal: 'conviction',
      offenceCategory: 'knife-or-sharp-object-enabled',
      seriousViolence: true,
      custodial: false,
    },
  }),
  MatchTokenRecorded: define({
    type: 'MatchTokenRecorded',
    stream: 'participant',
    submittedBy: PROVIDER,
    versions: { 1: P.MatchTokenRecordedV1 },
    summary: 'Match token for data-partner matching',
    personalFields: ['matchToken'],
    example: { matchToken: '9f2c1e0b7a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b' },
  }),
  ParticipantErased: define({
    type: 'ParticipantErased',
    stream: 'participant',
    submittedBy: PROVIDER,
    versions: { 1: P.ParticipantErasedV1 },
    summary: 'Personal data erased',
    example: { requestedOn: '2026-11-20', basis: 'data-subject-request' },
  }),
  ComparisonRecordSubmitted: define({
    type: 'ComparisonRecordSubmitted',
    stream: 'comparison',
    submittedBy: DATA_PARTNER,
    versions: { 1: C.ComparisonRecordSubmittedV1 },
    summary: 'Comparison record shared (data partners only)',
    personalFields: COMPARISON_PERSONAL_FIELDS,
    example: {
      poolId: 'derby-2025-under-25s',
      indexDate: '2026-09-10',
      indexEvent: 'police-referral-not-taken-up',
      ageAtIndex: 16,
      gender: 'male',
      ethnicity: 'white-british',
      postcodeDistrict: 'DE23',
      priorOffences: 2,
      priorSeriousViolence: false,
      priorCustody: false,
      definitionsVersion: 1,
    },
  }),
  ComparisonOffenceRecorded: define({
    type: 'ComparisonOffenceRecorded',
    stream: 'comparison',
    submittedBy: DATA_PARTNER,
    versions: { 1: C.ComparisonOffenceRecordedV1 },
    summary: 'Proven offence of a comparison record (data partners only)',
    personalFields: OFFENCE_PERSONAL_FIELDS,
    example: {
      offenceDate: '2026-11-02',
      provenDate: '2027-01-15',
      disposal: 'conviction',
      offenceCategory: 'violence-against-the-person',
      seriousViolence: true,
      custodial: false,
    },
  }),
  ComparisonRecordErased: define({
    type: 'ComparisonRecordErased',
    stream: 'comparison',
    submittedBy: DATA_PARTNER,
    versions: { 1: C.ComparisonRecordErasedV1 },
    summary: 'Comparison record erased',
    example: { requestedOn: '2026-11-20', basis: 'data-subject-request' },
  }),
  GrantAwarded: define({
    type: 'GrantAwarded',
    stream: 'grant',
    submittedBy: ['commissioner', 'admin'],
    versions: { 1: G.GrantAwardedV1 },
    summary: 'Grant awarded',
    example: {
      providerId: 'safe-spaces-trust',
      programmeId: 'mentoring-derby',
      amountPence: 12_000_000,
      startDate: '2026-04-01',
      endDate: '2027-03-31',
      targetParticipants: 60,
    },
  }),
  SpendRecorded: define({
    type: 'SpendRecorded',
    stream: 'grant',
    submittedBy: PROVIDER,
    versions: { 1: G.SpendRecordedV1, 2: G.SpendRecordedV2 },
    // Stored version 1 references are kept as they are: there is nothing to normalise them to.
    upcasters: { 1: (data) => data },
    retiredVersions: [1],
    summary: 'Spend against a grant',
    example: {
      amountPence: 450_000,
      category: 'staff',
      periodStart: '2026-07-01',
      periodEnd: '2026-09-30',
      evidenceRef: 'INV-2026-0042',
    },
  }),
  SpendCorrected: define({
    type: 'SpendCorrected',
    stream: 'grant',
    submittedBy: PROVIDER,
    versions: { 1: G.SpendCorrectedV1 },
    summary: 'Correction to earlier spend',
    personalFields: REASON_PERSONAL_FIELDS,
    example: {
      correctsEventId: '3f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a10',
      amountPence: 400_000,
      category: 'staff',
      reason: 'Invoice credited',
    },
  }),
  DeliveryTargetsSet: define({
    type: 'DeliveryTargetsSet',
    stream: 'grant',
    submittedBy: ['commissioner', 'admin'],
    versions: { 1: G.DeliveryTargetsSetV1 },
    summary: 'Delivery targets set for a quarter',
    example: {
      quarter: '2026Q3',
      referrals: 20,
      enrolments: 15,
      sessionsDelivered: 120,
      completions: 10,
      spendPence: 3_000_000,
      shareReliablyImproved: { swemwbs: 0.4 },
    },
  }),
  DeliveryTargetsRevised: define({
    type: 'DeliveryTargetsRevised',
    stream: 'grant',
    submittedBy: ['commissioner', 'admin'],
    versions: { 1: G.DeliveryTargetsRevisedV1 },
    summary: 'Delivery targets revised for a quarter',
    personalFields: REASON_PERSONAL_FIELDS,
    example: {
      quarter: '2026Q3',
      referrals: 16,
      enrolments: 12,
      sessionsDelivered: 100,
      completions: 8,
      spendPence: 2_500_000,
      shareReliablyImproved: { swemwbs: 0.4 },
      reason: 'Contract variation agreed at the September review',
    },
  }),
} as const satisfies Record<string, EventDefinition>;

export type EventType = keyof typeof EventCatalogue;
export const EventTypes = Object.keys(EventCatalogue) as EventType[];

type Catalogue = typeof EventCatalogue;
/** The schema of an event type's latest version (the highest key of `versions`; no type has more than five). */
type LatestSchema<V> = V extends { 5: infer S }
  ? S
  : V extends { 4: infer S }
    ? S
    : V extends { 3: infer S }
      ? S
      : V extends { 2: infer S }
        ? S
        : V extends { 1: infer S }
          ? S
          : never;
type PersonalFieldsOf<T extends EventType> = Catalogue[T] extends { personalFields?: infer P extends readonly string[] }
  ? P[number]
  : never;

/** An event type's data as submitted: its latest version. */
export type SubmittedData<T extends EventType> = Static<LatestSchema<Catalogue[T]['versions']> & TSchema>;
/**
 * An event type's data as read back, upcast to its latest version: personal fields are absent once the person's key is
 * destroyed (erasure), so every reader has to say what it does without them.
 */
export type EventData<T extends EventType> = Omit<SubmittedData<T>, PersonalFieldsOf<T>> &
  Partial<Pick<SubmittedData<T>, PersonalFieldsOf<T> & keyof SubmittedData<T>>>;

/** The event types of one stream kind. */
export type EventTypeOf<S extends StreamKind> = {
  [T in EventType]: Catalogue[T]['stream'] extends S ? T : never;
}[EventType];

/** The typed event union, discriminated by `type`: `{ type: 'SessionAttended'; data: EventData<'SessionAttended'> } | ...`. */
export type CatalogueEvent<T extends EventType = EventType> = { [K in T]: { type: K; data: EventData<K> } }[T];

/**
 * The roles that may submit some event type: the catalogue's `submittedBy` is the role table for event types, and this
 * is who may call the routes that take events at all (each event is then checked against its own type's roles).
 */
export const SUBMITTING_ROLES: readonly Role[] = [
  ...new Set(Object.values(EventCatalogue).flatMap((d) => d.submittedBy)),
];

/** Whether a key of this role may submit this event type. */
export const maySubmit = (role: Role, def: EventDefinition): boolean => def.submittedBy.includes(role);

export function eventDefinition(type: string): EventDefinition | undefined {
  return Object.hasOwn(EventCatalogue, type) ? EventCatalogue[type as EventType] : undefined;
}

/** Reads stored data of any version as the latest version. */
export function upcast(
  type: string,
  schemaVersion: number,
  data: Record<string, unknown>,
): { schemaVersion: number; data: Record<string, unknown> } {
  const def = eventDefinition(type);
  if (!def) return { schemaVersion, data };
  let v = schemaVersion;
  let d = data;
  while (v < def.latest) {
    const up = def.upcasters[v];
    if (!up) throw new Error(`no upcaster for ${type} v${v}`);
    d = up(d);
    v += 1;
  }
  return { schemaVersion: v, data: d };
}

const envelopeCommon = {
  eventId: Uuid(
    'Chosen by the submitter; the idempotency key. Re-sending the same eventId with the same body is harmless.',
  ),
  occurredAt: IsoDateTime('When the fact happened (or was recorded by the provider), with a time zone.'),
  expectedVersion: Type.Optional(
    Type.Integer({
      minimum: 0,
      description:
        'Optimistic concurrency: the stream version the submitter last saw (0 = new stream). A mismatch is a 409.',
    }),
  ),
};

/** The full envelope schema for one event type and version: what a submitter posts. */
export function envelopeSchema(def: EventDefinition, version: number): TObject {
  const data = def.versions[version];
  if (!data) throw new Error(`${def.type} has no version ${version}`);
  const title = `${def.type}V${version}`;
  const head = {
    eventId: envelopeCommon.eventId,
    type: Type.Literal(def.type),
    schemaVersion: Type.Literal(version),
    occurredAt: envelopeCommon.occurredAt,
  };
  const example = {
    eventId: '3f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a10',
    type: def.type,
    schemaVersion: version,
    occurredAt: '2026-09-14T16:30:00Z',
  };
  const exampleData = version === def.latest ? def.example : undefined;
  const description = def.retiredVersions?.includes(version)
    ? `${def.summary}. Retired: refused on submission (send version ${def.latest}); ` +
      `stored events of this version are read as version ${def.latest}.`
    : def.summary;
  if (def.stream === 'grant') {
    return Type.Object(
      { ...head, grantRef: GrantRef, expectedVersion: envelopeCommon.expectedVersion, data },
      {
        additionalProperties: false,
        title,
        description,
        examples: exampleData ? [{ ...example, grantRef: 'VRU-2026-MENT-01', data: exampleData }] : undefined,
      },
    );
  }
  if (def.stream === 'comparison') {
    return Type.Object(
      {
        ...head,
        dataPartnerId: DataPartnerId,
        comparisonRef: ComparisonRef,
        expectedVersion: envelopeCommon.expectedVersion,
        data,
      },
      {
        additionalProperties: false,
        title,
        description: `${def.summary}. The record is named by the data partner and its own reference.`,
        examples: exampleData
          ? [{ ...example, dataPartnerId: 'derbyshire-police', comparisonRef: 'CMP-0001842', data: exampleData }]
          : undefined,
      },
    );
  }
  const targetsOtherProvider = def.submittedBy.includes('data-partner');
  if (targetsOtherProvider) {
    // A data partner names the participant by match token (preferred: neither side sees the other's identifiers)
    // or, under a data-sharing agreement, by the provider's own reference; exactly one of the two (validate.ts).
    return Type.Object(
      {
        ...head,
        matchToken: Type.Optional(P.MatchToken),
        providerId: Type.Optional(ProviderId),
        programmeId: Type.Optional(ProgrammeId),
        participantRef: Type.Optional(ParticipantRef),
        expectedVersion: envelopeCommon.expectedVersion,
        data,
      },
      {
        additionalProperties: false,
        title,
        description: `${def.summary}. Name the participant with matchToken (optionally narrowed by providerId), or with providerId + participantRef.`,
        examples: exampleData
          ? [
              {
                ...example,
                matchToken: '9f2c1e0b7a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b',
                data: exampleData,
              },
            ]
          : undefined,
      },
    );
  }
  return Type.Object(
    {
      ...head,
      programmeId: ProgrammeId,
      participantRef: ParticipantRef,
      expectedVersion: envelopeCommon.expectedVersion,
      data,
    },
    {
      additionalProperties: false,
      title,
      description,
      examples: exampleData
        ? [{ ...example, programmeId: 'mentoring-derby', participantRef: 'P-000123', data: exampleData }]
        : undefined,
    },
  );
}

export const AllEnvelopeSchemas: TSchema[] = Object.values(EventCatalogue).flatMap((def) =>
  Object.keys(def.versions).map((v) => envelopeSchema(def, Number(v))),
);

/** Documentation schema for a submitted event: any envelope of the catalogue. Validation is done per type and version. */
export const EventSubmission = Type.Union(AllEnvelopeSchemas, {
  $id: 'EventSubmission',
  description: 'One event. `type` and `schemaVersion` select the shape of `data`.',
});
