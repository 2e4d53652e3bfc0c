import { Type, type Static } from 'typebox';
import { IsoDate, ProgrammeId, ProviderId, Uuid } from './primitives.js';
import { FieldErrorSchema } from './problem.js';

export const AppendResult = Type.Object(
  {
    eventId: Uuid(),
    status: Type.Union([Type.Literal('accepted'), Type.Literal('duplicate')], {
      description: 'accepted: stored now; duplicate: the same event was stored before, nothing changed.',
    }),
    streamVersion: Type.Integer({ minimum: 1, description: "The event's version within its stream." }),
    position: Type.String({ description: 'Global log position (a 64-bit integer as a string).' }),
  },
  { additionalProperties: false, title: 'AppendResult' },
);
export type AppendResult = Static<typeof AppendResult>;

/** The log position a report was computed at, so the same request at the same position gives the same figures. */
export const ReportPosition = Type.Object(
  {
    projection: Type.String(),
    position: Type.String({ description: 'Highest global log position applied to the read model.' }),
    eventsApplied: Type.String(),
    updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { additionalProperties: false },
);

/** Which disclosure-control rules a report passed through; every report carries it. */
export const DisclosureApplied = Type.Object(
  {
    rules: Type.String({ description: 'The version of the disclosure-control rules (docs/metrics.md), e.g. vru-sdc-1.' }),
    applied: Type.Boolean({ description: 'False only for a provider reading its own figures.' }),
  },
  { additionalProperties: false, description: 'Disclosure control: the rule version every figure of the report passed through.' },
);

export const AttendanceQuery = Type.Object(
  {
    programmeId: Type.Optional(ProgrammeId),
    providerId: Type.Optional(ProviderId),
    from: Type.Optional(IsoDate('Sessions on or after this date.')),
    to: Type.Optional(IsoDate('Sessions on or before this date.')),
  },
  { additionalProperties: false },
);
export type AttendanceQuery = Static<typeof AttendanceQuery>;

export const AttendanceRow = Type.Object(
  {
    programmeId: Type.String(),
    participants: Type.Union([Type.Integer(), Type.Null()], { description: 'Participants with at least one session offered in the period.' }),
    sessionsAttended: Type.Union([Type.Integer(), Type.Null()]),
    sessionsMissed: Type.Union([Type.Integer(), Type.Null()]),
    attendanceRate: Type.Union([Type.Number(), Type.Null()], { description: 'attended / (attended + missed); null when no sessions.' }),
  },
  { additionalProperties: false },
);

export const AttendanceReport = Type.Object(
  {
    report: Type.Literal('attendance'),
    filters: AttendanceQuery,
    computedAt: Type.Array(ReportPosition, { description: 'The log position of each read model the report used.' }),
    suppressed: Type.Boolean({ description: 'True when disclosure control withheld figures (null figures are withheld).' }),
    disclosure: DisclosureApplied,
    rows: Type.Array(AttendanceRow),
  },
  { additionalProperties: false },
);
export type AttendanceReport = Static<typeof AttendanceReport>;

export { FieldErrorSchema };
