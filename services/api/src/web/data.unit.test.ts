import t from 'tap';
import { MAX_MONTHS, monthsOf } from '../reports/index.js';
import { csvHref } from './data.js';

t.test('the months of a period are whole calendar months clipped to the period', async (t) => {
  t.same(monthsOf('2026-01-15', '2026-03-10'), [
    { month: '2026-01', start: '2026-01-15', end: '2026-01-31' },
    { month: '2026-02', start: '2026-02-01', end: '2026-02-28' },
    { month: '2026-03', start: '2026-03-01', end: '2026-03-10' },
  ]);
  t.equal(monthsOf(undefined, '2026-06-30').length, 12, 'no start: the twelve months to the end');
  const long = monthsOf('2020-01-01', '2026-12-31');
  t.equal(long.length, MAX_MONTHS, 'a long period keeps its last months');
  t.equal(long.at(-1)!.month, '2026-12');
});

t.test('download links carry only the filters that are set', async (t) => {
  t.equal(csvHref('engagement', {}), '/app/download/engagement.csv');
  t.equal(
    csvHref('spend', { providerId: 'prov-a', from: '2026-01-01', programmeId: undefined }),
    '/app/download/spend.csv?providerId=prov-a&from=2026-01-01',
  );
});
