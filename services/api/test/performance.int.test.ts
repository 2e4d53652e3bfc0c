import { randomUUID } from 'node:crypto';
import t from 'tap';
import { eventDefinition } from '@vru/contracts';
import { Harness, PROGRAMME, PROGRAMME_2, event } from '@vru/testkit';

const h = await Harness.start();
t.teardown(() => h.close());

type Json = Record<string, unknown>;
let posted = 0;

async function postAll(events: Json[], key = h.keys.providerA) {
  await h.postBatchAccepted(events, key);
  posted += events.length;
}

const grantEvent = (type: string, grantRef: string, data: Json, occurredAt = '2026-03-20T10:00:00Z'): Json => ({
  eventId: randomUUID(),
  type,
  schemaVersion: eventDefinition(type)!.latest,
  occurredAt,
  grantRef,
  data,
});
const targets = (quarter: string, over: Json = {}): Json => ({
  quarter,
  referrals: 5,
  enrolments: 5,
  sessionsDelivered: 10,
  completions: 5,
  spendPence: 400_000,
  ...over,
});

/** A participant referred, consented, enrolled, with sessions, an optional SWEMWBS pair and exit. */
interface Journey {
  referred: string;
  enrolled: string;
  sessions: string[];
  exit?: [string, string] | undefined;
  swemwbs?: [number, number] | undefined;
  programmeId?: string;
}

function person(ref: string, o: Journey) {
  const programmeId = o.programmeId ?? PROGRAMME;
  const out: Json[] = [
    event.referred(ref, { programmeId, data: { referralDate: o.referred } }),
    event.consent(ref, 'evaluation', { programmeId, data: { recordedOn: o.referred } }),
    event.enrolled(ref, { programmeId, data: { startDate: o.enrolled } }),
    ...o.sessions.map((d, i) => event.attended(ref, `s-${i}`, d, { programmeId })),
  ];
  const measure = (timepoint: string, measuredOn: string, score: number) => ({
    eventId: randomUUID(),
    type: 'OutcomeMeasured',
    schemaVersion: 2,
    occurredAt: '2026-02-10T10:00:00Z',
    programmeId: PROGRAMME,
    participantRef: ref,
    data: { instrument: 'swemwbs', timepoint, measuredOn, score },
  });
  if (o.swemwbs) out.push(measure('baseline', o.enrolled, o.swemwbs[0]));
  if (o.exit && o.swemwbs) out.push(measure('exit', o.exit[0], o.swemwbs[1]));
  if (o.exit) out.push(event.exited(ref, { data: { exitDate: o.exit[0], reason: o.exit[1] } }));
  return out;
}

/**
 * Grant G-P-A (provider A, PROGRAMME) runs 2026-04-01 to 2027-03-31 with targets for every quarter; 2026Q3's are
 * revised (referrals 6 → 5). Q2: A1..A4 referred and enrolled, 5 sessions, 300,000 spent. Q3: A5..A9 referred and
 * enrolled, 10 sessions, A1 and A2 completed (A1's SWEMWBS +4, reliable; A2's +1), A3 disengaged, 520,000 spent.
 * Provider B has grant G-P-B on PROGRAMME_2 with 2026Q3 targets: twelve people referred, enrolled and attending one
 * session in each of 2026Q2 (B-Q2-*) and 2026Q3 (B-Q3-*), none completed.
 */
await t.test('targets set and revised through the ingest path; the rules answer in plain words', async (t) => {
  await h.startRelay();
  await h.startProjectors();
  await postAll(
    [
      grantEvent('GrantAwarded', 'G-P-A', {
        providerId: 'prov-a',
        programmeId: PROGRAMME,
        amountPence: 5_000_000,
        startDate: '2026-04-01',
        endDate: '2027-03-31',
        targetParticipants: 20,
      }),
      grantEvent('GrantAwarded', 'G-P-B', {
        providerId: 'prov-b',
        programmeId: PROGRAMME_2,
        amountPence: 1_000_000,
        startDate: '2026-04-01',
        endDate: '2027-03-31',
        targetParticipants: 5,
      }),
      grantEvent(
        'DeliveryTargetsSet',
        'G-P-A',
        targets('2026Q2', {
          referrals: 4,
          enrolments: 4,
          sessionsDelivered: 6,
          completions: 2,
          spendPence: 300_000,
        }),
      ),
      grantEvent(
        'DeliveryTargetsSet',
        'G-P-A',
        targets('2026Q3', {
          referrals: 6,
          shareReliablyImproved: { swemwbs: 0.5 },
        }),
      ),
      grantEvent('DeliveryTargetsSet', 'G-P-A', targets('2026Q4')),
      grantEvent('DeliveryTargetsSet', 'G-P-A', targets('2027Q1')),
      grantEvent('DeliveryTargetsSet', 'G-P-B', targets('2026Q3')),
    ],
    h.keys.commissioner,
  );
  const revision = grantEvent(
    'DeliveryTargetsRevised',
    'G-P-A',
    targets('2026Q3', {
      referrals: 5,
      shareReliablyImproved: { swemwbs: 0.5 },
      reason: 'Contract variation agreed at the July review',
    }),
    '2026-07-20T10:00:00Z',
  );
  const revised = await h.post('/v1/events', revision, h.keys.admin);
  t.equal(revised.statusCode, 202, 'an admin revises the quarter');
  posted += 1;

  const refused = async (body: Json, key: string) => {
    const res = await h.post('/v1/events', body, key);
    return { status: res.statusCode, body: res.json<{ errors: { field: string; rule: string; message: string }[] }>() };
  };
  const byProvider = await refused(grantEvent('DeliveryTargetsSet', 'G-P-A', targets('2026Q4')), h.keys.providerA);
  t.equal(byProvider.status, 403, 'a provider cannot set its own targets');
  t.equal(byProvider.body.errors[0]!.rule, 'role-not-permitted');
  const twice = await refused(grantEvent('DeliveryTargetsSet', 'G-P-A', targets('2026Q4')), h.keys.commissioner);
  t.same(
    [twice.status, twice.body.errors[0]!.rule, twice.body.errors[0]!.field],
    [409, 'targets-already-set', '/data/quarter'],
  );
  t.match(twice.body.errors[0]!.message, /DeliveryTargetsRevised/);
  const notSet = await refused(
    grantEvent('DeliveryTargetsRevised', 'G-P-B', { ...targets('2026Q4'), reason: 'x' }),
    h.keys.commissioner,
  );
  t.same([notSet.status, notSet.body.errors[0]!.rule], [409, 'targets-not-set']);
  const outside = await refused(grantEvent('DeliveryTargetsSet', 'G-P-A', targets('2027Q2')), h.keys.commissioner);
  t.same([outside.status, outside.body.errors[0]!.rule], [409, 'quarter-outside-grant-period']);
  t.match(outside.body.errors[0]!.message, /like 2026Q2/);
  const negative = await refused(
    grantEvent('DeliveryTargetsSet', 'G-P-A', targets('2026Q4', { referrals: -1 })),
    h.keys.commissioner,
  );
  t.equal(negative.status, 422, 'a negative target is invalid');
  t.equal(negative.body.errors[0]!.field, '/data/referrals');
  const noReason = await refused(grantEvent('DeliveryTargetsRevised', 'G-P-A', targets('2026Q4')), h.keys.commissioner);
  t.equal(noReason.status, 422, 'a revision names its reason');
  const tooMuch = { ...targets('2027Q1', { spendPence: 4_000_000 }), reason: 'x' };
  const overProfile = await refused(grantEvent('DeliveryTargetsRevised', 'G-P-A', tooMuch), h.keys.commissioner);
  t.same([overProfile.status, overProfile.body.errors[0]!.rule], [409, 'spend-profile-exceeds-award']);
  const unknown = await refused(grantEvent('DeliveryTargetsSet', 'G-NONE', targets('2026Q4')), h.keys.commissioner);
  t.same([unknown.status, unknown.body.errors[0]!.rule], [409, 'unknown-grant']);
  const stored = await h.sql<{ provider_id: string; n: number }[]>`
    select provider_id, count(*)::int as n from events where type like 'DeliveryTargets%' group by provider_id order by provider_id`;
  t.same(
    stored,
    [
      { provider_id: 'prov-a', n: 5 },
      { provider_id: 'prov-b', n: 1 },
    ],
    "targets stored on the grant's provider, nothing refused stored",
  );
});

await t.test('activity through HTTP, Kafka and the projectors', async (t) => {
  const q2 = ['A1', 'A2', 'A3', 'A4'];
  for (const ref of q2) {
    const sessions =
      ref === 'A1' ? ['2026-05-01', '2026-05-08', '2026-05-15'] : ref === 'A2' ? ['2026-05-01', '2026-05-08'] : [];
    const exits: Record<string, [string, string]> = {
      A1: ['2026-08-30', 'completed'],
      A2: ['2026-08-30', 'completed'],
      A3: ['2026-08-01', 'disengaged'],
    };
    const exit = exits[ref];
    const swemwbs: [number, number] | undefined = ref === 'A1' ? [18, 22] : ref === 'A2' ? [20, 21] : undefined;
    await postAll(person(ref, { referred: '2026-04-10', enrolled: '2026-04-20', sessions, exit, swemwbs }));
  }
  for (const ref of ['A5', 'A6', 'A7', 'A8', 'A9']) {
    await postAll(
      person(ref, { referred: '2026-07-10', enrolled: '2026-07-15', sessions: ['2026-08-03', '2026-08-10'] }),
    );
  }
  for (const [quarter, month] of [
    ['Q2', '05'],
    ['Q3', '08'],
  ] as const) {
    for (let i = 1; i <= 12; i++) {
      await postAll(
        person(`B-${quarter}-${i}`, {
          programmeId: PROGRAMME_2,
          referred: `2026-${month}-04`,
          enrolled: `2026-${month}-11`,
          sessions: [`2026-${month}-18`],
        }),
        h.keys.providerB,
      );
    }
  }
  const spend = (amountPence: number, periodStart: string, periodEnd: string) =>
    grantEvent(
      'SpendRecorded',
      'G-P-A',
      {
        amountPence,
        category: 'staff',
        periodStart,
        periodEnd,
        evidenceRef: `INV-${periodStart}`,
      },
      '2026-10-10T10:00:00Z',
    );
  await postAll([spend(300_000, '2026-04-01', '2026-06-30'), spend(520_000, '2026-07-01', '2026-09-30')]);
  await h.waitForProjections(['participants', 'attendance', 'spend', 'outcomes'], posted);
  t.equal(await h.count('rm_spend.delivery_targets'), 5);
});

const Q3 = '/v1/reports/performance?quarter=2026Q3';
type Row = Record<string, unknown> & { indicator: string };
const byIndicator = (rows: Row[]) => Object.fromEntries(rows.map(({ indicator, ...rest }) => [indicator, rest]));
const year = { yearStart: '2026-04-01', yearEnd: '2027-03-31' };
const ids = { grantRef: 'G-P-A', providerId: 'prov-a', programmeId: PROGRAMME, quarter: '2026Q3' };

await t.test("the provider's own performance against hand-computed figures", async (t) => {
  const res = await h.getReport(Q3, h.keys.providerA);
  t.equal(res.status, 200);
  t.equal(res.body.suppressed, false);
  const rows = byIndicator(res.body.rows);
  // Year to date is Q2 + Q3 (183 days of 365); year targets are the four quarters'.
  t.same(
    rows.referrals,
    {
      ...ids,
      target: 5,
      actual: 5,
      variance: 0,
      percentOfTarget: 1,
      status: 'green',
      pairs: null,
      ...year,
      yearToDateTarget: 9,
      yearToDateActual: 9,
      yearToDateVariance: 0,
      yearToDateStatus: 'green',
      yearTarget: 19,
      forecastToYearEnd: 18,
      forecastStatus: 'amber',
      targetsRevised: 1,
    },
    'on target, the revised target applies; 9 × 365 / 183 = 17.95 is under 95% of 19',
  );
  t.same(rows.sessionsDelivered, {
    ...ids,
    target: 10,
    actual: 10,
    variance: 0,
    percentOfTarget: 1,
    status: 'green',
    pairs: null,
    ...year,
    yearToDateTarget: 16,
    yearToDateActual: 15,
    yearToDateVariance: -1,
    yearToDateStatus: 'amber',
    yearTarget: 36,
    forecastToYearEnd: 30,
    forecastStatus: 'amber',
    targetsRevised: 1,
  });
  t.same(
    rows.completions,
    {
      ...ids,
      target: 5,
      actual: 2,
      variance: -3,
      percentOfTarget: 0.4,
      status: 'red',
      pairs: null,
      ...year,
      yearToDateTarget: 7,
      yearToDateActual: 2,
      yearToDateVariance: -5,
      yearToDateStatus: 'red',
      yearTarget: 17,
      forecastToYearEnd: 4,
      forecastStatus: 'red',
      targetsRevised: 1,
    },
    'A1 and A2 completed; A3 disengaged',
  );
  t.same(
    rows.spendPence,
    {
      ...ids,
      target: 400_000,
      actual: 520_000,
      variance: 120_000,
      percentOfTarget: 1.3,
      status: 'red',
      pairs: null,
      ...year,
      yearToDateTarget: 700_000,
      yearToDateActual: 820_000,
      yearToDateVariance: 120_000,
      yearToDateStatus: 'amber',
      yearTarget: 1_500_000,
      forecastToYearEnd: 1_635_519,
      forecastStatus: 'green',
      targetsRevised: 1,
    },
    '30% over profile in the quarter; 820,000 × 365 / 183 = 1,635,519 is 9% over the year',
  );
  t.same(
    rows['reliablyImproved:swemwbs'],
    {
      ...ids,
      target: 0.5,
      actual: 0.5,
      variance: 0,
      percentOfTarget: 1,
      status: 'green',
      pairs: 2,
      ...year,
      yearToDateTarget: 0.5,
      yearToDateActual: 0.5,
      yearToDateVariance: 0,
      yearToDateStatus: 'green',
      yearTarget: 0.5,
      forecastToYearEnd: null,
      forecastStatus: null,
      targetsRevised: 1,
    },
    'A1 +4 reliably improved, A2 +1 not',
  );
  t.same([rows.enrolments!.actual, rows.enrolments!.status], [5, 'green']);

  const all = await h.getReport('/v1/reports/performance', h.keys.providerA);
  t.same(
    [...new Set(all.body.rows.map((r: Row) => r.quarter))],
    ['2026Q2', '2026Q3', '2026Q4'],
    "without a quarter: every quarter with targets that has started (the clock is past 2026Q4's start)",
  );
  const csv = await h.getReport(Q3, h.keys.providerA, { accept: 'text/csv' });
  t.equal(csv.status, 200);
  const lines = String(csv.body).trim().split('\r\n');
  t.equal(lines.length, 1 + res.body.rows.length, 'the CSV has the same rows');
  t.match(lines[0], /^grantRef,providerId,programmeId,quarter,indicator,target,actual,variance/);
});

await t.test('attacker: a provider sees only its own contract figures', async (t) => {
  const b = await h.getReport(Q3, h.keys.providerB);
  t.same([...new Set(b.body.rows.map((r: Row) => r.grantRef))], ['G-P-B'], 'provider B sees its own grant only');
  t.same(
    (await h.getReport(`${Q3}&grantRef=G-P-A`, h.keys.providerB)).body.rows,
    [],
    "naming another provider's grant answers nothing",
  );
  t.equal((await h.getReport(`${Q3}&providerId=prov-a`, h.keys.providerB)).status, 403);
  t.equal((await h.getReport(Q3, h.keys.dataPartner)).status, 403, 'a data partner reads no report');
  t.equal((await h.get(Q3, null)).statusCode, 401);
});

await t.test(
  'commissioners get the shared layer: small populations withheld, and nothing they could be derived from',
  async (t) => {
    const res = await h.getReport(`${Q3}&grantRef=G-P-A`, h.keys.commissioner);
    t.equal(res.body.suppressed, true);
    t.same(res.body.disclosure, { rules: 'vru-sdc-1', applied: true });
    const rows = byIndicator(res.body.rows);
    const withheldQuarter = { actual: null, variance: null, percentOfTarget: null, status: null };
    const withheldYear = {
      yearToDateActual: null,
      yearToDateVariance: null,
      yearToDateStatus: null,
      forecastToYearEnd: null,
      forecastStatus: null,
    };
    t.match(
      rows.referrals,
      { target: 5, yearToDateTarget: 9, yearTarget: 19, ...withheldQuarter, ...withheldYear },
      '5 referrals in the quarter, 4 before: a population under 10 withholds the row, targets stay',
    );
    t.match(rows.completions, { target: 5, ...withheldQuarter, ...withheldYear }, '2 completions withheld');
    t.match(
      rows.sessionsDelivered,
      { target: 10, ...withheldQuarter, ...withheldYear },
      '10 sessions by 5 attenders: the attenders are the population, under 10',
    );
    t.match(
      rows.spendPence,
      { actual: 520_000, yearToDateActual: 820_000, forecastToYearEnd: 1_635_519 },
      'money is not withheld',
    );
    t.match(
      rows['reliablyImproved:swemwbs'],
      { ...withheldQuarter, pairs: null, ...withheldYear },
      'a share over 2 pairs is withheld',
    );
    const funder = await h.getReport(`${Q3}&grantRef=G-P-A`, h.keys.funder);
    t.same(funder.body.rows, res.body.rows, 'the funder sees the same withheld figures');

    const b = byIndicator((await h.getReport(`${Q3}&grantRef=G-P-B`, h.keys.commissioner)).body.rows);
    t.match(
      b.referrals,
      {
        target: 5,
        actual: 12,
        variance: 7,
        status: 'green',
        yearToDateActual: 24,
        yearToDateTarget: 5,
        forecastToYearEnd: 48,
        forecastStatus: 'green',
      },
      'twelve a quarter, every other provider and quarter of the financial year 0 or at least 10: published, arithmetic unchanged',
    );
    t.match(b.sessionsDelivered, { actual: 12, yearToDateActual: 24 }, 'twelve attenders: published');
    t.match(
      b.completions,
      { target: 5, ...withheldQuarter, ...withheldYear },
      'no completions: a zero population is withheld like a small one',
    );
  },
);

/** Whether `target` is a linear combination of `rows` (Gaussian elimination; the systems are tiny and 0/1). */
function recoverable(rows: readonly number[][], target: readonly number[]): boolean {
  const rank = (m: number[][]) => {
    const a = m.map((r) => [...r]);
    let r = 0;
    for (let c = 0; c < (a[0]?.length ?? 0) && r < a.length; c++) {
      const p = a.findIndex((row, i) => i >= r && Math.abs(row[c]!) > 1e-9);
      if (p < 0) continue;
      [a[r], a[p]] = [a[p]!, a[r]!];
      for (let i = 0; i < a.length; i++) {
        if (i === r) continue;
        const f = a[i]![c]! / a[r]![c]!;
        for (let j = c; j < a[i]!.length; j++) a[i]![j]! -= f * a[r]![j]!;
      }
      r += 1;
    }
    return r;
  };
  return rank([...rows, [...target]]) === rank([...rows]);
}

await t.test(
  'attacker: a commissioner cannot recover a withheld quarter from year-to-date differences or the forecast',
  async (t) => {
    const YEAR = ['2026Q2', '2026Q3', '2026Q4', '2027Q1'];
    // The quarter cells of one to nine people in the data above (grant, indicator, quarter): the adversary's targets.
    const sensitive: [string, string, string][] = [
      ...['referrals', 'enrolments', 'sessionsDelivered'].flatMap(
        (i) =>
          [
            ['G-P-A', i, '2026Q2'],
            ['G-P-A', i, '2026Q3'],
          ] as [string, string, string][],
      ),
      ['G-P-A', 'completions', '2026Q3'],
    ];
    const equations = new Map<string, number[][]>();
    const add = (grant: string, indicator: string, v: number[]) =>
      equations.set(`${grant} ${indicator}`, [...(equations.get(`${grant} ${indicator}`) ?? []), v]);
    let published = 0;
    const urls = [
      ...YEAR.map((quarter) => `/v1/reports/performance?quarter=${quarter}`),
      '/v1/reports/performance',
      `/v1/reports/performance?programmeId=${PROGRAMME}`,
      '/v1/reports/performance?providerId=prov-a',
      '/v1/reports/performance?grantRef=G-P-A',
    ];
    for (const url of urls) {
      for (const key of [h.keys.commissioner, h.keys.funder, h.keys.admin]) {
        const res = await h.getReport(url, key);
        t.equal(res.status, 200, url);
        for (const row of res.body.rows as Row[]) {
          if (row.indicator === 'spendPence' || row.indicator.startsWith('reliablyImproved:')) continue;
          const at = YEAR.indexOf(row.quarter as string);
          const quarterOnly = YEAR.map((_, i) => (i === at ? 1 : 0));
          const toDate = YEAR.map((_, i) => (i <= at ? 1 : 0));
          // actual, actual − target and actual / target each give the quarter; the running sums and the forecast
          // (a known multiple of the year to date) give the quarters so far.
          for (const f of ['actual', 'variance', 'percentOfTarget']) {
            if (typeof row[f] === 'number') add(row.grantRef as string, row.indicator, quarterOnly);
          }
          for (const f of ['yearToDateActual', 'yearToDateVariance', 'forecastToYearEnd']) {
            if (typeof row[f] === 'number') add(row.grantRef as string, row.indicator, toDate);
          }
          for (const f of ['actual', 'yearToDateActual', 'forecastToYearEnd'])
            if (typeof row[f] === 'number') published += 1;
        }
      }
    }
    for (const [grant, indicator, quarter] of sensitive) {
      const target = YEAR.map((q) => (q === quarter ? 1 : 0));
      t.notOk(
        recoverable(equations.get(`${grant} ${indicator}`) ?? [], target),
        `${grant} ${indicator} ${quarter} cannot be solved for`,
      );
    }
    t.ok(published >= 6, `${published} people figures published (grant G-P-B): the layer withholds only what it must`);
    t.ok((equations.get('G-P-B referrals') ?? []).length > 0, 'the published grant answers equations');
  },
);

await t.test('no grant in scope answers no rows; bad filters are 400 naming the field', async (t) => {
  t.same((await h.getReport('/v1/reports/performance?programmeId=nothing-here', h.keys.commissioner)).body.rows, []);
  const bad = await h.getReport('/v1/reports/performance?quarter=2026-Q3', h.keys.commissioner);
  t.equal(bad.status, 400);
  t.match(JSON.stringify(bad.body), /quarter/);
});
