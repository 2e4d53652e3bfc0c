import { readFile } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parse as parseStream } from 'csv-parse';
import { parse } from 'csv-parse/sync';

/** Rows per file: a small charity's year of sessions fits, and one upload stays a few seconds of work. */
export const MAX_CSV_ROWS = 5000;
export const MAX_CSV_BYTES = 8 * 1024 * 1024;
/** Characters in one row (and in one cell): a row of every column of the widest event type fits many times over. */
export const MAX_CSV_RECORD_CHARS = 64 * 1024;

export interface CsvRow {
  /** The file line the row starts on (a quoted cell may span lines). */
  line: number;
  cells: string[];
}

const startLine = (record: string[], lines: number) =>
  lines - record.reduce((n, cell) => n + (cell.match(/\n/g)?.length ?? 0), 0);

/** Why streamCsvRows stopped reading before the end of the file. */
export class CsvLimitExceeded extends Error {
  constructor(
    readonly limit: 'rows' | 'record-size',
    readonly max: number,
  ) {
    super(limit === 'rows' ? `more than ${max} rows` : `a row longer than ${max} characters`);
  }
}

/** Characters handed to the parser before the event loop gets a turn: a few milliseconds of parsing. */
const PARSE_SLICE = 64 * 1024;

/**
 * The header and rows of a CSV file, read as a stream, for the server: `onHeader` sees the first record before any
 * other is parsed (and may throw to refuse the file), reading stops at the row after `maxRows` and at a record of more
 * than `maxRecordChars`, and the event loop gets a turn between slices of the text, so one large upload cannot hold up
 * other requests. csv-parse errors propagate; null for a file with no record at all.
 */
export async function streamCsvRows(
  text: string,
  limits: { maxRows: number; maxRecordChars: number; onHeader?: (header: string[]) => void },
): Promise<{ header: string[]; rows: CsvRow[] } | null> {
  const parser = parseStream({
    bom: true,
    info: true,
    skip_empty_lines: true,
    relax_column_count: false,
    max_record_size: limits.maxRecordChars,
  });
  const feed = (async () => {
    for (let from = 0; from < text.length && !parser.destroyed; from += PARSE_SLICE) {
      if (!parser.write(text.slice(from, from + PARSE_SLICE))) {
        // Until the reader has taken what is parsed, or has stopped reading (the parser is then destroyed).
        await new Promise<void>((resolve) => {
          const done = () => {
            parser.off('drain', done);
            parser.off('close', done);
            resolve();
          };
          parser.once('drain', done).once('close', done);
        });
      }
      await nextTurn();
    }
    if (!parser.destroyed) parser.end();
  })();
  let header: string[] | null = null;
  const rows: CsvRow[] = [];
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (header === null) {
        header = record;
        limits.onHeader?.(header);
        continue;
      }
      if (rows.length === limits.maxRows) throw new CsvLimitExceeded('rows', limits.maxRows);
      rows.push({ line: startLine(record, info.lines), cells: record });
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw code === 'CSV_MAX_RECORD_SIZE' ? new CsvLimitExceeded('record-size', limits.maxRecordChars) : err;
  } finally {
    parser.destroy();
    await feed.catch(() => {});
  }
  return header === null ? null : { header, rows };
}

/** The header and rows of a whole CSV file at once, for the command line's local files (csv-parse errors propagate). */
export function readCsvRows(text: string): { header: string[]; rows: CsvRow[] } | null {
  const records = parse(text, {
    bom: true,
    info: true,
    skip_empty_lines: true,
    relax_column_count: false,
  }) as unknown as { record: string[]; info: { lines: number } }[];
  const [head, ...body] = records;
  if (!head) return null;
  const rows = body.map(({ record, info }) => ({ line: startLine(record, info.lines), cells: record }));
  return { header: head.record, rows };
}

export interface CsvPart {
  /** The header line and some rows (RFC 4180, CRLF). */
  body: string;
  /** The file line each row of the part starts on (the API answers per part, from line 2). */
  lines: number[];
}

const csvLine = (cells: readonly string[]) =>
  `${cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',')}\r\n`;

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
    parts.push({
      body: csvLine(file.header) + chunk.map((r) => csvLine(r.cells)).join(''),
      lines: chunk.map((r) => r.line),
    });
  }
  return { rows: file.rows.length, parts };
}

export interface UploadRowResult {
  line: number;
  eventId: string | null;
  status: 'accepted' | 'duplicate' | 'rejected';
  position?: string;
  errors?: { column?: string; field?: string; rule: string; message: string }[];
}

export interface UploadSummary {
  rows: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  /** The highest log position stored by any part (null when none): a report at or above it counts the whole file. */
  highestPosition: string | null;
  results: UploadRowResult[];
}

/**
 * Uploads a CSV file through the API's import route (the same validation, rules and idempotency as an upload
 * over HTTP), part by part; `onPart(rowsDone, rowsTotal)` after each. A refused request (4xx/5xx) throws with
 * the problem's detail; refused rows are in the summary with their file line.
 */
export async function uploadCsvFile(options: {
  apiUrl: string;
  apiKey: string;
  eventType: string;
  file: string;
  rowsPerRequest?: number;
  onPart?: (rowsDone: number, rowsTotal: number) => void;
}): Promise<UploadSummary> {
  const { rows, parts } = splitCsv(await readFile(options.file, 'utf8'), options.rowsPerRequest ?? 500);
  const summary: UploadSummary = { rows, accepted: 0, duplicates: 0, rejected: 0, highestPosition: null, results: [] };
  const url = `${options.apiUrl.replace(/\/$/, '')}/v1/imports?eventType=${encodeURIComponent(options.eventType)}`;
  let done = 0;
  for (const part of parts) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'text/csv; charset=utf-8' },
      body: part.body,
    });
    const answer = (await res.json().catch(() => ({}))) as Partial<UploadSummary> & {
      title?: string;
      detail?: string;
      errors?: unknown;
    };
    if (res.status !== 200) {
      throw new Error(
        `import refused (${res.status}): ${answer.title ?? ''}${answer.detail ? ` — ${answer.detail}` : ''}${answer.errors ? ` ${JSON.stringify(answer.errors)}` : ''}`,
      );
    }
    summary.accepted += answer.accepted ?? 0;
    summary.duplicates += answer.duplicates ?? 0;
    summary.rejected += answer.rejected ?? 0;
    const highest = answer.highestPosition ?? null;
    if (highest !== null && (summary.highestPosition === null || BigInt(highest) > BigInt(summary.highestPosition)))
      summary.highestPosition = highest;
    (answer.results ?? []).forEach((r, i) => summary.results.push({ ...r, line: part.lines[i] ?? r.line }));
    done += part.lines.length;
    options.onPart?.(done, rows);
  }
  return summary;
}
