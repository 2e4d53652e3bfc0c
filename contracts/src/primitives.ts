import { Type, type TEnum, type TSchema } from 'typebox';

/**
 * A fixed vocabulary: one `enum` of strings, so it documents as one list in OpenAPI, a wrong value is refused once
 * with every allowed value named, and TypeScript narrows to the union of the values.
 */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string } = {},
): TEnum<[...T]> {
  return Type.Enum([...values], { type: 'string', ...options }) as TEnum<[...T]>;
}

export const Uuid = (description?: string) =>
  Type.String({ format: 'uuid', description, examples: ['3f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a10'] });

export const IsoDate = (description?: string) => Type.String({ format: 'date', description, examples: ['2026-09-14'] });

export const IsoDateTime = (description?: string) =>
  Type.String({ format: 'date-time', description, examples: ['2026-09-14T16:30:00Z'] });

/** Identifiers chosen by people (programme ids, references): short, no spaces, no personal data. */
export const Identifier = (description: string, example: string) =>
  Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description, examples: [example] });

export const ProgrammeId = Identifier(
  'The programme (intervention) this event belongs to, as registered by the VRU.',
  'mentoring-derby',
);
export const ParticipantRef = Identifier(
  "The provider's own pseudonymous reference for the participant. Never a name or any identifying value.",
  'P-000123',
);
export const ProviderId = Identifier('A provider organisation registered with the VRU.', 'safe-spaces-trust');
export const DataPartnerId = Identifier(
  'The data partner (police force, probation or youth justice service) sharing the record.',
  'derbyshire-police',
);
export const ComparisonRef = Identifier(
  "The data partner's own opaque reference for a comparison record: never a name, a PNC number or a case number.",
  'CMP-0001842',
);
export const GrantRef = Identifier('The grant reference as issued by the VRU.', 'VRU-2026-MENT-01');

export type Static<T extends TSchema> = import('typebox').Static<T>;
