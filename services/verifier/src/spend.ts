/**
 * The spend arithmetic, in one place: the service's spend report and the offline verifier of evidence packs both
 * call spendFigures, so what a funder re-computes from the events in a pack is, line for line, what the report
 * computed from its read model. Amounts are whole pence.
 */

export class SpendError extends Error {
  override name = 'SpendError';
}

/** The fields of a logged grant-stream event that spend depends on (the stored form, as the log holds it). */
export interface GrantStreamEvent {
  eventId: string;
  streamVersion: number;
  type: string;
  schemaVersion: number;
  data: Record<string, unknown>;
}

export interface GrantTerms {
  providerId: string;
  programmeId: string;
  amountPence: number;
  startDate: string;
  endDate: string;
}

/** One SpendRecorded with its corrections applied: the latest amount and category, the original period. */
export interface SpendLine {
  eventId: string;
  amountPence: number;
  category: string;
  periodStart: string;
  periodEnd: string;
  corrections: number;
}

export interface GrantLedger {
  terms: GrantTerms | null;
  lines: SpendLine[];
}

export interface SpendFigures {
  awardedPence: number;
  spentPence: number;
  remainingPence: number;
  /** Spend by budget category. */
  spentByCategory: Record<string, number>;
  /** Spend by calendar quarter of the spend period's start (e.g. 2025-Q3), quarters in order. */
  spentByQuarter: Record<string, number>;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Calendar quarter label of an ISO date, e.g. 2025-Q3. */
export function quarterOf(date: string): string {
  const m = ISO_DATE.exec(date);
  if (!m) throw new RangeError(`not an ISO date: ${date}`);
  return `${m[1]}-Q${Math.floor((Number(m[2]) - 1) / 3) + 1}`;
}

/** Awarded, spent (by category and by quarter) and remaining, from the award and the corrected spend lines. */
export function spendFigures(
  awardedPence: number,
  lines: readonly Pick<SpendLine, 'amountPence' | 'category' | 'periodStart'>[],
): SpendFigures {
  const spentByCategory: Record<string, number> = {};
  const byQuarter: Record<string, number> = {};
  let spentPence = 0;
  for (const line of lines) {
    spentByCategory[line.category] = (spentByCategory[line.category] ?? 0) + line.amountPence;
    const quarter = quarterOf(line.periodStart);
    byQuarter[quarter] = (byQuarter[quarter] ?? 0) + line.amountPence;
    spentPence += line.amountPence;
  }
  const spentByQuarter = Object.fromEntries(Object.entries(byQuarter).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { awardedPence, spentPence, remainingPence: awardedPence - spentPence, spentByCategory, spentByQuarter };
}

const text = (d: Record<string, unknown>, field: string, type: string): string => {
  const v = d[field];
  if (typeof v !== 'string' || v.length === 0) throw new SpendError(`${type}: data.${field} is not text`);
  return v;
};
const pence = (d: Record<string, unknown>, field: string, type: string, min: number): number => {
  const v = d[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new SpendError(`${type}: data.${field} is not a whole number of pence`);
  }
  return v;
};
const date = (d: Record<string, unknown>, field: string, type: string): string => {
  const v = text(d, field, type);
  if (!ISO_DATE.test(v)) throw new SpendError(`${type}: data.${field} is not an ISO date`);
  return v;
};

/**
 * Schema versions of the grant events whose meaning this fold knows; any other is refused, never guessed.
 * SpendRecorded version 2 only narrowed evidenceRef to an invoice number: its figures mean what version 1's do.
 * A correction's reason (sealed since) is not read.
 */
const KNOWN_VERSIONS: Record<string, readonly number[]> = {
  GrantAwarded: [1],
  SpendRecorded: [1, 2],
  SpendCorrected: [1],
};

/**
 * Folds one grant stream's events, in stream order, into the grant's terms and its spend lines with corrections
 * applied (a correction replaces the amount and category of the SpendRecorded it names; the original stays in the
 * log). Other event types do not touch spend and are skipped.
 */
export function foldGrantEvents(events: readonly GrantStreamEvent[]): GrantLedger {
  let terms: GrantTerms | null = null;
  const lines = new Map<string, SpendLine>();
  for (const e of events) {
    if (!(e.type in KNOWN_VERSIONS)) continue;
    if (!KNOWN_VERSIONS[e.type]!.includes(e.schemaVersion)) {
      throw new SpendError(`${e.type} schema version ${e.schemaVersion} is not one this verifier knows`);
    }
    const d = e.data;
    switch (e.type) {
      case 'GrantAwarded':
        if (terms) throw new SpendError('GrantAwarded twice in one grant stream');
        terms = {
          providerId: text(d, 'providerId', e.type),
          programmeId: text(d, 'programmeId', e.type),
          amountPence: pence(d, 'amountPence', e.type, 1),
          startDate: date(d, 'startDate', e.type),
          endDate: date(d, 'endDate', e.type),
        };
        break;
      case 'SpendRecorded':
        if (!terms) throw new SpendError('SpendRecorded before the grant was awarded');
        if (lines.has(e.eventId)) throw new SpendError(`SpendRecorded ${e.eventId} twice`);
        lines.set(e.eventId, {
          eventId: e.eventId,
          amountPence: pence(d, 'amountPence', e.type, 1),
          category: text(d, 'category', e.type),
          periodStart: date(d, 'periodStart', e.type),
          periodEnd: date(d, 'periodEnd', e.type),
          corrections: 0,
        });
        break;
      case 'SpendCorrected': {
        const target = lines.get(text(d, 'correctsEventId', e.type));
        if (!target)
          throw new SpendError(`SpendCorrected ${e.eventId} corrects a spend that is not earlier in the stream`);
        target.amountPence = pence(d, 'amountPence', e.type, 0);
        target.category = text(d, 'category', e.type);
        target.corrections += 1;
        break;
      }
    }
  }
  return { terms, lines: [...lines.values()] };
}
