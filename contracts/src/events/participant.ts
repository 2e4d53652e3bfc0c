import { Type } from 'typebox';
import { IsoDate, StringEnum, Identifier } from '../primitives.js';
import * as V from './vocabulary.js';

const closed = { additionalProperties: false } as const;

export const ParticipantReferredV1 = Type.Object(
  {
    referralDate: IsoDate('Date the referral was received.'),
    referralSource: StringEnum(V.ReferralSources),
    ageAtReferral: Type.Optional(
      Type.Integer({ minimum: 5, maximum: 30, description: 'Age in whole years at referral.' }),
    ),
    birthYearMonth: Type.Optional(
      Type.String({
        pattern: '^(19|20)\\d{2}-(0[1-9]|1[0-2])$',
        description: 'Year and month of birth (never a full date).',
        examples: ['2009-04'],
      }),
    ),
    gender: StringEnum(V.Genders),
    ethnicity: StringEnum(V.Ethnicities, { description: 'ONS 2021 ethnic group.' }),
    postcodeDistrict: Type.String({
      pattern: '^[A-Z]{1,2}[0-9][A-Z0-9]?$',
      description: 'Outward code only (e.g. DE23), never a full postcode.',
      examples: ['DE23'],
    }),
    riskFactors: Type.Array(StringEnum(V.RiskFactors), {
      uniqueItems: true,
      maxItems: V.RiskFactors.length,
      default: [],
    }),
    protectiveFactors: Type.Optional(
      Type.Array(StringEnum(V.ProtectiveFactors), { uniqueItems: true, maxItems: V.ProtectiveFactors.length }),
    ),
  },
  {
    ...closed,
    description: 'A person was referred to the programme. One of ageAtReferral or birthYearMonth is required.',
  },
);

export const ConsentRecordedV1 = Type.Object(
  { scope: StringEnum(V.ConsentScopes), recordedOn: IsoDate('Date consent was given.') },
  { ...closed, description: 'The participant (or a parent or carer) consented to one scope of processing.' },
);

export const ConsentWithdrawnV1 = Type.Object(
  { scope: StringEnum(V.ConsentScopes), withdrawnOn: IsoDate('Date consent was withdrawn.') },
  {
    ...closed,
    description:
      'Consent for one scope was withdrawn; evaluation withdrawal removes the participant from evaluation reports from that date.',
  },
);

export const ParticipantEnrolledV1 = Type.Object(
  {
    startDate: IsoDate('First day on the intervention: the index date for outcomes and reoffending.'),
    plannedSessions: Type.Integer({ minimum: 1, maximum: 500 }),
    deliverySetting: StringEnum(V.DeliverySettings),
  },
  { ...closed, description: 'The participant started the intervention.' },
);

const sessionId = Identifier("The provider's identifier for the session.", 'S-2026-09-14-A');

export const SessionAttendedV1 = Type.Object(
  {
    sessionId,
    sessionDate: IsoDate(),
    durationMinutes: Type.Integer({ minimum: 1, maximum: 720 }),
    sessionType: StringEnum(V.SessionTypes),
  },
  {
    ...closed,
    description: 'Version 1: superseded by version 2, still accepted and upcast on read (deliveredBy = not-recorded).',
  },
);

export const SessionAttendedV2 = Type.Object(
  {
    sessionId,
    sessionDate: IsoDate(),
    durationMinutes: Type.Integer({ minimum: 1, maximum: 720 }),
    sessionType: StringEnum(V.SessionTypes),
    deliveredBy: StringEnum(V.SessionDeliverers, { description: 'Who delivered the session.' }),
  },
  { ...closed, description: 'The participant attended a session.' },
);

export const SessionMissedV1 = Type.Object(
  {
    sessionId,
    sessionDate: IsoDate(),
    sessionType: StringEnum(V.SessionTypes),
    reason: Type.Optional(StringEnum(V.MissedReasons)),
  },
  { ...closed, description: 'The participant was offered a session and did not attend.' },
);

export const OutcomeMeasuredV1 = Type.Object(
  {
    instrument: StringEnum(V.Instruments),
    timepoint: StringEnum(V.Timepoints),
    measuredOn: IsoDate(),
    score: Type.Number({ description: "Validated against the instrument's range." }),
    scale: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'Outcomes Star scale, or the name of a custom instrument.',
      }),
    ),
    customRange: Type.Optional(
      Type.Object(
        { min: Type.Number(), max: Type.Number(), higherIsBetter: Type.Boolean() },
        { ...closed, description: 'Required when instrument is custom.' },
      ),
    ),
  },
  {
    ...closed,
    description: 'Version 1: superseded by version 2 (its scale was free text); refused on submission, upcast on read.',
  },
);

/**
 * The pattern of a scale id: lowercase words of letters joined by hyphens, with an optional short number at the end
 * (`sdq-2`). No capitals, spaces, punctuation or digits inside a word, so no sentence, date, postcode or reference fits.
 */
export const SCALE_ID_PATTERN = '^[a-z]{1,20}(-[a-z]{1,20}){0,5}(-[0-9]{1,2})?$';

export const OutcomeMeasuredV2 = Type.Object(
  {
    ...OutcomeMeasuredV1.properties,
    scale: Type.Optional(
      Type.String({
        pattern: SCALE_ID_PATTERN,
        maxLength: 40,
        examples: ['making-a-difference'],
        description:
          'Outcomes Star scale, or the id of a custom instrument: an id like making-a-difference or resilience-v-2, ' +
          'lowercase words joined by hyphens; never free text.',
      }),
    ),
  },
  { ...closed, description: 'An outcome measure was taken.' },
);

export const ParticipantExitedV1 = Type.Object(
  { exitDate: IsoDate(), reason: StringEnum(V.ExitReasons) },
  { ...closed, description: 'The participant left the intervention.' },
);

export const FollowUpRecordedV1 = Type.Object(
  {
    monthsAfterExit: Type.Union(V.FollowUpMonths.map((m) => Type.Literal(m))),
    followUpDate: IsoDate(),
    contactMade: Type.Boolean(),
    status: StringEnum(V.FollowUpStatuses),
  },
  { ...closed, description: 'A follow-up contact was attempted after exit.' },
);

export const OffenceRecordedV1 = Type.Object(
  {
    offenceDate: IsoDate('Date the offence was committed.'),
    provenDate: IsoDate('Date it was proven (conviction, caution, youth caution or reprimand).'),
    disposal: StringEnum(V.Disposals),
    offenceCategory: StringEnum(V.OffenceCategories),
    seriousViolence: Type.Boolean({ description: 'Counts as serious violence under the local definition.' }),
  },
  {
    ...closed,
    description: 'Version 1: superseded by version 2, still accepted and upcast on read (custodial = false).',
  },
);

export const OffenceRecordedV2 = Type.Object(
  {
    ...OffenceRecordedV1.properties,
    custodial: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'The disposal was a custodial sentence (prior custody, in the impact evaluation). Absent means no.',
      }),
    ),
  },
  { ...closed, description: 'A proven offence, submitted by a data partner (police or youth justice) only.' },
);

export const MatchToken = Type.String({
  pattern: '^[0-9a-f]{64}$',
  description:
    'HMAC-SHA256 (hex) of the normalised identifiers "family|given|YYYY-MM-DD" under the matching key shared by providers and data partners, never by this service (docs/matching.md).',
  examples: ['5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592'],
});

export const MatchTokenRecordedV1 = Type.Object(
  { matchToken: MatchToken },
  {
    ...closed,
    description:
      "The provider computed the participant's match token so that data partners can link proven offences without either side seeing the other's identifiers. Stored encrypted with the participant's key.",
  },
);

export const ParticipantErasedV1 = Type.Object(
  {
    requestedOn: IsoDate('Date the erasure was requested (or the retention period ended).'),
    basis: StringEnum(V.ErasureBases),
  },
  {
    ...closed,
    description:
      "The participant's personal fields were made unrecoverable (their encryption key destroyed). Counts stay; no further events are accepted for the participant.",
  },
);
