import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { REPORTS } from '@vru/api';
import { Ethnicities, Genders, ReferralSources } from '@vru/contracts';
import { Harness, PROGRAMME, PROGRAMME_2, event } from '@vru/testkit';

/**
 * The adversary of docs/metrics.md ("Disclosure control"): a commissioner key, ordinary GET requests, and a
 * financial year of realistic data in which one young person (T) is alone in July and a second provider has two
 * people in May. The test asks every aligned period, every provider filter and every breakdown of every report,
 * then solves the published figures as linear equations over (month × cell) unknowns: no cell holding one to nine
 * people, and no cell of a month that holds one to nine, may come out. It also plays the finer query sets (single
 * days), zeros beside withheld counts, breakdown presence, totals across reports, attendance and role escalation.
 */
const h = await Harness.start();
t.teardown(() => h.close());

type Json = Record<string, any>;
const RULES = 'vru-sdc-1';
let posted = 0;
// Through the batch endpoint: one request (and one transaction) per thousand events rather than per event.
const postAll = async (events: Json[], key = h.keys.providerA) => {
  await h.postBatchAccepted(events, key);
  posted += events.length;
};

const FY = { from: '2025-04-01', to: '2026-03-31' };
const MONTHS = Array.from({ length: 12 }, (_, i) => {
  const d = new Date(Date.UTC(2025, 3 + i, 1));
  const from = d.toISOString().slice(0, 10);
  return { from, to: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).toISOString().slice(0, 10) };
});
const QUARTERS = [0, 3, 6, 9].map((i) => ({ from: MONTHS[i]!.from, to: MONTHS[i + 2]!.to }));
const PERIODS = [FY, ...QUARTERS, ...MONTHS];
const QUARTER_NAMES = ['2025Q2', '2025Q3', '2025Q4', '2026Q1'];
const monthIndex = (date: string) => MONTHS.findIndex((m) => date >= m.from && date <= m.to);

interface Person {
  ref: string;
  provider: 'prov-a' | 'prov-b';
  programme: string;
  referred: string;
  gender?: string;
  ethnicity?: string;
  source?: string;
  age?: number;
  reoffends?: boolean;
}
const people: Person[] = [];
// Programme 1: twelve people a month in April, May, June, August and September; T alone in July; provider B's two in May.
for (const month of ['04', '05', '06', '08', '09']) {
  for (let i = 1; i <= 12; i++)
    people.push({
      ref: `A${month}-${i}`,
      provider: 'prov-a',
      programme: PROGRAMME,
      referred: `2025-${month}-10`,
      reoffends: i <= 3,
    });
}
people.push({
  ref: 'T',
  provider: 'prov-a',
  programme: PROGRAMME,
  referred: '2025-07-10',
  gender: 'female',
  ethnicity: 'black-caribbean',
  source: 'police',
  age: 16,
  reoffends: true,
});
people.push(
  { ref: 'B1', provider: 'prov-b', programme: PROGRAMME, referred: '2025-05-12' },
  { ref: 'B2', provider: 'prov-b', programme: PROGRAMME, referred: '2025-05-12' },
);
// Programme 2: a large, even programme, where months and quarters are published.
for (const month of ['04', '05', '06']) {
  for (let i = 1; i <= 12; i++)
    people.push({
      ref: `S${month}-${i}`,
      provider: 'prov-a',
      programme: PROGRAMME_2,
      referred: `2025-${month}-03`,
      reoffends: i === 1,
    });
}

const plusDays = (date: string, n: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const offence = (p: Person, offenceDate: string, provenDate: string) => ({
  eventId: randomUUID(),
  type: 'OffenceRecorded',
  schemaVersion: 1,
  occurredAt: '2026-02-10T10:00:00Z',
  programmeId: p.programme,
  participantRef: p.ref,
  providerId: p.provider,
  data: {
    offenceDate,
    provenDate,
    disposal: 'conviction',
    offenceCategory: 'knife-or-sharp-object-enabled',
    seriousViolence: true,
  },
});

await t.test('a financial year of realistic data through HTTP, Kafka and the projectors', async (t) => {
  await h.startRelay();
  await h.startProjectors();
  await postAll(
    [
      {
        eventId: randomUUID(),
        type: 'GrantAwarded',
        schemaVersion: 1,
        occurredAt: '2025-04-01T09:00:00Z',
        grantRef: 'G-A-2025',
        data: {
          providerId: 'prov-a',
          programmeId: PROGRAMME,
          amountPence: 9_000_000,
          startDate: FY.from,
          endDate: FY.to,
          targetParticipants: 60,
        },
      },
      ...QUARTER_NAMES.map((quarter) => ({
        eventId: randomUUID(),
        type: 'DeliveryTargetsSet',
        schemaVersion: 1,
        occurredAt: '2025-04-01T09:00:00Z',
        grantRef: 'G-A-2025',
        data: { quarter, referrals: 15, enrolments: 15, sessionsDelivered: 30, completions: 10, spendPence: 1_000_000 },
      })),
    ],
    h.keys.commissioner,
  );
  const byProvider = new Map<string, Json[]>();
  for (const p of people) {
    const o = { programmeId: p.programme };
    const enrolled = plusDays(p.referred, 5);
    const key = p.provider === 'prov-a' ? h.keys.providerA : h.keys.providerB;
    const events = byProvider.get(key) ?? [];
    byProvider.set(key, events);
    events.push(
      event.referred(p.ref, {
        ...o,
        data: {
          referralDate: p.referred,
          gender: p.gender ?? 'male',
          ethnicity: p.ethnicity ?? 'white-british',
          referralSource: p.source ?? 'school',
          ageAtReferral: p.age ?? 15,
          postcodeDistrict: p.ref === 'T' ? 'DE1' : 'DE23',
        },
      }),
      event.consent(p.ref, 'evaluation', { ...o, data: { recordedOn: p.referred } }),
      event.enrolled(p.ref, { ...o, data: { startDate: enrolled } }),
      event.attended(p.ref, 's-1', plusDays(enrolled, 3), o),
      event.attended(p.ref, 's-2', plusDays(enrolled, 8), o),
      event.missed(p.ref, 'm-1', plusDays(enrolled, 12), o),
      {
        ...event.enrolled(p.ref, o),
        type: 'OutcomeMeasured',
        schemaVersion: 2,
        data: { instrument: 'swemwbs', timepoint: 'baseline', measuredOn: enrolled, score: 18 },
      },
      {
        ...event.enrolled(p.ref, o),
        type: 'OutcomeMeasured',
        schemaVersion: 2,
        data: { instrument: 'swemwbs', timepoint: 'exit', measuredOn: '2025-12-01', score: p.ref === 'T' ? 29 : 21 },
      },
      event.exited(p.ref, {
        ...o,
        data: { exitDate: '2025-12-01', reason: p.ref.endsWith('-2') ? 'disengaged' : 'completed' },
      }),
    );
  }
  for (const [key, events] of byProvider) await postAll(events, key);
  await postAll(
    people.filter((p) => p.reoffends).map((p) => offence(p, plusDays(p.referred, 60), plusDays(p.referred, 90))),
    h.keys.dataPartner,
  );
  await h.waitForProjections(['participants', 'attendance', 'outcomes', 'offences', 'spend'], posted);
  t.equal(await h.count('rm_participants.participants'), people.length);
});

const get = async (url: string, key = h.keys.commissioner) => h.getReport(url, key);
const q = (base: string, params: Record<string, string | undefined>) =>
  `${base}?${new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined) as [string, string][]).toString()}`;

await t.test(
  'finer query sets are refused with 422 naming the field: single days, shifted and unaligned periods, no period',
  async (t) => {
    const cases: [string, string][] = [
      [q('/v1/reports/engagement', { from: '2025-07-15', to: '2025-07-15' }), '/querystring/from'],
      [q('/v1/reports/engagement', { from: '2025-07-01', to: '2025-07-14' }), '/querystring/to'],
      [q('/v1/reports/outcomes', { from: '2025-07-15', to: '2025-07-15' }), '/querystring/from'],
      [q('/v1/reports/attendance', { from: '2025-07-18', to: '2025-07-18' }), '/querystring/from'],
      [q('/v1/reports/reoffending', { cohortFrom: '2025-07-20', cohortTo: '2025-07-20' }), '/querystring/cohortFrom'],
      [q('/v1/reports/reoffending', { cohortFrom: '2025-01-01', cohortTo: '2025-12-31' }), '/querystring/cohortTo'],
      [q('/v1/reports/spend', { from: '2025-07-15', to: '2025-07-15' }), '/querystring/from'],
      [q('/v1/reports/data-quality', { from: '2025-07-15', to: '2025-07-16' }), '/querystring/from'],
      ['/v1/reports/engagement', '/querystring/from'],
      ['/v1/reports/attendance', '/querystring/from'],
    ];
    for (const [url, field] of cases) {
      const res = await get(url);
      t.equal(res.status, 422, url);
      t.equal(res.body.errors?.[0]?.field, field, `${url} names ${field}`);
      t.match(res.body.errors?.[0]?.rule, /^period-(not-aligned|required)$/);
    }
    const district = await get(q('/v1/reports/engagement', { ...FY, groupBy: 'postcode-district' }));
    t.same(
      [district.status, district.body.errors?.[0]?.rule],
      [422, 'no-fixed-vocabulary'],
      'postcode districts have no fixed vocabulary',
    );
    t.equal(
      (await get(q('/v1/reports/engagement', { from: '2025-07-15', to: '2025-07-15' }), h.keys.providerA)).status,
      200,
      "a provider's own figures keep every date",
    );
  },
);

/** The row space of published answers (Gaussian elimination in floating point; the systems are small and 0/1). */
class Span {
  private readonly basis: { pivot: number; v: number[] }[] = [];
  private reduce(v: readonly number[]): number[] {
    const x = [...v];
    for (const b of this.basis) {
      const f = x[b.pivot]!;
      if (Math.abs(f) > 1e-9) for (let j = 0; j < x.length; j++) x[j]! -= f * b.v[j]!;
    }
    return x;
  }
  constructor(rows: readonly number[][]) {
    for (const r of rows) {
      const x = this.reduce(r);
      const pivot = x.findIndex((e) => Math.abs(e) > 1e-9);
      if (pivot < 0) continue;
      const v = x.map((e) => e / x[pivot]!);
      for (const b of this.basis) {
        const f = b.v[pivot]!;
        if (Math.abs(f) > 1e-9) for (let j = 0; j < v.length; j++) b.v[j]! -= f * v[j]!;
      }
      this.basis.push({ pivot, v });
    }
  }
  /** Whether `target` is a linear combination of the answers: its value can be computed from theirs. */
  contains(target: readonly number[]): boolean {
    return this.reduce(target).every((e) => Math.abs(e) < 1e-9);
  }
}

/**
 * One figure's published answers as equations over (month × key) cells. Keys are providers or breakdown values.
 * `population(month, key)` is the number of people of the cell (what the adversary wants to get below).
 */
class System {
  readonly equations = new Map<string, number[][]>();
  constructor(
    readonly name: string,
    readonly keys: readonly string[],
    readonly population: (month: number, key: string) => number,
  ) {}
  add(figure: string, period: { from: string; to: string }, keys: readonly string[] | null, value: unknown) {
    if (typeof value !== 'number') return;
    const v = MONTHS.flatMap((m) =>
      this.keys.map((k) => (m.from >= period.from && m.to <= period.to && (keys === null || keys.includes(k)) ? 1 : 0)),
    );
    this.equations.set(figure, [...(this.equations.get(figure) ?? []), v]);
  }
  /** Every (month, key) cell that must stay hidden: a cell of 1–9 people, or any cell of a month of 1–9 people. */
  sensitive(): { month: number; key: string }[] {
    const out: { month: number; key: string }[] = [];
    MONTHS.forEach((_, m) => {
      const monthTotal = this.keys.reduce((n, k) => n + this.population(m, k), 0);
      for (const k of this.keys) {
        const n = this.population(m, k);
        if ((n >= 1 && n <= 9) || (monthTotal >= 1 && monthTotal <= 9)) out.push({ month: m, key: k });
      }
    });
    return out;
  }
  attack(t: Test) {
    const cells = this.sensitive();
    t.ok(cells.length > 0, `${this.name}: ${cells.length} sensitive cells to attack`);
    let equations = 0;
    for (const [figure, rows] of this.equations) {
      equations += rows.length;
      const span = new Span(rows);
      for (const c of cells) {
        const target = MONTHS.flatMap((_, m) => this.keys.map((k) => (m === c.month && k === c.key ? 1 : 0)));
        if (span.contains(target))
          t.fail(
            `${this.name}: ${figure} of ${MONTHS[c.month]!.from.slice(0, 7)} / ${c.key} is recoverable from ${rows.length} answers`,
          );
      }
    }
    t.ok(equations > 0, `${this.name}: ${equations} published answers used`);
  }
}

const providers = ['prov-a', 'prov-b'] as const;
const byProvider = (date: (p: Person) => string) => (m: number, key: string) =>
  people.filter((p) => p.programme === PROGRAMME && p.provider === key && monthIndex(date(p)) === m).length;

const NUMERIC_PATHS = {
  engagement: [
    'referrals',
    'consented',
    'enrolled',
    'attended',
    'completed',
    'exitReasons.completed',
    'exitReasons.disengaged',
  ],
  reoffending: ['cohortSize', 'reoffenders', 'reoffences', 'seriousViolence.reoffenders', 'seriousViolence.reoffences'],
  attendance: ['participants', 'sessionsAttended', 'sessionsMissed'],
  outcomes: ['pairs', 'missingPairs'],
};
const at = (row: Json, path: string) => path.split('.').reduce<any>((o, k) => (o == null ? undefined : o[k]), row);
const rowOf = (body: Json, group?: string) =>
  (body.rows as Json[]).find((r) => r.programmeId === PROGRAMME && (group === undefined || r.group === group));

const answers: { url: string; body: Json }[] = [];
const ask = async (url: string) => {
  const res = await get(url);
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${JSON.stringify(res.body)}`);
  answers.push({ url, body: res.body });
  return res.body as Json;
};

await t.test('differencing: nested periods, provider filters and reports sharing a population', async (t) => {
  const enrolledOn = (p: Person) => plusDays(p.referred, 5);
  const sessionOn = (p: Person) => plusDays(p.referred, 8);
  const systems = {
    engagement: new System(
      'engagement × provider (referral month)',
      providers,
      byProvider((p) => p.referred),
    ),
    reoffending: new System('reoffending × provider (index month)', providers, byProvider(enrolledOn)),
    attendance: new System('attendance × provider (session month)', providers, byProvider(sessionOn)),
    outcomes: new System('outcomes × provider (enrolment month)', providers, byProvider(enrolledOn)),
    enrolments: new System('enrolments × provider (quarterly return, spend)', providers, byProvider(enrolledOn)),
  };
  let published = 0;
  for (const period of PERIODS) {
    for (const provider of [undefined, ...providers]) {
      const keys = provider ? [provider] : null;
      const e = await ask(q('/v1/reports/engagement', { ...period, providerId: provider }));
      const r = await ask(
        q('/v1/reports/reoffending', { cohortFrom: period.from, cohortTo: period.to, providerId: provider }),
      );
      const a = await ask(q('/v1/reports/attendance', { ...period, providerId: provider }));
      const o = await ask(q('/v1/reports/outcomes', { ...period, providerId: provider }));
      const s = await ask(q('/v1/reports/spend', { ...period, providerId: provider }));
      for (const [name, body] of [
        ['engagement', e],
        ['reoffending', r],
        ['attendance', a],
        ['outcomes', o],
      ] as const) {
        const row = rowOf(body);
        if (!row) continue;
        for (const path of NUMERIC_PATHS[name]) {
          systems[name].add(path, period, keys, at(row, path));
          if (typeof at(row, path) === 'number') published += 1;
        }
      }
      // Spend counts provider A's enrolments within its grant: the same population as the quarterly return's new enrolments.
      const grant = (s.rows as Json[]).find((g) => g.grantRef === 'G-A-2025');
      if (grant) systems.enrolments.add('enrolled', period, ['prov-a'], grant.enrolled);
    }
  }
  for (const [i, quarter] of QUARTER_NAMES.entries()) {
    for (const provider of [undefined, ...providers]) {
      const body = await ask(
        q('/v1/reports/quarterly-return', { quarter, programmeId: PROGRAMME, providerId: provider }),
      );
      const row = rowOf(body);
      if (!row) continue;
      const keys = provider ? [provider] : null;
      systems.engagement.add('referrals', QUARTERS[i]!, keys, row.referred);
      systems.enrolments.add('enrolled', QUARTERS[i]!, keys, row.newlyEnrolled);
    }
  }
  // Contract performance counts the grant's (provider A's) people per quarter; its running sums and forecasts cover the
  // grant year (here the financial year) up to the quarter.
  for (const [i, quarter] of QUARTER_NAMES.entries()) {
    const body = await ask(q('/v1/reports/performance', { quarter, grantRef: 'G-A-2025' }));
    const toDate = { from: FY.from, to: QUARTERS[i]!.to };
    // The same populations as engagement's referrals and the enrolments of the quarterly return and spend: one figure each.
    const shared = [
      ['referrals', 'referrals', systems.engagement],
      ['enrolments', 'enrolled', systems.enrolments],
    ] as const;
    for (const [indicator, figure, system] of shared) {
      const row = (body.rows as Json[]).find((r) => r.indicator === indicator);
      t.ok(row, `performance ${quarter} answers ${indicator}`);
      for (const f of ['actual', 'variance']) system.add(figure, QUARTERS[i]!, ['prov-a'], row?.[f]);
      for (const f of ['yearToDateActual', 'yearToDateVariance', 'forecastToYearEnd'])
        system.add(figure, toDate, ['prov-a'], row?.[f]);
    }
  }
  for (const system of Object.values(systems)) system.attack(t);
  t.ok(published > 20, `${published} figures of programme 1 were published: the layer withholds only what it must`);
  // The large programme is answered at every level.
  const may = await ask(
    q('/v1/reports/engagement', { from: '2025-05-01', to: '2025-05-31', programmeId: PROGRAMME_2 }),
  );
  t.same([may.rows[0].referrals, may.rows[0].enrolled], [12, 12], 'a month of twelve people is published');
});

await t.test(
  'breakdowns: every value answered, present or not; no cell can be solved from totals and other groups',
  async (t) => {
    const dimensions = {
      gender: {
        field: 'gender' as const,
        vocabulary: [...Genders, 'unknown'],
        value: (p: Person) => p.gender ?? 'male',
      },
      ethnicity: {
        field: 'ethnicity' as const,
        vocabulary: [...Ethnicities, 'unknown'],
        value: (p: Person) => p.ethnicity ?? 'white-british',
      },
      'referral-source': {
        field: 'source' as const,
        vocabulary: [...ReferralSources, 'unknown'],
        value: (p: Person) => p.source ?? 'school',
      },
      'age-band': {
        field: 'age' as const,
        vocabulary: ['under-10', '10-13', '14-17', '18-21', '22-25', '26+', 'unknown'],
        value: () => '14-17',
      },
    };
    for (const [by, d] of Object.entries(dimensions)) {
      const population = (m: number, key: string) =>
        people.filter((p) => p.programme === PROGRAMME && monthIndex(p.referred) === m && d.value(p) === key).length;
      const system = new System(`engagement by ${by}`, d.vocabulary, population);
      for (const period of PERIODS) {
        const total = await ask(q('/v1/reports/engagement', { ...period }));
        for (const path of NUMERIC_PATHS.engagement) system.add(path, period, null, at(rowOf(total) ?? {}, path));
        const grouped = await ask(q('/v1/reports/engagement', { ...period, groupBy: by }));
        const groups = (grouped.rows as Json[]).filter((r) => r.programmeId === PROGRAMME).map((r) => r.group);
        t.same(groups, d.vocabulary, `${by} ${period.from}..${period.to}: every value answered`);
        for (const group of d.vocabulary) {
          for (const path of NUMERIC_PATHS.engagement)
            system.add(path, period, [group], at(rowOf(grouped, group) ?? {}, path));
        }
        if (by === 'age-band' && period.to.slice(0, 7) !== period.from.slice(0, 7)) {
          const qi = QUARTERS.findIndex((x) => x.from === period.from && x.to === period.to);
          if (qi >= 0) {
            const ret = rowOf(
              await ask(q('/v1/reports/quarterly-return', { quarter: QUARTER_NAMES[qi]!, programmeId: PROGRAMME })),
            );
            for (const band of d.vocabulary) system.add('referrals', period, [band], ret?.referredByAgeBand?.[band]);
          }
        }
      }
      system.attack(t);
    }
    const female = await ask(q('/v1/reports/engagement', { ...FY, groupBy: 'gender' }));
    t.same(
      (female.rows as Json[]).filter((r) => r.programmeId === PROGRAMME).map((r) => r.referrals),
      Array(6).fill(null),
      'one young woman in the year: the gender breakdown is withheld whole, not answered only where she is',
    );
  },
);

await t.test(
  'no zero, rate or count beside a withheld population; every answer passed through the layer',
  async (t) => {
    let withheldRows = 0;
    for (const { url, body } of answers) {
      t.same(body.disclosure, { rules: RULES, applied: true }, `${url} carries the rule version`);
      for (const row of body.rows as Json[]) {
        const population =
          body.report === 'engagement'
            ? row.referrals
            : body.report === 'reoffending'
              ? row.cohortSize
              : body.report === 'attendance'
                ? row.participants
                : body.report === 'spend'
                  ? row.enrolled
                  : undefined;
        if (population !== null) continue;
        withheldRows += 1;
        const figures =
          body.report === 'engagement'
            ? [
                row.consented,
                row.enrolled,
                row.attended,
                row.completed,
                row.completionRate,
                row.medianDaysReferralToEnrolment,
                ...Object.values(row.exitReasons),
              ]
            : body.report === 'reoffending'
              ? [
                  row.reoffenders,
                  row.reoffences,
                  row.binaryRate,
                  row.frequencyPerPerson,
                  ...Object.values(row.seriousViolence),
                ]
              : body.report === 'attendance'
                ? [row.sessionsAttended, row.sessionsMissed, row.attendanceRate]
                : [row.completed, row.costPerEnrolledPence, row.costPerCompletionPence];
        if (figures.some((f) => f !== null))
          t.fail(`${url}: a figure beside a withheld population: ${JSON.stringify(row)}`);
      }
      if (body.report === 'engagement') {
        for (const row of body.rows as Json[]) {
          const stages = [row.referrals, row.consented, row.enrolled, row.attended, row.completed];
          const firstNull = stages.indexOf(null);
          if (firstNull >= 0 && stages.slice(firstNull).some((s) => s !== null))
            t.fail(`${url}: a stage after a withheld one: ${JSON.stringify(stages)}`);
        }
      }
    }
    t.ok(withheldRows > 50, `${withheldRows} withheld rows checked`);
    const t7 = await ask(q('/v1/reports/reoffending', { cohortFrom: '2025-07-01', cohortTo: '2025-07-31' }));
    t.same(
      [t7.rows[0].cohortSize, t7.rows[0].reoffenders, t7.rows[0].seriousViolence.reoffenders],
      [null, null, null],
      "T's month: neither reoffended nor not",
    );
    t.equal(
      t7.rows[0].finalOn,
      '2027-01-31',
      "finalOn of a withheld cohort is the empty cohort's, not T's index date + 18 months",
    );
  },
);

await t.test("every report route and the dashboard's report functions go through the layer", async (t) => {
  const queries: Record<string, string> = {
    '/v1/reports/attendance': `from=${FY.from}&to=${FY.to}`,
    '/v1/reports/engagement': `from=${FY.from}&to=${FY.to}`,
    '/v1/reports/outcomes': `from=${FY.from}&to=${FY.to}`,
    '/v1/reports/reoffending': `cohortFrom=${FY.from}&cohortTo=${FY.to}`,
    '/v1/reports/spend': `from=${FY.from}&to=${FY.to}`,
    '/v1/reports/data-quality': `from=${FY.from}&to=${FY.to}`,
    '/v1/reports/quarterly-return': 'quarter=2025Q3',
    '/v1/reports/performance': 'quarter=2025Q3',
    '/v1/reports/impact': `programmeId=${PROGRAMME}&cohortFrom=${FY.from}&cohortTo=${FY.to}`,
  };
  const routes = h.app.protectedRoutes.filter((r) => r.method === 'GET' && r.url.startsWith('/v1/reports/'));
  t.same(
    routes.map((r) => r.url).sort(),
    Object.keys(queries).sort(),
    'every report route is attacked here (add a new one to this list)',
  );
  for (const route of routes) {
    const key = route.roles.includes('commissioner') ? h.keys.commissioner : h.keys.funder;
    const json = await h.getReport(`${route.url}?${queries[route.url]}`, key);
    t.equal(json.status, 200, route.url);
    t.same(json.body.disclosure, { rules: RULES, applied: true }, `${route.url}: JSON`);
    const csv = await h.getReport(`${route.url}?${queries[route.url]}`, key, { accept: 'text/csv' });
    t.equal(csv.headers['x-disclosure-control'], `${RULES}; applied=true`, `${route.url}: CSV`);
    if (!route.roles.includes('provider')) continue;
    const own = await h.getReport(`${route.url}?${queries[route.url]}`, h.keys.providerA);
    t.same(
      own.body.disclosure,
      { rules: RULES, applied: false },
      `${route.url}: a provider's own figures say the layer did not apply`,
    );
  }
  const principal = { keyId: 'dashboard', role: 'commissioner' as const, providerId: null };
  for (const [name, report] of Object.entries(REPORTS)) {
    const out = (await report.run(h.sql, principal, { programmeId: PROGRAMME, from: FY.from, to: FY.to })) as {
      disclosure?: unknown;
    };
    t.same(out.disclosure, { rules: RULES, applied: true }, `dashboard ${name}`);
  }
  const empty = await h.getReport(
    q('/v1/reports/attendance', { from: '2024-04-01', to: '2025-03-31' }),
    h.keys.commissioner,
    { accept: 'text/csv' },
  );
  t.equal(
    empty.body,
    'programmeId,participants,sessionsAttended,sessionsMissed,attendanceRate\r\n',
    'an empty attendance CSV keeps its header line',
  );
});

await t.test('role escalation: a commissioner cannot mint or rotate a provider key', async (t) => {
  const minted = await h.post(
    '/v1/admin/keys',
    { role: 'provider', providerId: 'prov-a', label: 'escalation' },
    h.keys.commissioner,
  );
  t.equal(minted.statusCode, 403);
  t.equal(minted.json().errors[0].rule, 'role-not-grantable');
  const listed = await h.get('/v1/admin/keys?role=provider', h.keys.commissioner);
  const providerKey = listed.json().keys.find((k: Json) => k.providerId === 'prov-a');
  t.ok(providerKey, 'the commissioner can see provider keys exist');
  t.equal(
    (await h.post(`/v1/admin/keys/${providerKey.keyId}/rotate`, { graceHours: 1 }, h.keys.commissioner)).statusCode,
    403,
    'nor rotate one into a new key',
  );
  t.equal(
    (await h.post('/v1/admin/keys', { role: 'funder', label: 'a funder' }, h.keys.commissioner)).statusCode,
    201,
    'a commissioner still issues funder keys',
  );
});

t.end();
