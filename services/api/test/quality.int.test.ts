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
      // Each read model has its own consumer: wait until both have caught up.
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

await t.test(
  "the median days late is percentile_cont's over the submissions, now and as at an earlier position",
  async (t) => {
    // The relay and projectors started by the test above are still running.
    // Lags from minutes to months, with ties and sub-day parts: the median lies inside a lateness bucket.
    const hoursAgo = [0.2, 3, 30, 30, 47.5, 168, 168.01, 400, 1500, 2, 26.25, 5000, 71, 71, 9, 700];
    const withLag = (e: Record<string, unknown>, i: number) => ({
      ...e,
      occurredAt: new Date(Date.now() - hoursAgo[i % hoursAgo.length]! * 3_600_000).toISOString(),
    });
    const oracle = async (asAt?: string) =>
      (
        await h.sql<{ accepted: number; late: number; median: number }[]>`
          select count(*)::int as accepted, count(*) filter (where recorded_at - occurred_at > interval '7 days')::int as late,
                 percentile_cont(0.5) within group (order by extract(epoch from (recorded_at - occurred_at)) / 86400)::float8 as median
          from rm_submissions.submissions_versions
          where provider_id = 'prov-b' ${asAt === undefined ? h.sql`` : h.sql`and valid_from <= ${asAt}::bigint`}`
      )[0]!;
    const send = async (events: Record<string, unknown>[]) => {
      for (const e of events) t.equal((await h.post('/v1/events', e, h.keys.providerB)).statusCode, 202);
    };
    const reportOf = (accepted: number, asAt?: string) =>
      h.waitFor('submissions projected', async () => {
        const body = (
          await h.get(`/v1/reports/data-quality${asAt === undefined ? '' : `?asAt=${asAt}`}`, h.keys.providerB)
        ).json();
        const total = body.rows?.reduce((n: number, r: { accepted: number }) => n + r.accepted, 0);
        return total === accepted ? body : undefined;
      });
    const figures = (report: { rows: { accepted: number; late: number; medianDaysLate: number | null }[] }) => {
      t.equal(report.rows.length, 1, 'one month received');
      const { accepted, late, medianDaysLate } = report.rows[0]!;
      return { accepted, late, medianDaysLate };
    };
    const expected = (o: { accepted: number; late: number; median: number }) => ({
      accepted: o.accepted,
      late: o.late,
      medianDaysLate: Math.round(o.median * 10) / 10,
    });

    const first = journey('Q-M1', { attended: 8, missed: 0 }).map(withLag);
    await send(first);
    // Every event of a journey is a submission.
    const earlier = await reportOf(first.length);
    t.same(figures(earlier), expected(await oracle()), 'after the first journey');
    const second = journey('Q-M2', { attended: 5, missed: 2 }).map((e, i) => withLag(e, i + 5));
    await send(second);
    const now = await reportOf(first.length + second.length);
    t.same(figures(now), expected(await oracle()), 'after the second journey');
    t.same(
      figures(await reportOf(first.length, earlier.position)),
      expected(await oracle(earlier.position)),
      'as at the position of the first report',
    );
  },
);

t.end();
