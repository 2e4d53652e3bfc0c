import type { EventClass } from '@vru/contracts';
import { MIN_POPULATION } from '../disclosure/rules.js';
import { suppressCount } from '../metrics/suppression.js';

/**
 * The pure part of a restatement: which cells of a report changed between a frozen copy and now, and what kind of
 * event moved them. Definitions and the threat model: docs/metrics.md, "Frozen returns and restatements".
 */

export type CellValue = number | string | boolean | null;

export interface CellChange {
  row: string;
  cell: string;
  /** Absent when the cell did not exist in the frozen copy (a new row, a new grant). */
  frozen?: CellValue;
  /** Absent when the cell no longer exists. */
  now?: CellValue;
}

/** Every figure of one row as dotted paths (`referredByAgeBand.14-17`), leaving out the fields that identify it. */
export function rowCells(
  row: Readonly<Record<string, unknown>>,
  identity: readonly string[],
  prefix = '',
): Map<string, CellValue> {
  const out = new Map<string, CellValue>();
  for (const [key, value] of Object.entries(row)) {
    if (prefix === '' && identity.includes(key)) continue;
    const path = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [p, v] of rowCells(value as Record<string, unknown>, identity, path)) out.set(p, v);
    } else {
      out.set(path, Array.isArray(value) ? JSON.stringify(value) : (value as CellValue));
    }
  }
  return out;
}

/**
 * Compares two versions of a report's rows cell by cell. Rows are matched by `rowKey` (never by their order), so a
 * row that appears or disappears shows as cells without a frozen or without a current value. Returns the changed
 * cells in row, then cell order, and how many cells were compared.
 */
export function compareRows(
  frozen: readonly Record<string, unknown>[],
  now: readonly Record<string, unknown>[],
  rowKey: string,
): { compared: number; changed: CellChange[] } {
  const byKey = (rows: readonly Record<string, unknown>[]) =>
    new Map(rows.map((r) => [String(r[rowKey]), rowCells(r, [rowKey])]));
  const before = byKey(frozen);
  const after = byKey(now);
  const rows = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changed: CellChange[] = [];
  let compared = 0;
  for (const row of rows) {
    const a = before.get(row) ?? new Map<string, CellValue>();
    const b = after.get(row) ?? new Map<string, CellValue>();
    for (const cell of [...new Set([...a.keys(), ...b.keys()])].sort()) {
      compared += 1;
      if (a.has(cell) && b.has(cell) && a.get(cell) === b.get(cell)) continue;
      changed.push({
        row,
        cell,
        ...(a.has(cell) ? { frozen: a.get(cell)! } : {}),
        ...(b.has(cell) ? { now: b.get(cell)! } : {}),
      });
    }
  }
  return { compared, changed };
}

/** Event types that replace an earlier event's figures. */
const CORRECTIONS = new Set(['SpendCorrected', 'DeliveryTargetsRevised']);

/**
 * What kind of event moved a figure, for an event recorded after the freeze: an erasure, a consent withdrawal, a
 * correction of an earlier event, a late submission (its date — referral, session, enrolment, exit, spend period —
 * falls inside the report's period), or anything else (e.g. activity dated after the period).
 */
export function classifyEvent(type: string, datedInPeriod: boolean): EventClass {
  if (type === 'ParticipantErased') return 'erasure';
  if (type === 'ConsentWithdrawn') return 'consent-withdrawal';
  if (CORRECTIONS.has(type)) return 'correction';
  return datedInPeriod ? 'late-submission' : 'other';
}

/** Acts a person takes about their own data: counted over all providers, never per provider. */
const PERSONAL_ACTS: ReadonlySet<EventClass> = new Set(['erasure', 'consent-withdrawal']);

export interface EventTally {
  type: string;
  providerId: string;
  datedInPeriod: boolean;
  events: number;
}

export interface Movement {
  class: EventClass;
  providerId: string | null;
  events: number | null;
}

/**
 * Counts events by class and provider under disclosure control: a class of a provider with 1 to 4 events is
 * withheld (null), like any count in a published row. Erasures and consent withdrawals are counted over all
 * providers, withheld below MIN_POPULATION, and always answered, present or not (null for none as for a few), so
 * neither the provider, nor a handful of events, nor whether there was any at all can point at the people who asked.
 * Without disclosure control (a role that sees its own figures) every count is exact and only present classes show.
 */
export function movements(tallies: readonly EventTally[], applied: boolean): Movement[] {
  const counts = new Map<string, Movement & { events: number }>();
  if (applied) for (const cls of PERSONAL_ACTS) counts.set(`${cls}\u0000`, { class: cls, providerId: null, events: 0 });
  for (const t of tallies) {
    const cls = classifyEvent(t.type, t.datedInPeriod);
    const providerId = applied && PERSONAL_ACTS.has(cls) ? null : t.providerId;
    const key = `${cls}\u0000${providerId ?? ''}`;
    const m = counts.get(key) ?? { class: cls, providerId, events: 0 };
    m.events += t.events;
    counts.set(key, m);
  }
  const order = (m: Movement) =>
    `${['late-submission', 'correction', 'consent-withdrawal', 'erasure', 'other'].indexOf(m.class)}\u0000${m.providerId ?? ''}`;
  return [...counts.values()]
    .filter((m) => m.events > 0 || (applied && PERSONAL_ACTS.has(m.class)))
    .map((m) => ({
      ...m,
      events: !applied
        ? m.events
        : PERSONAL_ACTS.has(m.class)
          ? m.events < MIN_POPULATION
            ? null
            : m.events
          : suppressCount(m.events),
    }))
    .sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}
