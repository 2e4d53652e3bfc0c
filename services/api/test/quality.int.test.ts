import t from 'tap';
import { Harness, event, journey } from '@vru/testkit';

const h = await Harness.start();
t.teardown(() => h.close());

await t.test(
  'data quality: accepted, rejected by rule, late submissions and missing measures per provider',
  async (t) => {
    await h.startRelay();
    await h.startProjectors();
    // Provider A: one complete journey with a baseline, exited without an exit measure; one session submitted late.
    const a = [...journey('Q-1', { attended: 1, missed: 0 })];
    a.push({
      ...event.attended('Q-1', 's-late', '2026-02-20'),
      occurredAt: '2026-02-20T10:00:00Z',
    });
    a.push({
      eventId: crypto.randomUUID(),
      type: 'OutcomeMeasured',
      schemaVersion: 2,
      occurredAt: '2026-02-10T10:00:00Z',
      programmeId: 'mentoring-test',
      participantRef: 'Q-1',
      data: { instrument: 'swemwbs', timepoint: 'baseline', measuredOn: '2026-01-15', score: 20 },
    });
    a.push(event.exited('Q-1'));
    for (const e of a) t.equal((await h.post('/v1/events', e, h.keys.providerA)).statusCode, 202);
    // Two refusals by provider A (a business rule and a schema rule), one by provider B.
    t.equal((await h.post('/v1/events', event.attended('Q-404', 'x'), h.keys.providerA)).statusCode, 409);
    t.equal((await h.post('/v1/events', { ...event.referred('Q-2'), data: {} }, h.keys.providerA)).statusCode, 422);
    t.equal((await h.post('/v1/events', event.enrolled('Q-9'), h.keys.providerB)).statusCode, 409);

    await h.waitFor('data-quality projections', async () => {
      const body = (await h.get('/v1/reports/data-quality', h.keys.providerA)).json();
      // Each read model has its own consumer: wait until all three have caught up.
      return body.missingMeasures?.[0]?.missingBaseline === 0 &&
        body.missingMeasures[0].missingExit === 1 &&
        body.rows.some((r: { accepted: number }) => r.accepted === a.length)
        ? body
        : undefined;
    });
    const report = (await h.get('/v1/reports/data-quality', h.keys.commissioner)).json();
    const rowA = report.rows.find((r: { providerId: string }) => r.providerId === 'prov-a');
    t.equal(rowA.accepted, a.length);
    t.equal(rowA.rejected, 2);
    t.equal(rowA.rejectionRate, Math.round((2 / (a.length + 2)) * 10_000) / 10_000);
    // occurredAt values in the fixtures are months before today: every accepted submission counts as late.
    t.equal(rowA.late, a.length);
    t.same(
      report.rejectionsByRule
        .filter((r: { providerId: string }) => r.providerId === 'prov-a')
        .map((r: { rule: string }) => r.rule)
        .sort(),
      ['required', 'unknown-participant'].sort(),
    );
    t.same(
      report.missingMeasures,
      [
        {
          providerId: 'prov-a',
          enrolledWithEvaluationConsent: null,
          missingBaseline: null,
          exited: null,
          missingExit: null,
        },
      ],
      "across providers, one person's missing measures are withheld",
    );
    t.same(
      (await h.get('/v1/reports/data-quality', h.keys.providerA)).json().missingMeasures,
      [{ providerId: 'prov-a', enrolledWithEvaluationConsent: 1, missingBaseline: 0, exited: 1, missingExit: 1 }],
      'provider A sees its own',
    );

    const own = (await h.get('/v1/reports/data-quality', h.keys.providerB)).json();
    t.same(
      own.rows.map((r: { providerId: string }) => r.providerId),
      ['prov-b'],
      'a provider sees only its own figures',
    );
    t.equal(own.rows[0].rejected, 1);

    const csv = await h.get('/v1/reports/data-quality', h.keys.commissioner, { accept: 'text/csv' });
    t.match(csv.headers['content-type'], /text\/csv/);
    t.match(csv.body.split('\r\n')[0], /providerId,month,accepted,rejected/);
    t.equal(
      (await h.get('/v1/reports/data-quality', h.keys.funder)).statusCode,
      403,
      'funders do not see data quality',
    );
  },
);

t.end();
