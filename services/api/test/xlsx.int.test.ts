import t from 'tap';
import yazl from 'yazl';
import { csvColumns } from '@vru/contracts';
import { readXlsx } from '@vru/api';
import { Harness, PROGRAMME } from '@vru/testkit';

const h = await Harness.start();
t.teardown(() => h.close());

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/**
 * A workbook as a spreadsheet program writes it, made here by hand and not by the service's writer: shared strings,
 * a date stored as Excel's day number, numbers as numbers, sparse rows.
 */
function workbook(rows: readonly (readonly (string | number | { day: number } | null)[])[]): Promise<Buffer> {
  const strings: string[] = [];
  const index = (s: string) => (strings.includes(s) ? strings.indexOf(s) : strings.push(s) - 1);
  const letter = (i: number) => String.fromCharCode(65 + i);
  const sheetRows = rows
    .map((cells, r) =>
      cells.length === 0
        ? ''
        : `<row r="${r + 1}">${cells
            .map((v, c) => {
              const ref = `${letter(c)}${r + 1}`;
              if (v === null) return '';
              if (typeof v === 'number') return `<c r="${ref}"><v>${v}</v></c>`;
              if (typeof v === 'object') return `<c r="${ref}" s="1"><v>${v.day}</v></c>`;
              return `<c r="${ref}" t="s"><v>${index(v)}</v></c>`;
            })
            .join('')}</row>`,
    )
    .join('');
  const zip = new yazl.ZipFile();
  const add = (name: string, xml: string) => zip.addBuffer(Buffer.from(xml), name);
  add('[Content_Types].xml', '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>');
  add(
    'xl/workbook.xml',
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' +
      'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
  );
  add(
    'xl/_rels/workbook.xml.rels',
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      '<Relationship Id="rId1" Type="worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
  );
  add(
    'xl/worksheets/sheet1.xml',
    `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${sheetRows}</sheetData></worksheet>`,
  );
  add(
    'xl/sharedStrings.xml',
    `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${strings.map((s) => `<si><t>${s}</t></si>`).join('')}</sst>`,
  );
  zip.end();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

const upload = (body: Buffer, key = h.keys.providerA, type = 'ParticipantReferred') =>
  h.app.inject({
    method: 'POST',
    url: `/v1/imports?eventType=${type}`,
    payload: body,
    headers: { authorization: `Bearer ${key}`, 'content-type': XLSX },
  });

const HEADER = [
  'participantRef',
  'programmeId',
  'referralDate',
  'referralSource',
  'ageAtReferral',
  'gender',
  'ethnicity',
  'postcodeDistrict',
  'riskFactors',
];
// 46279 is 14 September 2026 as Excel stores it in a date cell.
const ROWS = [
  HEADER,
  ['XL-1', PROGRAMME, { day: 46279 }, 'school', 15, 'male', 'white-british', 'DE23', 'school-exclusion'],
  ['XL-2', PROGRAMME, { day: 46280 }, 'school', 14, 'female', 'white-british', 'DE23 6AB', null],
  [],
  ['007', PROGRAMME, { day: 46281 }, 'police', 16, 'female', 'mixed-other', 'DE22', null],
];

await t.test(
  'an .xlsx filled in by a script: good and bad rows answered row by row, re-upload stores nothing twice',
  async (t) => {
    await h.startRelay();
    await h.startProjectors();
    const before = await h.count('events');
    const res = await upload(await workbook(ROWS));
    t.equal(res.statusCode, 200, res.body);
    const body = res.json();
    t.same([body.rows, body.accepted, body.duplicates, body.rejected], [3, 2, 0, 1]);
    t.same(
      body.results.map((r: { line: number; status: string }) => [r.line, r.status]),
      [
        [2, 'accepted'],
        [3, 'rejected'],
        [5, 'accepted'],
      ],
      'lines are sheet rows (the empty row 4 is skipped)',
    );
    const error = body.results[1].errors[0];
    t.match(error, { column: 'postcodeDistrict', cell: 'H3' }, 'the error names the column and the cell');
    t.ok(error.rule.length > 0 && error.message.length > 0, 'with the machine-readable rule and a message');
    t.equal(await h.count('events'), before + 2, 'the two good rows stored, nothing from the bad row');
    const stored = await h.sql<{ data: { referralDate: string } }[]>`
    select data from events where type = 'ParticipantReferred' and metadata->>'source' = 'xlsx' order by position`;
    t.same(
      stored.map((r) => r.data.referralDate),
      ['2026-09-14', '2026-09-16'],
      'date cells read as the dates Excel shows',
    );

    const again = (await upload(await workbook(ROWS))).json();
    t.same(
      [again.accepted, again.duplicates, again.rejected],
      [0, 2, 1],
      'the same workbook again stores nothing twice',
    );
    t.equal(await h.count('events'), before + 2);
  },
);

await t.test(
  'bounded: a zip bomb, a huge sheet and junk are refused promptly with problem+json, nothing stored',
  async (t) => {
    const before = await h.count('events');
    // 48 MiB of sheet XML that deflates to a few tens of kilobytes.
    const zip = new yazl.ZipFile();
    zip.addBuffer(
      Buffer.from('<workbook xmlns:r="r"><sheets><sheet r:id="rId1"/></sheets></workbook>'),
      'xl/workbook.xml',
    );
    zip.addBuffer(
      Buffer.from('<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>'),
      'xl/_rels/workbook.xml.rels',
    );
    zip.addBuffer(
      Buffer.from(`<worksheet><sheetData>${'<row/>'.repeat(8 * 1024 * 1024)}</sheetData></worksheet>`),
      'xl/worksheets/sheet1.xml',
    );
    zip.end();
    const bomb = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
      zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    });
    // Refused by the cap on inflated bytes, so its cost is bounded by the cap, not by the 48 MiB it would inflate to.
    const refused = await upload(bomb);
    t.equal(refused.statusCode, 413, `the bomb (${bomb.length} bytes) is refused`);
    t.match(refused.headers['content-type'], /application\/problem\+json/);
    t.equal(refused.json().code, 'xlsx-too-large');

    // Referral rows under the header, each with its own reference and the same risk factors.
    const referrals = (prefix: string, rows: number, risk: string | null) =>
      workbook([
        HEADER,
        ...Array.from({ length: rows }, (_, i) => [
          `${prefix}-${i}`,
          PROGRAMME,
          { day: 46279 },
          'school',
          15,
          'male',
          'white-british',
          'DE1',
          risk,
        ]),
      ]);
    const many = await referrals('M', 5001, null);
    const tooMany = await upload(many);
    t.same(
      [tooMany.statusCode, tooMany.json().code],
      [413, 'too-many-rows'],
      'one row over the limit refuses the file',
    );

    // One long shared string, stored once and named by index in every row: each use is text to check and store.
    const longRow = await referrals('S', 3, 'school-exclusion;'.repeat(4000));
    t.ok(longRow.length < 5000, `a workbook of ${longRow.length} bytes`);
    const rowRefused = await upload(longRow);
    t.same(
      [rowRefused.statusCode, rowRefused.json().code],
      [413, 'row-too-long'],
      'a row longer than a CSV row may be is refused, as in a CSV file',
    );
    t.match(rowRefused.json().detail, /^Row 2 of the sheet holds more than 65536 characters/, 'naming the row');
    const muchText = await referrals('S', 250, 'school-exclusion;'.repeat(2400));
    const textRefused = await upload(muchText);
    t.same(
      [textRefused.statusCode, textRefused.json().code],
      [413, 'xlsx-too-much-text'],
      `rows within the row limit still add up: ${muchText.length} bytes holding more text than an 8 MiB CSV file`,
    );

    const junk = await upload(Buffer.from('participantRef,programmeId\r\nP-1,x\r\n'));
    t.same([junk.statusCode, junk.json().code], [422, 'xlsx-unreadable'], 'a CSV sent as a workbook');
    t.equal(await h.count('events'), before, 'nothing stored');
  },
);

await t.test(
  'the .xlsx template: header, example row and dates as dates; a data partner cannot fetch it for a provider event',
  async (t) => {
    const res = await h.get('/v1/imports/templates/SessionAttended.xlsx', h.keys.providerA);
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], XLSX);
    t.match(res.headers['content-disposition'], 'SessionAttended.xlsx');
    const columns = csvColumns('SessionAttended');
    const sheet = await readXlsx(res.rawPayload, { dateColumns: new Map([['sessionDate', 'date']]) });
    t.same(
      sheet?.header,
      columns.map((c) => c.name),
      'the header is the CSV layout',
    );
    const example = Object.fromEntries(sheet!.header.map((h, i) => [h, sheet!.rows[0]!.cells[i]]));
    t.match(example, {
      programmeId: 'mentoring-derby',
      sessionDate: '2026-09-14',
      durationMinutes: '60',
      sessionType: 'one-to-one',
    });
    t.equal((await h.get('/v1/imports/templates/SessionAttended.xlsx', null)).statusCode, 401);
  },
);

await t.test(
  'a report as .xlsx, opened by the library, matches the JSON report; withheld figures are [c]',
  async (t) => {
    // One calendar quarter: across providers, disclosure control takes only aligned periods.
    const url = '/v1/reports/engagement?from=2026-07-01&to=2026-09-30';
    await h.waitForProjections(['participants'], await h.count('events'));
    for (const key of [h.keys.providerA, h.keys.commissioner]) {
      const json = (await h.getReport(url, key)).body;
      const res = await h.get(url, key, { accept: XLSX });
      t.equal(res.statusCode, 200);
      t.match(res.headers['content-disposition'], 'engagement.xlsx');
      t.ok(res.headers['x-report-position'], 'the log position travels with it');
      const sheet = (await readXlsx(res.rawPayload))!;
      const flat = (o: Record<string, unknown>, prefix = ''): [string, unknown][] =>
        Object.entries(o).flatMap(([k, v]) =>
          v !== null && typeof v === 'object' && !Array.isArray(v)
            ? flat(v as Record<string, unknown>, `${prefix}${k}.`)
            : [[`${prefix}${k}`, v]],
        );
      const expected = json.rows.map((r: Record<string, unknown>) =>
        Object.fromEntries(
          flat(r).map(([k, v]) => [
            k,
            v === null
              ? json.suppressed
                ? '[c]'
                : ''
              : Array.isArray(v)
                ? v.join(';')
                : String(v as string | number | boolean),
          ]),
        ),
      );
      const shown = sheet.rows.map((r) =>
        Object.fromEntries(sheet.header.map((h, i) => [h, r.cells[i]]).filter(([k]) => k !== '')),
      );
      t.ok(expected.length > 0, 'the report has rows');
      t.same(
        shown.map((r: Record<string, string>) => Object.fromEntries(Object.keys(expected[0]).map((k) => [k, r[k]]))),
        expected,
        json.suppressed ? 'commissioner: the same figures, withheld ones as [c]' : 'provider: the same figures',
      );
      if (json.suppressed)
        t.ok(
          shown.some((r: Record<string, string>) => Object.values(r).includes('[c]')),
          'something is withheld',
        );
    }
  },
);
