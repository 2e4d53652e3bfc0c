import { csvColumns, csvTemplate, eventDefinition, type CsvColumn } from '@vru/contracts';
import { MAX_CSV_ROWS, readCsvRows } from './csv-upload.js';
import { flatten } from './report-rows.js';
import { columnLetter, writeXlsx, type XlsxCell, type XlsxValidation } from './xlsx.js';

/**
 * The workbooks the service hands out: an upload template per event type, and any report as figures plus
 * definitions. Both go through writeXlsx (xlsx.ts).
 */

/** Validation reaches the last row an upload may have (the header is row 1). */
const lastDataRow = () => MAX_CSV_ROWS + 1;

/** What to enter in a column, in words, for the Columns sheet and the cell prompts. */
function whatToEnter(c: CsvColumn): string {
  const parts = [c.description];
  if (c.values && c.kind === 'list') parts.push(`Any of: ${c.values.join(', ')}, separated by ";".`);
  else if (c.values) parts.push('Choose from the drop-down list.');
  if (c.kind === 'integer') parts.push('A whole number.');
  return parts.filter(Boolean).join(' ');
}

/** One column per vocabulary on a hidden Lists sheet, for the drop-down lists. */
function listsOf(columns: readonly CsvColumn[]): { column: CsvColumn; index: number; range: string }[] {
  return columns
    .filter((c) => c.values && c.kind !== 'list')
    .map((column, index) => ({
      column,
      index,
      range: `Lists!$${columnLetter(index)}$1:$${columnLetter(index)}$${column.values!.length}`,
    }));
}

/**
 * The upload template for one event type: the Data sheet (header, an example row, date cells for dates, text cells
 * for references so leading zeros survive, data validation on every row up to the row limit), a Columns sheet
 * explaining each column, and a hidden Lists sheet holding the drop-down values.
 */
export function xlsxTemplate(type: string): Promise<Buffer> {
  const columns = csvColumns(type);
  const example = readCsvRows(csvTemplate(type))!.rows[0]!.cells;
  const lists = listsOf(columns);
  const LAST_DATA_ROW = lastDataRow();
  const exampleRow: XlsxCell[] = columns.map((c, i) => {
    const v = example[i] ?? '';
    if (v === '') return null;
    if (c.format === 'date') return { date: v };
    if (c.format === 'date-time') return { dateTime: v };
    if (c.kind === 'integer' || c.kind === 'number') return Number(v);
    return v;
  });
  const at = (column: number, c: CsvColumn) => ({ column, lastRow: LAST_DATA_ROW, prompt: whatToEnter(c) });
  const validations: XlsxValidation[] = columns.flatMap((c, column): XlsxValidation[] => {
    const list = lists.find((l) => l.column === c);
    if (list) {
      return [{ ...at(column, c), kind: 'list', listRange: list.range, error: `Choose ${c.name} from the list` }];
    }
    if (c.format === 'date' || c.format === 'date-time') {
      return [{ ...at(column, c), kind: 'date', error: `Enter ${c.name} as a date, like 14/09/2026` }];
    }
    if (c.kind === 'integer') {
      return [
        { ...at(column, c), kind: 'whole', min: c.minimum, max: c.maximum, error: `Enter ${c.name} as a whole number` },
      ];
    }
    if (c.kind === 'number') {
      return [
        { ...at(column, c), kind: 'decimal', min: c.minimum, max: c.maximum, error: `Enter ${c.name} as a number` },
      ];
    }
    return [];
  });
  const def = eventDefinition(type)!;
  const longest = Math.max(0, ...lists.map((l) => l.column.values!.length));
  return writeXlsx([
    {
      name: 'Data',
      boldFirstRow: true,
      freezeFirstRow: true,
      validations,
      rows: [columns.map((c) => c.name), exampleRow],
      widths: columns.map((c) => Math.min(40, Math.max(12, c.name.length + 2))),
      textColumns: columns.map((c, i) => (c.kind === 'text' && !c.format && !c.values ? i : -1)).filter((i) => i >= 0),
    },
    {
      name: 'Columns',
      boldFirstRow: true,
      freezeFirstRow: true,
      widths: [24, 8, 10, 90, 60],
      rows: [
        ['Column', 'Letter', 'Required', 'What to enter', 'Allowed values'],
        ...columns.map((c, i): XlsxCell[] => [
          c.name,
          columnLetter(i),
          c.required ? 'yes' : 'no',
          whatToEnter(c),
          c.values ? c.values.join(', ') : '',
        ]),
        [],
        [
          `${def.type}: ${def.summary}. One row is one event; fill in rows from row 2 of the Data sheet (replace the example row), ` +
            `at most ${MAX_CSV_ROWS} rows. Uploading the same rows again stores nothing twice.`,
        ],
      ],
    },
    {
      name: 'Lists',
      hidden: true,
      rows: Array.from({ length: longest }, (_, r) =>
        lists.map((l) => {
          const value = l.column.values![r];
          return value === undefined ? null : String(value);
        }),
      ),
    },
  ]);
}

/** Every report downloadable as a workbook: the rows as the CSV has them, withheld figures as [c], and definitions. */
export function reportWorkbook(
  report: {
    report?: string;
    rows: readonly object[];
    suppressed?: boolean;
    filters?: unknown;
    position: string;
  },
  name: string,
): Promise<Buffer> {
  const flat = report.rows.map((r) => flatten(r));
  const seen: string[] = [];
  for (const r of flat) for (const k of Object.keys(r)) if (!seen.includes(k)) seen.push(k);
  const columns = seen.filter((c) => !seen.some((o) => o.startsWith(`${c}.`)));
  const withheld = report.suppressed === true;
  const rows: XlsxCell[][] = flat.map((r) =>
    columns.map((c) => {
      const v = r[c];
      if (v === null || v === undefined) return withheld ? '[c]' : null;
      return v;
    }),
  );
  return writeXlsx([
    {
      name: 'Figures',
      boldFirstRow: true,
      freezeFirstRow: true,
      rows: [columns, ...rows],
      widths: columns.map((c) => Math.min(40, Math.max(10, c.length + 2))),
    },
    {
      name: 'Definitions',
      boldFirstRow: true,
      widths: [28, 100],
      rows: [
        ['Item', 'Value'],
        ['Report', report.report ?? name],
        ['Filters', JSON.stringify(report.filters ?? {})],
        ['Log position', report.position],
        [
          'Small-number suppression',
          withheld
            ? '[c] marks a figure withheld: a count from 1 to 4, or a rate or mean over too few people (docs/metrics.md).'
            : 'None: these are your own figures.',
        ],
        ['Definitions of every figure', "docs/metrics.md in the service's repository; GET /docs for the API contract."],
        ['Generated', new Date().toISOString()],
      ],
    },
  ]);
}
