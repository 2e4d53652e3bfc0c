import type { FastifyReply, FastifyRequest } from 'fastify';
import { XLSX_CONTENT_TYPE } from './xlsx.js';
import { reportWorkbook } from './xlsx-workbooks.js';

/**
 * The one CSV serialiser for reports (RFC 4180): each row is flattened, nested objects becoming dotted column
 * names (completionRate.value, exitReasons.completed); columns are the union of every row's, in order of first
 * appearance; null is an empty cell. Text starting with = + - @ is prefixed with ' so spreadsheets do not run it.
 */
type Cell = string | number | boolean | null;

export function flatten(value: unknown, prefix = '', out: Record<string, Cell> = {}): Record<string, Cell> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(value)) {
    out[prefix] = value.join(';');
  } else {
    out[prefix] = (value ?? null) as Cell;
  }
  return out;
}

function cell(v: Cell | undefined): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: readonly object[]): string {
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
export const wantsXlsx = (request: FastifyRequest): boolean => (request.headers.accept ?? '').toLowerCase().includes(XLSX_CONTENT_TYPE);

/**
 * Sends a report as JSON, as an .xlsx workbook (figures and definitions) when the client asks for it by its media
 * type, or its rows as CSV when the client asks for text/csv. The CSV carries the log
 * positions of the report in the x-report-position header (projection=position, comma separated).
 */
export function sendReport<R extends { rows: readonly object[]; computedAt: readonly { projection: string; position: string }[] }>(
  request: FastifyRequest, reply: FastifyReply, report: R, name: string,
): R | FastifyReply | Promise<FastifyReply> {
  if (wantsXlsx(request)) {
    return reportWorkbook(report, name).then((bytes) => reply
      .type(XLSX_CONTENT_TYPE)
      .header('content-disposition', `attachment; filename="${name}.xlsx"`)
      .header('x-report-position', report.computedAt.map((c) => `${c.projection}=${c.position}`).join(','))
      .send(bytes));
  }
  if (!wantsCsv(request)) return report;
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}.csv"`)
    .header('x-report-position', report.computedAt.map((c) => `${c.projection}=${c.position}`).join(','))
    .send(toCsv(report.rows));
}
