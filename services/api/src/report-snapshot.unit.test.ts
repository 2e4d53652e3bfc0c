import t from 'tap';
import { HttpProblem } from './problem.js';
import { readingPosition, readModelSearchPath, reportAsOf, reportFilters } from './report-snapshot.js';

t.test('asOf: today by default, any past date as given, a future date refused naming the field', async (t) => {
  t.equal(reportAsOf({}, '2026-12-01'), '2026-12-01');
  t.equal(reportAsOf({ asOf: '2026-03-31' }, '2026-12-01'), '2026-03-31');
  t.equal(reportAsOf({ asOf: '2026-12-01' }, '2026-12-01'), '2026-12-01', 'today itself is allowed');
  try {
    reportAsOf({ asOf: '2026-12-02' }, '2026-12-01');
    t.fail('a future asOf must be refused');
  } catch (err) {
    t.ok(err instanceof HttpProblem);
    const problem = err as HttpProblem;
    t.equal(problem.statusCode, 422);
    t.same(
      problem.errors?.map((e) => [e.field, e.rule]),
      [['/querystring/asOf', 'not-in-future']],
    );
  }
});

const checkpoint = (position: bigint, consistent: bigint) => ({ position, consistent_position: consistent });

t.test(
  'the reading position: P is the lowest consistent position; live only when no read model holds events above it',
  async (t) => {
    t.same(
      readingPosition([checkpoint(10n, 10n), checkpoint(10n, 10n)], undefined),
      { position: 10n, live: true },
      'both exactly at P: live',
    );
    t.same(
      readingPosition([checkpoint(12n, 10n), checkpoint(10n, 10n)], undefined),
      { position: 10n, live: false },
      'one holds an event above its consistent position: a copy at P',
    );
    t.same(
      readingPosition([checkpoint(12n, 12n), checkpoint(10n, 10n)], undefined),
      { position: 10n, live: false },
      'one is consistent further on than the other: it holds events above P, a copy at P',
    );
    t.same(
      readingPosition([checkpoint(12n, 12n), checkpoint(12n, 12n)], '7'),
      { position: 7n, live: false },
      'asAt below P: a copy at asAt',
    );
    t.same(
      readingPosition([checkpoint(12n, 12n), checkpoint(12n, 12n)], '12'),
      { position: 12n, live: true },
      'asAt at P, nothing above: live',
    );
    try {
      readingPosition([checkpoint(12n, 12n), checkpoint(11n, 9n)], '10');
      t.fail('an asAt above P must be refused');
    } catch (err) {
      t.ok(err instanceof HttpProblem);
      const problem = err as HttpProblem;
      t.equal(problem.statusCode, 409);
      t.equal(problem.code, 'position-not-yet-applied');
      t.equal(problem.retryAfterSeconds, 1);
      t.same(
        problem.errors?.map((e) => [e.field, e.rule]),
        [['/querystring/asAt', 'position-applied']],
      );
    }
  },
);

t.test('a report echoes its filters without asAt, whose P its position already says', async (t) => {
  const atP = { quarter: '2026Q3', asAt: '41', asOf: '2026-10-01' };
  const current: { quarter: string; asAt?: string } = { quarter: '2026Q3' };
  t.same(reportFilters(atP), { quarter: '2026Q3', asOf: '2026-10-01' });
  t.same(reportFilters(current), { quarter: '2026Q3' });
});

t.test('the search path: the schemas given, then public; anything but a plain name refused', async (t) => {
  t.equal(readModelSearchPath(['rm_spend_at_41', 'rm_participants']), 'rm_spend_at_41, rm_participants, public');
  t.throws(() => readModelSearchPath(['rm_spend; drop table events']));
});
