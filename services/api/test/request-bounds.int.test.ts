import t from 'tap';
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
