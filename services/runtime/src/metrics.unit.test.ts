import t from 'tap';
import { httpRequests, recordHttpRequest, serveMetrics } from './metrics.js';

t.test('serveMetrics serves the registry on GET /metrics only, and closes', async (t) => {
  const close = await serveMetrics(0, '127.0.0.1');
  t.ok(close.port > 0);
  recordHttpRequest('/v1/things/:id', 'GET', 200, 12);
  const res = await fetch(`http://127.0.0.1:${close.port}/metrics`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /text\/plain/);
  const text = await res.text();
  t.match(text, /vru_http_requests_total\{route="\/v1\/things\/:id",method="GET",status="200"\} 1/);
  t.match(text, /# TYPE vru_outbox_backlog gauge/);
  t.equal((await fetch(`http://127.0.0.1:${close.port}/other`)).status, 404);
  await close();
  await t.rejects(fetch(`http://127.0.0.1:${close.port}/metrics`), 'closed');
  httpRequests.reset();
});

t.test('a request without a matched route is labelled "unmatched"', async (t) => {
  recordHttpRequest(undefined, 'GET', 404, 1);
  const [value] = (await httpRequests.get()).values.filter((v) => v.labels.route === 'unmatched');
  t.equal(value?.value, 1);
  httpRequests.reset();
});
