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

const grantEvent = (type: string, grantRef: string, data: Json, eventId: string = randomUUID()): Json => ({
  eventId,
  type,
  schemaVersion: eventDefinition(type)!.latest,
  occurredAt: '2026-10-10T10:00:00Z',
  grantRef,
  data,
});

interface Person {
  ref: string;
  referralDate: string;
  age?: number;
  gender?: string;
  consent?: boolean;
  startDate?: string;
  setting?: string;
  sessions?: string[];
  missed?: string[];
  exit?: [string, string];
}

async function person(p: Person, key = h.keys.providerA) {
  const out: Json[] = [
    event.referred(p.ref, {
      data: { referralDate: p.referralDate, ageAtReferral: p.age ?? 15, gender: p.gender ?? 'male' },
    }),
  ];
  if (p.consent !== false) out.push(event.consent(p.ref, 'evaluation', { data: { recordedOn: p.referralDate } }));
  if (p.startDate)
    out.push(event.enrolled(p.ref, { data: { startDate: p.startDate, deliverySetting: p.setting ?? 'community' } }));
  (p.sessions ?? []).forEach((d, i) => out.push(event.attended(p.ref, `s-${i}`, d)));
  (p.missed ?? []).forEach((d, i) => out.push(event.missed(p.ref, `m-${i}`, d)));
  if (p.exit) out.push(event.exited(p.ref, { data: { exitDate: p.exit[0], reason: p.exit[1] } }));
  await postAll(out, key);
}

/**
 * Quarter under test: 2026Q3 (2026-07-01 .. 2026-09-30). Provider A on PROGRAMME:
 * Q1..Q6 referred 10 July, enrolled 20 July (Q1..Q4 aged 15, community; Q5, Q6 aged 19, school); Q1..Q3 female, the rest male.
 * Q7 referred 1 August aged 12, never enrolled nor consented. P1 referred and enrolled in Q2, completed 15 July (active, a completion).
 * P2 completed 30 June (not active). P3 referred 20 September, enrolled 5 October online (referred, not active).
 * Sessions attended in Q3: Q1 ×2, Q2, P1 = 4 (Q3's missed session, Q4's October and P2's June sessions do not count).
 * Q1 completed 30 September; Q2 disengaged 15 September.
 * Provider B on PROGRAMME: B1..B6 referred 10 August, enrolled 15 August, aged 15, community, one session each on 20 August.
 */
async function seed() {
  const q = (n: number, over: Partial<Person> = {}): Person => ({
    ref: `Q${n}`,
    referralDate: '2026-07-10',
    age: n <= 4 ? 15 : 19,
    gender: n <= 3 ? 'female' : 'male',
    startDate: '2026-07-20',
    setting: n <= 4 ? 'community' : 'school',
    ...over,
  });
  await person(q(1, { sessions: ['2026-07-25', '2026-08-01'], exit: ['2026-09-30', 'completed'] }));
  await person(q(2, { sessions: ['2026-08-01'], exit: ['2026-09-15', 'disengaged'] }));
  await person(q(3, { missed: ['2026-08-08'] }));
  await person(q(4, { sessions: ['2026-10-01'] }));
  await person(q(5));
  await person(q(6));
  await person({ ref: 'Q7', referralDate: '2026-08-01', age: 12, consent: false });
  await person({
    ref: 'P1',
    referralDate: '2026-04-10',
    startDate: '2026-04-20',
    sessions: ['2026-07-01'],
    exit: ['2026-07-15', 'completed'],
  });
  await person({
    ref: 'P2',
    referralDate: '2026-03-01',
    startDate: '2026-03-05',
    sessions: ['2026-06-15'],
    exit: ['2026-06-30', 'completed'],
  });
  await person({ ref: 'P3', referralDate: '2026-09-20', startDate: '2026-10-05', setting: 'online' });
  for (let i = 1; i <= 6; i++) {
    await person(
      { ref: `B${i}`, referralDate: '2026-08-10', startDate: '2026-08-15', sessions: ['2026-08-20'] },
      h.keys.providerB,
    );
  }
  // Grants: G-Q-A (prov-a) 5,000,000; spend 300,000 (Q2), 450,000 (Q3), 100,000 (Q3) corrected to 150,000, 200,000 (Q4).
  // G-OLD ended in 2025 (left out); G-B (prov-b, PROGRAMME_2) runs through 2026 with no spend.
  await postAll(
    [
      grantEvent('GrantAwarded', 'G-Q-A', {
        providerId: 'prov-a',
        programmeId: PROGRAMME,
        amountPence: 5_000_000,
        startDate: '2026-04-01',
        endDate: '2027-03-31',
        targetParticipants: 20,
      }),
      grantEvent('GrantAwarded', 'G-OLD', {
        providerId: 'prov-a',
        programmeId: PROGRAMME,
        amountPence: 1_000_000,
        startDate: '2025-01-01',
        endDate: '2025-12-31',
        targetParticipants: 5,
      }),
      grantEvent('GrantAwarded', 'G-B', {
        providerId: 'prov-b',
        programmeId: PROGRAMME_2,
        amountPence: 2_000_000,
        startDate: '2026-01-01',
        endDate: '2026-12-31',
        targetParticipants: 10,
      }),
    ],
    h.keys.commissioner,
  );
  const corrected = randomUUID();
  const spend = (grantRef: string, amountPence: number, periodStart: string, periodEnd: string, eventId?: string) =>
    grantEvent(
      'SpendRecorded',
      grantRef,
      { amountPence, category: 'staff', periodStart, periodEnd, evidenceRef: `INV-${periodStart}` },
      eventId,
    );
  await postAll([
    spend('G-Q-A', 300_000, '2026-04-01', '2026-06-30'),
    spend('G-Q-A', 450_000, '2026-07-01', '2026-07-31'),
    spend('G-Q-A', 100_000, '2026-09-01', '2026-09-30', corrected),
    spend('G-Q-A', 200_000, '2026-10-01', '2026-10-31'),
    spend('G-OLD', 100_000, '2025-03-01', '2025-03-31'),
    grantEvent('SpendCorrected', 'G-Q-A', {
      correctsEventId: corrected,
      amountPence: 150_000,
      category: 'staff',
      reason: 'Invoice amended',
    }),
  ]);
}

const projected = () => h.waitForProjections(['participants', 'attendance', 'spend'], posted);

const get = (url: string, key: string, headers: Record<string, string> = {}) => h.getReport(url, key, headers);

const Q = '/v1/reports/quarterly-return?quarter=2026Q3';
const bands = (over: Record<string, number | null>) => ({
  'under-10': 0,
  '10-13': 0,
  '14-17': 0,
  '18-21': 0,
  '22-25': 0,
  '26+': 0,
  unknown: 0,
  ...over,
});
const settings = (over: Record<string, number | null>) => ({
  school: 0,
  community: 0,
  custody: 0,
  hospital: 0,
  online: 0,
  ...over,
});
const grantQA = {
  providerId: 'prov-a',
  awardedPence: 5_000_000,
  spentInQuarterPence: 600_000,
  spentToQuarterEndPence: 900_000,
  remainingAtQuarterEndPence: 4_100_000,
};
const grantB = {
  providerId: 'prov-b',
  awardedPence: 2_000_000,
  spentInQuarterPence: 0,
  spentToQuarterEndPence: 0,
  remainingAtQuarterEndPence: 2_000_000,
};

await t.test('seeding through HTTP, Kafka and the projectors', async (t) => {
  await h.startRelay();
  await h.startProjectors();
  await seed();
  await projected();
  t.equal(await h.count('rm_participants.participants'), 16);
});

await t.test("quarterly return: a provider's own figures, unsuppressed", async (t) => {
  const own = await get(Q, h.keys.providerA);
  t.equal(own.status, 200);
  t.equal(own.body.suppressed, false);
  t.same([own.body.quarterStart, own.body.quarterEnd], ['2026-07-01', '2026-09-30']);
  t.same(
    own.body.computedAt.map((c: { projection: string }) => c.projection),
    ['participants', 'attendance', 'spend'],
  );
  // Referred in Q3: Q1..Q7, P3 = 8 (14-17: Q1..Q4, P3; 18-21: Q5, Q6; 10-13: Q7). Active: Q1..Q6, P1 = 7.
  t.same(
    own.body.rows,
    [
      {
        programmeId: PROGRAMME,
        referred: 8,
        referredByAgeBand: bands({ '10-13': 1, '14-17': 5, '18-21': 2 }),
        referredByDeliverySetting: { ...settings({ community: 4, school: 2, online: 1 }), 'not-enrolled': 1 },
        active: 7,
        activeByAgeBand: bands({ '14-17': 5, '18-21': 2 }),
        activeByDeliverySetting: settings({ community: 5, school: 2 }),
        newlyEnrolled: 6,
        sessionsDelivered: 4,
        completions: 2,
        grants: { 'G-Q-A': grantQA },
      },
    ],
    "G-OLD ended before the quarter; G-B is provider B's",
  );
  const b = await get(Q, h.keys.providerB);
  t.same(
    b.body.rows.map((r: Json) => [
      r.programmeId,
      r.referred,
      r.active,
      r.newlyEnrolled,
      r.sessionsDelivered,
      r.completions,
    ]),
    [
      [PROGRAMME, 6, 6, 6, 6, 0],
      [PROGRAMME_2, 0, 0, 0, 0, 0],
    ],
    "provider B sees only its own participants, and its grant's programme",
  );
  t.same(b.body.rows[1].grants, { 'G-B': grantB });
  t.equal(
    (await get(`${Q}&providerId=prov-b`, h.keys.providerA)).status,
    403,
    'a provider cannot ask for another provider',
  );
  const q4 = await get('/v1/reports/quarterly-return?quarter=2026Q4', h.keys.providerA);
  t.same(
    [
      q4.body.rows[0].referred,
      q4.body.rows[0].active,
      q4.body.rows[0].sessionsDelivered,
      q4.body.rows[0].grants['G-Q-A'].spentInQuarterPence,
    ],
    [0, 5, 1, 200_000],
    "Q4: Q3..Q6 still active and P3 enrolled 5 October; Q4's October session; the October spend",
  );
});

await t.test('quarterly return: under disclosure control for commissioner and funder', async (t) => {
  // Both providers (vru-sdc-1). Flows are judged against the other quarters of the financial year 2026/27: its
  // first quarter holds one referral (P1), one enrolment (P1), one attender (P2) and one completion (P2), so every
  // flow of every quarter of that year is withheld (the year less three quarters would give that person back).
  // Active is a stock, judged against providers and breakdown cells: 13 published; its breakdowns hold a cell of
  // two (18-21, school), so each is withheld whole. Money is never withheld.
  const nulls = (keys: readonly string[]) => Object.fromEntries(keys.map((k) => [k, null]));
  const bandKeys = Object.keys(bands({}));
  const settingKeys = [...Object.keys(settings({})), 'unknown'];
  const withheldFlows = {
    referred: null,
    referredByAgeBand: nulls(bandKeys),
    referredByDeliverySetting: nulls([...Object.keys(settings({})), 'not-enrolled', 'unknown']),
  };
  const expected = [
    {
      programmeId: PROGRAMME,
      ...withheldFlows,
      active: 13,
      activeByAgeBand: nulls(bandKeys),
      activeByDeliverySetting: nulls(settingKeys),
      newlyEnrolled: null,
      sessionsDelivered: null,
      completions: null,
      grants: { 'G-Q-A': grantQA },
    },
    {
      programmeId: PROGRAMME_2,
      ...withheldFlows,
      active: null,
      activeByAgeBand: nulls(bandKeys),
      activeByDeliverySetting: nulls(settingKeys),
      newlyEnrolled: null,
      sessionsDelivered: null,
      completions: null,
      grants: { 'G-B': grantB },
    },
  ];
  for (const key of [h.keys.commissioner, h.keys.funder]) {
    const res = await get(Q, key);
    t.equal(res.status, 200);
    t.equal(res.body.suppressed, true);
    t.same(res.body.disclosure, { rules: 'vru-sdc-1', applied: true });
    t.same(res.body.rows, expected);
  }
  const b = await get(`${Q}&providerId=prov-b&programmeId=${PROGRAMME}`, h.keys.commissioner);
  t.same(
    b.body.rows.map((r: Json) => [r.referred, r.active, r.sessionsDelivered, r.completions]),
    [[null, null, null, null]],
    "provider B's six are withheld: provider A's seven active beside them are a small cell",
  );
});

await t.test('quarterly return: validation and CSV', async (t) => {
  for (const bad of ['2026Q5', '2026-Q3', '26Q3', '2026q3']) {
    t.equal(
      (await get(`/v1/reports/quarterly-return?quarter=${bad}`, h.keys.commissioner)).status,
      400,
      `${bad} is refused`,
    );
  }
  t.equal((await get('/v1/reports/quarterly-return', h.keys.commissioner)).status, 400, 'quarter is required');
  t.equal((await get(Q, h.keys.dataPartner)).status, 403, 'not for data partners');

  const csv = await get(Q, h.keys.providerA, { accept: 'text/csv' });
  t.match(String(csv.headers['content-type']), /^text\/csv/);
  t.match(String(csv.headers['content-disposition']), /quarterly-return-2026Q3\.csv/);
  t.match(String(csv.headers['x-report-position']), /^\d+$/);
  const [header, line] = String(csv.body).trim().split('\r\n');
  const row = Object.fromEntries(header!.split(',').map((c, i) => [c, line!.split(',')[i]]));
  t.same(
    {
      programmeId: row.programmeId,
      referred: row.referred,
      '14-17': row['referredByAgeBand.14-17'],
      notEnrolled: row['referredByDeliverySetting.not-enrolled'],
      active: row.active,
      sessions: row.sessionsDelivered,
      completions: row.completions,
      inQuarter: row['grants.G-Q-A.spentInQuarterPence'],
      toEnd: row['grants.G-Q-A.spentToQuarterEndPence'],
    },
    {
      programmeId: PROGRAMME,
      referred: '8',
      '14-17': '5',
      notEnrolled: '1',
      active: '7',
      sessions: '4',
      completions: '2',
      inQuarter: '600000',
      toEnd: '900000',
    },
  );
  const sup = String((await get(Q, h.keys.funder, { accept: 'text/csv' })).body).split('\r\n');
  const cols = sup[0]!.split(',');
  const vals = sup[1]!.split(',');
  t.equal(vals[cols.indexOf('completions')], '', 'a withheld count is an empty cell');
  t.equal(vals[cols.indexOf('active')], '13');
});

await t.test('engagement grouped by gender', async (t) => {
  const q = '/v1/reports/engagement?from=2026-07-01&to=2026-09-30';
  const plain = await get(q, h.keys.providerA);
  t.notOk('group' in plain.body.rows[0], 'no group field without groupBy');
  t.equal(plain.body.rows[0].referrals, 8);
  // Female Q1..Q3: 3 referred, consented, enrolled; attended Q1, Q2 (Q3 only missed); completed Q1. Enrolled 10 days after referral.
  // Male Q4..Q7, P3: 5 referred; Q7 not consented → 4; enrolled 4; attended Q4 only; none completed. Days 10, 10, 10, 15 → median 10.
  const own = await get(`${q}&groupBy=gender`, h.keys.providerA);
  t.equal(own.status, 200);
  t.same(own.body.filters, { from: '2026-07-01', to: '2026-09-30', groupBy: 'gender' });
  t.same(
    own.body.rows.map((r: Json) => [
      r.programmeId,
      r.group,
      r.referrals,
      r.consented,
      r.enrolled,
      r.attended,
      r.completed,
      r.medianDaysReferralToEnrolment,
    ]),
    [
      [PROGRAMME, 'female', 3, 3, 3, 2, 1, 10],
      [PROGRAMME, 'male', 5, 4, 4, 1, 0, 10],
    ],
  );
  t.same(
    [
      own.body.rows[0].exitReasons.completed,
      own.body.rows[0].exitReasons.disengaged,
      own.body.rows[1].exitReasons.completed,
    ],
    [1, 1, 0],
  );
  // Commissioner: male adds B1..B6 (referred 10 August) → 11, but female holds 3 (and the first quarter of the year
  // holds P1), so the breakdown is withheld whole; every gender is answered, present or not.
  const all = await get(`${q}&groupBy=gender`, h.keys.commissioner);
  t.same(
    all.body.rows.map((r: Json) => [r.group, r.referrals, r.attended]),
    ['female', 'male', 'non-binary', 'other', 'prefer-not-to-say', 'unknown'].map((g) => [g, null, null]),
  );
  const quarter = await get('/v1/reports/engagement?groupBy=quarter', h.keys.providerA);
  t.same(
    quarter.body.rows.map((r: Json) => [r.group, r.referrals]),
    [
      ['2026-Q1', 1],
      ['2026-Q2', 1],
      ['2026-Q3', 8],
    ],
    'by quarter of referral',
  );
  const csv = await get(`${q}&groupBy=gender`, h.keys.providerA, { accept: 'text/csv' });
  t.match(String(csv.body).split('\r\n')[0], /^programmeId,group,referrals,/);
  t.equal((await get(`${q}&groupBy=shoe-size`, h.keys.providerA)).status, 400, 'an unknown dimension is refused');
});

await t.test('outcomes grouped by gender', async (t) => {
  const measure = (ref: string, timepoint: string, measuredOn: string, score: number): Json => ({
    eventId: randomUUID(),
    type: 'OutcomeMeasured',
    schemaVersion: 2,
    occurredAt: '2026-10-10T10:00:00Z',
    programmeId: PROGRAMME,
    participantRef: ref,
    data: { instrument: 'swemwbs', timepoint, measuredOn, score },
  });
  // Q1 (female) 20 → 25; Q4 (male) 18 → 19; Q5 (male) baseline only.
  await postAll([
    measure('Q1', 'baseline', '2026-07-20', 20),
    measure('Q1', 'exit', '2026-09-30', 25),
    measure('Q4', 'baseline', '2026-07-20', 18),
    measure('Q4', 'exit', '2026-10-20', 19),
    measure('Q5', 'baseline', '2026-07-20', 20),
  ]);
  // The outcomes report reads at the position both its read models have reached.
  await h.waitForProjections(['outcomes', 'participants'], posted);
  const res = await get('/v1/reports/outcomes?groupBy=gender', h.keys.providerA);
  t.equal(res.status, 200);
  t.same(
    res.body.rows.map((r: Json) => [r.group, r.instrument, r.pairs, r.missingPairs, r.meanBaseline, r.meanExit]),
    [
      ['female', 'swemwbs', 1, 0, 20, 25],
      ['male', 'swemwbs', 1, 1, 18, 19],
    ],
  );
  const plain = await get('/v1/reports/outcomes', h.keys.providerA);
  t.same(
    plain.body.rows.map((r: Json) => ['group' in r, r.pairs, r.missingPairs]),
    [[false, 2, 1]],
    'ungrouped as before',
  );
  const byQuarter = await get('/v1/reports/outcomes?groupBy=quarter', h.keys.providerA);
  t.same(
    byQuarter.body.rows.map((r: Json) => r.group),
    ['2026-Q3'],
    'quarter of enrolment',
  );
});

t.end();
