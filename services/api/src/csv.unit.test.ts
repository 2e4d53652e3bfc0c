import t from 'tap';
import { neutraliseFormula, toCsv } from './csv.js';

t.test('every cell a spreadsheet would evaluate is shown as text', async (t) => {
  const cases: [string, string][] = [
    ['=1+1', "'=1+1"],
    [' =1+1', "' =1+1"],
    ['\u00a0=1+1', "'\u00a0=1+1"],
    ['\uff1d1+1', "'\uff1d1+1"],
    ['+1', "'+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=1', "'\t'=1"],
    ["x;=cmd|' /C calc'!A0", "x;'=cmd|' /C calc'!A0"],
    ['a; \u00a0+1', "a; \u00a0'+1"],
    ['plain text', 'plain text'],
    ['2026-01-01', '2026-01-01'],
  ];
  for (const [given, shown] of cases) t.equal(neutraliseFormula(given), shown, JSON.stringify(given));
});

t.test('a CSV never holds Infinity or NaN, and a cell with ; is quoted', async (t) => {
  const csv = toCsv([{ a: Infinity, b: Number.NaN, c: -Infinity, d: 1.5, e: 'x;=cmd' }]);
  t.equal(csv, 'a,b,c,d,e\r\n,,,1.5,"x;\'=cmd"\r\n');
});

t.test('runs of separators and spaces before a formula sign: marked as before, in one pass', async (t) => {
  // The expression as it was first written, kept here as the reference for which cells are marked.
  const reference = (s: string): string => {
    const sign = '[=+\\-@\\uFF1D\\uFF0B\\uFF0D\\uFF20]';
    const ignorable = '[\\s\\u0000-\\u001F\\u007F\\u200B-\\u200D\\u2060\\uFEFF]*';
    const parts = s.replace(new RegExp(`([;,\\t\\r\\n]${ignorable})(${sign})`, 'g'), "$1'$2");
    return new RegExp(`^(?:${ignorable}${sign}|[\\t\\r])`).test(parts) ? `'${parts}` : parts;
  };
  const alphabet = [
    '\t',
    '\r',
    '\n',
    ';',
    ',',
    ' ',
    '\u00a0',
    '\u200b',
    '\u000b',
    '\u001c',
    '\ufeff',
    '=',
    '+',
    '-',
    '@',
    '\uff1d',
    'a',
  ];
  let seed = 7;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
  let differing = 0;
  for (let i = 0; i < 20_000; i++) {
    const s = Array.from({ length: next() % 12 }, () => alphabet[next() % alphabet.length]).join('');
    if (neutraliseFormula(s) !== reference(s)) differing++;
  }
  t.equal(differing, 0, 'the same output as the reference for 20,000 short mixes of separators, spaces and signs');
  // A long run of tabs or line breaks before a sign: the reference retried the run from each of its characters.
  const run = 200_000;
  t.equal(neutraliseFormula(`${'\t'.repeat(run)}=1`), `'${'\t'.repeat(run)}'=1`);
  t.equal(neutraliseFormula(`x${'\n'.repeat(run)}+1`), `x${'\n'.repeat(run)}'+1`);
  t.equal(neutraliseFormula(`x${'\r\n'.repeat(run)}y`), `x${'\r\n'.repeat(run)}y`, 'no sign, nothing marked');
});
