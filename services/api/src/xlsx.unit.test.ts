import t, { type Test } from 'tap';
import yazl from 'yazl';
import {
  columnLetter,
  excelSerialToIso,
  isoToExcelSerial,
  parseCellRef,
  readXlsx,
  writeXlsx,
  XlsxError,
} from './xlsx.js';

/** A minimal workbook written the way Excel does (shared strings, sparse cells, dates as day numbers), not by writeXlsx. */
function excelLike(sheetXml: string, sharedStrings?: string, workbookExtra = ''): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const add = (name: string, xml: string) => zip.addBuffer(Buffer.from(xml), name);
  add('[Content_Types].xml', '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>');
  add(
    'xl/workbook.xml',
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' +
      'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId7"/></sheets>' +
      `${workbookExtra}</workbook>`,
  );
  add(
    'xl/_rels/workbook.xml.rels',
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      '<Relationship Id="rId7" Type="x" Target="worksheets/data.xml"/></Relationships>',
  );
  add(
    'xl/worksheets/data.xml',
    `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${sheetXml}</sheetData></worksheet>`,
  );
  if (sharedStrings)
    add(
      'xl/sharedStrings.xml',
      `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${sharedStrings}</sst>`,
    );
  zip.end();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

async function refusal(t: Test, promise: Promise<unknown>): Promise<XlsxError> {
  try {
    await promise;
  } catch (err) {
    t.ok(err instanceof XlsxError, 'refused with an XlsxError');
    return err as XlsxError;
  }
  throw new Error('expected a refusal');
}

t.test('cell references and Excel day numbers', async (t) => {
  t.same([0, 25, 26, 27, 701, 702].map(columnLetter), ['A', 'Z', 'AA', 'AB', 'ZZ', 'AAA']);
  t.same(parseCellRef('AB12'), { column: 27, row: 12 });
  t.equal(parseCellRef('12AB'), null);
  t.equal(excelSerialToIso(46279, false), '2026-09-14', 'Excel shows 46279 as 14 September 2026');
  t.equal(excelSerialToIso(46279.6875, true), '2026-09-14T16:30:00Z');
  t.equal(isoToExcelSerial('2026-09-14'), 46279);
  t.equal(excelSerialToIso(-3, false), null);
});

t.test(
  'reads what Excel writes: shared strings, rich text, sparse cells, booleans, dates as day numbers',
  async (t) => {
    const strings =
      '<si><t>participantRef</t></si><si><t>referralDate</t></si><si><t>consented</t></si><si><t>note</t></si>' +
      '<si><t>P-000123</t></si><si><r><t>Two </t></r><r><t>runs</t></r><rPh><t>ignored</t></rPh></si><si><t>007</t></si>';
    const sheet =
      '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c></row>' +
      '<row r="2"><c r="A2" t="s"><v>4</v></c><c r="B2" s="3"><v>46279</v></c><c r="C2" t="b"><v>1</v></c><c r="D2" t="s"><v>5</v></c></row>' +
      '<row r="3"/>' +
      '<row r="5"><c r="A5" t="s"><v>6</v></c><c r="C5" t="inlineStr"><is><t>no</t></is></c></row>';
    const read = await readXlsx(await excelLike(sheet, strings), { dateColumns: new Map([['referralDate', 'date']]) });
    t.same(
      read,
      {
        header: ['participantRef', 'referralDate', 'consented', 'note'],
        rows: [
          { line: 2, cells: ['P-000123', '2026-09-14', 'true', 'Two runs'] },
          { line: 5, cells: ['007', '', 'no', ''] },
        ],
      },
      'sheet row numbers are kept; an empty row is skipped; a leading zero survives as text',
    );
  },
);

t.test('written workbooks read back the same', async (t) => {
  const bytes = await writeXlsx([
    {
      name: 'Figures',
      boldFirstRow: true,
      freezeFirstRow: true,
      textColumns: [0],
      widths: [12, 14, 10],
      rows: [
        ['ref', 'when', 'n'],
        ['007', { date: '2026-09-14' }, 15],
        ['A&B <c>', null, 19.5],
      ],
    },
    { name: 'Lists', hidden: true, rows: [['a'], ['b']] },
  ]);
  t.equal(bytes.subarray(0, 2).toString(), 'PK');
  const read = await readXlsx(bytes, { dateColumns: new Map([['when', 'date']]) });
  t.same(read?.rows, [
    { line: 2, cells: ['007', '2026-09-14', '15'] },
    { line: 3, cells: ['A&B <c>', '', '19.5'] },
  ]);
});

t.test('bounded: bombs, huge sheets and junk are refused quickly, before inflating', async (t) => {
  t.equal(
    (await refusal(t, readXlsx(Buffer.from('ref,date\r\nP-1,2026-01-01\r\n')))).code,
    'xlsx-unreadable',
    'a CSV is not a workbook',
  );
  // 48 MiB of one repeated row compresses about 1000:1: refused from the zip directory, nothing inflated.
  const bomb = await excelLike(
    `<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>${'<row/>'.repeat(8 * 1024 * 1024)}`,
  );
  t.ok(bomb.length < 200_000, `the bomb is ${bomb.length} bytes`);
  const started = Date.now();
  const bombErr = await refusal(t, readXlsx(bomb));
  t.same([bombErr.status, bombErr.code], [413, 'xlsx-too-large']);
  t.ok(Date.now() - started < 1000, `refused in ${Date.now() - started} ms`);
  const ratio = await refusal(
    t,
    readXlsx(bomb, { limits: { maxPartBytes: 64 * 1024 * 1024, maxTotalBytes: 64 * 1024 * 1024 } }),
  );
  t.same(
    [ratio.status, ratio.code],
    [413, 'xlsx-compression-ratio'],
    'under the size limits, the ratio still gives it away',
  );
  const rows = Array.from(
    { length: 12 },
    (_, i) => `<row r="${i + 1}"><c r="A${i + 1}" t="inlineStr"><is><t>r${i}</t></is></c></row>`,
  ).join('');
  const many = await refusal(t, readXlsx(await excelLike(rows), { limits: { maxRows: 10 } }));
  t.same([many.status, many.code], [413, 'too-many-rows'], 'the 11th data row stops the read');
  t.ok((await readXlsx(await excelLike(rows), { limits: { maxRows: 11 } }))?.rows.length === 11);
  const wide = await refusal(
    t,
    readXlsx(await excelLike('<row r="1"><c r="XFD1" t="inlineStr"><is><t>far</t></is></c></row>')),
  );
  t.same([wide.status, wide.code], [422, 'too-many-columns']);
  const entity = await refusal(
    t,
    readXlsx(
      await excelLike(
        '<!DOCTYPE x [<!ENTITY a "aaaa">]><row r="1"><c r="A1" t="inlineStr"><is><t>&a;&a;</t></is></c></row>',
      ),
    ),
  );
  t.equal(entity.status, 422, 'custom entities are refused, so no entity expansion');
  t.equal(await readXlsx(await excelLike('')), null, 'an empty sheet reads as nothing');
});

t.test('bounded: workbook.xml is checked like the sheet before it is inflated', async (t) => {
  // 48 MiB of padding in workbook.xml, the part read first to find the sheet: a bomb of its own.
  const bomb = await excelLike(
    '<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>',
    undefined,
    ' '.repeat(48 * 1024 * 1024),
  );
  t.ok(bomb.length < 200_000, `the bomb is ${bomb.length} bytes`);
  const tooLarge = await refusal(t, readXlsx(bomb));
  t.same([tooLarge.status, tooLarge.code], [413, 'xlsx-too-large']);
  const ratio = await refusal(
    t,
    readXlsx(bomb, { limits: { maxPartBytes: 64 * 1024 * 1024, maxTotalBytes: 64 * 1024 * 1024 } }),
  );
  t.same([ratio.status, ratio.code], [413, 'xlsx-compression-ratio'], 'under the size limits, the ratio gives it away');
});

t.test('bounded: one long shared string repeated in every cell is counted at each use', async (t) => {
  const long = 'school-exclusion;'.repeat(600); // 10,200 characters, stored once
  const row = (r: number) =>
    `<row r="${r}">${Array.from({ length: 9 }, (_, c) => `<c r="${columnLetter(c)}${r}" t="s"><v>0</v></c>`).join('')}</row>`;
  const sheet = Array.from({ length: 20 }, (_, i) => row(i + 1)).join('');
  const bytes = await excelLike(sheet, `<si><t>${long}</t></si>`);
  t.ok(bytes.length < 10_000, `the workbook is ${bytes.length} bytes`);
  const wideRow = await refusal(t, readXlsx(bytes));
  t.same([wideRow.status, wideRow.code], [413, 'row-too-long'], 'nine copies are more text than a row may hold');
  t.match(wideRow.message, /^Row 1 of the sheet holds more than 65536 characters/, 'the first row is named');
  const manyRows = await refusal(t, readXlsx(bytes, { limits: { maxRowChars: 100_000, maxTextChars: 500_000 } }));
  t.same([manyRows.status, manyRows.code], [413, 'xlsx-too-much-text'], 'and every row counts towards the sheet');
  t.match(manyRows.message, /reached at row 6\)$/, '500,000 characters are passed in the sixth row');
  const fits = await readXlsx(bytes, { limits: { maxRowChars: 100_000, maxTextChars: 10_000_000 } });
  t.equal(fits?.rows.length, 19, 'within the limits the same sheet reads');
});
