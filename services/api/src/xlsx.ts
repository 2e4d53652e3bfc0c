import { SaxesParser } from 'saxes';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import yazl from 'yazl';

/**
 * Excel workbooks (.xlsx, Office Open XML) in and out, with bounded cost.
 *
 * Reading: an .xlsx file is a zip of XML parts. yauzl reads the zip's central directory without inflating anything,
 * so the declared sizes are checked against the limits first (a zip bomb is refused before a byte is inflated), and
 * it refuses any entry that inflates to more than it declared; saxes parses the XML parts as a stream, and reading
 * stops at the first row beyond the row limit. Only the first sheet's cell values are read: no formulas are
 * evaluated, no external links followed, no macros (an .xlsm is just another zip whose code is never looked at).
 *
 * Writing: the few XML parts a workbook needs, zipped with yazl: cells, bold headers, date formats, column widths,
 * frozen header rows, data validation (drop-down lists, whole numbers, dates) and hidden sheets.
 */

export const XLSX_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export interface XlsxLimits {
  /** Data rows (after the header) at most; one more is refused as too many. */
  maxRows: number;
  /** Columns at most (a cell further right is refused). */
  maxColumns: number;
  /** Declared uncompressed size of any one part we read, and of all of them together. */
  maxPartBytes: number;
  maxTotalBytes: number;
  /** Zip entries at most (a workbook has a dozen or so). */
  maxEntries: number;
  /** Inflated / compressed size above which a large part is taken for a zip bomb. */
  maxCompressionRatio: number;
  /**
   * Characters of cell text in one row, and in the whole sheet, once shared strings are resolved: a cell names a
   * shared string by its index, so a tiny sheet can repeat one long string in every cell, and each copy costs as much
   * to check and store as if it had been sent.
   */
  maxRowChars: number;
  maxTextChars: number;
}

export const DEFAULT_XLSX_LIMITS: XlsxLimits = {
  maxRows: 5000,
  maxColumns: 200,
  maxPartBytes: 32 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
  maxEntries: 500,
  maxCompressionRatio: 200,
  maxRowChars: 64 * 1024,
  maxTextChars: 8 * 1024 * 1024,
};

/** Why a workbook was refused, with the HTTP status the API answers (413 for too much, 422 for unreadable). */
export class XlsxError extends Error {
  constructor(
    readonly status: 413 | 422,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'XlsxError';
  }
}

export interface XlsxRow {
  /** The sheet row number (the header is usually row 1). */
  line: number;
  /** Cell text by column, from column A; blank cells are ''. */
  cells: string[];
}

export interface XlsxSheet {
  header: string[];
  rows: XlsxRow[];
}

/** 0 → A, 25 → Z, 26 → AA. */
export function columnLetter(index: number): string {
  let n = index + 1;
  let out = '';
  while (n > 0) {
    const r = (n - 1) % 26;
    out = String.fromCharCode(65 + r) + out;
    n = Math.floor((n - 1) / 26);
  }
  return out;
}

/** 'AA12' → { column: 26, row: 12 }. */
export function parseCellRef(ref: string): { column: number; row: number } | null {
  const m = /^([A-Z]{1,3})(\d{1,7})$/.exec(ref);
  if (!m) return null;
  let column = 0;
  for (const ch of m[1]!) column = column * 26 + (ch.charCodeAt(0) - 64);
  return { column: column - 1, row: Number(m[2]) };
}

/** Excel's serial day number (days since 1899-12-30, the 1900 date system) as an ISO date or date-time. */
export function excelSerialToIso(serial: number, withTime: boolean): string | null {
  if (!Number.isFinite(serial) || serial < 1 || serial > 2_958_465) return null;
  const ms = Math.round((serial * 86_400_000) / 1000) * 1000 + Date.UTC(1899, 11, 30);
  const iso = new Date(ms).toISOString();
  return withTime ? iso.replace('.000Z', 'Z') : iso.slice(0, 10);
}

export function isoToExcelSerial(iso: string): number {
  return (Date.parse(iso.length === 10 ? `${iso}T00:00:00Z` : iso) - Date.UTC(1899, 11, 30)) / 86_400_000;
}

const openZip = (buffer: Buffer): Promise<ZipFile> =>
  new Promise((resolve, reject) => {
    yauzl.fromBuffer(
      buffer,
      { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false },
      (err, zip) => {
        if (err)
          reject(new XlsxError(422, 'xlsx-unreadable', 'The file is not an .xlsx workbook (it is not a readable zip)'));
        else resolve(zip);
      },
    );
  });

/** Every entry of the central directory; nothing is inflated. */
function listEntries(zip: ZipFile, limits: XlsxLimits): Promise<Map<string, Entry>> {
  return new Promise((resolve, reject) => {
    const entries = new Map<string, Entry>();
    zip.on('entry', (entry: Entry) => {
      if (entries.size >= limits.maxEntries) {
        reject(new XlsxError(413, 'xlsx-too-many-parts', `The workbook has more than ${limits.maxEntries} parts`));
        return;
      }
      entries.set(entry.fileName, entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', () => reject(new XlsxError(422, 'xlsx-unreadable', "The workbook's zip structure is damaged")));
    zip.readEntry();
  });
}

/** Streams one part through a SAX parser; `onTag` may throw to stop early (the stream is destroyed). */
interface SaxHandlers {
  open?: (name: string, attrs: Record<string, string>) => void;
  close?: (name: string) => void;
  text?: (t: string) => void;
}

function parsePart(zip: ZipFile, entry: Entry, handlers: SaxHandlers): Promise<void> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) {
        reject(new XlsxError(422, 'xlsx-unreadable', `The workbook part ${entry.fileName} cannot be read`));
        return;
      }
      const parser = new SaxesParser({ xmlns: false });
      let failed = false;
      const fail = (e: unknown) => {
        if (failed) return;
        failed = true;
        stream.destroy();
        const unreadable = new XlsxError(
          422,
          'xlsx-unreadable',
          `The workbook part ${entry.fileName} is not well-formed XML`,
        );
        reject(e instanceof XlsxError ? e : unreadable);
      };
      // Entities other than XML's five are refused by saxes: no entity expansion attacks.
      parser.on('opentag', (tag) => {
        try {
          handlers.open?.(localName(tag.name), tag.attributes);
        } catch (e) {
          fail(e);
        }
      });
      parser.on('closetag', (tag) => {
        try {
          handlers.close?.(localName(tag.name));
        } catch (e) {
          fail(e);
        }
      });
      parser.on('text', (t) => handlers.text?.(t));
      parser.on('error', fail);
      stream.on('data', (chunk: Buffer) => {
        if (failed) return;
        try {
          parser.write(chunk.toString('utf8'));
        } catch (e) {
          fail(e);
        }
      });
      const overflow = new XlsxError(
        413,
        'xlsx-too-large',
        `The workbook part ${entry.fileName} inflates past its declared size`,
      );
      stream.on('error', () => fail(overflow));
      stream.on('end', () => {
        if (failed) return;
        try {
          parser.close();
          resolve();
        } catch (e) {
          fail(e);
        }
      });
    });
  });
}

const localName = (name: string): string => name.slice(name.indexOf(':') + 1);

async function readSmallPart(zip: ZipFile, entry: Entry): Promise<{ name: string; attrs: Record<string, string> }[]> {
  const tags: { name: string; attrs: Record<string, string> }[] = [];
  await parsePart(zip, entry, {
    open: (name, attrs) => {
      if (tags.length < 10_000) tags.push({ name, attrs });
    },
  });
  return tags;
}

/**
 * Refuses, from the sizes the zip's directory declares and before a byte is inflated, parts that together would take
 * far longer to parse than their upload took to send: past the size limits, or compressed like a zip bomb. Every part
 * that is read is checked, the small ones (workbook.xml, its relationships) as much as the sheet.
 */
function refuseOversizedParts(parts: readonly Entry[], limits: XlsxLimits): void {
  let total = 0;
  for (const e of parts) {
    total += e.uncompressedSize;
    if (e.uncompressedSize > limits.maxPartBytes || total > limits.maxTotalBytes) {
      throw new XlsxError(
        413,
        'xlsx-too-large',
        `The sheet is too large: at most ${limits.maxRows} rows of ordinary size`,
      );
    }
    if (
      e.uncompressedSize > 1024 * 1024 &&
      e.uncompressedSize > Math.max(1, e.compressedSize) * limits.maxCompressionRatio
    ) {
      throw new XlsxError(
        413,
        'xlsx-compression-ratio',
        'The workbook compresses far more than a spreadsheet does (a zip bomb?)',
      );
    }
  }
}

/** The path of the workbook's first sheet (in tab order), from workbook.xml and its relationships. */
async function firstSheetPath(zip: ZipFile, entries: Map<string, Entry>, limits: XlsxLimits): Promise<string> {
  const workbook = entries.get('xl/workbook.xml');
  const rels = entries.get('xl/_rels/workbook.xml.rels');
  if (!workbook || !rels)
    throw new XlsxError(422, 'xlsx-unreadable', 'The file is not an .xlsx workbook (no xl/workbook.xml)');
  refuseOversizedParts([workbook, rels], limits);
  const sheet = (await readSmallPart(zip, workbook)).find((t) => t.name === 'sheet');
  const id = sheet?.attrs['r:id'] ?? Object.entries(sheet?.attrs ?? {}).find(([k]) => k.endsWith(':id'))?.[1];
  const target = (await readSmallPart(zip, rels)).find((t) => t.name === 'Relationship' && t.attrs.Id === id)?.attrs
    .Target;
  if (!target) throw new XlsxError(422, 'xlsx-no-sheet', 'The workbook has no sheet');
  return target.startsWith('/') ? target.slice(1) : `xl/${target.replace(/^\.\//, '')}`;
}

/**
 * The first sheet's header (row 1, or the first row with a value) and data rows as text. Numbers keep Excel's
 * stored text ("15", "19.5"); `dateColumns` names the header cells whose numeric values are dates (Excel stores a
 * date as a day number) and which of them carry a time.
 */
export async function readXlsx(
  buffer: Buffer,
  options: { limits?: Partial<XlsxLimits>; dateColumns?: ReadonlyMap<string, 'date' | 'date-time'> } = {},
): Promise<XlsxSheet | null> {
  const limits = { ...DEFAULT_XLSX_LIMITS, ...options.limits };
  const zip = await openZip(buffer);
  try {
    const entries = await listEntries(zip, limits);
    const sheetPath = await firstSheetPath(zip, entries, limits);
    const sheetEntry = entries.get(sheetPath);
    if (!sheetEntry) throw new XlsxError(422, 'xlsx-no-sheet', "The workbook's first sheet is missing");
    const stringsEntry = entries.get('xl/sharedStrings.xml');
    // The total counts every part read, workbook.xml and its relationships included.
    const indexParts = [entries.get('xl/workbook.xml')!, entries.get('xl/_rels/workbook.xml.rels')!];
    refuseOversizedParts([...indexParts, sheetEntry, ...(stringsEntry ? [stringsEntry] : [])], limits);
    const strings = stringsEntry ? await readSharedStrings(zip, stringsEntry) : [];
    return await readSheet(zip, sheetEntry, strings, limits, options.dateColumns ?? new Map());
  } finally {
    zip.close();
  }
}

async function readSharedStrings(zip: ZipFile, entry: Entry): Promise<string[]> {
  const strings: string[] = [];
  let current: string | null = null;
  let inText = false;
  let skip = 0;
  await parsePart(zip, entry, {
    open: (name) => {
      if (name === 'si') current = '';
      else if (name === 'rPh')
        skip += 1; // phonetic guide text is not part of the value
      else if (name === 't' && skip === 0) inText = true;
    },
    close: (name) => {
      if (name === 'si') {
        strings.push(current ?? '');
        current = null;
      } else if (name === 'rPh') skip -= 1;
      else if (name === 't') inText = false;
    },
    text: (t) => {
      if (inText && current !== null) current += t;
    },
  });
  return strings;
}

async function readSheet(
  zip: ZipFile,
  entry: Entry,
  strings: readonly string[],
  limits: XlsxLimits,
  dateColumns: ReadonlyMap<string, 'date' | 'date-time'>,
): Promise<XlsxSheet | null> {
  let header: string[] | null = null;
  const rows: XlsxRow[] = [];
  let row: { line: number; cells: string[] } | null = null;
  let cell: { column: number; type: string; value: string; inValue: boolean } | null = null;
  let nextRow = 1;
  let nextColumn = 0;
  let rowChars = 0;
  let textChars = 0;
  /** Counted as each cell is resolved, so that reading stops at the first cell past a limit. */
  const countText = (line: number, text: string) => {
    rowChars += text.length;
    textChars += text.length;
    if (rowChars > limits.maxRowChars) {
      throw new XlsxError(
        413,
        'row-too-long',
        `Row ${line} of the sheet holds more than ${limits.maxRowChars} characters of text`,
      );
    }
    if (textChars > limits.maxTextChars) {
      throw new XlsxError(
        413,
        'xlsx-too-much-text',
        `The sheet holds more than ${limits.maxTextChars} characters of text (reached at row ${line})`,
      );
    }
  };
  const finishRow = () => {
    if (!row) return;
    const hasValue = row.cells.some((c) => c.trim() !== '');
    if (hasValue) {
      if (header === null) header = row.cells.map((c) => c.trim());
      else {
        if (rows.length >= limits.maxRows)
          throw new XlsxError(413, 'too-many-rows', `The sheet has more than ${limits.maxRows} rows`);
        rows.push({ line: row.line, cells: row.cells });
      }
    }
    row = null;
  };
  await parsePart(zip, entry, {
    open: (name, attrs) => {
      if (name === 'row') {
        const line = attrs.r ? Number(attrs.r) : nextRow;
        row = { line, cells: [] };
        nextRow = line + 1;
        nextColumn = 0;
        rowChars = 0;
      } else if (name === 'c' && row) {
        const ref = attrs.r ? parseCellRef(attrs.r) : null;
        const column = ref ? ref.column : nextColumn;
        if (column >= limits.maxColumns) {
          throw new XlsxError(
            422,
            'too-many-columns',
            `The sheet has cells beyond column ${columnLetter(limits.maxColumns - 1)}`,
          );
        }
        nextColumn = column + 1;
        cell = { column, type: attrs.t ?? 'n', value: '', inValue: false };
      } else if ((name === 'v' || name === 't') && cell) {
        cell.inValue = true;
      }
    },
    close: (name) => {
      if ((name === 'v' || name === 't') && cell) cell.inValue = false;
      else if (name === 'c' && cell && row) {
        const r: { line: number; cells: string[] } = row;
        const columnName = header?.[cell.column];
        while (r.cells.length < cell.column) r.cells.push('');
        const text = cellText(cell.type, cell.value, strings, columnName ? dateColumns.get(columnName) : undefined);
        countText(r.line, text);
        r.cells[cell.column] = text;
        cell = null;
      } else if (name === 'row') finishRow();
    },
    text: (t) => {
      if (cell?.inValue) cell.value += t;
    },
  });
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the row handler above assigns it
  if (header === null) return null;
  const width = (header as string[]).length;
  const pad = (cells: string[]) => Array.from({ length: Math.max(width, cells.length) }, (_, i) => cells[i] ?? '');
  return { header: header as string[], rows: rows.map((r) => ({ line: r.line, cells: pad(r.cells) })) };
}

function cellText(
  type: string,
  raw: string,
  strings: readonly string[],
  date: 'date' | 'date-time' | undefined,
): string {
  switch (type) {
    case 's':
      return strings[Number(raw)] ?? '';
    case 'b':
      return raw === '1' ? 'true' : 'false';
    case 'e':
      return '';
    case 'inlineStr':
    case 'str':
      return raw;
    case 'd':
      return date === 'date' ? raw.slice(0, 10) : raw;
    default: {
      if (date && raw.trim() !== '') return excelSerialToIso(Number(raw), date === 'date-time') ?? raw;
      return raw;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

export type XlsxCell = string | number | boolean | null | { date: string } | { dateTime: string };

export interface XlsxValidation {
  /** Zero-based column index; applies from row 2 to `lastRow`. */
  column: number;
  lastRow: number;
  kind: 'list' | 'whole' | 'decimal' | 'date';
  /** For lists: a range on another sheet, e.g. Lists!$A$1:$A$9. */
  listRange?: string;
  min?: number;
  max?: number;
  prompt?: string;
  error: string;
}

export interface XlsxSheetSpec {
  name: string;
  rows: readonly (readonly XlsxCell[])[];
  /** Column widths in characters. */
  widths?: readonly number[];
  /** Columns kept as text even when the value looks like a number (references with leading zeros). */
  textColumns?: readonly number[];
  validations?: readonly XlsxValidation[];
  boldFirstRow?: boolean;
  freezeFirstRow?: boolean;
  hidden?: boolean;
}

const escapeXml = (s: string): string =>
  s
    .replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)
    // Control characters are not allowed in XML 1.0.
    // eslint-disable-next-line no-control-regex -- the control characters are what this removes
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

const NS_MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const NS_RELATIONSHIPS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const SPREADSHEETML = 'application/vnd.openxmlformats-officedocument.spreadsheetml';

// Cell styles (cellXfs): 0 normal, 1 bold, 2 date, 3 date-time, 4 text, 5 wrapped text.
const STYLE = { normal: 0, bold: 1, date: 2, dateTime: 3, text: 4, wrap: 5 } as const;
const STYLES_XML =
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
  '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' +
  '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>' +
  '<fonts count="2"><font><sz val="11"/><name val="Arial"/></font><font><b/><sz val="11"/><name val="Arial"/></font></fonts>' +
  '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>' +
  '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>' +
  '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>' +
  '<cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>' +
  '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>' +
  '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' +
  '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' +
  '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' +
  '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">' +
  '<alignment wrapText="1" vertical="top"/></xf></cellXfs>' +
  '</styleSheet>';

function cellXml(value: XlsxCell, ref: string, style: number): string {
  if (value === null || value === '') return style === STYLE.normal ? '' : `<c r="${ref}" s="${style}"/>`;
  if (typeof value === 'number') return Number.isFinite(value) ? `<c r="${ref}" s="${style}"><v>${value}</v></c>` : '';
  if (typeof value === 'boolean') return `<c r="${ref}" t="b" s="${style}"><v>${value ? 1 : 0}</v></c>`;
  if (typeof value === 'object' && 'date' in value)
    return `<c r="${ref}" s="${STYLE.date}"><v>${isoToExcelSerial(value.date)}</v></c>`;
  if (typeof value === 'object' && 'dateTime' in value) {
    return `<c r="${ref}" s="${STYLE.dateTime}"><v>${isoToExcelSerial(value.dateTime)}</v></c>`;
  }
  return `<c r="${ref}" t="inlineStr" s="${style}"><is><t xml:space="preserve">${escapeXml(value)}</t></is></c>`;
}

function sheetXml(sheet: XlsxSheetSpec): string {
  const text = new Set(sheet.textColumns ?? []);
  const cols = sheet.widths?.length
    ? `<cols>${sheet.widths
        .map(
          (w, i) =>
            `<col min="${i + 1}" max="${i + 1}" width="${w}" customWidth="1"${text.has(i) ? ` style="${STYLE.text}"` : ''}/>`,
        )
        .join('')}</cols>`
    : '';
  const rows = sheet.rows
    .map((cells, r) => {
      const style = (c: number) =>
        r === 0 && sheet.boldFirstRow ? STYLE.bold : text.has(c) ? STYLE.text : STYLE.normal;
      return `<row r="${r + 1}">${cells.map((v, c) => cellXml(v, `${columnLetter(c)}${r + 1}`, style(c))).join('')}</row>`;
    })
    .join('');
  const pane = sheet.freezeFirstRow
    ? '<sheetViews><sheetView workbookViewId="0">' +
      '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
    : '';
  const validations = sheet.validations?.length
    ? `<dataValidations count="${sheet.validations.length}">${sheet.validations.map(validationXml).join('')}</dataValidations>`
    : '';
  return (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
    `<worksheet xmlns="${NS_MAIN}" xmlns:r="${NS_RELATIONSHIPS}">` +
    `${pane}${cols}<sheetData>${rows}</sheetData>${validations}</worksheet>`
  );
}

function validationXml(v: XlsxValidation): string {
  const range = `${columnLetter(v.column)}2:${columnLetter(v.column)}${v.lastRow}`;
  const messages =
    `showErrorMessage="1" errorTitle="Check this cell" error="${escapeXml(v.error.slice(0, 225))}"` +
    (v.prompt ? ` showInputMessage="1" prompt="${escapeXml(v.prompt.slice(0, 255))}"` : '');
  if (v.kind === 'list') {
    return (
      `<dataValidation type="list" allowBlank="1" ${messages} sqref="${range}">` +
      `<formula1>${escapeXml(v.listRange!)}</formula1></dataValidation>`
    );
  }
  const min = v.kind === 'date' ? 1 : (v.min ?? -1e9);
  const max = v.kind === 'date' ? 2_958_465 : (v.max ?? 1e12);
  return (
    `<dataValidation type="${v.kind}" operator="between" allowBlank="1" ${messages} sqref="${range}">` +
    `<formula1>${min}</formula1><formula2>${max}</formula2></dataValidation>`
  );
}

/** A workbook of the given sheets, as the bytes of an .xlsx file. */
export function writeXlsx(sheets: readonly XlsxSheetSpec[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const add = (name: string, xml: string) =>
    zip.addBuffer(Buffer.from(xml, 'utf8'), name, { mtime: new Date(Date.UTC(2026, 0, 1)) });
  add(
    '[Content_Types].xml',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
      '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
      '<Default Extension="xml" ContentType="application/xml"/>' +
      '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' +
      '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>' +
      sheets
        .map(
          (_, i) =>
            `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="${SPREADSHEETML}.worksheet+xml"/>`,
        )
        .join('') +
      '</Types>',
  );
  add(
    '_rels/.rels',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      `<Relationship Id="rId1" Type="${NS_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>` +
      '</Relationships>',
  );
  add(
    'xl/workbook.xml',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
      `<workbook xmlns="${NS_MAIN}" xmlns:r="${NS_RELATIONSHIPS}">` +
      `<sheets>${sheets
        .map(
          (s, i) =>
            `<sheet name="${escapeXml(s.name.slice(0, 31))}" sheetId="${i + 1}"${s.hidden ? ' state="hidden"' : ''} r:id="rId${i + 1}"/>`,
        )
        .join('')}</sheets>` +
      '</workbook>',
  );
  add(
    'xl/_rels/workbook.xml.rels',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      sheets
        .map(
          (_, i) =>
            `<Relationship Id="rId${i + 1}" Type="${NS_RELATIONSHIPS}/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`,
        )
        .join('') +
      `<Relationship Id="rId${sheets.length + 1}" Type="${NS_RELATIONSHIPS}/styles" Target="styles.xml"/>` +
      '</Relationships>',
  );
  add('xl/styles.xml', STYLES_XML);
  sheets.forEach((s, i) => add(`xl/worksheets/sheet${i + 1}.xml`, sheetXml(s)));
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}
