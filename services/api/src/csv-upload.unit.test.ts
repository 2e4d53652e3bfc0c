import t from 'tap';
import { PassThrough, Readable } from 'node:stream';
import { CsvLimitExceeded, readCsvRows, splitCsv, streamCsvRows, UploadGate, UploadsBusy } from './csv-upload.js';

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

t.test(
  'streamCsvRows from a byte stream: the same rows, chunks split anywhere, the byte limit, a cut-off body',
  async (t) => {
    const file = '\uFEFFa,b\n1,"é, x"\n\n2,"multi\nline"\n3,y\n';
    const bytes = Buffer.from(file);
    // One byte at a time: a character split across chunks, and every record boundary.
    const oneByOne = Readable.from(Array.from(bytes, (b) => Buffer.of(b)));
    t.same(await streamCsvRows(oneByOne, { maxRows: 10, maxRecordChars: 100 }), readCsvRows(file));
    await t.rejects(
      streamCsvRows(Readable.from([bytes, bytes]), { maxRows: 10, maxRecordChars: 100, maxBytes: bytes.length + 1 }),
      new CsvLimitExceeded('bytes', bytes.length + 1),
    );
    const cut = new PassThrough();
    cut.write('a,b\n1,2\n');
    setImmediate(() => cut.destroy(new Error('aborted')));
    await t.rejects(streamCsvRows(cut, { maxRows: 10, maxRecordChars: 100 }), /aborted/);
  },
);

t.test('streamCsvRows: once reading stops, the rest of the stream is read and dropped, not left waiting', async (t) => {
  const body = new PassThrough();
  body.write(`a\n${'1\n'.repeat(20)}`);
  await t.rejects(streamCsvRows(body, { maxRows: 5, maxRecordChars: 100 }), new CsvLimitExceeded('rows', 5));
  body.end(Buffer.alloc(1024 * 1024, 'x'));
  // 'end' comes only once everything written has been read.
  await new Promise((resolve) => body.once('end', resolve));
  t.equal(body.readableLength, 0, 'what followed was read and dropped');
});

t.test(
  'UploadGate: two at once, the next waits for a turn, and one past the wait or the waiting room is refused',
  async (t) => {
    const gate = new UploadGate(2, 1, 200);
    const order: string[] = [];
    const release: (() => void)[] = [];
    const held = (name: string) => () =>
      new Promise<string>((resolve) => {
        order.push(name);
        release.push(() => resolve(name));
      });
    const a = gate.run(held('a'));
    const b = gate.run(held('b'));
    const c = gate.run(held('c'));
    await t.rejects(gate.run(held('d')), new UploadsBusy(1), 'the waiting room holds one');
    await new Promise((resolve) => setImmediate(resolve));
    t.same(order, ['a', 'b'], 'c waits');
    release.shift()!();
    t.equal(await a, 'a');
    await new Promise((resolve) => setImmediate(resolve));
    t.same(order, ['a', 'b', 'c'], 'c has the turn a gave back');
    const e = gate.run(held('e'));
    const refused = await gate.run(held('f')).catch((err: unknown) => err);
    t.ok(refused instanceof UploadsBusy && refused.retryAfterSeconds === 1, 'a full waiting room refuses at once');
    release.splice(0).forEach((r) => r());
    t.same(await Promise.all([b, c]), ['b', 'c']);
    await new Promise((resolve) => setImmediate(resolve));
    release.splice(0).forEach((r) => r());
    t.equal(await e, 'e', 'e had its turn');
    const late = new UploadGate(1, 1, 50);
    const long = late.run(() => new Promise((resolve) => setTimeout(resolve, 200)));
    const started = Date.now();
    await t.rejects(
      late.run(async () => 'never'),
      new UploadsBusy(1),
      'no turn within the wait',
    );
    t.ok(Date.now() - started >= 45);
    await long;
    t.equal(await late.run(async () => 'again'), 'again', 'the turn was given back');
  },
);
