import t from 'tap';
import { serveMetrics, watchConsumerLag } from '@vru/runtime';
import { projectionByName, rebuildProjection } from '@vru/projector';
import { Harness, event } from '@vru/testkit';

const h = await Harness.start();
// The API's scrape listener, as server.ts starts it beside the public port.
const metricsServer = await serveMetrics(0, '127.0.0.1');
t.teardown(async () => {
  await metricsServer();
  await h.close();
});
const scrape = async () => {
  const res = await fetch(`http://127.0.0.1:${metricsServer.port}/metrics`);
  return {
    statusCode: res.status,
    headers: { 'content-type': res.headers.get('content-type') ?? '' },
    body: await res.text(),
  };
};

/** The value of one sample line of a scrape (labels exactly as given), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

await t.test('the public API port does not serve /metrics', async (t) => {
  const res = await h.get('/metrics', null);
  t.equal(res.statusCode, 404);
  t.notMatch(res.body, /vru_http_requests_total/);
});

await t.test(
  'GET /metrics: HTTP by route pattern, events appended by type, outbox backlog, no participant refs',
  async (t) => {
    const refs = Array.from({ length: 5 }, (_, i) => `MET-${crypto.randomUUID().slice(0, 8)}-${i}`);
    for (const ref of refs)
      t.equal((await h.post('/v1/events', event.referred(ref), h.keys.providerA)).statusCode, 202);
    // A route whose URL holds a participantRef: the label must be the pattern.
    t.equal((await h.get(`/v1/participants/${refs[0]}/events`, h.keys.providerA)).statusCode, 200);
    t.equal((await h.get(`/v1/nowhere/${refs[1]}`, null)).statusCode, 404);

    const res = await scrape();
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /text\/plain/);
    const text = res.body;
    t.ok(
      (sample(text, 'vru_http_requests_total{route="/v1/events",method="POST",status="202"}') ?? 0) >= refs.length,
      'POST /v1/events 202 counted by route pattern',
    );
    t.ok(
      (sample(text, 'vru_http_request_duration_seconds_count{route="/v1/events",method="POST",status="202"}') ?? 0) >=
        refs.length,
      'durations observed',
    );
    t.ok(
      (sample(
        text,
        'vru_http_requests_total{route="/v1/participants/:participantRef/events",method="GET",status="200"}',
      ) ?? 0) >= 1,
      'parameterised route recorded by pattern',
    );
    t.ok(
      (sample(text, 'vru_http_requests_total{route="unmatched",method="GET",status="404"}') ?? 0) >= 1,
      'unmatched URLs share one label',
    );
    t.ok(
      (sample(text, 'vru_events_appended_total{type="ParticipantReferred"}') ?? 0) >= refs.length,
      'appended events counted by type',
    );
    t.ok(
      (sample(text, 'vru_outbox_backlog') ?? 0) >= refs.length,
      'outbox backlog collected on scrape (relay not started)',
    );
    t.ok((sample(text, 'vru_outbox_oldest_age_seconds') ?? -1) >= 0, 'oldest outbox age present');
    t.match(text, /process_cpu_user_seconds_total/, 'default process metrics');
    for (const ref of refs) t.notOk(text.includes(ref), `participantRef ${ref} does not appear in the scrape`);
    t.notOk(text.includes('MET-'), 'no participantRef fragment anywhere in the scrape');
    t.notMatch(
      text,
      /vru_http_requests_total\{route="\/metrics"/,
      'the scrape itself is recorded after it is answered',
    );
  },
);

await t.test(
  'relay and projector metrics once the pipeline has run; consumer lag per projection and partition',
  async (t) => {
    await h.startRelay();
    // The events posted above are in the log already: the new read models are built from it at start-up, so the
    // counters below count these five, applied as they arrive.
    await h.startProjectors();
    for (let i = 0; i < 5; i += 1)
      t.equal(
        (await h.post('/v1/events', event.referred(`MET-LIVE-${crypto.randomUUID().slice(0, 8)}`), h.keys.providerA))
          .statusCode,
        202,
      );
    const stopLag = watchConsumerLag(
      h.kafka,
      h.config.KAFKA_TOPIC,
      Object.fromEntries(h.projectors.flatMap((p) => p.projections.map((name) => [name, p.groupId]))),
    );
    const running = h.projectors.flatMap((p) => p.projections);
    t.teardown(stopLag);
    const text = await h.waitFor('relay and projections in the metrics', async () => {
      const body = (await scrape()).body;
      const applied = running.every(
        (name) => (sample(body, `vru_projection_events_applied_total{projection="${name}"}`) ?? 0) >= 5,
      );
      return sample(body, 'vru_outbox_backlog') === 0 &&
        (sample(body, 'vru_relay_published_total') ?? 0) >= 5 &&
        applied
        ? body
        : undefined;
    });
    t.equal(sample(text, 'vru_outbox_oldest_age_seconds'), 0, 'empty outbox has no age');
    t.not(sample(text, 'vru_relay_errors_total'), undefined, 'relay errors counter present');
    const first = running[0]!;
    t.ok(
      (sample(text, `vru_projection_position{projection="${first}"}`) ?? 0) >= 5,
      'projection position follows the log',
    );
    const lag = await h.waitFor('consumer lag collected', async () => {
      const body = (await scrape()).body;
      return body.includes(`vru_consumer_lag{projection="${first}",partition="0"}`) ? body : undefined;
    });
    const lags = lag.split('\n').filter((l) => l.startsWith('vru_consumer_lag{'));
    t.equal(lags.length, running.length * 3, 'one series per projection and partition (3 partitions)');
    t.ok(
      lags.every((l) => Number(l.split(' ')[1]) >= 0),
      'lag is never negative',
    );
  },
);

await t.test('a rebuild reports its progress', async (t) => {
  const logged = await h.count('events');
  await rebuildProjection(h.sql, projectionByName('attendance')!, h.logger, { vault: h.vault });
  const text = (await scrape()).body;
  t.equal(
    sample(text, 'vru_rebuild_events_total{projection="attendance"}'),
    logged,
    'events in the log when it started',
  );
  t.equal(sample(text, 'vru_rebuild_events_replayed{projection="attendance"}'), logged, 'all of them replayed');
});

t.end();
