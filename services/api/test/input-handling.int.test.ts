import { randomUUID } from 'node:crypto';
import t from 'tap';
import { eventDefinition } from '@vru/contracts';
import { Harness, PROGRAMME, event } from '@vru/testkit';

// Inputs an attacker (or a careless client) sends that once answered 500 or a misleading problem.
const h = await Harness.start();
t.teardown(() => h.close());

const adminPut = (url: string, body: string) =>
  h.app.inject({
    method: 'PUT',
    url,
    headers: { authorization: `Bearer ${h.keys.admin}`, 'content-type': 'application/json' },
    payload: body,
  });

t.test(
  'a NUL or a lone surrogate in an admin body is a 422 naming the field, never a 500 or altered text',
  async (t) => {
    const cases: [string, string, string][] = [
      ['/v1/admin/providers/prov-nul', '{"name":"Safe\\u0000Spaces"}', '/name'],
      ['/v1/admin/providers/prov-sur', '{"name":"Safe \\ud800 Spaces"}', '/name'],
      [
        '/v1/admin/programmes/prog-nul',
        '{"name":"Mentoring\\u0000","interventionType":"mentoring","startsOn":"2025-01-01"}',
        '/name',
      ],
    ];
    for (const [url, body, field] of cases) {
      const res = await adminPut(url, body);
      t.equal(res.statusCode, 422, url);
      t.match(res.json().errors, [{ field, rule: 'unsupported-character' }]);
    }
    const key = await h.post('/v1/admin/keys', '{"role":"funder","label":"Lottery\\u0000Fund"}', h.keys.admin);
    t.equal(key.statusCode, 422);
    t.match(key.json().errors, [{ field: '/label', rule: 'unsupported-character' }]);
    t.equal(
      (await h.sql`select count(*)::int as n from providers where provider_id in ('prov-nul', 'prov-sur')`)[0]!.n,
      0,
      'nothing stored',
    );
  },
);

t.test('custom ranges and scores are bounded; the outcomes report and its CSV survive any stored value', async (t) => {
  const ref = `HUGE-${randomUUID().slice(0, 8)}`;
  t.equal((await h.post('/v1/events', event.referred(ref), h.keys.providerA)).statusCode, 202);
  t.equal((await h.post('/v1/events', event.consent(ref), h.keys.providerA)).statusCode, 202);
  t.equal((await h.post('/v1/events', event.enrolled(ref), h.keys.providerA)).statusCode, 202);
  const measure = (score: number, timepoint: string) => ({
    ...event.referred(ref),
    type: 'OutcomeMeasured',
    schemaVersion: 2,
    eventId: randomUUID(),
    data: {
      instrument: 'custom',
      scale: 'confidence',
      customRange: { min: -1.7e308, max: 1.7e308, higherIsBetter: true },
      score,
      timepoint,
      measuredOn: '2026-02-01',
    },
  });
  const refused = await h.post('/v1/events', measure(1.7e308, 'baseline'), h.keys.providerA);
  t.equal(refused.statusCode, 422);
  t.match(refused.json().errors, [{ field: '/data/customRange', rule: 'range-bound' }]);
  // Events cannot be deleted: values stored before the bound existed must not break the report for everyone.
  await h.startRelay();
  await h.startProjectors();
  const commands = h.app.commands;
  for (const [score, timepoint] of [
    [-1.7e308, 'baseline'],
    [1.7e308, 'exit'],
  ] as const) {
    const m = measure(score, timepoint);
    const [outcome] = await commands.handle([
      {
        submission: m as never,
        definition: eventDefinition('OutcomeMeasured')!,
        principal: { keyId: h.keys.providerA.split('_')[1]!, role: 'provider', providerId: 'prov-a' },
        requestId: 'legacy',
        source: 'api',
      },
    ]);
    t.equal(outcome!.status, 'accepted', `stored as an older version would have ${JSON.stringify(outcome)}`);
  }
  await h.waitFor('the measures projected', async () => {
    const rows =
      await h.sql`select count(*)::int as n from rm_outcomes.outcomes where exit_score > 1e300 and baseline_score < -1e300`;
    return rows[0]!.n >= 1 ? true : undefined;
  });
  // A financial year: figures across providers are published for whole periods only (disclosure control).
  const report = '/v1/reports/outcomes?from=2025-04-01&to=2026-03-31';
  for (const key of [h.keys.providerA, h.keys.commissioner]) {
    const json = await h.get(report, key);
    t.equal(json.statusCode, 200, 'JSON report answers');
    t.notMatch(json.body, /Infinity|NaN/);
    const csv = await h.get(report, key, { accept: 'text/csv' });
    t.equal(csv.statusCode, 200, 'CSV report answers');
    t.notMatch(csv.body, /Infinity|NaN/);
  }
});

t.test(
  'free text a spreadsheet would evaluate: refused in a scale now, and out of a report CSV as text where stored before',
  async (t) => {
    const ref = `CSV-${randomUUID().slice(0, 8)}`;
    t.equal((await h.post('/v1/events', event.referred(ref), h.keys.providerA)).statusCode, 202);
    t.equal((await h.post('/v1/events', event.consent(ref), h.keys.providerA)).statusCode, 202);
    t.equal((await h.post('/v1/events', event.enrolled(ref), h.keys.providerA)).statusCode, 202);
    const scales = [' =1+1', '\u00a0=1+1', '\uff1d1+1', "x;=cmd|' /C calc'!A0"];
    const measure = (scale: string, schemaVersion: number) => ({
      ...event.referred(ref),
      type: 'OutcomeMeasured',
      schemaVersion,
      eventId: randomUUID(),
      data: {
        instrument: 'custom',
        scale,
        customRange: { min: 0, max: 10, higherIsBetter: true },
        score: 5,
        timepoint: 'baseline',
        measuredOn: '2026-02-01',
      },
    });
    for (const scale of scales) {
      const res = await h.post('/v1/events', measure(scale, 2), h.keys.providerA);
      t.equal(res.statusCode, 422, `${JSON.stringify(scale)} is not a scale id`);
      t.match(res.json().errors, [{ field: '/data/scale' }]);
      // Version 1 scales were free text, and stored ones stay in the log: the CSV must still neutralise them.
      const [outcome] = await h.app.commands.handle([
        {
          submission: measure(scale, 1) as never,
          definition: eventDefinition('OutcomeMeasured')!,
          principal: { keyId: h.keys.providerA.split('_')[1]!, role: 'provider', providerId: 'prov-a' },
          requestId: 'legacy',
          source: 'api',
        },
      ]);
      t.equal(outcome!.status, 'accepted', `${JSON.stringify(scale)} stored as version 1 was`);
    }
    const csv = await h.waitFor('the scales in the report', async () => {
      const res = await h.get('/v1/reports/outcomes', h.keys.providerA, { accept: 'text/csv' });
      return scales.every((s) => res.body.includes(s.slice(-4))) ? res.body : undefined;
    });
    const cells = csv
      .split('\r\n')
      .flatMap((line) => line.split(/[,;]/))
      .map((c) => c.replace(/^"/, ''));
    const formula = /^[\s\u00a0]*[=+\-@\uff1d\uff0b\uff0d\uff20]/;
    t.same(
      cells.filter((c) => formula.test(c)),
      [],
      'no cell, split on , or ;, starts with a formula sign',
    );
  },
);

t.test(
  'an erasure retried on a later day or with another basis answers that the participant is already erased',
  async (t) => {
    const ref = `ERA-${randomUUID().slice(0, 8)}`;
    t.equal((await h.post('/v1/events', event.referred(ref), h.keys.providerA)).statusCode, 202);
    const erase = (body: Record<string, unknown>) =>
      h.post(`/v1/participants/${ref}/erasure`, { programmeId: PROGRAMME, ...body }, h.keys.providerA);
    const first = await erase({ requestedOn: '2026-02-11' });
    t.equal(first.statusCode, 202);
    for (const retry of [
      { requestedOn: '2026-02-12' },
      { basis: 'retention-period-ended' },
      { eventId: randomUUID() },
      {},
    ]) {
      const res = await erase(retry);
      t.equal(res.statusCode, 202, JSON.stringify(retry));
      t.match(res.json(), { status: 'duplicate', eventId: first.json().eventId }, 'the stored erasure');
    }
  },
);

t.test('a date in the future is invalid on its own: 422, as before the programme start is', async (t) => {
  const ref = `FUT-${randomUUID().slice(0, 8)}`;
  const future = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const session = await h.post(
    '/v1/events',
    event.attended(ref, 'S-F', future.slice(0, 10), { occurredAt: future }),
    h.keys.providerA,
  );
  t.equal(session.statusCode, 422, 'even for a participant never referred');
  t.equal(session.json().code, 'occurred-in-future');
  t.equal((await h.post('/v1/events', event.referred(ref), h.keys.providerA)).statusCode, 202);
  const again = event.referred(ref, {
    eventId: randomUUID(),
    occurredAt: future,
    data: { referralDate: future.slice(0, 10) },
  });
  t.equal(
    (await h.post('/v1/events', again, h.keys.providerA)).statusCode,
    422,
    'a future referral of someone already referred',
  );
});

t.test('a body with __proto__ is refused saying so', async (t) => {
  const body = `{"__proto__":{"admin":true},${JSON.stringify(event.referred('PROTO-1')).slice(1)}`;
  const res = await h.post('/v1/events', body, h.keys.providerA);
  t.equal(res.statusCode, 400);
  t.match(res.json().detail, /__proto__/);
  t.notMatch(res.json().detail, /not valid JSON/i);
});

t.test('an invalid enum value names the allowed values once', async (t) => {
  const basis = await h.post(
    '/v1/participants/ENUM-2/erasure',
    { programmeId: PROGRAMME, basis: 'whim' },
    h.keys.providerA,
  );
  t.equal(basis.statusCode, 422);
  t.same(basis.json().errors, [
    { field: '/basis', rule: 'enum', message: 'Choose basis from: data-subject-request, retention-period-ended' },
  ]);
  const res = await h.post(
    '/v1/events',
    event.referred('ENUM-1', { data: { referralSource: 'carrier-pigeon' } }),
    h.keys.providerA,
  );
  t.equal(res.statusCode, 422);
  const errors = res.json().errors as { field: string; rule: string; message: string }[];
  t.equal(errors.length, 1);
  t.match(errors[0], { field: '/data/referralSource', rule: 'enum' });
  t.match(errors[0]!.message, /school/);
  const query = await h.get('/v1/reports/engagement?groupBy=planet', h.keys.commissioner);
  t.equal(query.statusCode, 400);
  const qerrors = query.json().errors as { field: string; message: string }[];
  t.equal(qerrors.length, 1, JSON.stringify(qerrors));
  t.match(qerrors[0]!.message, /month/);
});
