import { Type } from 'typebox';
import { IsoDate, StringEnum, ProviderId, ProgrammeId, Uuid } from '../primitives.js';
import * as V from './vocabulary.js';

const closed = { additionalProperties: false } as const;
const Pence = (description: string) => Type.Integer({ minimum: 1, maximum: 1_000_000_000_00, description });

export const GrantAwardedV1 = Type.Object(
  {
    providerId: ProviderId,
    programmeId: ProgrammeId,
    amountPence: Pence('Total award in pence.'),
    startDate: IsoDate(),
    endDate: IsoDate(),
    targetParticipants: Type.Integer({ minimum: 1, maximum: 100_000 }),
  },
  { ...closed, description: 'The VRU awarded a grant to a provider for a programme.' },
);

export const SpendRecordedV1 = Type.Object(
  {
    amountPence: Pence('Amount spent in pence.'),
    category: StringEnum(V.BudgetCategories),
    periodStart: IsoDate('First day of the period the spend relates to.'),
    periodEnd: IsoDate('Last day of the period the spend relates to.'),
    evidenceRef: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'Invoice number or evidence reference kept by the provider.',
    }),
  },
  {
    ...closed,
    description:
      'Version 1: superseded by version 2 (its evidenceRef was free text); refused on submission, upcast on read.',
  },
);

export const SpendRecordedV2 = Type.Object(
  {
    ...SpendRecordedV1.properties,
    evidenceRef: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$',
      examples: ['INV-2026-0042'],
      description:
        'Invoice number or evidence reference kept by the provider: letters, digits and . _ / - only, at most 64; ' +
        'never a name or a description.',
    }),
  },
  { ...closed, description: 'Spend against the grant.' },
);

export const SpendCorrectedV1 = Type.Object(
  {
    correctsEventId: Uuid('eventId of the SpendRecorded being corrected.'),
    amountPence: Type.Integer({
      minimum: 0,
      maximum: 1_000_000_000_00,
      description: 'The corrected amount (0 cancels the spend).',
    }),
    category: StringEnum(V.BudgetCategories),
    reason: Type.String({
      minLength: 1,
      maxLength: 500,
      description: 'Why the spend was corrected. Free text: stored and published sealed (docs/security.md).',
    }),
  },
  {
    ...closed,
    description:
      'A correction replacing the amount and category of an earlier SpendRecorded; the original stays in the log.',
  },
);

const Quarter = Type.String({
  pattern: '^\\d{4}Q[1-4]$',
  examples: ['2026Q3'],
  description: 'The calendar quarter the targets are for, e.g. 2026Q3 (July to September 2026).',
});
const Count = (description: string) => Type.Integer({ minimum: 0, maximum: 1_000_000, description });

const deliveryTargets = {
  quarter: Quarter,
  referrals: Count('People referred in the quarter.'),
  enrolments: Count('People starting the intervention (enrolled) in the quarter.'),
  sessionsDelivered: Count('Sessions attended in the quarter.'),
  completions: Count('People leaving the intervention having completed it in the quarter.'),
  spendPence: Type.Integer({
    minimum: 0,
    maximum: 1_000_000_000_00,
    description: 'The spend profile: planned spend in pence for the quarter.',
  }),
  // An object keyed by instrument rather than a list: one target per instrument by construction, and one CSV column each.
  shareReliablyImproved: Type.Optional(
    Type.Object(
      Object.fromEntries(
        V.TargetInstruments.map((instrument) => [
          instrument,
          Type.Optional(
            Type.Number({
              minimum: 0,
              maximum: 1,
              description: `Target share (0 to 1) of participants with a baseline and exit ${instrument} measure who reliably improved.`,
            }),
          ),
        ]),
      ),
      {
        ...closed,
        description:
          'Optional outcome targets per instrument (SWEMWBS, WEMWBS, SDQ total): the share reliably improved.',
      },
    ),
  ),
};

export const DeliveryTargetsSetV1 = Type.Object(deliveryTargets, {
  ...closed,
  description: 'Delivery targets and spend profile agreed for one quarter of the grant.',
});

export const DeliveryTargetsRevisedV1 = Type.Object(
  {
    ...deliveryTargets,
    reason: Type.String({
      minLength: 1,
      maxLength: 500,
      description:
        'Why the targets changed (for example a contract variation). Free text: stored and published sealed (docs/security.md).',
    }),
  },
  {
    ...closed,
    description: 'New targets for a quarter that already had targets; they replace the earlier ones (kept in the log).',
  },
);
