import t from 'tap';
import { HttpProblem } from './problem.js';
import { reportAsOf } from './report-snapshot.js';

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
    t.same(problem.errors?.map((e) => [e.field, e.rule]), [['/querystring/asOf', 'not-in-future']]);
  }
});
