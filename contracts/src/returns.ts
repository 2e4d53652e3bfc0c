import { Type, type Static } from 'typebox';
import { IsoDate, IsoDateTime, StringEnum, Uuid } from './primitives.js';
import { DisclosureApplied, ReportPosition } from './api.js';
import { QuarterlyReturnQuery } from './reports.js';

/**
 * Frozen returns: a report's figures as the freezing role saw them, kept unchanged for good and signed by the audit
 * key; and restatements, the same report now compared cell by cell with the frozen one. Definitions and the threat
 * model: docs/metrics.md, "Frozen returns and restatements"; the signed statement: docs/audit.md.
 */
const closed = { additionalProperties: false } as const;

/** The reports that can be frozen. Another report joins by adding its name here and its query to FreezeReturnBody. */
export const FreezableReports = ['quarterly-return'] as const;
export type FreezableReport = (typeof FreezableReports)[number];

export const FreezeReturnBody = Type.Object(
  {
    report: StringEnum(FreezableReports, { description: 'Which report to freeze.' }),
    query: QuarterlyReturnQuery,
  },
  { ...closed, description: 'The report and the query it is frozen for, exactly as its GET route takes them.' },
);
export type FreezeReturnBody = Static<typeof FreezeReturnBody>;

export const ReturnIdParams = Type.Object({ id: Uuid("The frozen return's id.") }, closed);

export const ReturnSignature = Type.Object(
  {
    note: Type.String({
      description:
        'The signed statement: a signed note (Ed25519, the audit key) whose text names the id, report, digest, position, ' +
        'asOf, disclosure rules and code version. `vru-verify return` checks it with AUDIT_PUBLIC_KEY.',
    }),
    signedAt: IsoDateTime(),
  },
  closed,
);

const frozenFields = {
  id: Uuid(),
  report: StringEnum(FreezableReports),
  query: Type.Record(Type.String(), Type.String(), { description: 'The query the report was frozen for.' }),
  role: Type.String({ description: "The role that froze it: the figures passed that role's disclosure control." }),
  figuresSha256: Type.String({
    pattern: '^[0-9a-f]{64}$',
    description: 'SHA-256 (hex) of the canonical JSON of `figures`.',
  }),
  position: Type.String({ description: 'The log position the figures were read at: every event above it came later.' }),
  asOf: IsoDate("The date the report's date-dependent rules used."),
  disclosureRules: Type.String({ description: 'The disclosure-control rule version the figures passed.' }),
  codeVersion: Type.String({
    description: "The API's package version and git commit (unknown when the build did not record it).",
  }),
  frozenBy: Type.String({ description: 'The id of the key that froze it.' }),
  frozenAt: IsoDateTime(),
};

export const FrozenReturnSummary = Type.Object(
  {
    ...frozenFields,
    signed: Type.Boolean({ description: 'Whether the audit key has signed it yet (the relay signs within seconds).' }),
  },
  closed,
);

export const FrozenReturn = Type.Object(
  {
    ...frozenFields,
    figures: Type.Unknown({
      description: 'The report exactly as it was served when frozen (for quarterly-return, a QuarterlyReturnReport).',
    }),
    signature: Type.Union([ReturnSignature, Type.Null()], { description: 'Null until the relay has signed it.' }),
  },
  closed,
);
export type FrozenReturn = Static<typeof FrozenReturn>;

export const FrozenReturnList = Type.Object({ returns: Type.Array(FrozenReturnSummary) }, closed);

export const EventClasses = ['late-submission', 'correction', 'consent-withdrawal', 'erasure', 'other'] as const;
export type EventClass = (typeof EventClasses)[number];

const CellValue = Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()]);

export const MovedBy = Type.Object(
  {
    class: StringEnum(EventClasses),
    providerId: Type.Union([Type.String(), Type.Null()], {
      description:
        'The provider whose events these are; null for erasures and consent withdrawals, which are never split by provider.',
    }),
    events: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
      description: 'How many events; null when withheld by disclosure control (see docs/metrics.md).',
    }),
  },
  closed,
);

export const RestatedCell = Type.Object(
  {
    row: Type.String({ description: 'The row (for quarterly-return, the programme).' }),
    cell: Type.String({ description: 'The figure, as a dotted path inside the row (e.g. referredByAgeBand.14-17).' }),
    frozen: Type.Optional(CellValue),
    now: Type.Optional(CellValue),
    movedBy: Type.Array(MovedBy, {
      description: "Events after the frozen position that touch the cell's population, by class and provider.",
    }),
  },
  { ...closed, description: 'A figure that changed. `frozen` or `now` is absent when the cell did not exist then.' },
);

export const Restatement = Type.Object(
  {
    returnId: Uuid(),
    report: StringEnum(FreezableReports),
    frozenPosition: Type.String(),
    frozenAt: IsoDateTime(),
    position: Type.String({ description: 'The position the report was read at now.' }),
    computedAt: Type.Array(ReportPosition),
    disclosure: DisclosureApplied,
    cellsCompared: Type.Integer({ minimum: 0 }),
    changed: Type.Array(RestatedCell),
  },
  closed,
);
export type Restatement = Static<typeof Restatement>;
