import type { Readable } from 'node:stream';
import { Type, type Static } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import {
  checkCsvHeader,
  csvColumns,
  csvLayoutMarkdown,
  csvRowErrors,
  csvRowToSubmission,
  csvTemplate,
  eventDefinition,
  EventTypes,
  ProblemDetails,
  StringEnum,
  SUBMITTING_ROLES,
  type CsvCellError,
  type EventType,
  type FieldError,
} from '@vru/contracts';
import type { Principal } from '@vru/contracts';
import { roleRefusal, type Ingest } from '../ingest/ingest.js';
import {
  CsvLimitExceeded,
  MAX_CSV_BYTES,
  MAX_CSV_RECORD_CHARS,
  MAX_CSV_ROWS,
  MAX_UPLOADS_AT_ONCE,
  MAX_UPLOADS_WAITING,
  UPLOAD_WAIT_MS,
  streamCsvRows,
  UploadGate,
  UploadsBusy,
  type CsvRow,
} from '../csv-upload.js';
import { HttpProblem, refusalProblem } from '../problem.js';
import { columnLetter, readXlsx, XLSX_CONTENT_TYPE, XlsxError } from '../xlsx.js';
import { xlsxTemplate } from '../xlsx-workbooks.js';
import { summarise } from './events.js';

/**
 * Rows per append transaction. A chunk's working set (its rows, stream states and statement parameters) outlives
 * several young-generation collections and is promoted; with 1,000 rows it raised the API's old space and so its
 * resident memory by 5-33 MB under back-to-back uploads, for about 10 % more rows a second than 250
 * (docs/performance.md, "CSV uploads appended 250 rows at a time").
 */
const APPEND_CHUNK = 250;

const problemResponses = {
  400: ProblemDetails,
  401: ProblemDetails,
  403: ProblemDetails,
  413: ProblemDetails,
  415: ProblemDetails,
  422: ProblemDetails,
  503: ProblemDetails,
};

const EventTypeParam = StringEnum(EventTypes, { description: 'The event type of every row in the file.' });

const CsvCellErrorSchema = Type.Object(
  {
    column: Type.String({ description: 'The CSV column to fix.' }),
    cell: Type.Optional(
      Type.String({ description: '.xlsx uploads: the cell to fix, by column letter and sheet row, e.g. F7.' }),
    ),
    rule: Type.String({
      description:
        'The rule broken, the same as the JSON API reports, e.g. required, string-format, enum, session-before-enrolment.',
    }),
    message: Type.String(),
  },
  { additionalProperties: false },
);

const ImportRowResult = Type.Object(
  {
    line: Type.Integer({
      minimum: 2,
      description:
        'Line number of the row in the file, from 1 (the header is line 1); for .xlsx, the sheet row number.',
    }),
    eventId: Type.Union([Type.String(), Type.Null()], {
      description: 'The eventId given in the row or derived from it.',
    }),
    status: Type.Union([Type.Literal('accepted'), Type.Literal('duplicate'), Type.Literal('rejected')]),
    position: Type.Optional(
      Type.String({ description: 'The log position of the stored event (accepted or duplicate).' }),
    ),
    errors: Type.Optional(Type.Array(CsvCellErrorSchema)),
  },
  { additionalProperties: false },
);

export const ImportResult = Type.Object(
  {
    eventType: Type.String(),
    rows: Type.Integer({ description: 'Data rows read (the header is not counted).' }),
    accepted: Type.Integer(),
    duplicates: Type.Integer({ description: 'Rows already stored, e.g. by an earlier upload of the same file.' }),
    rejected: Type.Integer(),
    highestPosition: Type.Union([Type.String(), Type.Null()], {
      description:
        'The highest log position of the events stored (accepted or duplicate), null when none: a report whose position ' +
        "is at or above it counts every one of them (ask with asAt, or wait until a report's position reaches it).",
    }),
    results: Type.Array(ImportRowResult, { description: 'One result per row, in file order.' }),
  },
  { additionalProperties: false },
);
export type ImportResult = Static<typeof ImportResult>;

const LAYOUT_RULES = [
  'One file holds one event type, at its latest schema version; one row is one event. The first line is the header.',
  'Columns may come in any order; unknown, repeated or missing required columns refuse the whole file (422, naming them).',
  '- `eventId`: optional. When blank it is derived from the row (a UUIDv5 of your organisation, the event type, the participant',
  "  or grant reference and the row's content), so uploading the same file again stores nothing twice; any edit to a row makes it a new event.",
  '- `occurredAt`: optional where the event has a date field; blank means that date (e.g. sessionDate) at 00:00Z.',
  '- `programmeId` and `participantRef` (plus `providerId` for data-partner events) for participant events; `grantRef` for grant events;',
  '  `dataPartnerId` and `comparisonRef` for comparison-pool events.',
  '- Then one column per data field; nested fields as `object.field` (e.g. `customRange.min`).',
  "Cells: spaces around a value are ignored; blank means absent (or the field's default); lists are `;`-separated;",
  'booleans are `true`, `false`, `yes` or `no`; numbers are plain decimals. Quote cells containing commas as usual in CSV.',
  'A UTF-8 byte order mark (as Excel writes) is accepted.',
].join('\n');

const mediaType = (contentType: string | undefined): string => (contentType ?? '').split(';')[0]!.trim().toLowerCase();
const isCsv = (contentType: string | undefined): boolean => mediaType(contentType) === 'text/csv';
const isXlsx = (contentType: string | undefined): boolean => mediaType(contentType) === XLSX_CONTENT_TYPE;

/**
 * Rows of the file with the line each starts on (a quoted cell may span lines), read as a stream: the header is
 * checked on the first record, and reading stops past the row limit or at an over-long record.
 */
async function readCsv(
  source: string | Readable,
  checkHeader: (header: string[]) => void,
): Promise<{ header: string[]; rows: CsvRow[] }> {
  let file: Awaited<ReturnType<typeof streamCsvRows>>;
  try {
    file = await streamCsvRows(source, {
      maxRows: MAX_CSV_ROWS,
      maxRecordChars: MAX_CSV_RECORD_CHARS,
      maxBytes: MAX_CSV_BYTES,
      onHeader: (header) => checkHeader(header.map((h) => h.trim())),
    });
  } catch (err) {
    if (err instanceof HttpProblem) throw err;
    if (err instanceof CsvLimitExceeded && err.limit === 'bytes') throw fileTooLarge();
    if (err instanceof CsvLimitExceeded) {
      throw err.limit === 'rows'
        ? new HttpProblem(
            413,
            'too-many-rows',
            'The file has too many rows',
            undefined,
            `At most ${MAX_CSV_ROWS} rows per file; split it and upload each part`,
          )
        : new HttpProblem(
            413,
            'row-too-long',
            'A row of the file is too long',
            undefined,
            `At most ${MAX_CSV_RECORD_CHARS} characters per row`,
          );
    }
    const e = err as { code?: string; message?: string };
    const detail = e.code?.startsWith('CSV_') ? e.message : 'The file could not be read as CSV';
    throw new HttpProblem(422, 'csv-unreadable', 'The file is not valid CSV', undefined, detail);
  }
  if (!file)
    throw new HttpProblem(422, 'csv-empty', 'The file is empty', undefined, 'Send a header line and at least one row');
  return { header: file.header.map((h) => h.trim()), rows: file.rows };
}

const fileTooLarge = () =>
  new HttpProblem(
    413,
    'body-too-large',
    'The file is too large',
    undefined,
    `At most ${MAX_CSV_BYTES / 1024 / 1024} MiB`,
  );

/** The whole body, refused (413) past `maxBytes` without reading further: for a workbook, which is read whole. */
async function readBody(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    bytes += (chunk as Buffer).byteLength;
    if (bytes > maxBytes) throw fileTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, bytes);
}

/**
 * A file of either kind, read as a stream in the caller's upload turn: a workbook (a zip, so it starts with the zip
 * signature "PK") is read whole within the size limit, anything else streams through the CSV reader. For the upload
 * page, whose form does not say which kind it sends.
 */
export async function importFile(
  deps: ImportRouteDeps,
  principal: Principal,
  type: EventType,
  file: Readable,
  requestId: string,
): Promise<ImportResult> {
  const { head, ended } = await firstBytes(file, 2);
  if (head.subarray(0, 2).toString('latin1') === 'PK')
    return importXlsx(deps, principal, type, ended ? head : await readBody(file, MAX_CSV_BYTES), requestId);
  return importCsv(deps, principal, type, ended ? head.toString('utf8') : file, requestId);
}

/**
 * The first `n` bytes of a stream, put back so that its next reader gets every byte; or, when the stream ended
 * before `n`, all it held (`ended`: there is nothing left to read from it).
 */
async function firstBytes(stream: Readable, n: number): Promise<{ head: Buffer; ended: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  while (size < n && !ended) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      size += chunk.byteLength;
    } else ended = await readableOrEnded(stream);
  }
  const head = Buffer.concat(chunks, size);
  if (!ended && size > 0) stream.unshift(head);
  return { head, ended };
}

/** True once the stream has ended, false when it has more to read; rejects with the stream's error. */
const readableOrEnded = (stream: Readable): Promise<boolean> =>
  new Promise((resolve, reject) => {
    const settle = (result: boolean | Error) => {
      stream.off('readable', readable).off('end', end).off('error', settle);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const readable = () => settle(false);
    const end = () => settle(true);
    stream.once('readable', readable).once('end', end).once('error', settle);
  });

/** Upload bodies as the parser found them, unread, for the handler to read in the upload's turn. */
const unreadBodies = new WeakMap<FastifyRequest, Readable>();

export interface ImportRouteDeps {
  ingest: Ingest;
  /** Shared by every way of uploading (this route and the dashboard's upload page). */
  uploads: UploadGate;
}

/** Runs one upload in its turn (UploadGate); none in time is a 503 with Retry-After. */
export async function inUploadTurn<T>(deps: ImportRouteDeps, work: () => Promise<T>): Promise<T> {
  try {
    return await deps.uploads.run(work);
  } catch (err) {
    if (!(err instanceof UploadsBusy)) throw err;
    throw new HttpProblem(
      503,
      'uploads-busy',
      'Too many uploads at once; retry shortly',
      undefined,
      `At most ${MAX_UPLOADS_AT_ONCE} files are read at once; send this one again after ${err.retryAfterSeconds} seconds`,
      err.retryAfterSeconds,
    );
  }
}

/**
 * Validates and stores a CSV file of one event type, row by row, for the JSON route and the upload page alike:
 * refusals of the whole file (role, header, size) are thrown as HttpProblem; each row answers on its own.
 */
export async function importCsv(
  deps: ImportRouteDeps,
  principal: Principal,
  type: EventType,
  source: string | Readable,
  requestId: string,
): Promise<ImportResult> {
  refuseRole(principal, type);
  const { header, rows } = await readCsv(source, (header) => refuseHeader(type, header));
  return importRows(deps, principal, type, header, rows, requestId, 'csv');
}

/** Refuses the whole file (422, naming each column) when its header does not match the event type's layout. */
function refuseHeader(type: EventType, header: string[]): void {
  const headerCheck = checkCsvHeader(type, header);
  const headerErrors: FieldError[] = [
    ...headerCheck.unknown.map((c) => ({
      field: c,
      rule: 'unknown-column',
      message: `${type} files have no column ${c}`,
    })),
    ...headerCheck.missing.map((c) => ({
      field: c,
      rule: 'missing-column',
      message: `${type} files need the column ${c}`,
    })),
    ...headerCheck.duplicate.map((c) => ({
      field: c,
      rule: 'duplicate-column',
      message: `The column ${c} appears more than once`,
    })),
  ];
  if (headerErrors.length > 0) {
    const detail = `Columns to fix: ${headerErrors.map((e) => e.field).join(', ')}`;
    throw new HttpProblem(422, 'csv-header-invalid', 'The header line does not match the layout', headerErrors, detail);
  }
}

/** Refuses the whole file (403) when the key may not submit its event type. */
function refuseRole(principal: Principal, type: EventType): void {
  const refused = roleRefusal(principal, eventDefinition(type)!, '/querystring/eventType');
  if (refused) throw refusalProblem(refused);
}

/**
 * The same import from the first sheet of an .xlsx workbook: rows are numbered as in the sheet, each error also names
 * its cell (column letter and row), and dates typed as dates in the sheet are read as dates. The workbook is read
 * with bounded cost (xlsx.ts): a zip bomb, a huge sheet or more than the row limit is refused before storing anything.
 */
export async function importXlsx(
  deps: ImportRouteDeps,
  principal: Principal,
  type: EventType,
  bytes: Buffer,
  requestId: string,
): Promise<ImportResult> {
  refuseRole(principal, type);
  const dateColumns = new Map(
    csvColumns(type)
      .filter((c) => c.format)
      .map((c) => [c.name, c.format!] as const),
  );
  let sheet: Awaited<ReturnType<typeof readXlsx>>;
  try {
    // A workbook carries no more text than the CSV file of the same rows may: per row and in all.
    const limits = { maxRows: MAX_CSV_ROWS, maxRowChars: MAX_CSV_RECORD_CHARS, maxTextChars: MAX_CSV_BYTES };
    sheet = await readXlsx(bytes, { limits, dateColumns });
  } catch (err) {
    if (!(err instanceof XlsxError)) throw err;
    const title = err.status === 413 ? 'The workbook is too large' : 'The file is not a readable .xlsx workbook';
    throw new HttpProblem(err.status, err.code, title, undefined, err.message);
  }
  if (!sheet) {
    throw new HttpProblem(
      422,
      'xlsx-empty',
      'The workbook is empty',
      undefined,
      'Fill in the header row and at least one row on the first sheet',
    );
  }
  return importRows(
    deps,
    principal,
    type,
    sheet.header.map((h) => h.trim()),
    sheet.rows,
    requestId,
    'xlsx',
  );
}

async function importRows(
  deps: ImportRouteDeps,
  principal: Principal,
  type: EventType,
  header: string[],
  rows: readonly CsvRow[],
  requestId: string,
  format: 'csv' | 'xlsx',
): Promise<ImportResult> {
  refuseHeader(type, header);
  if (rows.length > MAX_CSV_ROWS) {
    throw new HttpProblem(
      413,
      'too-many-rows',
      'The file has too many rows',
      undefined,
      `${rows.length} rows; at most ${MAX_CSV_ROWS} per file`,
    );
  }

  interface Result {
    line: number;
    eventId: string | null;
    status: 'accepted' | 'duplicate' | 'rejected';
    position?: string;
    errors?: (CsvCellError & { cell?: string })[];
  }
  // In a workbook, each error also names its cell: the column's letter in this file and the sheet row.
  const cellsOf = (line: number, errors: CsvCellError[]) =>
    format === 'csv'
      ? errors
      : errors.map((e) => {
          const index = header.indexOf(e.column);
          return index < 0 ? e : { ...e, cell: `${columnLetter(index)}${line}` };
        });
  const results: Result[] = [];
  const scope = principal.providerId ?? '';
  // Chunks go through the ingest path in file order, so a participant's rows still apply in order.
  for (let from = 0; from < rows.length; from += APPEND_CHUNK) {
    const chunk = rows.slice(from, from + APPEND_CHUNK).map(({ line, cells }) => {
      const record = Object.fromEntries(header.map((name, i) => [name, cells[i] ?? '']));
      return { line, record, submission: csvRowToSubmission(type, record, { scope }) };
    });
    const outcomes = await deps.ingest.submit(
      { principal, requestId, source: format },
      chunk.map((c) => c.submission),
    );
    outcomes.forEach((outcome, k) => {
      const { line, record, submission } = chunk[k]!;
      const eventId = typeof submission.eventId === 'string' ? submission.eventId : null;
      results.push(
        outcome.status === 'rejected'
          ? { line, eventId, status: 'rejected', errors: cellsOf(line, csvRowErrors(type, record, outcome.errors)) }
          : { line, eventId, status: outcome.status, position: outcome.position },
      );
    });
  }

  return { eventType: type, rows: rows.length, ...summarise(results) };
}

export const importRoutes: FastifyPluginAsyncTypebox<ImportRouteDeps> = async (app, deps) => {
  // Scoped to this plugin: only the import routes take CSV and workbooks. The body is handed on unread, so that it is
  // read in the upload's turn (UploadGate) and a CSV file streams through the parser without being held whole; a
  // declared length over the limit is refused before reading anything, the bytes actually sent are counted as read.
  // The body Fastify validates is an empty string standing in for the file (the schema documents the file itself).
  const unread = (request: FastifyRequest, payload: Readable, done: (err: Error | null, body?: unknown) => void) => {
    if (Number(request.headers['content-length']) > MAX_CSV_BYTES) {
      done(fileTooLarge());
      return;
    }
    unreadBodies.set(request, payload);
    done(null, '');
  };
  app.addContentTypeParser('text/csv', unread);
  app.addContentTypeParser(XLSX_CONTENT_TYPE, unread);

  app.get(
    '/v1/imports/templates/:eventType.xlsx',
    {
      config: { roles: SUBMITTING_ROLES },
      schema: {
        tags: ['imports'],
        operationId: 'getImportTemplateXlsx',
        summary: 'An Excel (.xlsx) template for one event type',
        description:
          'A workbook to fill in and upload to `POST /v1/imports` as it is: the Data sheet has the header row and an example row, ' +
          'date cells for dates, text cells for references (leading zeros survive), and data validation on every row up to the row limit ' +
          '(drop-down lists for every vocabulary, whole numbers where required, dates); the Columns sheet explains each column.',
        params: Type.Object({ eventType: EventTypeParam }),
        produces: [XLSX_CONTENT_TYPE],
        response: {
          200: {
            description: 'The workbook.',
            content: { [XLSX_CONTENT_TYPE]: { schema: Type.String({ format: 'binary' }) } },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const type = request.params.eventType;
      return (
        reply
          .type(XLSX_CONTENT_TYPE)
          .header('content-disposition', `attachment; filename="${type}.xlsx"`)
          // The 200 schema documents the body as a binary string; Fastify sends a Buffer as it is.
          .send((await xlsxTemplate(type)) as unknown as string)
      );
    },
  );

  app.get(
    '/v1/imports/templates/:eventType',
    {
      config: { roles: SUBMITTING_ROLES },
      schema: {
        tags: ['imports'],
        operationId: 'getImportTemplate',
        summary: 'A CSV template for one event type',
        description:
          `The header line and one example row, ready to fill in a spreadsheet.\n\n${LAYOUT_RULES}\n\n` +
          `The columns of each event type:\n\n${EventTypes.map(csvLayoutMarkdown).join('\n\n')}`,
        params: Type.Object({ eventType: EventTypeParam }),
        produces: ['text/csv'],
        response: {
          200: { description: 'The template.', content: { 'text/csv': { schema: Type.String() } } },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const type = request.params.eventType;
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${type}.csv"`)
        .send(csvTemplate(type));
    },
  );

  app.post(
    '/v1/imports',
    {
      config: { roles: SUBMITTING_ROLES },
      schema: {
        tags: ['imports'],
        operationId: 'importCsv',
        summary: `Submit up to ${MAX_CSV_ROWS} events of one type as a CSV file or an Excel workbook`,
        description: [
          `Send the file as the body with \`Content-Type: text/csv\`, or an .xlsx workbook with \`Content-Type: ${XLSX_CONTENT_TYPE}\``,
          '(any other type is 415). A workbook is read from its first sheet: rows are numbered as in the sheet, each error also names its',
          'cell (e.g. F7), and cells formatted as dates are read as dates. A workbook that inflates beyond the limits, compresses like a',
          'zip bomb, has cells beyond column GR or more rows than the limit is refused (413 or 422) before anything is stored.',
          'Each row stands or falls on its own,',
          'with the same rules as `POST /v1/events`; nothing from a refused row is stored, and good rows are stored in file order.',
          'The answer has one result per row with its line number and, for a refused row, each column to fix.',
          `More than ${MAX_CSV_ROWS} rows, a row of more than ${MAX_CSV_RECORD_CHARS / 1024} KiB ` +
            `or a file of more than ${MAX_CSV_BYTES / 1024 / 1024} MiB is 413;`,
          'the file is read as a stream, so a wrong header or too many rows are refused without reading the rest. Re-uploading a corrected file is safe:',
          'rows already stored answer `duplicate`.',
          `At most ${MAX_UPLOADS_AT_ONCE} files are read and stored at once; another waits up to ${UPLOAD_WAIT_MS / 1000} s for its turn`,
          `(with at most ${MAX_UPLOADS_WAITING} others), otherwise it is 503 \`uploads-busy\` with \`Retry-After\`, having stored nothing: send it again.`,
          '',
          LAYOUT_RULES,
          '',
          "See `GET /v1/imports/templates/{eventType}` for each event type's columns.",
        ].join('\n'),
        querystring: Type.Object({ eventType: EventTypeParam }, { additionalProperties: false }),
        body: {
          content: {
            'text/csv': { schema: Type.String({ description: 'The CSV file, UTF-8, comma-separated, header first.' }) },
            [XLSX_CONTENT_TYPE]: {
              schema: Type.String({
                format: 'binary',
                description: 'The workbook; the header on the first row of the first sheet.',
              }),
            },
          },
        },
        response: { 200: ImportResult, ...problemResponses },
      },
      // Before the body is read, so that a JSON or text body is refused as such rather than parsed.
      onRequest: async (request) => {
        if (!isCsv(request.headers['content-type']) && !isXlsx(request.headers['content-type'])) {
          throw new HttpProblem(
            415,
            'unsupported-media-type',
            'Unsupported media type',
            undefined,
            `Send the file with Content-Type: text/csv, or a workbook with Content-Type: ${XLSX_CONTENT_TYPE}`,
          );
        }
      },
    },
    async (request) => {
      const body = unreadBodies.get(request)!;
      const { principal, id } = request;
      const type = request.query.eventType;
      return inUploadTurn(deps, async () =>
        isXlsx(request.headers['content-type'])
          ? importXlsx(deps, principal, type, await readBody(body, MAX_CSV_BYTES), id)
          : importCsv(deps, principal, type, body, id),
      );
    },
  );
};
