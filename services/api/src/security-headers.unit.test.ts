import t from 'tap';
import { createSql, loadConfig, randomSecrets } from '@vru/runtime';
import { buildApp } from './app.js';
import { securityHeaders } from './security-headers.js';

t.test("the fixed list: helmet's headers, without its Content-Security-Policy or X-Powered-By", async (t) => {
  const headers = securityHeaders();
  t.same(Object.keys(headers).sort(), [
    'cross-origin-opener-policy',
    'cross-origin-resource-policy',
    'origin-agent-cluster',
    'referrer-policy',
    'strict-transport-security',
    'x-content-type-options',
    'x-dns-prefetch-control',
    'x-download-options',
    'x-frame-options',
    'x-permitted-cross-domain-policies',
    'x-xss-protection',
  ]);
  t.equal(headers['x-content-type-options'], 'nosniff');
  t.match(headers['strict-transport-security'], /^max-age=\d+; includeSubDomains$/);
  t.equal(headers['x-frame-options'], 'SAMEORIGIN');
  t.equal(headers['cross-origin-resource-policy'], 'same-origin');
  t.equal(headers['referrer-policy'], 'no-referrer');
});

t.test(
  'every kind of response carries the security headers: success, refusal, not found, docs, dashboard',
  async (t) => {
    const config = { ...loadConfig(randomSecrets()), LOG_LEVEL: 'silent' as const };
    // None of these requests runs a query.
    const sql = createSql(config.DATABASE_URL, { max: 1 });
    const app = await buildApp({ config, sql });
    t.teardown(async () => {
      await app.close();
      await sql.end();
    });
    const expected = securityHeaders();
    const cases = [
      { method: 'GET', url: '/healthz', status: 200 },
      { method: 'POST', url: '/v1/events', status: 401 },
      { method: 'GET', url: '/no-such-route', status: 404 },
      { method: 'GET', url: '/docs/', status: 200 },
      { method: 'GET', url: '/app/sign-in', status: 200 },
    ] as const;
    for (const c of cases) {
      const res = await app.inject({ method: c.method, url: c.url });
      t.equal(res.statusCode, c.status, `${c.method} ${c.url}`);
      for (const [name, value] of Object.entries(expected))
        t.equal(res.headers[name], value, `${c.method} ${c.url}: ${name}`);
      t.ok(res.headers['x-request-id'], `${c.method} ${c.url}: x-request-id`);
    }
    // The dashboard's own policy, not a generic one; the API's JSON answers carry none.
    const page = await app.inject({ method: 'GET', url: '/app/sign-in' });
    t.match(page.headers['content-security-policy'], /default-src 'self'/);
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    t.notOk(health.headers['content-security-policy']);
  },
);
