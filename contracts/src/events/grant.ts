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
    evidenceRef: Type.String({ minLength: 1, maxLength: 128, description: 'Invoice number or evidence reference kept by the provider.' }),
  },
  { ...closed, description: 'Spend against the grant.' },
);

export const SpendCorrectedV1 = Type.Object(
  {
    correctsEventId: Uuid('eventId of the SpendRecorded being corrected.'),
    amountPence: Type.Integer({ minimum: 0, maximum: 1_000_000_000_00, description: 'The corrected amount (0 cancels the spend).' }),
    category: StringEnum(V.BudgetCategories),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { ...closed, description: 'A correction replacing the amount and category of an earlier SpendRecorded; the original stays in the log.' },
);
