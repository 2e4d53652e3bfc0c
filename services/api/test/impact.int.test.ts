import { randomUUID } from 'node:crypto';
import t from 'tap';
import { comparisonsProjection, compareWithRebuild } from '@vru/projector';
import { Harness, PROGRAMME, event } from '@vru/testkit';

/**
 * The impact report end to end: participants (provider), their offences and a comparison pool (data partner, JSON
 * batch and CSV) through the API, Kafka and the projectors, read back as JSON and CSV; who may read it; and an
 * attacker reading the published result for anyone's reference or id.
 */

const h = await Harness.start();
t.teardown(() => h.close());

type Json = Record<string, unknown>;
let posted = 0;

/** A small seeded generator (mulberry32): the same world every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const random = seeded(20);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const day = (from: string, offsetDays: number) =>
  new Date(Date.parse(`${from}T00:00:00Z`) + offsetDays * 86_400_000).toISOString().slice(0, 10);

async function postBatch(events: Json[], key: string) {
  await h.postBatchAccepted(events, key);
  posted += events.length;
}

const PARTNER = 'derbyshire-police';
const participantOffence = (ref: string, offenceDate: string, provenDate: string, seriousViolence: boolean): Json => ({
  eventId: randomUUID(),
  type: 'OffenceRecorded',
  schemaVersion: 1,
  occurredAt: `${provenDate}T12:00:00Z`,
  providerId: 'prov-a',
  programmeId: PROGRAMME,
  participantRef: ref,
  data: {
    offenceDate,
    provenDate,
    disposal: 'conviction',
    offenceCategory: seriousViolence ? 'violence-against-the-person' : 'drugs',
    seriousViolence,
  },
});
const comparisonEvent = (type: string, ref: string, data: Json, occurredAt: string): Json => ({
  eventId: randomUUID(),
  type,
  schemaVersion: 1,
  occurredAt,
  dataPartnerId: PARTNER,
  comparisonRef: ref,
  data,
});
const comparisonOffence = (ref: string, offenceDate: string, provenDate: string) =>
  comparisonEvent(
    'ComparisonOffenceRecorded',
    ref,
    {
      offenceDate,
      provenDate,
      disposal: 'conviction',
      offenceCategory: 'drugs',
      seriousViolence: false,
      custodial: false,
    },
    `${provenDate}T12:00:00Z`,
  );

const participantRefs: string[] = [];
const comparisonRefs: string[] = [];

/**
 * Q1 2025: 90 participants and 300 comparisons, alike in age, gender, ethnic group and area. Participants have more
 * prior offences (confounding); reoffending rises with prior offences, and the programme takes 12 points off.
 */
async function seed() {
  const provider: Json[] = [];
  const partner: Json[] = [];
  for (let i = 0; i < 90; i++) {
    const ref = `IMP-P-${String(i).padStart(3, '0')}`;
    participantRefs.push(ref);
    const referralDate = day('2025-01-02', Math.floor(random() * 60));
    const startDate = day(referralDate, 7);
    const prior = Math.floor(random() * 4);
    provider.push(
      event.referred(ref, {
        data: {
          referralDate,
          ageAtReferral: 14 + Math.floor(random() * 5),
          gender: random() < 0.75 ? 'male' : 'female',
          ethnicity: pick(['white-british', 'white-british', 'black-caribbean', 'asian-pakistani', 'mixed-other']),
          postcodeDistrict: i === 7 ? 'NG10' : pick(['DE22', 'DE23', 'DE24']),
        },
      }),
      event.consent(ref, 'evaluation', { data: { recordedOn: referralDate } }),
      event.enrolled(ref, { data: { startDate } }),
    );
    for (let k = 0; k < prior; k++)
      partner.push(
        participantOffence(
          ref,
          day(startDate, -300 + k * 40),
          day(startDate, -200 + k * 40),
          k === 0 && random() < 0.2,
        ),
      );
    if (random() < 0.12 + 0.08 * prior)
      partner.push(participantOffence(ref, day(startDate, 90), day(startDate, 150), false));
  }
  for (let i = 0; i < 300; i++) {
    const ref = `CMP-${String(i).padStart(4, '0')}`;
    comparisonRefs.push(ref);
    const indexDate = day('2025-01-05', Math.floor(random() * 80));
    const prior = Math.floor(random() * 3);
    partner.push(
      comparisonEvent(
        'ComparisonRecordSubmitted',
        ref,
        {
          poolId: 'derby-2025',
          indexDate,
          indexEvent: 'police-referral-not-taken-up',
          ageAtIndex: 14 + Math.floor(random() * 5),
          gender: random() < 0.75 ? 'male' : 'female',
          ethnicity: pick(['white-british', 'white-british', 'black-african', 'asian-indian', 'mixed-other']),
          postcodeDistrict: pick(['DE22', 'DE23', 'DE24']),
          priorOffences: prior,
          priorSeriousViolence: prior > 0 && random() < 0.2,
          priorCustody: false,
          definitionsVersion: 1,
        },
        `${indexDate}T12:00:00Z`,
      ),
    );
    if (random() < 0.24 + 0.08 * prior) partner.push(comparisonOffence(ref, day(indexDate, 100), day(indexDate, 160)));
  }
  // A Q3 2026 cohort of three: its follow-up has not ended.
  for (const ref of ['IMP-LATE-1', 'IMP-LATE-2', 'IMP-LATE-3']) {
    participantRefs.push(ref);
    provider.push(
      event.referred(ref, { data: { referralDate: '2026-07-01' } }),
      event.consent(ref, 'evaluation', { data: { recordedOn: '2026-07-01' } }),
      event.enrolled(ref, { data: { startDate: '2026-07-10' } }),
    );
  }
  await postBatch(provider, h.keys.providerA);
  await postBatch(partner, h.keys.dataPartner);
}

const projected = () => h.waitForProjections(['participants', 'offences', 'comparisons'], posted);
const Q1 = `/v1/reports/impact?programmeId=${PROGRAMME}&cohortFrom=2025-01-01&cohortTo=2025-03-31`;

await t.test('seeding participants, offences and a comparison pool through the API', async (t) => {
  await h.startRelay();
  await h.startProjectors();
  await seed();
  // Two more comparison records by CSV, the way a partner without an API client shares them.
  const csv = [
    'dataPartnerId,comparisonRef,poolId,indexDate,indexEvent,ageAtIndex,gender,ethnicity,postcodeDistrict,priorOffences,priorSeriousViolence,' +
      'priorCustody,definitionsVersion',
    `${PARTNER},CMP-CSV-1,derby-2025,2025-02-03,caution,16,male,white-british,DE23,1,no,no,1`,
    `${PARTNER},CMP-CSV-2,derby-2025,2025-02-04,caution,15,female,white-british,DE22,0,no,no,1`,
  ].join('\r\n');
  const upload = await h.post('/v1/imports?eventType=ComparisonRecordSubmitted', `${csv}\r\n`, h.keys.dataPartner, {
    'content-type': 'text/csv',
  });
  t.equal(upload.statusCode, 200, upload.body);
  t.match(upload.json(), { rows: 2, accepted: 2, rejected: 0 }, 'both rows stored');
  comparisonRefs.push('CMP-CSV-1', 'CMP-CSV-2');
  posted += 2;
  await projected();
  t.equal(await h.count('rm_comparisons.comparison_records'), 302);
  const sealed = await h.sql`select data from events where type = 'ComparisonRecordSubmitted' limit 1`;
  t.notOk('gender' in (sealed[0]!.data as Json), 'the covariates are sealed in the log');
  t.ok('$sealed' in (sealed[0]!.data as Json));
  const refs =
    await h.sql`select count(*)::int as n from events where data::text like '%CMP-0%' or stream_id like '%CMP-%'`;
  t.equal(refs[0]!.n, 0, "the partner's references are not stored, only their keyed hash");
});

await t.test('who may submit the comparison pool', async (t) => {
  const record = comparisonEvent(
    'ComparisonRecordSubmitted',
    'CMP-X',
    {
      poolId: 'derby-2025',
      indexDate: '2025-02-01',
      indexEvent: 'caution',
      ageAtIndex: 16,
      gender: 'male',
      ethnicity: 'white-british',
      postcodeDistrict: 'DE23',
      priorOffences: 0,
      priorSeriousViolence: false,
      priorCustody: false,
      definitionsVersion: 1,
    },
    '2025-02-01T12:00:00Z',
  );
  for (const key of [h.keys.providerA, h.keys.commissioner, h.keys.admin]) {
    const res = await h.post('/v1/events', record, key);
    t.equal(res.statusCode, 403);
    t.equal(res.json().errors[0].rule, 'role-not-permitted');
  }
  const noArea = await h.post(
    '/v1/events',
    { ...record, data: { ...(record.data as Json), postcodeDistrict: undefined } },
    h.keys.dataPartner,
  );
  t.equal(noArea.statusCode, 422);
  t.equal(noArea.json().errors[0].rule, 'one-area-required');
  const unknown = await h.post(
    '/v1/events',
    comparisonOffence('CMP-NEVER-SHARED', '2025-03-01', '2025-04-01'),
    h.keys.dataPartner,
  );
  t.equal(unknown.statusCode, 409);
  t.equal(unknown.json().errors[0].rule, 'unknown-comparison');
});

let report: any;

await t.test('the impact report, JSON', async (t) => {
  const res = await h.getReport(Q1, h.keys.commissioner);
  t.equal(res.status, 200, JSON.stringify(res.body).slice(0, 400));
  report = res.body;
  t.equal(report.report, 'impact');
  t.equal(report.suppressed, true);
  t.equal(report.provisional, false, 'Q1 2025 + 18 months has passed');
  t.same(
    report.computedAt.map((c: { projection: string }) => c.projection),
    ['participants', 'offences', 'comparisons'],
  );
  t.equal(report.population.participants, 90);
  t.equal(report.population.comparisons, 302);
  t.equal(report.estimate.status, 'estimated');
  t.ok(report.matching.matched >= 60, `matched ${report.matching.matched}`);
  t.equal(report.rows.length, 2);
  const binary = report.estimate.binary;
  t.comment(
    `matched ${report.matching.matched} of ${report.population.participants}; binary ${JSON.stringify(binary.matched)}; ${binary.wording}`,
  );
  // Not its sign: which of several equally near comparisons a participant is matched to follows the order of the
  // pseudonymous ids, so the matched comparison rate moves with the deployment's pseudonym secret (six secrets gave
  // 0.342-0.443 against the participants' 0.3165, and one run of the suite 0.3165: a difference of 0).
  t.ok(Math.abs(binary.matched.difference) < 0.2, `a difference of the size seeded (${binary.matched.difference})`);
  t.ok(binary.matched.lower < binary.matched.difference && binary.matched.difference < binary.matched.upper);
  t.match(binary.wording, /For every 100 participants|This does not mean/);
  const prior = report.balance.covariates.find((c: { name: string }) => c.name === 'priorOffences');
  t.ok(prior.smdBefore > 0.1, `participants have more prior offences before matching (${prior.smdBefore})`);
  t.ok(Math.abs(prior.smdAfter) < Math.abs(prior.smdBefore), `matching reduces the difference (${prior.smdAfter})`);
  const admin = await h.getReport(Q1, h.keys.admin);
  t.equal(admin.status, 200);
  t.same(admin.body.estimate, report.estimate, 'admins read the same figures');
});

await t.test('the impact report, CSV', async (t) => {
  const res = await h.getReport(Q1, h.keys.commissioner, { accept: 'text/csv' });
  t.equal(res.status, 200);
  t.match(String(res.headers['content-type']), /^text\/csv/);
  t.match(String(res.headers['x-report-position']), /^\d+$/);
  const lines = String(res.body).trim().split('\r\n');
  t.equal(lines[0], 'measure,participants,comparison,difference,lower,upper,pValue,significant,wording');
  t.equal(lines.length, 3);
  t.match(lines[1], /^binary,/);
  t.ok(lines[1]!.includes(String(report.rows[0].difference)), 'the CSV carries the JSON figures');
});

await t.test('only commissioners and admins read it; the cohort is whole quarters', async (t) => {
  for (const key of [h.keys.providerA, h.keys.funder, h.keys.dataPartner])
    t.equal((await h.getReport(Q1, key)).status, 403);
  t.equal((await h.get(Q1, null)).statusCode, 401);
  const shifted = await h.getReport(
    `/v1/reports/impact?programmeId=${PROGRAMME}&cohortFrom=2025-01-02&cohortTo=2025-03-31`,
    h.keys.commissioner,
  );
  // The reports' disclosure-control layer refuses it before the impact report's own check (docs/metrics.md).
  t.equal(shifted.status, 422, 'a cohort moved by a day could be differenced against the quarter');
  t.equal(shifted.body.errors[0].rule, 'period-not-aligned');
  t.equal(shifted.body.errors[0].field, '/querystring/cohortFrom');
  const missing = await h.getReport(
    `/v1/reports/impact?cohortFrom=2025-01-01&cohortTo=2025-03-31`,
    h.keys.commissioner,
  );
  t.equal(missing.status, 400);
});

await t.test('a recent cohort is provisional and its small counts are withheld', async (t) => {
  const res = await h.getReport(
    `/v1/reports/impact?programmeId=${PROGRAMME}&cohortFrom=2026-07-01&cohortTo=2026-09-30`,
    h.keys.commissioner,
  );
  t.equal(res.status, 200);
  t.equal(res.body.provisional, true);
  t.equal(res.body.population.participants, null, 'three participants: withheld');
  t.equal(res.body.estimate.status, 'not-estimated');
  t.same(res.body.rows, []);
});

await t.test('attacker: the published result names no person, reference or id', async (t) => {
  const json = JSON.stringify(report);
  const csv = String((await h.getReport(Q1, h.keys.commissioner, { accept: 'text/csv' })).body);
  const streams = [
    ...(await h.sql<{ stream_id: string }[]>`select stream_id from rm_participants.participants`),
    ...(await h.sql<{ stream_id: string }[]>`select stream_id from rm_comparisons.comparison_records`),
  ].map((r) => r.stream_id);
  t.ok(streams.length >= 395, 'there are ids to look for (so this test can fail)');
  for (const text of [json, csv]) {
    for (const id of streams)
      if (text.includes(id) || text.includes(id.replace(/^\w+-/, ''))) t.fail(`stream id ${id} published`);
    for (const ref of [...participantRefs, ...comparisonRefs])
      if (text.includes(ref)) t.fail(`reference ${ref} published`);
    t.notMatch(text, /NG10/, 'the one participant from a rare area is not named');
    t.notMatch(text, new RegExp(PARTNER), 'nor the data partner');
    t.notMatch(text, /participantMean|comparisonMean/, 'no group means in the balance table');
  }
});

await t.test('an erased comparison record leaves later evaluations', async (t) => {
  const before = (await h.getReport(Q1, h.keys.commissioner)).body.population.comparisons;
  const res = await h.post(
    '/v1/events',
    comparisonEvent(
      'ComparisonRecordErased',
      'CMP-0000',
      {
        requestedOn: '2026-11-01',
        basis: 'data-subject-request',
      },
      '2026-11-01T12:00:00Z',
    ),
    h.keys.dataPartner,
  );
  t.equal(res.statusCode, 202);
  posted += 1;
  await projected();
  const after = (await h.getReport(Q1, h.keys.commissioner)).body.population.comparisons;
  t.equal(after, before - 1);
  const [row] =
    await h.sql`select count(*)::int as n from rm_comparisons.comparison_records where erased and gender is null`;
  t.equal(row!.n, 1);
  const again = await h.post(
    '/v1/events',
    comparisonOffence('CMP-0000', '2026-01-01', '2026-02-01'),
    h.keys.dataPartner,
  );
  t.equal(again.statusCode, 409);
  t.equal(again.json().errors[0].rule, 'comparison-erased');
});

await t.test(
  'the comparisons read model rebuilt from the log equals the live one, the erased record included',
  async (t) => {
    t.same(await compareWithRebuild(h.sql, comparisonsProjection, h.vault), []);
  },
);

/** Signs in to the dashboard with a key (the form, its CSRF token and the session cookie), then GETs a page. */
async function dashboardGet(key: string, url: string) {
  const form = await h.app.inject({ method: 'GET', url: '/app/sign-in' });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
  const cookieOf = (res: { headers: Record<string, unknown> }) =>
    ([] as string[])
      .concat((res.headers['set-cookie'] as string | string[] | undefined) ?? [])
      .map((c) => c.split(';')[0])
      .join('; ');
  const signedIn = await h.app.inject({
    method: 'POST',
    url: '/app/sign-in',
    headers: { cookie: cookieOf(form), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ apiKey: key, _csrf: csrf }).toString(),
  });
  return h.app.inject({ method: 'GET', url, headers: { cookie: cookieOf(signedIn) } });
}

await t.test('the dashboard page: the estimate in words, the balance chart, the same figures as the API', async (t) => {
  const res = await dashboardGet(
    h.keys.commissioner,
    `/app/impact?programmeId=${PROGRAMME}&from=2025-01-01&to=2025-03-31`,
  );
  t.equal(res.statusCode, 200);
  const body = res.body;
  t.match(body, /<h1 class="govuk-heading-l">Impact on proven reoffending/);
  t.match(body, /<svg aria-label="Balance of each characteristic before and after matching[^"]*" role="img"/);
  t.match(body, /<svg aria-label="Difference per 100 participants[^"]*" role="img"/);
  const current = (await h.getReport(Q1, h.keys.commissioner)).body;
  const per100 = current.estimate.binary.per100;
  const signed = (x: number) => `${x > 0 ? '+' : ''}${x.toFixed(1)}`;
  t.ok(
    body.includes(`${signed(per100.difference)} (${signed(per100.lower)} to ${signed(per100.upper)})`),
    'the interval as the API gives it',
  );
  t.ok(
    body.includes(current.estimate.binary.wording.replace(/'/g, '&#39;')) ||
      body.includes(current.estimate.binary.wording),
    'the words',
  );
  t.match(body, /href="\/app\/download\/impact.csv\?programmeId=/);
  for (const ref of participantRefs.slice(0, 20)) if (body.includes(ref)) t.fail(`reference ${ref} on the page`);
  const download = await dashboardGet(
    h.keys.commissioner,
    `/app/download/impact.csv?programmeId=${PROGRAMME}&from=2025-01-01&to=2025-03-31`,
  );
  t.equal(download.statusCode, 200);
  t.equal(
    download.body.split('\r\n')[0],
    'measure,participants,comparison,difference,lower,upper,pValue,significant,wording',
  );
  const provider = await dashboardGet(
    h.keys.providerA,
    `/app/impact?programmeId=${PROGRAMME}&from=2025-01-01&to=2025-03-31`,
  );
  t.equal(provider.statusCode, 403, 'providers cannot open the impact page');
  const shifted = await dashboardGet(
    h.keys.commissioner,
    `/app/impact?programmeId=${PROGRAMME}&from=2025-01-02&to=2025-03-31`,
  );
  t.equal(shifted.statusCode, 422);
  t.match(shifted.body, /whole calendar month/);
  const noProgramme = await dashboardGet(h.keys.commissioner, '/app/download/impact.csv?from=2025-01-01&to=2025-03-31');
  t.equal(noProgramme.statusCode, 422, 'a download without a programme is refused, not a server error');
});
