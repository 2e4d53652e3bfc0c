import { randomUUID } from 'node:crypto';
import t from 'tap';
import { eventDefinition } from '@vru/contracts';
import { auditSigningKeys, startFrozenReturnSigner } from '@vru/event-store';
import { parseVerifierKey, runVerifier, verifyFrozenReturn } from '@vru/verifier';
import { Harness, PROGRAMME, event } from '@vru/testkit';

/**
 * Frozen returns and restatements on a real PostgreSQL and Kafka (docs/metrics.md, "Frozen returns and
 * restatements"): a commissioner freezes the 2026Q3 quarterly return; late submissions, a spend correction, a
 * consent withdrawal and an erasure arrive; the return is served byte for byte as frozen, its restatement names
 * what moved without naming anyone, and its signature verifies with the public key until a DBA edits a figure.
 */
const h = await Harness.start();
t.teardown(() => h.close());

type Json = Record<string, any>;
let posted = 0;
const postAll = async (events: Json[], key: string) => {
  await h.postBatchAccepted(events, key);
  posted += events.length;
};
const projected = () => h.waitForProjections(['participants', 'attendance', 'spend'], posted);
const grantEvent = (type: string, data: Json, eventId: string = randomUUID()): Json => ({
  eventId,
  type,
  schemaVersion: eventDefinition(type)!.latest,
  occurredAt: '2026-10-10T10:00:00Z',
  grantRef: 'G-R-A',
  data,
});

/** Referred 10 July 2026 aged 15 with evaluation consent, enrolled 20 July in the community, one session on 1 August. */
const person = (ref: string, referralDate = '2026-07-10'): Json[] => [
  event.referred(ref, { data: { referralDate } }),
  event.consent(ref, 'evaluation', { data: { recordedOn: referralDate } }),
  event.enrolled(ref, { data: { startDate: '2026-07-20' } }),
  event.attended(ref, 's-1', '2026-08-01'),
];
const correctedSpend = randomUUID();
const FREEZE = { report: 'quarterly-return', query: { quarter: '2026Q3' } };
let returnId = '';
let frozenBody = '';
const scopedReturns: string[] = [];

await t.test('seeding 22 people at two providers and a grant, through HTTP, Kafka and the projectors', async (t) => {
  await h.startRelay();
  await h.startProjectors();
  for (let i = 1; i <= 12; i++) await postAll(person(`RA${i}`), h.keys.providerA);
  for (let i = 1; i <= 10; i++) await postAll(person(`RB${i}`), h.keys.providerB);
  await postAll(
    [
      grantEvent('GrantAwarded', {
        providerId: 'prov-a',
        programmeId: PROGRAMME,
        amountPence: 5_000_000,
        startDate: '2026-04-01',
        endDate: '2027-03-31',
        targetParticipants: 20,
      }),
    ],
    h.keys.commissioner,
  );
  await postAll(
    [
      grantEvent('SpendRecorded', {
        amountPence: 400_000,
        category: 'staff',
        periodStart: '2026-07-01',
        periodEnd: '2026-07-31',
        evidenceRef: 'INV-7',
      }),
      grantEvent(
        'SpendRecorded',
        {
          amountPence: 100_000,
          category: 'staff',
          periodStart: '2026-09-01',
          periodEnd: '2026-09-30',
          evidenceRef: 'INV-9',
        },
        correctedSpend,
      ),
    ],
    h.keys.providerA,
  );
  await projected();
  t.equal(await h.count('rm_participants.participants'), 22);
});

await t.test('who may freeze and read returns, and bad input', async (t) => {
  t.equal((await h.post('/v1/returns', FREEZE, h.keys.providerA)).statusCode, 403, 'a provider freezes nothing');
  t.equal(
    (await h.post('/v1/returns', FREEZE, h.keys.funder)).statusCode,
    403,
    'a funder reads returns but does not freeze them',
  );
  t.equal(
    (await h.get('/v1/returns', h.keys.providerA)).statusCode,
    403,
    'a provider reads no returns (its own figures it reads live)',
  );
  const bad = await h.post(
    '/v1/returns',
    { report: 'quarterly-return', query: { quarter: '2026-Q3' } },
    h.keys.commissioner,
  );
  t.equal(bad.statusCode, 422);
  t.match(bad.headers['content-type'], /application\/problem\+json/);
  t.match(bad.json().errors, [{ field: '/query/quarter', rule: 'string-pattern' }], 'the problem names the field');
  const unknown = await h.post(
    '/v1/returns',
    { report: 'engagement', query: { quarter: '2026Q3' } },
    h.keys.commissioner,
  );
  t.equal(unknown.statusCode, 422);
  t.match(unknown.json().errors, [{ field: '/report', rule: 'enum' }]);
  t.equal(await h.count('frozen_returns'), 0, 'nothing stored by a refused request');
  t.equal((await h.get(`/v1/returns/${randomUUID()}`, h.keys.commissioner)).statusCode, 404);
});

await t.test('a commissioner freezes the quarterly return as they see it', async (t) => {
  const live = await h.getReport('/v1/reports/quarterly-return?quarter=2026Q3', h.keys.commissioner);
  const res = await h.post('/v1/returns', FREEZE, h.keys.commissioner);
  t.equal(res.statusCode, 201, 'stored');
  const r = res.json();
  returnId = r.id;
  t.same(r.figures, live.body, 'the figures are the report as the commissioner reads it, disclosure control applied');
  t.match(r, {
    report: 'quarterly-return',
    query: { quarter: '2026Q3' },
    role: 'commissioner',
    asOf: /^\d{4}-\d{2}-\d{2}$/,
    disclosureRules: 'vru-sdc-1',
    codeVersion: /^0\.1\.0\+/,
    figuresSha256: /^[0-9a-f]{64}$/,
    signature: null,
  });
  t.equal(r.figures.suppressed, true);
  t.equal(
    r.position,
    String(Math.min(...live.body.computedAt.map((c: Json) => Number(c.position)))),
    'the lowest position of its read models',
  );
  t.match(r.figures.rows[0], {
    programmeId: PROGRAMME,
    referred: 22,
    active: 22,
    grants: { 'G-R-A': { spentInQuarterPence: 500_000 } },
  });
  const list = await h.getReport('/v1/returns', h.keys.funder);
  t.same(
    list.body.returns.map((x: Json) => [x.id, x.signed]),
    [[returnId, false]],
    'a funder lists it, not yet signed',
  );
});

await t.test(
  'the relay signs it with the audit key; the public key verifies it, offline and with vru-verify',
  async (t) => {
    t.same(await h.signFrozenReturns(), { signed: 1, refused: [] });
    t.same(await h.signFrozenReturns(), { signed: 0, refused: [] }, 'signed once');
    const res = await h.get(`/v1/returns/${returnId}`, h.keys.commissioner);
    frozenBody = res.body;
    const r = res.json();
    t.match(r.signature, { note: /^vru\.frozen-return\/v1\nid / });
    const key = parseVerifierKey(h.config.AUDIT_PUBLIC_KEY!);
    t.same(verifyFrozenReturn(r, key), { ok: true, problems: [] });
    const out: string[] = [];
    const status = await runVerifier(['return', 'R.json'], {
      readFile: async () => frozenBody,
      writeFile: async () => {},
      fetch: async () => {
        throw new Error('offline');
      },
      env: { AUDIT_PUBLIC_KEY: h.config.AUDIT_PUBLIC_KEY },
      out: (l) => out.push(l),
      err: (l) => out.push(l),
    });
    t.equal(status, 0, out.join('\n'));
    t.match(out[0], /^verified: frozen return /);
  },
);

await t.test('late submissions, a correction, a consent withdrawal and an erasure arrive', async (t) => {
  // Two people referred in the quarter, submitted after the freeze (4 events each, 8 late submissions at provider A).
  await postAll([...person('RA13', '2026-07-12'), ...person('RA14', '2026-07-12')], h.keys.providerA);
  await postAll(
    [
      grantEvent('SpendCorrected', {
        correctsEventId: correctedSpend,
        amountPence: 150_000,
        category: 'staff',
        reason: 'Invoice amended',
      }),
    ],
    h.keys.providerA,
  );
  await postAll([event.withdrawn('RA1')], h.keys.providerA);
  const erased = await h.post('/v1/participants/RB1/erasure', { programmeId: PROGRAMME }, h.keys.providerB);
  t.equal(erased.statusCode, 202, 'erasure accepted');
  posted += 1;
  await projected();
});

await t.test('the frozen return is served byte for byte as it was', async (t) => {
  const res = await h.get(`/v1/returns/${returnId}`, h.keys.commissioner);
  t.equal(res.body, frozenBody);
  const live = await h.getReport('/v1/reports/quarterly-return?quarter=2026Q3', h.keys.commissioner);
  t.equal(live.body.rows[0].referred, 24, 'while the same report now has moved');
});

await t.test('the restatement names what moved each figure, and nobody', async (t) => {
  const res = await h.getReport(`/v1/returns/${returnId}/restatement`, h.keys.funder);
  t.equal(res.status, 200);
  const r = res.body;
  t.equal(r.frozenPosition, JSON.parse(frozenBody).position);
  const cell = (name: string) => r.changed.find((c: Json) => c.row === PROGRAMME && c.cell === name);
  t.match(cell('referred'), { frozen: 22, now: 24 });
  t.same(
    cell('referred').movedBy,
    [
      { class: 'late-submission', providerId: 'prov-a', events: 8 },
      { class: 'consent-withdrawal', providerId: null, events: null },
      { class: 'erasure', providerId: null, events: null },
    ],
    'participant events since the freeze: erasures and withdrawals over all providers, fewer than 10 withheld',
  );
  t.same(
    cell('grants.G-R-A.spentInQuarterPence'),
    {
      row: PROGRAMME,
      cell: 'grants.G-R-A.spentInQuarterPence',
      frozen: 500_000,
      now: 550_000,
      movedBy: [
        { class: 'correction', providerId: 'prov-a', events: null },
        { class: 'consent-withdrawal', providerId: null, events: null },
        { class: 'erasure', providerId: null, events: null },
      ],
    },
    "a spend cell is moved by the grant's events only; erasures and withdrawals are answered whether there were any or not",
  );
  const text = JSON.stringify(r);
  t.notMatch(text, /RA1|RB1|participant-/, 'no participant reference or stream id');
  t.equal((await h.get(`/v1/returns/${returnId}/restatement`, h.keys.providerA)).statusCode, 403);
});

/** A signed-in dashboard session for a key (the sign-in form, as a browser would post it). */
async function session(apiKey: string): Promise<string> {
  const cookieOf = (res: { headers: Record<string, unknown> }) =>
    [res.headers['set-cookie']]
      .flat()
      .filter(Boolean)
      .map((c) => String(c).split(';')[0])
      .join('; ');
  const form = await h.app.inject({ method: 'GET', url: '/app/sign-in' });
  const signIn = await h.app.inject({
    method: 'POST',
    url: '/app/sign-in',
    headers: { cookie: cookieOf(form), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      apiKey,
      _csrf: /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '',
    }).toString(),
  });
  return cookieOf(signIn);
}
const text = (body: string) =>
  body
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/ ;/g, ';');

await t.test('the Returns pages: the list with its restatement summary, and the return figure by figure', async (t) => {
  const funder = await session(h.keys.funder);
  const list = await h.app.inject({ method: 'GET', url: '/app/returns', headers: { cookie: funder } });
  t.equal(list.statusCode, 200);
  t.match(list.body, 'href="/app/returns"', 'Returns is in the menu');
  t.match(list.body, `href="/app/returns/${returnId}"`);
  const restated = (await h.getReport(`/v1/returns/${returnId}/restatement`, h.keys.funder)).body;
  t.match(text(list.body), `${restated.changed.length} of ${restated.cellsCompared} figures changed`);
  const one = await h.app.inject({ method: 'GET', url: `/app/returns/${returnId}`, headers: { cookie: funder } });
  t.equal(one.statusCode, 200);
  const page = text(one.body);
  t.match(
    page,
    /referred 22 24 late submissions: prov-a 8; consent withdrawals: all providers \[c\]; erasures: all providers \[c\]/,
  );
  t.match(
    page,
    /grants\.G-R-A\.spentInQuarterPence 500000 550000 corrections: prov-a \[c\]; consent withdrawals: all providers \[c\]/,
  );
  t.match(page, /sessionsDelivered 22 24 late submissions: prov-a 8/);
  t.match(page, /completions \[c\] \[c\] Unchanged/);
  t.match(page, 'Signed with the audit key');
  const provider = await session(h.keys.providerA);
  t.equal((await h.app.inject({ method: 'GET', url: '/app/returns', headers: { cookie: provider } })).statusCode, 403);
  t.notMatch(
    (await h.app.inject({ method: 'GET', url: '/app/contracts', headers: { cookie: provider } })).body,
    'href="/app/returns"',
    'a provider has no Returns in its menu',
  );
});

await t.test(
  'an attacker who freezes one return per provider cannot tell at which provider someone was erased',
  async (t) => {
    // Two provider-scoped returns frozen at the same moment; then one late referral at each provider, and one erasure at
    // provider B only. The two restatements must read the same for erasures: no provider named, no presence given away.
    const scoped = async (providerId: string) => {
      const res = await h.post(
        '/v1/returns',
        { report: 'quarterly-return', query: { quarter: '2026Q3', providerId } },
        h.keys.commissioner,
      );
      t.equal(res.statusCode, 201);
      return res.json().id as string;
    };
    const [a, b] = [await scoped('prov-a'), await scoped('prov-b')];
    await postAll(person('RA15', '2026-07-12'), h.keys.providerA);
    await postAll(person('RB11', '2026-07-12'), h.keys.providerB);
    t.equal(
      (await h.post('/v1/participants/RB2/erasure', { programmeId: PROGRAMME }, h.keys.providerB)).statusCode,
      202,
    );
    posted += 1;
    await projected();
    const referred = async (id: string) =>
      (await h.getReport(`/v1/returns/${id}/restatement`, h.keys.commissioner)).body.changed.find(
        (c: Json) => c.cell === 'referred',
      );
    const [ra, rb] = [await referred(a), await referred(b)];
    t.match(ra, { frozen: 14, now: 15 });
    t.match(rb, { frozen: 10, now: 11 });
    const personal = (r: Json) =>
      r.movedBy.filter((m: Json) => m.class === 'erasure' || m.class === 'consent-withdrawal');
    t.same(personal(rb), personal(ra), "provider B's erasure reads exactly as provider A's none");
    t.same(personal(ra), [
      { class: 'consent-withdrawal', providerId: null, events: null },
      { class: 'erasure', providerId: null, events: null },
    ]);
    scopedReturns.push(a, b);
  },
);

await t.test(
  "the relay's signer signs pending returns on its timer, and never one whose figures no longer match their digest",
  async (t) => {
    const [honest, edited] = scopedReturns as [string, string];
    await h.sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update frozen_returns set figures = replace(figures, '"referred":10', '"referred":9') where id = ${edited}`;
    });
    const logged: unknown[] = [];
    const logger = { ...h.logger, info: () => {}, error: (o: unknown) => logged.push(o) } as unknown as typeof h.logger;
    const signer = startFrozenReturnSigner({
      sql: h.sql,
      logger,
      signer: auditSigningKeys(h.config).signer,
      intervalMs: 50,
    });
    try {
      await h.waitFor('the honest return to be signed', async () =>
        (await h.sql`select 1 from frozen_return_signatures where return_id = ${honest}`).length === 1
          ? true
          : undefined,
      );
      await h.waitFor('the alarm for the edited one', async () => (logged.length > 0 ? true : undefined));
    } finally {
      await signer.stop();
    }
    t.equal(
      (await h.sql`select 1 from frozen_return_signatures where return_id = ${edited}`).length,
      0,
      'the edited return stays unsigned',
    );
    t.match(logged[0], { returnIds: [edited] });
    t.same(
      verifyFrozenReturn(
        (await h.get(`/v1/returns/${honest}`, h.keys.commissioner)).json(),
        parseVerifierKey(h.config.AUDIT_PUBLIC_KEY!),
      ),
      { ok: true, problems: [] },
    );
  },
);

await t.test('a DBA who edits a frozen figure is caught by the signature', async (t) => {
  const key = parseVerifierKey(h.config.AUDIT_PUBLIC_KEY!);
  await t.rejects(
    h.sql`update frozen_returns set code_version = 'x' where id = ${returnId}`,
    { code: '55000' },
    'the table refuses updates',
  );
  await t.rejects(h.sql`delete from frozen_return_signatures`, { code: '55000' });
  // With the triggers bypassed (superuser, replication role), the referred count is lowered in the stored figures.
  const tamper = async (alsoDigest: boolean) =>
    h.sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      const [row] = await tx<{ figures: string }[]>`select figures from frozen_returns where id = ${returnId}`;
      const figures = row!.figures.replace('"referred":22', '"referred":21');
      await tx`update frozen_returns set figures = ${figures} where id = ${returnId}`;
      if (alsoDigest) {
        const { figuresDigest } = await import('@vru/verifier');
        await tx`update frozen_returns set figures_sha256 = ${figuresDigest(JSON.parse(figures))} where id = ${returnId}`;
      }
    });
  await tamper(false);
  const edited = (await h.get(`/v1/returns/${returnId}`, h.keys.commissioner)).json();
  t.equal(edited.figures.rows[0].referred, 21, 'the API serves what the database holds');
  const v = verifyFrozenReturn(edited, key);
  t.notOk(v.ok);
  t.match(v.problems, [/the figures were changed/]);
  await tamper(true);
  const both = verifyFrozenReturn((await h.get(`/v1/returns/${returnId}`, h.keys.commissioner)).json(), key);
  t.notOk(both.ok, 'a digest re-computed to match does not match the signed statement');
  t.match(both.problems, [/^figuresSha256: the return says/]);
});
