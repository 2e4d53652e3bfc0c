import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import t from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, MAX_CSV_BYTES } from '@vru/api';
import { Harness, PROGRAMME, event } from '@vru/testkit';

// Dashboard sessions, sign-in throttling and the rate limit, played by an attacker against the real app and database.
const h = await Harness.start();
t.teardown(() => h.close());

const cookiesOf = (res: LightMyRequestResponse): Record<string, string> =>
  Object.fromEntries(res.cookies.filter((c) => c.value !== '').map((c) => [c.name, c.value]));
const cookieHeader = (cookies: Record<string, string>) =>
  Object.entries(cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
const csrfIn = (body: string) => /name="_csrf" value="([^"]+)"/.exec(body)?.[1] ?? '';

async function signIn(apiKey: string): Promise<{ cookie: string; csrf: string }> {
  const form = await h.app.inject({ method: 'GET', url: '/app/sign-in' });
  const preSession = cookiesOf(form);
  const res = await h.app.inject({
    method: 'POST',
    url: '/app/sign-in',
    headers: { cookie: cookieHeader(preSession), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ apiKey, _csrf: csrfIn(form.body) }).toString(),
  });
  if (res.statusCode !== 303) throw new Error(`sign-in answered ${res.statusCode}`);
  const cookie = cookieHeader({ vru_session: cookiesOf(res).vru_session! });
  const page = await h.app.inject({ method: 'GET', url: '/app/overview', headers: { cookie } });
  return { cookie, csrf: csrfIn(page.body) };
}

const overview = (cookie: string) => h.app.inject({ method: 'GET', url: '/app/overview', headers: { cookie } });
const keyIdOf = (apiKey: string) => apiKey.split('_')[1]!;

t.test('a cookie forged from a public key id (even signed with SESSION_SECRET) signs no one in', async (t) => {
  const keyId = keyIdOf(h.keys.commissioner);
  const value = `${keyId}.${Date.now() + 3_600_000}.${'A'.repeat(24)}`;
  const signature = createHmac('sha256', h.config.SESSION_SECRET).update(value).digest('base64').replace(/=+$/, '');
  for (const forged of [`${value}.${signature}`, keyId, 'A'.repeat(43)]) {
    const res = await overview(`vru_session=${encodeURIComponent(forged)}`);
    t.equal(res.statusCode, 303, 'redirected to sign in');
    t.equal(res.headers.location, '/app/sign-in');
  }
});

t.test(
  'sessions are server-side: listed by an admin, the table holds no usable token, sign-out ends them',
  async (t) => {
    const { cookie, csrf } = await signIn(h.keys.commissioner);
    t.equal((await overview(cookie)).statusCode, 200);
    const token = cookie.slice('vru_session='.length);
    t.notOk(token.includes(keyIdOf(h.keys.commissioner)), 'the cookie does not carry the key id');
    const listed = (await h.get(`/v1/admin/sessions?keyId=${keyIdOf(h.keys.commissioner)}`, h.keys.admin)).json();
    t.equal(listed.sessions.length, 1);
    t.match(listed.sessions[0], { keyId: keyIdOf(h.keys.commissioner), role: 'commissioner' });
    const stored =
      await h.sql`select token_hash from dashboard_sessions where session_id = ${listed.sessions[0].sessionId}`;
    t.not(stored[0]!.token_hash, token, 'only a hash of the token is stored');
    t.notOk(JSON.stringify(listed).includes(token), 'the listing never shows the token');

    const out = await h.app.inject({
      method: 'POST',
      url: '/app/sign-out',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${encodeURIComponent(csrf)}`,
    });
    t.equal(out.statusCode, 303);
    const replay = await overview(cookie);
    t.equal(replay.statusCode, 303, 'the old cookie, kept by an attacker, no longer works');
    t.equal(replay.headers.location, '/app/sign-in');
    t.same((await h.get(`/v1/admin/sessions?keyId=${keyIdOf(h.keys.commissioner)}`, h.keys.admin)).json().sessions, []);
  },
);

t.test("an admin revokes a session; a commissioner may not end an admin's", async (t) => {
  const victim = await signIn(h.keys.funder);
  const adminSession = await signIn(h.keys.admin);
  const sessions = (await h.get('/v1/admin/sessions', h.keys.commissioner)).json().sessions as {
    sessionId: string;
    role: string;
  }[];
  const funder = sessions.find((s) => s.role === 'funder')!;
  const admin = sessions.find((s) => s.role === 'admin')!;
  t.equal((await h.post(`/v1/admin/sessions/${admin.sessionId}/revoke`, {}, h.keys.commissioner)).statusCode, 403);
  t.equal((await overview(adminSession.cookie)).statusCode, 200, 'still signed in');
  const funding = () => h.app.inject({ method: 'GET', url: '/app/funding', headers: { cookie: victim.cookie } });
  t.equal((await funding()).statusCode, 200, 'signed in before');
  t.equal((await h.post(`/v1/admin/sessions/${funder.sessionId}/revoke`, {}, h.keys.commissioner)).statusCode, 204);
  const res = await funding();
  t.equal(res.statusCode, 303, 'the revoked session is over');
  t.equal(
    (await h.post(`/v1/admin/sessions/${funder.sessionId}/revoke`, {}, h.keys.commissioner)).statusCode,
    404,
    'already ended',
  );
});

t.test('sign-in throttling counts by client address whatever the Authorization header says', async (t) => {
  const statuses: number[] = [];
  for (let i = 0; i < 35; i++) {
    const fake = `vru_${i.toString(16).padStart(16, '0')}_x`;
    const res = await h.app.inject({
      method: 'POST',
      url: '/app/sign-in',
      remoteAddress: '10.9.9.9',
      headers: { authorization: `Bearer ${fake}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'apiKey=vru_0000000000000000_guess&_csrf=x',
    });
    statuses.push(res.statusCode);
  }
  t.ok(
    statuses.slice(0, 30).every((s) => s === 403),
    'the first 30 reach the form check',
  );
  t.same(statuses.slice(30), [429, 429, 429, 429, 429], 'then the address is throttled');
});

t.test('last_used_at changes only when the secret matched', async (t) => {
  const keyId = keyIdOf(h.keys.providerB);
  const before = (await h.sql`select last_used_at from api_keys where key_id = ${keyId}`)[0]!.last_used_at;
  const wrong = `vru_${keyId}_${'x'.repeat(43)}`;
  t.equal((await h.post('/v1/events', event.referred('LU-1'), wrong)).statusCode, 401);
  const after = (await h.sql`select last_used_at from api_keys where key_id = ${keyId}`)[0]!.last_used_at;
  t.same(after, before, 'a guess does not touch the key');
  t.equal((await h.post('/v1/events', event.referred(`LU-${Date.now()}`), h.keys.providerB)).statusCode, 202);
  t.ok(
    (await h.sql`select last_used_at from api_keys where key_id = ${keyId}`)[0]!.last_used_at,
    'a real use is recorded',
  );
});

t.test(
  'the rate limit: per verified key, and per address for made-up keys (a fresh key id opens no fresh bucket)',
  async (t) => {
    const app = await buildApp({ config: { ...h.config, RATE_LIMIT_PER_MINUTE: 5, LOG_LEVEL: 'silent' }, sql: h.sql });
    t.teardown(() => app.close());
    const get = (key: string, ip = '10.0.0.1') =>
      app.inject({
        method: 'GET',
        url: '/v1/reports/attendance?from=2025-04-01&to=2026-03-31',
        remoteAddress: ip,
        headers: { authorization: `Bearer ${key}` },
      });
    const fakes: number[] = [];
    for (let i = 0; i < 7; i++)
      fakes.push((await get(`vru_${(i + 1).toString(16).padStart(16, 'a')}_${'y'.repeat(43)}`)).statusCode);
    t.same(fakes, [401, 401, 401, 401, 401, 429, 429]);
    const real: number[] = [];
    for (let i = 0; i < 7; i++) real.push((await get(h.keys.commissioner, '10.0.0.2')).statusCode);
    t.equal(real.filter((s) => s === 429).length >= 1, true, 'a key is limited too');
    t.equal((await get(h.keys.funder, '10.0.0.3')).statusCode, 200, 'another key is not affected');
  },
);

t.test('the upload page stores a CSV file posted as a form, in an upload turn like the API', async (t) => {
  const { cookie, csrf } = await signIn(h.keys.providerA);
  const form = new FormData();
  form.append('_csrf', csrf);
  form.append('eventType', 'ParticipantReferred');
  const file = [
    'participantRef,programmeId,referralDate,referralSource,ageAtReferral,gender,ethnicity,postcodeDistrict,riskFactors',
    `P-PAGE-1,${PROGRAMME},2026-01-10,school,15,male,white-british,DE23,school-exclusion`,
  ].join('\r\n');
  form.append('file', new Blob([`${file}\r\n`], { type: 'text/csv' }), 'referrals.csv');
  const res = await h.app.inject({ method: 'POST', url: '/app/upload', headers: { cookie }, payload: form });
  t.equal(res.statusCode, 200);
  t.match(res.body, /1 rows read from your ParticipantReferred file/);
  const again = await h.app.inject({ method: 'POST', url: '/app/upload', headers: { cookie }, payload: form });
  t.equal(again.statusCode, 200);
  t.match(again.body, /1 rows read from your ParticipantReferred file/, 'the same file again is answered, not refused');
});

const REFERRALS_HEADER =
  'participantRef,programmeId,referralDate,referralSource,ageAtReferral,gender,ethnicity,postcodeDistrict,riskFactors';
const referralRow = (ref: string, postcode = 'DE23') =>
  `${ref},${PROGRAMME},2026-01-10,school,15,male,white-british,${postcode},school-exclusion`;

t.test("a forged upload form (no CSRF token, or another session's) is refused and stores nothing", async (t) => {
  const { cookie } = await signIn(h.keys.providerA);
  const other = await signIn(h.keys.providerA);
  const before = await h.count('events');
  for (const csrf of [undefined, other.csrf]) {
    const form = new FormData();
    if (csrf) form.append('_csrf', csrf);
    form.append('eventType', 'ParticipantReferred');
    form.append('file', new Blob([`${REFERRALS_HEADER}\r\n${referralRow(`P-FORGED-${Date.now()}`)}\r\n`]), 'x.csv');
    const res = await h.app.inject({ method: 'POST', url: '/app/upload', headers: { cookie }, payload: form });
    t.equal(res.statusCode, 403, csrf ? "another session's token" : 'no token');
  }
  t.equal(await h.count('events'), before, 'nothing stored');
});

t.test('the upload page refuses a file over the size limit whole: no row of it is stored', async (t) => {
  const { cookie, csrf } = await signIn(h.keys.providerA);
  // 3,000 rows of 3 KB: under the row limits, over the size limit; every row would be refused for its postcode
  // anyway, so the count below would show any row stored.
  const ref = `P-BIG-${Date.now()}`;
  const rows = Array.from({ length: 3000 }, (_, i) => referralRow(`${ref}-${i}`, 'X'.repeat(3000)));
  const file = `${REFERRALS_HEADER}\r\n${rows.join('\r\n')}\r\n`;
  t.ok(file.length > MAX_CSV_BYTES);
  const before = await h.count('events');
  const form = new FormData();
  form.append('_csrf', csrf);
  form.append('eventType', 'ParticipantReferred');
  form.append('file', new Blob([file], { type: 'text/csv' }), 'big.csv');
  const res = await h.app.inject({ method: 'POST', url: '/app/upload', headers: { cookie }, payload: form });
  t.equal(res.statusCode, 413);
  t.match(res.body, /The file is too large/);
  t.equal(await h.count('events'), before, 'nothing stored');
});

t.test('the upload page reads the file only in its upload turn, not while it waits for one', async (t) => {
  const { cookie, csrf } = await signIn(h.keys.providerA);
  const header = 'participantRef,programmeId,sessionId,sessionDate,durationMinutes,sessionType,deliveredBy';
  // Two API uploads whose files arrive slowly hold both turns until their clients finish sending.
  const held = [new PassThrough(), new PassThrough()];
  const running = held.map((s) => {
    s.write(`${header}\r\n`);
    return h.app.inject({
      method: 'POST',
      url: '/v1/imports?eventType=SessionAttended',
      headers: { authorization: `Bearer ${h.keys.providerA}`, 'content-type': 'text/csv' },
      payload: s,
    });
  });
  for (let i = 0; held.some((s) => s.readableLength > 0); i++) {
    if (i > 200) throw new Error('the held uploads were not read');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  // The page's form with a 2 MB file, sent as fast as the server reads it (a chunk each time the last was taken): a
  // reader that takes the file before its turn takes all of it while it waits.
  const boundary = 'page-upload-boundary';
  const field = (name: string, value: string) =>
    `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const ref = `P-TURN-${Date.now()}`;
  const rows = Array.from({ length: 4000 }, (_, i) => referralRow(`${ref}-${i}`, 'X'.repeat(500)));
  const file = Buffer.from(
    field('_csrf', csrf) +
      field('eventType', 'ParticipantReferred') +
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="referrals.csv"\r\n` +
      `content-type: text/csv\r\n\r\n${REFERRALS_HEADER}\r\n${rows.join('\r\n')}\r\n--${boundary}--\r\n`,
  );
  t.ok(file.length > 2_000_000);
  const body = new PassThrough({ highWaterMark: 16_384 });
  let taken = 0;
  const sending = (async () => {
    for (let at = 0; at < file.length; at += 16_384) {
      const chunk = file.subarray(at, at + 16_384);
      if (!body.write(chunk)) await once(body, 'drain');
      taken += chunk.length;
    }
    body.end();
  })();
  const page = h.app.inject({
    method: 'POST',
    url: '/app/upload',
    headers: { cookie, 'content-type': `multipart/form-data; boundary=${boundary}` },
    payload: body,
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.ok(taken < 500_000, `while both turns are taken, the file is left unread (${taken} bytes taken)`);
  held.forEach((s, i) => s.end(`P-1,${PROGRAMME},S-page-${i},2026-02-03,60,one-to-one,staff\r\n`));
  await sending;
  const [answer] = await Promise.all([page, ...running]);
  t.equal(answer.statusCode, 200);
  t.match(answer.body, /4000 rows read from your ParticipantReferred file/, 'then it is read in its turn');
});
