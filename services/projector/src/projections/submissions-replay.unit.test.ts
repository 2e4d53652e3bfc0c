import t from 'tap';
import { submissionBucket } from './submissions.js';

t.test("a submission's bucket is LAG_DAYS_SQL's and LATE_SQL's", async (t) => {
  const at = (occurredAt: string, recordedAt: string) => submissionBucket({ occurredAt, recordedAt });
  t.same(at('2026-03-01T10:00:00.000Z', '2026-03-01T09:59:59.999Z'), {
    receivedOn: '2026-03-01',
    lagDays: -1,
    late: false,
  });
  t.same(at('2026-03-01T10:00:00.000Z', '2026-03-02T09:59:59.999Z'), { receivedOn: '2026-03-02', lagDays: 0, late: false });
  t.same(at('2026-03-01T10:00:00.000Z', '2026-03-08T10:00:00.000Z'), { receivedOn: '2026-03-08', lagDays: 7, late: false }, 'exactly seven days: not late');
  t.same(at('2026-03-01T10:00:00.000Z', '2026-03-08T10:00:00.001Z'), { receivedOn: '2026-03-08', lagDays: 7, late: true }, 'a millisecond more: late');
  t.same(at('2025-12-31T23:00:00.000Z', '2026-01-01T00:30:00.000Z'), { receivedOn: '2026-01-01', lagDays: 0, late: false }, 'the day received in UTC');
});

t.test('a timestamp not in the form a rebuild reads is not bucketed here (the round path takes it)', async (t) => {
  const recordedAt = '2026-03-02T10:00:00.000Z';
  for (const occurredAt of [
    '2026-03-01T10:00:00Z',
    '2026-03-01T10:00:00.000001Z',
    '2026-03-01T10:00:00.000+01:00',
    '2026-02-30T10:00:00.000Z',
    '0999-03-01T10:00:00.000Z',
    '2026-03-01 10:00:00.000Z',
  ])
    t.equal(submissionBucket({ occurredAt, recordedAt }), undefined, occurredAt);
});
