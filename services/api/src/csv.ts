import type { FastifyReply, FastifyRequest } from 'fastify';
import { XLSX_CONTENT_TYPE } from './xlsx.js';
import { flatten, type Cell } from './report-rows.js';
import { reportWorkbook } from './xlsx-workbooks.js';

/**
 * The one CSV serialiser for reports (RFC 4180): each row is flattened, nested objects becoming dotted column
 * names (completionRate.value, exitReasons.completed); columns are the union of every row's, in order of first
 * appearance; null is an empty cell. Text starting with = + - @ is prefixed with ' so spreadsheets do not run it.
 */

// What a spreadsheet may evaluate: a formula sign (ASCII or fullwidth) at the start of the cell after any spaces
// (no-break and other Unicode spaces, zero-width characters, control characters), or at the start of any part of it
// that a locale splitting on ; (or , or a tab) would make a cell of its own.
const FORMULA_SIGN = '[=+\\-@\\uFF1D\\uFF0B\\uFF0D\\uFF20]';
const IGNORABLE = '[\\s\\u0000-\\u001F\\u007F\\u200B-\\u200D\\u2060\\uFEFF]*';
// The same characters less the separators among them (tab, CR, LF), as two disjoint classes. After a separator only
// these are skipped: a run of tabs or line breaks is then matched from its last one alone, rather than retried from
// each of them (time quadratic in the run's length), and the cells marked are the same.
const IGNORABLE_BUT_SEPARATORS = '(?:[^\\S\\t\\r\\n]|[\\u0000-\\u0008\\u000E-\\u001F\\u007F\\u200B-\\u200D\\u2060])*';
const FORMULA_AT_START = new RegExp(`^(?:${IGNORABLE}${FORMULA_SIGN}|[\\t\\r])`);
const FORMULA_AFTER_SEPARATOR = new RegExp(`([;,\\t\\r\\n]${IGNORABLE_BUT_SEPARATORS})(${FORMULA_SIGN})`, 'g');

/** Text a spreadsheet shows as text: a ' before the cell and before each formula sign that starts a part of it. */
export function neutraliseFormula(s: string): string {
  const parts = s.replace(FORMULA_AFTER_SEPARATOR, "$1'$2");
  return FORMULA_AT_START.test(parts) ? `'${parts}` : parts;
}

function cell(v: Cell | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' && !Number.isFinite(v)) return ''; // never Infinity or NaN in a report
  const s = typeof v === 'string' ? neutraliseFormula(v) : String(v);
  return /[",\r\n;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The columns of a row schema (TypeBox / JSON Schema), flattened as `flatten` does: what an empty report's CSV
 * still has as its header line. A record of figures (exit reasons) has no fixed keys and stays one column.
 */
export function schemaColumns(schema: unknown, prefix = ''): string[] {
  const s = schema as { properties?: Record<string, unknown>; anyOf?: unknown[] } | undefined;
  const object = s?.properties
    ? s
    : ((s?.anyOf ?? []).find((o) => (o as { properties?: unknown }).properties) as typeof s);
  if (!object?.properties) return prefix ? [prefix] : [];
  return Object.entries(object.properties).flatMap(([k, v]) => schemaColumns(v, prefix ? `${prefix}.${k}` : k));
}

export function toCsv(rows: readonly object[], emptyColumns: readonly string[] = []): string {
  if (rows.length === 0) return `${emptyColumns.map((c) => cell(c)).join(',')}\r\n`;
  const flat = rows.map((r) => flatten(r));
  const seen = new Set<string>();
  for (const r of flat) for (const k of Object.keys(r)) seen.add(k);
  // A figure that is null in one row and an object in another: keep the object's columns only.
  const columns = [...seen].filter((c) => ![...seen].some((o) => o.startsWith(`${c}.`)));
  const lines = [columns.map(cell).join(',')];
  for (const r of flat) lines.push(columns.map((c) => cell(r[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export const wantsCsv = (request: FastifyRequest): boolean => /\btext\/csv\b/i.test(request.headers.accept ?? '');
export const wantsXlsx = (request: FastifyRequest): boolean =>
  (request.headers.accept ?? '').toLowerCase().includes(XLSX_CONTENT_TYPE);

/** The header naming the disclosure-control rules a CSV's figures passed through: `vru-sdc-1; applied=true`. */
export const DISCLOSURE_HEADER = 'x-disclosure-control';
export const disclosureHeader = (d: { rules: string; applied: boolean }): string => `${d.rules}; applied=${d.applied}`;

/**
 * Sends a report as JSON, as an .xlsx workbook (figures and definitions) when the client asks for it by its media
 * type, or its rows as CSV when the client asks for text/csv. The CSV carries the report's log position P in the
 * x-report-position header (ask again with asAt=P for the same figures) and the disclosure-control rules in
 * x-disclosure-control; an empty report still has its header line (from the route's response schema).
 */
export function sendReport<
  R extends {
    rows: readonly object[];
    position: string;
    computedAt: readonly { projection: string; position: string }[];
    disclosure: { rules: string; applied: boolean };
  },
>(request: FastifyRequest, reply: FastifyReply, report: R, name: string): R | FastifyReply | Promise<FastifyReply> {
  if (wantsXlsx(request)) {
    return reportWorkbook(report, name).then((bytes) =>
      reply
        .type(XLSX_CONTENT_TYPE)
        .header('content-disposition', `attachment; filename="${name}.xlsx"`)
        .header('x-report-position', report.position)
        .header(DISCLOSURE_HEADER, disclosureHeader(report.disclosure))
        .send(bytes),
    );
  }
  if (!wantsCsv(request)) return report;
  const response = (
    request.routeOptions.schema?.response as Record<string, { properties?: { rows?: { items?: unknown } } }> | undefined
  )?.['200'];
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}.csv"`)
    .header('x-report-position', report.position)
    .header(DISCLOSURE_HEADER, disclosureHeader(report.disclosure))
    .send(toCsv(report.rows, schemaColumns(response?.properties?.rows?.items)));
}
