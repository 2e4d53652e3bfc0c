import t from 'tap';
import { CsvLimitExceeded, readCsvRows, splitCsv, streamCsvRows } from './csv-upload.js';

t.test("a file is split into parts that each carry the header, with each row's line in the file", async (t) => {
  const file = '\uFEFFa,b\n1,x\n\n2,"multi\nline"\n3,y\n4,z';
  const { rows, parts } = splitCsv(file, 2);
  t.equal(rows, 4);
  t.same(
    parts.map((p) => p.lines),
    [
      [2, 4],
      [6, 7],
    ],
    "each row's starting line, past a blank line and a line break inside quotes",
  );
  t.equal(parts[0]!.body, 'a,b\r\n1,x\r\n2,"multi\nline"\r\n', 'cells are kept, re-quoted where needed');
  t.equal(parts[1]!.body, 'a,b\r\n3,y\r\n4,z\r\n');
});

t.test('an empty file or a header alone has no parts', async (t) => {
  t.same(splitCsv('', 10), { rows: 0, parts: [] });
  t.same(splitCsv('a,b\n', 10), { rows: 0, parts: [] });
  t.same(
    splitCsv('a,b\n"say ""hi"", ok",2\n', 10).parts[0]!.body,
    'a,b\r\n"say ""hi"", ok",2\r\n',
    'quotes and commas survive',
  );
});

t.test(
  'streamCsvRows: the same rows and lines as the whole-file reader, the header seen first, limits enforced',
  async (t) => {
    const file = '\uFEFFa,b\n1,x\n\n2,"multi\nline"\n3,y\n4,z';
    const streamed = await streamCsvRows(file, { maxRows: 10, maxRecordChars: 100 });
    t.same(streamed, readCsvRows(file));
    const seen: string[][] = [];
    const refuse = (h: string[]) => {
      seen.push(h);
      throw new Error('header refused');
    };
    await t.rejects(
      streamCsvRows('a,b\n1,2\n"open', { maxRows: 10, maxRecordChars: 100, onHeader: refuse }),
      /header refused/,
    );
    t.same(seen, [['a', 'b']], 'the header, before the broken end is reached');
    await t.rejects(
      streamCsvRows(`a\n${'1\n'.repeat(50)}"open`, { maxRows: 5, maxRecordChars: 100 }),
      new CsvLimitExceeded('rows', 5),
    );
    await t.rejects(
      streamCsvRows(`a\n${'x'.repeat(500)}\n`, { maxRows: 5, maxRecordChars: 100 }),
      new CsvLimitExceeded('record-size', 100),
    );
    t.equal(await streamCsvRows('', { maxRows: 5, maxRecordChars: 100 }), null);
  },
);
