import t from 'tap';
import { type ParticipantRow, participantCells, patchedRow } from './participants.js';

const blank = (): ParticipantRow => ({
  stream_id: 's',
  provider_id: 'p',
  programme_id: 'g',
  referral_date: null,
  age_band: null,
  enrolled_on: null,
  delivery_setting: null,
  first_session_date: null,
  exit_date: null,
  exit_reason: null,
  follow_ups: {},
});

t.test('a patch that changes no column gives no new row (the versioning trigger makes no version)', async (t) => {
  const row = patchedRow(blank(), { referralDate: '2026-01-10', firstSessionDate: '2026-02-01' })!;
  t.equal(row.referral_date, '2026-01-10');
  t.equal(patchedRow(row, { referralDate: '2026-01-10' }), undefined, 'the same value');
  t.equal(patchedRow(row, { firstSessionDate: '2026-03-01' }), undefined, 'a later first session');
  t.equal(patchedRow(row, { firstSessionDate: '2026-01-20' })?.first_session_date, '2026-01-20', 'an earlier one');
  const withFollowUp = patchedRow(row, {
    followUps: { '3': { followUpDate: '2026-06-01', contactMade: true, status: 'unknown' } },
  })!;
  t.equal(
    patchedRow(withFollowUp, {
      followUps: { '3': { status: 'unknown', contactMade: true, followUpDate: '2026-06-01' } },
    }),
    undefined,
    'the same follow-up, its keys in another order (jsonb keeps no order)',
  );
  t.same(
    patchedRow(withFollowUp, {
      followUps: { '6': { followUpDate: '2026-09-01', contactMade: false, status: 'unknown' } },
    })?.follow_ups,
    {
      '3': { followUpDate: '2026-06-01', contactMade: true, status: 'unknown' },
      '6': { followUpDate: '2026-09-01', contactMade: false, status: 'unknown' },
    },
    'follow-ups merged by month',
  );
  t.equal(patchedRow(row, { gender: null })?.gender, null, 'a null sets the column');
  t.equal(row.referral_date, '2026-01-10', 'the row patched is not changed');
});

t.test('cells as the SQL cellsOf gives them', async (t) => {
  t.same(participantCells(blank()), [], 'nothing known');
  t.same(participantCells({ ...blank(), referral_date: '2026-03-31' }), [
    ['referred', '2026-03-01', 'unknown', 'not-enrolled'],
  ]);
  const enrolled = { ...blank(), referral_date: '2026-01-10', enrolled_on: '2026-02-15', age_band: '14-17' };
  t.same(participantCells(enrolled), [
    ['referred', '2026-01-01', '14-17', 'unknown'],
    ['enrolled', '2026-02-01', '14-17', 'unknown'],
    ['active-from', '2026-02-01', '14-17', 'unknown'],
  ]);
  t.same(
    participantCells({ ...enrolled, delivery_setting: 'school', exit_date: '2026-11-30', exit_reason: 'completed' }),
    [
      ['referred', '2026-01-01', '14-17', 'school'],
      ['enrolled', '2026-02-01', '14-17', 'school'],
      ['completed', '2026-11-01', '14-17', 'school'],
      ['active-from', '2026-02-01', '14-17', 'school'],
      ['active-to', '2027-01-01', '14-17', 'school'],
    ],
    'an exit in the last quarter of a year: active to the next year',
  );
  t.same(
    participantCells({ ...enrolled, exit_date: '2025-12-31', exit_reason: 'disengaged' }).map(([figure]) => figure),
    ['referred', 'enrolled'],
    'an exit in a quarter before the enrolment: never active',
  );
  t.same(
    participantCells({ ...enrolled, exit_date: '2026-01-02', exit_reason: 'completed' }).map(([f, m]) => `${f} ${m}`),
    [
      'referred 2026-01-01',
      'enrolled 2026-02-01',
      'completed 2026-01-01',
      'active-from 2026-02-01',
      'active-to 2026-04-01',
    ],
    'an exit before the enrolment in its quarter: active in that quarter',
  );
});
