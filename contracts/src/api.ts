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

/**
 * The log position P a report was computed at: exactly the events at or below P are counted, in every read model
 * it reads, so the same request at the same P answers the same figures whatever arrived later.
 */
export const ReportAt = Type.String({
  description:
    'The log position P the report was computed at (a 64-bit integer as a string): exactly the events at or below P are ' +
    "counted, in every read model the report reads; ask again with asAt=P for the same figures. Wait for P to reach an upload's " +
    'highestPosition to see the upload counted.',
});

/** What every report's query may add: the date its date-dependent rules use. */
/** The date a report's date-dependent rules used (its query's asOf, or the day it was computed). */
export const ReportAsOf = IsoDate(
  'The date the date-dependent rules used: the asOf asked for, else the day the report was computed (UTC).',
);

export const SnapshotFilters = {
  asAt: Type.Optional(
    Type.String({
      pattern: '^(0|[1-9][0-9]{0,17})$',
      description:
        "Reproduces the report at this earlier log position (a report's position P): exactly the events at or below it are " +
        'counted, whatever arrived later. Default: the highest position every read model the report reads has applied. A position ' +
        'not yet applied is refused (409 position-not-yet-applied, with Retry-After). Across providers (commissioner, funder, admin) ' +
        "only a position at which figures were published can be asked: one a report was answered at, or a frozen return's " +
        '(otherwise 422 position-not-published); a provider key may ask any position of its own figures. Figures of erased ' +
        'participants are not reproduced (docs/metrics.md, "Positions and as-at").',
    }),
  ),
  asOf: Type.Optional(
    IsoDate(
      'The date the date-dependent rules use (consent in force, proven-by dates, provisional flags, ages); ' +
        'default today (UTC); a future date is refused (422). Echoed as asOf.',
    ),
  ),
};

/** One read model a report read, at the report's position. */
export const ReportPosition = Type.Object(
  {
    projection: Type.String(),
    position: Type.String({ description: "The report's position P (the same in every entry)." }),
    eventsApplied: Type.String({ description: 'The events at or below P, each applied once.' }),
    updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When the last event at or below P was stored (null before the first).',
    }),
  },
  { additionalProperties: false },
);

/** Which disclosure-control rules a report passed through; every report carries it. */
export const DisclosureApplied = Type.Object(
  {
    rules: Type.String({
      description: 'The version of the disclosure-control rules (docs/metrics.md), e.g. vru-sdc-1.',
    }),
    applied: Type.Boolean({ description: 'False only for a provider reading its own figures.' }),
  },
  {
    additionalProperties: false,
    description: 'Disclosure control: the rule version every figure of the report passed through.',
  },
);

export const AttendanceQuery = Type.Object(
  {
    programmeId: Type.Optional(ProgrammeId),
    providerId: Type.Optional(ProviderId),
    from: Type.Optional(IsoDate('Sessions on or after this date.')),
    to: Type.Optional(IsoDate('Sessions on or before this date.')),
    ...SnapshotFilters,
  },
  { additionalProperties: false },
);
export type AttendanceQuery = Static<typeof AttendanceQuery>;

export const AttendanceRow = Type.Object(
  {
    programmeId: Type.String(),
    participants: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Participants with at least one session offered in the period.',
    }),
    sessionsAttended: Type.Union([Type.Integer(), Type.Null()]),
    sessionsMissed: Type.Union([Type.Integer(), Type.Null()]),
    attendanceRate: Type.Union([Type.Number(), Type.Null()], {
      description: 'attended / (attended + missed); null when no sessions.',
    }),
  },
  { additionalProperties: false },
);

export const AttendanceReport = Type.Object(
  {
    report: Type.Literal('attendance'),
    filters: AttendanceQuery,
    asOf: ReportAsOf,
    position: ReportAt,
    computedAt: Type.Array(ReportPosition, {
      description: "Each read model the report used, at the report's position.",
    }),
    suppressed: Type.Boolean({
      description: 'True when disclosure control withheld figures (null figures are withheld).',
    }),
    disclosure: DisclosureApplied,
    rows: Type.Array(AttendanceRow),
  },
  { additionalProperties: false },
);
export type AttendanceReport = Static<typeof AttendanceReport>;

export { FieldErrorSchema };
