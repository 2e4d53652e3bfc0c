import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';

export interface CsvRow {
  /** The file line the row starts on (a quoted cell may span lines). */
  line: number;
  cells: string[];
}

/** The header and rows of a CSV file, as the import route reads them (csv-parse errors propagate). */
export function readCsvRows(text: string): { header: string[]; rows: CsvRow[] } | null {
  const records = parse(text, { bom: true, info: true, skip_empty_lines: true, relax_column_count: false }) as unknown as
    { record: string[]; info: { lines: number } }[];
  const [head, ...body] = records;
  if (!head) return null;
  const rows = body.map(({ record, info }) => ({
    line: info.lines - record.reduce((n, cell) => n + (cell.match(/\n/g)?.length ?? 0), 0),
    cells: record,
  }));
  return { header: head.record, rows };
}

export interface CsvPart {
  /** The header line and some rows (RFC 4180, CRLF). */
  body: string;
  /** The file line each row of the part starts on (the API answers per part, from line 2). */
  lines: number[];
}

const csvLine = (cells: readonly string[]) => `${cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',')}\r\n`;

/**
 * Splits a CSV file into parts of at most `rowsPerPart` rows, each with the header, so a large file goes to
 * POST /v1/imports in requests under its row limit. Cells are kept exactly (re-quoted where needed).
 */
export function splitCsv(text: string, rowsPerPart: number): { rows: number; parts: CsvPart[] } {
  const file = readCsvRows(text);
  if (!file) return { rows: 0, parts: [] };
  const parts: CsvPart[] = [];
  for (let i = 0; i < file.rows.length; i += rowsPerPart) {
    const chunk = file.rows.slice(i, i + rowsPerPart);
    parts.push({ body: csvLine(file.header) + chunk.map((r) => csvLine(r.cells)).join(''), lines: chunk.map((r) => r.line) });
  }
  return { rows: file.rows.length, parts };
}

export interface UploadRowResult {
  line: number;
  eventId: string | null;
  status: 'accepted' | 'duplicate' | 'rejected';
  errors?: { column?: string; field?: string; rule: string; message: string }[];
}

export interface UploadSummary {
  rows: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  results: UploadRowResult[];
}

/**
 * Uploads a CSV file through the API's import route (the same validation, rules and idempotency as an upload
 * over HTTP), part by part; `onPart(rowsDone, rowsTotal)` after each. A refused request (4xx/5xx) throws with
 * the problem's detail; refused rows are in the summary with their file line.
 */
export async function uploadCsvFile(options: {
  apiUrl: string; apiKey: string; eventType: string; file: string; rowsPerRequest?: number;
  onPart?: (rowsDone: number, rowsTotal: number) => void;
}): Promise<UploadSummary> {
  const { rows, parts } = splitCsv(await readFile(options.file, 'utf8'), options.rowsPerRequest ?? 500);
  const summary: UploadSummary = { rows, accepted: 0, duplicates: 0, rejected: 0, results: [] };
  const url = `${options.apiUrl.replace(/\/$/, '')}/v1/imports?eventType=${encodeURIComponent(options.eventType)}`;
  let done = 0;
  for (const part of parts) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'text/csv; charset=utf-8' },
      body: part.body,
    });
    const answer = (await res.json().catch(() => ({}))) as Partial<UploadSummary> & { title?: string; detail?: string; errors?: unknown };
    if (res.status !== 200) {
      throw new Error(`import refused (${res.status}): ${answer.title ?? ''}${answer.detail ? ` — ${answer.detail}` : ''}${answer.errors ? ` ${JSON.stringify(answer.errors)}` : ''}`);
    }
    summary.accepted += answer.accepted ?? 0;
    summary.duplicates += answer.duplicates ?? 0;
    summary.rejected += answer.rejected ?? 0;
    (answer.results ?? []).forEach((r, i) => summary.results.push({ ...r, line: part.lines[i] ?? r.line }));
    done += part.lines.length;
    options.onPart?.(done, rows);
  }
  return summary;
}
