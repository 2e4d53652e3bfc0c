import t from 'tap';
import { splitCsv } from './csv-upload.js';

t.test('a file is split into parts that each carry the header, with each row\'s line in the file', async (t) => {
  const file = '\uFEFFa,b\n1,x\n\n2,"multi\nline"\n3,y\n4,z';
  const { rows, parts } = splitCsv(file, 2);
  t.equal(rows, 4);
  t.same(parts.map((p) => p.lines), [[2, 4], [6, 7]], 'each row\'s starting line, past a blank line and a line break inside quotes');
  t.equal(parts[0]!.body, 'a,b\r\n1,x\r\n2,"multi\nline"\r\n', 'cells are kept, re-quoted where needed');
  t.equal(parts[1]!.body, 'a,b\r\n3,y\r\n4,z\r\n');
});

t.test('an empty file or a header alone has no parts', async (t) => {
  t.same(splitCsv('', 10), { rows: 0, parts: [] });
  t.same(splitCsv('a,b\n', 10), { rows: 0, parts: [] });
  t.same(splitCsv('a,b\n"say ""hi"", ok",2\n', 10).parts[0]!.body, 'a,b\r\n"say ""hi"", ok",2\r\n', 'quotes and commas survive');
});
