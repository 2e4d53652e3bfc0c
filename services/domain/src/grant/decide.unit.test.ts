import t, { type Test } from 'tap';
import { commandFor, type StreamCommand, type StreamEvent } from '../decision.js';
import { spec } from '../testing/spec.js';
import { grantDecider } from './decide.js';

const NOW = '2026-06-01T12:00:00.000Z';

let counter = 0;
function fact(type: string, data: Record<string, unknown>, occurredAt = '2026-05-01T10:00:00Z'): StreamEvent<'grant'> {
  counter += 1;
  return {
    eventId: `00000000-0000-4000-9000-${String(counter).padStart(12, '0')}`,
    type,
    occurredAt,
    data,
  } as StreamEvent<'grant'>;
}

const awarded = (amountPence = 1_000_000) =>
  fact(
    'GrantAwarded',
    {
      providerId: 'prov-a',
      programmeId: 'mentoring-test',
      amountPence,
      startDate: '2026-04-01',
      endDate: '2027-03-31',
      targetParticipants: 50,
    },
    '2026-03-15T09:00:00Z',
  );
const spent = (amountPence: number, over: Record<string, unknown> = {}, occurredAt?: string) =>
  fact(
    'SpendRecorded',
    {
      amountPence,
      category: 'staff',
      periodStart: '2026-04-01',
      periodEnd: '2026-04-30',
      evidenceRef: 'INV-1',
      ...over,
    },
    occurredAt,
  );
const corrected = (correctsEventId: string, amountPence: number) =>
  fact('SpendCorrected', {
    correctsEventId,
    amountPence,
    category: 'staff',
    reason: 'Invoice credited',
  });

const record = (event: StreamEvent<'grant'>) => commandFor(event, { now: NOW }) as StreamCommand<'grant'>;
const given = (history: StreamEvent<'grant'>[]) => spec(grantDecider).given(history);

function should(t: Test, outcome: string, check: (t: Test) => unknown) {
  return t.test(`should ${outcome}`, async (t) => {
    check(t);
    t.pass(outcome);
  });
}

t.test('When no grant has been awarded', async (t) => {
  should(t, 'accept an award, its end date in the future', () => {
    const e = awarded();
    given([]).when(record(e)).then([e]);
  });
  should(t, 'refuse spend against an unknown grant', (t) => {
    const err = given([])
      .when(record(spent(100)))
      .thenThrows('unknown-grant');
    t.equal(err.violations[0]!.kind, 'conflicts-with-history');
  });
  should(t, 'refuse a correction against an unknown grant', () => {
    given([])
      .when(record(corrected('00000000-0000-4000-9000-000000000001', 0)))
      .thenThrows('unknown-grant');
  });
  should(t, 'refuse an award that occurred in the future', () => {
    given([])
      .when(record(fact('GrantAwarded', awarded().data, '2026-06-02T00:00:00Z')))
      .thenThrows('occurred-in-future');
  });
});

t.test('When a grant has been awarded', async (t) => {
  const award = awarded(1_000_000);
  should(t, 'refuse a second award', () => {
    given([award]).when(record(awarded())).thenThrows('grant-already-awarded');
  });
  should(t, 'accept spend within the grant period, for a period still in progress', () => {
    const e = spent(100_000, { periodStart: '2026-05-01', periodEnd: '2026-07-31' });
    given([award]).when(record(e)).then([e]);
  });
  should(t, 'refuse spend for a period that has not started', (t) => {
    const err = given([award])
      .when(record(spent(100, { periodStart: '2026-07-01', periodEnd: '2026-07-31' })))
      .thenThrows('date-in-future');
    t.equal(err.violations[0]!.field, '/data/periodStart');
  });
  should(t, 'refuse spend that occurred before the grant started', () => {
    given([award])
      .when(record(spent(100, {}, '2026-03-31T23:00:00Z')))
      .thenThrows('before-grant-start');
  });
  should(t, 'refuse spend for a period starting before the grant', () => {
    given([award])
      .when(record(spent(100, { periodStart: '2026-03-01' })))
      .thenThrows('spend-outside-grant-period');
  });
  should(t, 'refuse spend for a period ending after the grant', () => {
    given([award])
      .when(record(spent(100, { periodEnd: '2027-04-30' })))
      .thenThrows('spend-outside-grant-period');
  });
  should(t, 'accept spend up to the whole award', () => {
    const e = spent(400_000);
    given([award, spent(600_000)])
      .when(record(e))
      .then([e]);
  });
  should(t, 'refuse spend beyond the award', (t) => {
    const err = given([award, spent(600_000)])
      .when(record(spent(400_001)))
      .thenThrows('spend-exceeds-award');
    t.equal(err.violations[0]!.field, '/data/amountPence');
  });
  should(t, 'refuse a correction of an unknown spend', () => {
    given([award, spent(600_000)])
      .when(record(corrected('00000000-0000-4000-9000-999999999999', 0)))
      .thenThrows('unknown-spend');
  });
  should(t, 'refuse a correction that would exceed the award', () => {
    const first = spent(600_000);
    given([award, first, spent(300_000)])
      .when(record(corrected(first.eventId, 700_001)))
      .thenThrows('spend-exceeds-award');
  });
  should(t, 'allow more spend once a correction has lowered earlier spend', () => {
    const first = spent(600_000);
    given([award, first])
      .when(record(spent(500_000)))
      .thenThrows('spend-exceeds-award');
    const e = spent(500_000);
    given([award, first, corrected(first.eventId, 100_000)])
      .when(record(e))
      .then([e]);
  });
});

const targets = (quarter: string, over: Record<string, unknown> = {}, type = 'DeliveryTargetsSet') =>
  fact(
    type,
    {
      quarter,
      referrals: 20,
      enrolments: 15,
      sessionsDelivered: 120,
      completions: 10,
      spendPence: 200_000,
      ...over,
    },
    '2026-03-20T09:00:00Z',
  );
const revised = (quarter: string, over: Record<string, unknown> = {}) =>
  targets(quarter, { reason: 'Contract variation', ...over }, 'DeliveryTargetsRevised');

t.test('When targets are set for a grant', async (t) => {
  const award = awarded(1_000_000);
  should(t, 'refuse targets for a grant not awarded', () => {
    given([])
      .when(record(targets('2026Q2')))
      .thenThrows('unknown-grant');
  });
  should(t, 'accept targets for a quarter of the grant, agreed before the grant started', () => {
    const e = targets('2026Q2');
    given([award]).when(record(e)).then([e]);
  });
  should(t, 'accept targets for a quarter that has not started yet', () => {
    const e = targets('2027Q1');
    given([award]).when(record(e)).then([e]);
  });
  should(t, 'refuse a quarter wholly before or after the grant period', (t) => {
    const before = given([award])
      .when(record(targets('2026Q1')))
      .thenThrows('quarter-outside-grant-period');
    t.equal(before.violations[0]!.field, '/data/quarter');
    t.match(before.violations[0]!.message, /like 2026Q2/);
    given([award])
      .when(record(targets('2027Q2')))
      .thenThrows('quarter-outside-grant-period');
  });
  should(t, 'refuse setting a quarter twice, and point to a revision', (t) => {
    const err = given([award, targets('2026Q2')])
      .when(record(targets('2026Q2')))
      .thenThrows('targets-already-set');
    t.match(err.violations[0]!.message, /DeliveryTargetsRevised/);
    t.equal(err.violations[0]!.kind, 'conflicts-with-history');
  });
  should(t, 'refuse a revision of a quarter without targets', () => {
    given([award, targets('2026Q2')])
      .when(record(revised('2026Q3')))
      .thenThrows('targets-not-set');
  });
  should(t, 'accept a revision of a quarter with targets', () => {
    const e = revised('2026Q2', { referrals: 10 });
    given([award, targets('2026Q2')])
      .when(record(e))
      .then([e]);
  });
  should(t, 'refuse a spend profile beyond the award, counting a revised quarter once', (t) => {
    const history = [award, targets('2026Q2', { spendPence: 400_000 }), targets('2026Q3', { spendPence: 400_000 })];
    const err = given(history)
      .when(record(targets('2026Q4', { spendPence: 200_001 })))
      .thenThrows('spend-profile-exceeds-award');
    t.equal(err.violations[0]!.field, '/data/spendPence');
    const ok = targets('2026Q4', { spendPence: 200_000 });
    given(history).when(record(ok)).then([ok]);
    const revision = revised('2026Q3', { spendPence: 600_000 });
    given(history).when(record(revision)).then([revision]);
    given(history)
      .when(record(revised('2026Q3', { spendPence: 600_001 })))
      .thenThrows('spend-profile-exceeds-award');
  });
});
