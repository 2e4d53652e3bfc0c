import { PassThrough, Readable } from 'node:stream';
import t from 'tap';
import { UPLOAD_WAIT_MS } from '@vru/api';
import { Harness, journey, PROGRAMME, event } from '@vru/testkit';

// One upload must not stall everyone: the file is read as a stream, refused as early as the first bad record allows.
const h = await Harness.start();
t.teardown(() => h.close());

const HEADER = 'participantRef,programmeId,sessionId,sessionDate,durationMinutes,sessionType,deliveredBy';
const upload = (body: string) =>
  h.post('/v1/imports?eventType=SessionAttended', body, h.keys.providerA, { 'content-type': 'text/csv' });
const row = (i: number) => `P-1,${PROGRAMME},S-lim-${i},2026-02-03,60,one-to-one,staff`;

t.test('the header is checked on the first record, before the rest of the file is parsed', async (t) => {
  // The rest is not even CSV (an unclosed quote): a reader that parses everything first reports that instead.
  const res = await upload(`participantRef,programmeId,minutes\r\n${'x,y,1\r\n'.repeat(1000)}"never closed`);
  t.equal(res.statusCode, 422);
  t.equal(res.json().code, 'csv-header-invalid');
});

t.test('reading stops at the row after the limit: what follows is never parsed', async (t) => {
  const rows = Array.from({ length: 5001 }, (_, i) => row(i));
  const res = await upload(`${HEADER}\r\n${rows.join('\r\n')}\r\n"never closed`);
  t.equal(res.statusCode, 413);
  t.equal(res.json().code, 'too-many-rows');
  t.match(res.json().detail, /At most 5000 rows/);
});

t.test('a record longer than the record-size limit refuses the file', async (t) => {
  const res = await upload(`${HEADER}\r\n${row(1).replace('S-lim-1', `S-${'x'.repeat(70_000)}`)}\r\n`);
  t.equal(res.statusCode, 413);
  t.equal(res.json().code, 'row-too-long');
});

t.test(
  'the reported attack (8 MiB of one-character rows) is refused on its first record; /healthz answers meanwhile',
  async (t) => {
    // A one-column header, four million rows and a broken end: reading the whole file first would take tens of seconds
    // and then report the broken end; the stream refuses the header before reading further.
    const body = `participantRef\r\n${'a\r\n'.repeat(2_790_000)}"never closed`;
    t.ok(body.length < 8 * 1024 * 1024);
    const finished: string[] = [];
    const big = upload(body).then((res) => {
      finished.push('upload');
      return res;
    });
    await new Promise((resolve) => setImmediate(resolve));
    const health = h.get('/healthz', null).then((res) => {
      finished.push('healthz');
      return res;
    });
    const [bigRes, healthRes] = await Promise.all([big, health]);
    t.equal(healthRes.statusCode, 200);
    t.equal(bigRes.statusCode, 422);
    t.equal(bigRes.json().code, 'csv-header-invalid');
    t.same(finished, ['healthz', 'upload'], 'the health check did not wait for the upload');
  },
);

t.test('a large file of valid-looking short rows: stops at the limit while other requests go on', async (t) => {
  const body = `${HEADER}\r\n${`${row(0)}\r\n`.repeat(100_000)}`;
  const finished: string[] = [];
  const big = upload(body).then((res) => {
    finished.push('upload');
    return res;
  });
  await new Promise((resolve) => setImmediate(resolve));
  const health = h.get('/healthz', null).then((res) => {
    finished.push('healthz');
    return res;
  });
  const [bigRes] = await Promise.all([big, health]);
  t.equal(bigRes.statusCode, 413);
  t.same(finished, ['healthz', 'upload']);
});

t.test(
  'at most two uploads are read at once: a third waits its turn, and is a 503 with Retry-After when none comes',
  async (t) => {
    await h.postAccepted(journey('P-1', { attended: 0, missed: 0 }), h.keys.providerA);
    // Two uploads whose files arrive slowly: each holds its turn until its client finishes sending.
    const held = [new PassThrough(), new PassThrough()];
    const streamed = (payload: PassThrough | string) =>
      h.app.inject({
        method: 'POST',
        url: '/v1/imports?eventType=SessionAttended',
        headers: { authorization: `Bearer ${h.keys.providerA}`, 'content-type': 'text/csv' },
        payload,
      });
    const running = held.map((s) => {
      s.write(`${HEADER}\r\n`);
      return streamed(s);
    });
    // Each is in its turn once its reader has taken the header line.
    for (let i = 0; held.some((s) => s.readableLength > 0); i++) {
      if (i > 200) throw new Error('the held uploads were not read');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }

    const started = Date.now();
    const refused = await upload(`${HEADER}\r\n${row(900)}\r\n`);
    t.equal(refused.statusCode, 503);
    t.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.equal(refused.headers['retry-after'], String(UPLOAD_WAIT_MS / 1000));
    t.equal(refused.json().code, 'uploads-busy');
    t.ok(Date.now() - started >= UPLOAD_WAIT_MS - 100, 'it waited for a turn first');
    t.equal((await h.get('/healthz', null)).statusCode, 200, 'other requests go on meanwhile');

    // One that waits while a held upload finishes gets that turn; nothing of the refused one was stored.
    const waiting = upload(`${HEADER}\r\n${row(901)}\r\n`);
    held.forEach((s, i) => s.end(`${row(910 + i)}\r\n`));
    const answers = await Promise.all([...running, waiting]);
    t.same(
      answers.map((a) => [a.statusCode, a.json().accepted]),
      [
        [200, 1],
        [200, 1],
        [200, 1],
      ],
    );
    const again = await upload(`${HEADER}\r\n${row(900)}\r\n`);
    t.equal(again.json().accepted, 1, 'the refused file had stored nothing');
  },
);

t.test('a file over the size limit is refused, by its declared length or by the bytes sent', async (t) => {
  // 3,000 rows of 3 KB: under the row limits, over the size limit.
  const long = row(0).replace('S-lim-0', `S-${'x'.repeat(3000)}`);
  const big = `${HEADER}\r\n${`${long}\r\n`.repeat(3000)}`;
  const declared = await upload(big);
  t.equal(declared.statusCode, 413);
  t.equal(declared.json().code, 'body-too-large');
  // Sent without a length (chunked): counted as it is read, refused past the limit before the rows are stored.
  const res = await h.app.inject({
    method: 'POST',
    url: '/v1/imports?eventType=SessionAttended',
    headers: { authorization: `Bearer ${h.keys.providerA}`, 'content-type': 'text/csv' },
    payload: Readable.from([big]),
  });
  t.equal(res.statusCode, 413);
  t.equal(res.json().code, 'body-too-large');
});

t.test('a refusal names at most 50 fields, however many the body breaks', async (t) => {
  const body = {
    ...event.referred('BOUND-1'),
    ...Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`extra${i}`, i])),
  };
  const res = await h.post('/v1/events', body, h.keys.providerA);
  t.equal(res.statusCode, 422);
  const named = res.json().errors as { field: string; rule: string }[];
  t.ok(named.length > 0 && named.length <= 50, `${named.length} fields named`);
  t.ok(
    named.some((e) => e.field === '/extra0' && e.rule === 'unknown-property'),
    'the unknown properties are among them',
  );
  const batch = await h.post('/v1/events/batch', { events: Array.from({ length: 10 }, () => body) }, h.keys.providerA);
  t.equal(batch.statusCode, 200);
  t.ok(batch.body.length < 10 * 50 * 300, 'the batch answer is bounded too');
  const admin = await h.app.inject({
    method: 'PUT',
    url: '/v1/admin/providers/prov-x',
    headers: { authorization: `Bearer ${h.keys.admin}`, 'content-type': 'application/json' },
    payload: JSON.stringify({
      name: 'X',
      ...Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`extra${i}`, i])),
    }),
  });
  t.equal(admin.statusCode, 422);
  t.ok(admin.json().errors.length <= 50, `${admin.json().errors.length} fields named`);
});

t.test('attacker: a list far past its vocabulary is refused by its length, in JSON, a batch and a file', async (t) => {
  // Before the size pass, 20,000 items (a 40 KB body) kept the API's one thread busy for about 30 s: every other
  // request waited. Each answer here is the list's length named as the rule, and nothing is stored.
  const before = await h.count('events');
  const referral = event.referred('BOUND-LIST');
  const long = {
    ...referral,
    data: { ...(referral.data as object), riskFactors: Array(100_000).fill('weapon-carrying') },
  };
  const res = await h.post('/v1/events', long, h.keys.providerA);
  t.equal(res.statusCode, 422);
  t.same(
    res.json().errors.map((e: { field: string; rule: string }) => [e.field, e.rule]),
    [['/data/riskFactors', 'max-items']],
  );
  // Twenty events of 10,000 items each: 3.6 MB, under the body limit.
  const shorter = { ...long, data: { ...long.data, riskFactors: long.data.riskFactors.slice(0, 10_000) } };
  const batch = await h.post(
    '/v1/events/batch',
    { events: Array.from({ length: 20 }, () => shorter) },
    h.keys.providerA,
  );
  t.equal(batch.statusCode, 200);
  t.same(
    new Set(
      batch
        .json()
        .results.map((r: { status: string; problem?: { errors?: { field: string; rule: string }[] } }) =>
          JSON.stringify([r.status, r.problem?.errors?.map((e) => [e.field, e.rule])]),
        ),
    ),
    new Set([JSON.stringify(['rejected', [['/data/riskFactors', 'max-items']]])]),
  );
  // The file's record limit leaves room for about 30,000 items in one cell.
  const file = new Map([
    ['participantRef', 'BOUND-LIST'],
    ['programmeId', PROGRAMME],
    ['referralDate', '2026-02-01'],
    ['referralSource', 'school'],
    ['gender', 'male'],
    ['ethnicity', 'white-british'],
    ['ageAtReferral', '15'],
    ['postcodeDistrict', 'DE23'],
    ['riskFactors', Array(30_000).fill('x').join(';')],
  ]);
  const csv = await h.post(
    '/v1/imports?eventType=ParticipantReferred',
    `${[...file.keys()].join(',')}\r\n${[...file.values()].join(',')}\r\n`,
    h.keys.providerA,
    {
      'content-type': 'text/csv',
    },
  );
  t.equal(csv.statusCode, 200);
  t.match(csv.json(), {
    accepted: 0,
    results: [{ status: 'rejected', errors: [{ column: 'riskFactors', rule: 'max-items' }] }],
  });
  t.equal(await h.count('events'), before, 'nothing stored');
});

t.test('concurrent audit verifications share one pass over the log', async (t) => {
  await h.postAccepted(journey(`RB-${Date.now()}`, { attended: 2, missed: 1 }), h.keys.providerA);
  await h.appendAndSign();
  const answers = await Promise.all(Array.from({ length: 5 }, () => h.get('/v1/audit/verify', h.keys.commissioner)));
  t.same(
    answers.map((a) => a.statusCode),
    [200, 200, 200, 200, 200],
  );
  // Verification is incremental and one at a time: requests that arrive together share a pass (the same answer),
  // a later pass checks only what is new, so five requests never read the log five times.
  const passes = [
    ...new Map(answers.map((a) => [a.body, a.json<{ leavesChecked: number; treeSize: number }>()])).values(),
  ];
  const read = passes.reduce((sum, p) => sum + p.leavesChecked, 0);
  const { treeSize } = passes[0]!;
  t.ok(treeSize > 0, 'the log has leaves to verify');
  t.ok(
    read <= treeSize,
    `${read} leaves read in ${passes.length} pass(es) for ${answers.length} requests over a log of ${treeSize}`,
  );
});
