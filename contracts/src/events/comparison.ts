import { Type } from 'typebox';
import { Identifier, IsoDate, StringEnum } from '../primitives.js';
import * as V from './vocabulary.js';

/**
 * The comparison pool: pseudonymous records a data partner (police, probation, youth justice) shares about people
 * who did not take part, with the covariates the impact evaluation matches on (docs/evaluation.md). Never a name,
 * a date of birth or a PNC or case number.
 */
const closed = { additionalProperties: false } as const;

export const ComparisonRecordSubmittedV1 = Type.Object(
  {
    poolId: Identifier(
      'The comparison pool (area and period) the VRU registered with the data partner.',
      'derby-2025-under-25s',
    ),
    indexDate: IsoDate('Date of the comparable index event: the start of the follow-up year.'),
    indexEvent: StringEnum(V.ComparisonIndexEvents, { description: 'What the index date marks.' }),
    ageAtIndex: Type.Optional(
      Type.Integer({ minimum: 5, maximum: 30, description: 'Age in whole years at the index date.' }),
    ),
    birthYearMonth: Type.Optional(
      Type.String({
        pattern: '^(19|20)\\d{2}-(0[1-9]|1[0-2])$',
        description: 'Year and month of birth (never a full date).',
        examples: ['2008-06'],
      }),
    ),
    gender: StringEnum(V.Genders),
    ethnicity: StringEnum(V.Ethnicities, { description: 'ONS 2021 ethnic group (matched on its high-level group).' }),
    postcodeDistrict: Type.Optional(
      Type.String({
        pattern: '^[A-Z]{1,2}[0-9][A-Z0-9]?$',
        description: 'Outward code only (e.g. DE23), never a full postcode.',
        examples: ['DE23'],
      }),
    ),
    policeDistrict: Type.Optional(
      Identifier('Police district, where the partner does not share a postcode district.', 'derby-south'),
    ),
    priorOffences: Type.Integer({
      minimum: 0,
      maximum: 500,
      description: 'Proven offences committed in the 24 months before the index date and proven before it.',
    }),
    priorSeriousViolence: Type.Boolean({ description: 'Any proven serious violence offence before the index date.' }),
    priorCustody: Type.Boolean({ description: 'Any custodial sentence before the index date.' }),
    definitionsVersion: Type.Integer({
      minimum: 1,
      maximum: 1,
      description: 'The version of the covariate definitions applied (docs/evaluation.md).',
    }),
  },
  {
    ...closed,
    description:
      'A data partner shared a pseudonymous comparison record: a person who did not take part, with the characteristics the ' +
      'evaluation matches on at their index date. One of ageAtIndex or birthYearMonth, and one of postcodeDistrict or policeDistrict.',
  },
);

export const ComparisonOffenceRecordedV1 = Type.Object(
  {
    offenceDate: IsoDate('Date the offence was committed.'),
    provenDate: IsoDate('Date it was proven (conviction, caution, youth caution or reprimand).'),
    disposal: StringEnum(V.Disposals),
    offenceCategory: StringEnum(V.OffenceCategories),
    seriousViolence: Type.Boolean({ description: 'Counts as serious violence under the local definition.' }),
    custodial: Type.Boolean({ description: 'The disposal was a custodial sentence.' }),
  },
  {
    ...closed,
    description:
      "A proven offence of a person in the comparison pool, by the same rules as a participant's OffenceRecorded.",
  },
);

export const ComparisonRecordErasedV1 = Type.Object(
  {
    requestedOn: IsoDate('Date the erasure was requested (or the retention period ended).'),
    basis: StringEnum(V.ErasureBases),
  },
  {
    ...closed,
    description:
      "The comparison record's personal fields were made unrecoverable (its key destroyed); it leaves later evaluations.",
  },
);
