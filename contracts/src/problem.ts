import { Type, type Static } from 'typebox';

export const FieldErrorSchema = Type.Object(
  {
    field: Type.String({ description: 'JSON Pointer to the offending field (or CSV column), "/" for the whole body.' }),
    rule: Type.String({
      description: 'The rule broken, e.g. required, enum, string-format, unknown-property, session-before-enrolment.',
    }),
    message: Type.String(),
  },
  { additionalProperties: false },
);

/** RFC 9457 problem details, extended with the list of field errors. */
export const ProblemDetails = Type.Object(
  {
    type: Type.String({
      description: 'A URN naming the kind of problem.',
      examples: ['urn:vru:problem:validation-failed'],
    }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    code: Type.String({ description: 'Stable machine-readable code, same as the last part of type.' }),
    errors: Type.Optional(Type.Array(FieldErrorSchema)),
    requestId: Type.Optional(Type.String()),
  },
  { $id: 'ProblemDetails', title: 'ProblemDetails', additionalProperties: true },
);
export type ProblemDetails = Static<typeof ProblemDetails>;
