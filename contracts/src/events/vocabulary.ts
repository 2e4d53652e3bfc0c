/** Fixed vocabularies. Codes are stable (stored in events); labels live in the docs. */
export const ReferralSources = [
  'police',
  'school',
  'hospital-navigator',
  'youth-justice',
  'probation',
  'childrens-social-care',
  'self',
  'community',
  'other',
] as const;

export const Genders = ['female', 'male', 'non-binary', 'other', 'prefer-not-to-say'] as const;

/** ONS 2021 census ethnic groups (England and Wales), 19 categories, plus "prefer not to say". */
export const Ethnicities = [
  'asian-bangladeshi',
  'asian-chinese',
  'asian-indian',
  'asian-pakistani',
  'asian-other',
  'black-african',
  'black-caribbean',
  'black-other',
  'mixed-white-and-asian',
  'mixed-white-and-black-african',
  'mixed-white-and-black-caribbean',
  'mixed-other',
  'white-british',
  'white-irish',
  'white-gypsy-or-irish-traveller',
  'white-roma',
  'white-other',
  'other-arab',
  'other-any-other',
  'prefer-not-to-say',
] as const;

export const RiskFactors = [
  'school-exclusion',
  'previous-knife-carrying',
  'exploitation-concern',
  'substance-misuse',
  'victim-of-violence',
  'gang-association',
  'domestic-abuse-at-home',
  'missing-episodes',
  'previous-offending',
] as const;

export const ProtectiveFactors = [
  'trusted-adult',
  'in-education-training-employment',
  'positive-peer-group',
  'stable-housing',
  'family-support',
] as const;

export const ConsentScopes = ['service-delivery', 'evaluation', 'follow-up-contact'] as const;

export const DeliverySettings = ['school', 'community', 'custody', 'hospital', 'online'] as const;

export const SessionTypes = ['one-to-one', 'group', 'activity', 'outreach', 'online'] as const;

export const MissedReasons = ['did-not-attend', 'illness', 'cancelled-by-provider', 'in-custody', 'other'] as const;

export const SessionDeliverers = ['staff', 'volunteer', 'peer-mentor', 'partner-agency', 'not-recorded'] as const;

export const Instruments = [
  'sdq-total',
  'wemwbs',
  'swemwbs',
  'outcomes-star',
  'school-attendance-pct',
  'custom',
] as const;
/** The instruments with a reliable-change threshold: the only ones an outcome target can be set on. */
export const TargetInstruments = ['swemwbs', 'wemwbs', 'sdq-total'] as const;
export const Timepoints = ['baseline', 'interim', 'exit', 'follow-up'] as const;

export const ExitReasons = [
  'completed',
  'disengaged',
  'moved-away',
  'entered-custody',
  'referred-on-safeguarding',
  'other',
] as const;

export const FollowUpMonths = [3, 6, 12] as const;
export const FollowUpStatuses = [
  'in-education-training-employment',
  'no-further-concerns',
  'further-concerns',
  're-referred',
  'unknown',
] as const;

export const Disposals = ['conviction', 'caution', 'youth-caution', 'youth-conditional-caution', 'reprimand'] as const;
export const OffenceCategories = [
  'violence-against-the-person',
  'robbery',
  'possession-of-weapon',
  'knife-or-sharp-object-enabled',
  'drugs',
  'other',
] as const;

export const BudgetCategories = ['staff', 'venue', 'materials', 'participant-costs', 'overheads'] as const;

export type Instrument = (typeof Instruments)[number];

/** Score ranges and direction per instrument; `custom` declares its own in the event. */
export const InstrumentRanges: Record<
  Exclude<Instrument, 'custom'>,
  { min: number; max: number; higherIsBetter: boolean }
> = {
  'sdq-total': { min: 0, max: 40, higherIsBetter: false },
  wemwbs: { min: 14, max: 70, higherIsBetter: true },
  swemwbs: { min: 7, max: 35, higherIsBetter: true },
  'outcomes-star': { min: 1, max: 10, higherIsBetter: true },
  'school-attendance-pct': { min: 0, max: 100, higherIsBetter: true },
};

/** Why a participant's personal fields were erased. */
export const ErasureBases = ['data-subject-request', 'retention-period-ended'] as const;

/** What a comparison record's index date marks: a moment comparable to a participant's enrolment. */
export const ComparisonIndexEvents = [
  'police-referral-not-taken-up',
  'caution',
  'court-outcome',
  'release',
  'other',
] as const;
