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
