import { readFile } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { parse as parseStream, type Parser } from 'csv-parse';
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
    readonly limit: 'rows' | 'record-size' | 'bytes',
    readonly max: number,
  ) {
    super(
      limit === 'rows'
        ? `more than ${max} rows`
        : limit === 'bytes'
          ? `more than ${max} bytes`
          : `a row longer than ${max} characters`,
    );
  }
}

/** Characters handed to the parser before the event loop gets a turn: a few milliseconds of parsing. */
const PARSE_SLICE = 64 * 1024;

/**
 * The header and rows of a CSV file, read as a stream, for the server: `onHeader` sees the first record before any
 * other is parsed (and may throw to refuse the file), reading stops at the row after `maxRows`, at a record of more
 * than `maxRecordChars` and (for a byte stream, e.g. a request body) past `maxBytes`, and the event loop gets a turn
 * between slices of a text, so one large upload cannot hold up other requests. A byte stream is never held whole:
 * each chunk is parsed and dropped, and once reading stops the rest of the stream is discarded unread. csv-parse
 * errors, and the stream's own (a body cut off by its client), propagate; null for a file with no record at all.
 */
export async function streamCsvRows(
  source: string | Readable,
  limits: { maxRows: number; maxRecordChars: number; maxBytes?: number; onHeader?: (header: string[]) => void },
): Promise<{ header: string[]; rows: CsvRow[] } | null> {
  const parser = parseStream({
    bom: true,
    info: true,
    skip_empty_lines: true,
    relax_column_count: false,
    max_record_size: limits.maxRecordChars,
  });
  if (typeof source === 'string') void feedSlices(source, parser).then(() => endOf(parser));
  else feedStream(source, parser, limits.maxBytes);
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
  }
  return header === null ? null : { header, rows };
}

/** Until the reader has taken what is parsed, or has stopped reading (the parser is then destroyed). */
const drained = (parser: Parser) =>
  new Promise<void>((resolve) => {
    const done = () => {
      parser.off('drain', done);
      parser.off('close', done);
      resolve();
    };
    parser.once('drain', done).once('close', done);
  });

const endOf = (parser: Parser) => {
  if (!parser.destroyed) parser.end();
};

/** A text in slices of at most PARSE_SLICE, the event loop getting a turn after each. */
async function feedSlices(text: string | Buffer, parser: Parser): Promise<void> {
  for (let from = 0; from < text.length && !parser.destroyed; from += PARSE_SLICE) {
    const slice =
      typeof text === 'string' ? text.slice(from, from + PARSE_SLICE) : text.subarray(from, from + PARSE_SLICE);
    if (!parser.write(slice)) await drained(parser);
    await nextTurn();
  }
}

/**
 * A byte stream chunk by chunk (a large chunk in slices), paused while a chunk is parsed; once the parser is closed
 * the rest of the stream is discarded.
 */
function feedStream(stream: Readable, parser: Parser, maxBytes = Infinity): void {
  let bytes = 0;
  let feeding = Promise.resolve();
  const onData = (chunk: Buffer | string) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (bytes > maxBytes) {
      parser.destroy(new CsvLimitExceeded('bytes', maxBytes));
      return;
    }
    stream.pause();
    feeding = feedSlices(chunk, parser).then(() => {
      if (!parser.destroyed) stream.resume();
    });
  };
  const onEnd = () => void feeding.then(() => endOf(parser));
  const onError = (err: Error) => parser.destroy(err);
  const onClose = () => {
    if (!stream.readableEnded) parser.destroy(new Error('the request body ended early'));
  };
  stream.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  parser.once('close', () => {
    stream.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    // Flowing with no listener: what the client still sends is read and dropped, so its answer can reach it.
    stream.resume();
  });
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

/** Uploads read and stored at once per API process: each holds its rows, and a workbook its bytes, while it runs. */
export const MAX_UPLOADS_AT_ONCE = 2;
/** Uploads that may wait for a turn (their bodies not yet read), and for how long, before a 503 asks to retry. */
export const MAX_UPLOADS_WAITING = 8;
export const UPLOAD_WAIT_MS = 5000;

/** Why an upload was not given a turn: the caller answers 503 with Retry-After. */
export class UploadsBusy extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('too many uploads at once');
  }
}

/**
 * Bounds the uploads in progress, so that memory under many uploads stays that of a few: an upload waits for a turn
 * (at most `waitMs`, with at most `maxWaiting` others), otherwise it is refused with UploadsBusy.
 */
export class UploadGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly maxRunning = MAX_UPLOADS_AT_ONCE,
    private readonly maxWaiting = MAX_UPLOADS_WAITING,
    private readonly waitMs = UPLOAD_WAIT_MS,
  ) {}

  /** Runs `work` in a turn; throws UploadsBusy when none comes in time. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxRunning) await this.turn();
    else this.running++;
    try {
      return await work();
    } finally {
      // The turn passes to the first waiting upload, or is given back.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private turn(): Promise<void> {
    const retryAfterSeconds = Math.ceil(this.waitMs / 1000);
    if (this.waiting.length >= this.maxWaiting) return Promise.reject(new UploadsBusy(retryAfterSeconds));
    return new Promise<void>((resolve, reject) => {
      const given = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(given), 1);
        reject(new UploadsBusy(retryAfterSeconds));
      }, this.waitMs);
      this.waiting.push(given);
    });
  }
}
