import t from 'tap';
import { classifyEvent, compareRows, movements, rowCells } from './restatement.js';

const row = (programmeId: string, over: Record<string, unknown> = {}) => ({
  programmeId,
  referred: 12,
  referredByAgeBand: { '14-17': 10, '18-21': null },
  grants: { 'G-1': { spentInQuarterPence: 500 } },
  ...over,
});

t.test("rowCells: nested figures as dotted paths, the row's identity left out", async (t) => {
  t.same(
    [...rowCells(row('p'), ['programmeId'])],
    [
      ['referred', 12],
      ['referredByAgeBand.14-17', 10],
      ['referredByAgeBand.18-21', null],
      ['grants.G-1.spentInQuarterPence', 500],
    ],
  );
});

t.test('compareRows: when nothing changed', async (t) => {
  t.test('should report no change and count every cell', async (t) => {
    const r = compareRows([row('a'), row('b')], [row('b'), row('a')], 'programmeId');
    t.same(r.changed, [], 'rows are matched by key, not by order');
    t.equal(r.compared, 8);
  });
});

t.test('compareRows: when figures moved', async (t) => {
  t.test('should name each changed cell with its old and new value', async (t) => {
    const now = row('a', { referred: 13, referredByAgeBand: { '14-17': 11, '18-21': null } });
    t.same(compareRows([row('a')], [now], 'programmeId').changed, [
      { row: 'a', cell: 'referred', frozen: 12, now: 13 },
      { row: 'a', cell: 'referredByAgeBand.14-17', frozen: 10, now: 11 },
    ]);
  });
  t.test('should tell a withheld figure (null) from one that moved to zero', async (t) => {
    const now = row('a', { referred: null });
    t.same(compareRows([row('a', { referred: 0 })], [now], 'programmeId').changed, [
      { row: 'a', cell: 'referred', frozen: 0, now: null },
    ]);
  });
  t.test('should show a new row or a new grant as cells with no frozen value', async (t) => {
    const now = row('a', { grants: { 'G-1': { spentInQuarterPence: 500 }, 'G-2': { spentInQuarterPence: 1 } } });
    t.same(
      compareRows([row('a')], [now, row('b', { referred: 5, referredByAgeBand: {}, grants: {} })], 'programmeId')
        .changed,
      [
        { row: 'a', cell: 'grants.G-2.spentInQuarterPence', now: 1 },
        { row: 'b', cell: 'referred', now: 5 },
      ],
    );
  });
  t.test('should show a row that went as cells with no current value', async (t) => {
    t.same(compareRows([row('a', { referredByAgeBand: {}, grants: {} })], [], 'programmeId').changed, [
      { row: 'a', cell: 'referred', frozen: 12 },
    ]);
  });
});

t.test('classifyEvent', async (t) => {
  t.equal(classifyEvent('ParticipantErased', true), 'erasure');
  t.equal(classifyEvent('ConsentWithdrawn', true), 'consent-withdrawal');
  t.equal(classifyEvent('SpendCorrected', false), 'correction');
  t.equal(classifyEvent('DeliveryTargetsRevised', true), 'correction');
  t.equal(classifyEvent('SessionAttended', true), 'late-submission', 'dated in the period, recorded after the freeze');
  t.equal(classifyEvent('SessionAttended', false), 'other', 'dated outside the period');
});

t.test('movements under disclosure control', async (t) => {
  const tallies = [
    { type: 'ParticipantReferred', providerId: 'prov-a', datedInPeriod: true, events: 6 },
    { type: 'SessionAttended', providerId: 'prov-a', datedInPeriod: true, events: 2 },
    { type: 'ParticipantReferred', providerId: 'prov-b', datedInPeriod: true, events: 3 },
    { type: 'SpendCorrected', providerId: 'prov-a', datedInPeriod: false, events: 1 },
    { type: 'ParticipantErased', providerId: 'prov-a', datedInPeriod: true, events: 1 },
    { type: 'ParticipantErased', providerId: 'prov-b', datedInPeriod: true, events: 1 },
    { type: 'ConsentWithdrawn', providerId: 'prov-b', datedInPeriod: true, events: 12 },
  ];
  t.test('should count events by class and provider, withholding 1 to 4', async (t) => {
    t.same(movements(tallies, true), [
      { class: 'late-submission', providerId: 'prov-a', events: 8 },
      { class: 'late-submission', providerId: 'prov-b', events: null },
      { class: 'correction', providerId: 'prov-a', events: null },
      { class: 'consent-withdrawal', providerId: null, events: 12 },
      { class: 'erasure', providerId: null, events: null },
    ]);
  });
  t.test('should never name the provider of an erasure or withdrawal, and withhold fewer than 10', async (t) => {
    const personal = movements(tallies, true).filter((m) => m.class === 'erasure' || m.class === 'consent-withdrawal');
    t.ok(personal.every((m) => m.providerId === null));
    t.same(movements([{ type: 'ConsentWithdrawn', providerId: 'prov-b', datedInPeriod: true, events: 9 }], true), [
      { class: 'consent-withdrawal', providerId: null, events: null },
      { class: 'erasure', providerId: null, events: null },
    ]);
  });
  t.test('should answer erasures and withdrawals whether there were any or not', async (t) => {
    const none = movements([{ type: 'SessionAttended', providerId: 'prov-a', datedInPeriod: true, events: 5 }], true);
    const one = movements(
      [
        { type: 'SessionAttended', providerId: 'prov-a', datedInPeriod: true, events: 5 },
        { type: 'ParticipantErased', providerId: 'prov-b', datedInPeriod: true, events: 1 },
      ],
      true,
    );
    t.same(one, none, 'one erasure reads exactly as none');
    t.same(none, [
      { class: 'late-submission', providerId: 'prov-a', events: 5 },
      { class: 'consent-withdrawal', providerId: null, events: null },
      { class: 'erasure', providerId: null, events: null },
    ]);
  });
  t.test('should give exact counts by provider without disclosure control', async (t) => {
    t.same(movements(tallies.slice(4, 6), false), [
      { class: 'erasure', providerId: 'prov-a', events: 1 },
      { class: 'erasure', providerId: 'prov-b', events: 1 },
    ]);
  });
});
