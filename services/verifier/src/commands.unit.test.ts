import t from 'tap';
import { generateKeys } from './checkpoint.js';
import { AUDIT_LOG_ROUTES, runVerifier, type VerifierIo } from './commands.js';
import { G1_FIGURES, grantLog, TestLog } from './testing.js';

/** The command's world: files by name, an API answering from a table (a stand-in HTTP server, nothing more). */
function world(files: Record<string, string>, api: Record<string, string> = {}, env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const requests: { url: string; headers: Record<string, string> }[] = [];
  const io: VerifierIo = {
    readFile: async (path) => {
      if (!(path in files)) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT', path });
      return files[path]!;
    },
    writeFile: async (path, text) => void (files[path] = text),
    fetch: async (url, init) => {
      requests.push({ url, headers: init.headers });
      const body = api[url];
      return { ok: body !== undefined, status: body === undefined ? 404 : 200, text: async () => body ?? '' };
    },
    env,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  };
  return { io, out, err, files, requests };
}

const log = grantLog();
const saved = log.checkpoint(5);
for (let i = 0; i < 7; i++)
  log.append('participant-p3', 'SessionMissed', { sessionId: `M-${i}`, sessionDate: '2025-06-03' });
const today = log.checkpoint();
const key = log.signer.verifierKey;

function apiFor(l: TestLog, from: number, base = 'https://vru.example') {
  return {
    [`${base}${AUDIT_LOG_ROUTES.checkpoint}`]: l.checkpoint(),
    [`${base}${AUDIT_LOG_ROUTES.consistency}?from=${from}&to=${l.tree.size}`]: JSON.stringify(l.consistencyProof(from)),
  };
}

t.test('head: a saved head checked against the pinned key', async (t) => {
  const w = world({ 'head.txt': saved });
  t.equal(await runVerifier(['head', '--key', key, 'head.txt'], w.io), 0);
  t.match(w.out[0], /^verified: signed by vru\.test\/audit-log: 5 entries, root \S+, signed 2026-/);
  const other = world({ 'head.txt': saved, 'k.pub': `${generateKeys('vru.test/audit-log').verifierKey}\n` });
  t.equal(await runVerifier(['head', '--key-file', 'k.pub', 'head.txt'], other.io), 1);
  t.match(other.out[0], /^NOT VERIFIED: not signed by the pinned key/);
  const json = world({ 'head.txt': saved }, {}, { AUDIT_PUBLIC_KEY: key });
  t.equal(await runVerifier(['head', '--json', 'head.txt'], json.io), 0, 'the key from AUDIT_PUBLIC_KEY');
  t.match(JSON.parse(json.out[0]!), { ok: true, head: { origin: 'vru.test/audit-log', size: 5 } });
});

t.test("consistency from files: proven, and today's head saved for next month", async (t) => {
  const w = world({ 'old.txt': saved, 'new.txt': today, 'proof.json': JSON.stringify(log.consistencyProof(5)) });
  const argv = [
    'consistency',
    '--key',
    key,
    '--old',
    'old.txt',
    '--new',
    'new.txt',
    '--proof',
    'proof.json',
    '--save',
    'next.txt',
  ];
  t.equal(await runVerifier(argv, w.io), 0);
  t.match(w.out[0], /^consistent: today's log \(17 entries.*extends your saved head \(5 entries.*with 12 new entries/);
  t.equal(w.files['next.txt'], today);
});

t.test("consistency from the API: the head and the proof fetched with the funder's key", async (t) => {
  const w = world({ 'old.txt': saved }, apiFor(log, 5), { VRU_API_KEY: 'vru_k1_secret', AUDIT_PUBLIC_KEY: key });
  t.equal(await runVerifier(['consistency', '--old', 'old.txt', '--url', 'https://vru.example/', '--json'], w.io), 0);
  t.match(JSON.parse(w.out[0]!), {
    ok: true,
    verdict: 'consistent',
    appended: 12,
    saved: { size: 5 },
    current: { size: 17 },
  });
  t.same(
    w.requests.map((r) => r.url),
    [
      `https://vru.example${AUDIT_LOG_ROUTES.checkpoint}`,
      `https://vru.example${AUDIT_LOG_ROUTES.consistency}?from=5&to=17`,
    ],
  );
  t.ok(w.requests.every((r) => r.headers.authorization === 'Bearer vru_k1_secret'));
});

t.test(
  'consistency against a rewritten, truncated or re-keyed log fails with the reason and exit status 1',
  async (t) => {
    // The same log with the first spend cut to 1p, rebuilt and signed with the log's own key.
    const cut = new TestLog(log.signer);
    for (const e of log.entries)
      cut.append(e.streamId, e.type, e.position === '3' ? { ...e.data, amountPence: 1 } : e.data, e.eventId);
    const w = world({ 'old.txt': saved }, apiFor(cut, 5), { AUDIT_PUBLIC_KEY: key });
    t.equal(
      await runVerifier(
        ['consistency', '--old', 'old.txt', '--url', 'https://vru.example', '--save', 'next.txt'],
        w.io,
      ),
      1,
    );
    t.match(
      w.out[0],
      /^NOT CONSISTENT \(diverged\): today's log \(17 entries.*does not begin with the 5 entries your head covered/,
    );
    t.notOk('next.txt' in w.files, 'an inconsistent head is never saved');

    const shortApi = { [`https://vru.example${AUDIT_LOG_ROUTES.checkpoint}`]: cut.checkpoint(12, 1_790_000_000_000) };
    const short = world({ 'old.txt': log.checkpoint(15) }, shortApi, { AUDIT_PUBLIC_KEY: key });
    t.equal(await runVerifier(['consistency', '--old', 'old.txt', '--url', 'https://vru.example'], short.io), 1);
    t.match(short.out[0], /^NOT CONSISTENT \(truncated\): today's log has 12 entries, your saved head covered 15: /);
    t.match(short.out[0], /entries at positions 13 to 15 are gone/);
    t.equal(short.requests.length, 1, 'no proof is asked for when the log shrank');

    // The same rewrite signed with a key of the attacker's.
    const rekeyed = world({ 'old.txt': saved }, apiFor(grantLog(), 5), { AUDIT_PUBLIC_KEY: key });
    t.equal(await runVerifier(['consistency', '--old', 'old.txt', '--url', 'https://vru.example'], rekeyed.io), 1);
    t.match(rekeyed.out[0], /^NOT CONSISTENT \(unverifiable\): today's head: not signed by the pinned key/);
  },
);

t.test('pack: verified offline, and every problem listed with where it is', async (t) => {
  const pack = log.grantPack('G-1', G1_FIGURES);
  const w = world({ 'pack.json': JSON.stringify(pack) }, {}, { AUDIT_PUBLIC_KEY: key });
  t.equal(await runVerifier(['pack', 'pack.json'], w.io), 0);
  t.match(w.out[0], /^verified: 5 events of grant G-1 are in the log signed by vru\.test\/audit-log \(17 entries/);
  t.match(w.out[1], /awarded 5000000 pence, spent 1830000, remaining 3170000/);
  t.same(w.out.slice(2), [
    '  staff: 1500000',
    '  venue: 250000',
    '  materials: 80000',
    '  2025-Q2: 1500000',
    '  2025-Q3: 250000',
    '  2025-Q4: 80000',
  ]);
  const tampered = JSON.stringify({ ...pack, figures: { ...pack.figures, spentPence: 1 } });
  const bad = world({ 'pack.json': tampered }, {}, { AUDIT_PUBLIC_KEY: key });
  t.equal(await runVerifier(['pack', 'pack.json'], bad.io), 1);
  t.same(bad.out, ['NOT VERIFIED: 1 problem(s)', '  /figures/spentPence: the pack says 1, the events give 1830000']);
});

t.test('usage errors exit 2 and say what is wrong', async (t) => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [[], {}, /no command/],
    [['head', 'head.txt'], {}, /no pinned key/],
    [['head', '--key', 'not-a-key', 'head.txt'], {}, /the pinned key/],
    [['head', '--key', key, 'missing.txt'], {}, /cannot read missing\.txt/],
    [
      ['consistency', '--key', key, '--old', 'head.txt'],
      {},
      /--url API_URL, or --new HEAD_FILE and --proof PROOF_FILE/,
    ],
    [['consistency', '--key', key, '--old', 'head.txt', '--url', 'https://vru.example'], {}, /answered 404/],
    [['pack', '--key', key, 'head.txt'], {}, /the evidence pack is not JSON/],
    [['head', '--key'], {}, /--key needs a value/],
    [['head', '--frobnicate'], {}, /unknown option --frobnicate/],
  ];
  for (const [argv, env, message] of cases) {
    const w = world({ 'head.txt': saved }, {}, env);
    t.equal(await runVerifier(argv, w.io), 2, argv.join(' '));
    t.match(w.err[0], message);
  }
  const help = world({});
  t.equal(await runVerifier(['help'], help.io), 0);
  t.match(help.out[0], /vru-verify consistency/);
});
