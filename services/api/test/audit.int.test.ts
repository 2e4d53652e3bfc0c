import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { eventDefinition } from '@vru/contracts';
import {
  appendPending,
  consistencyProof,
  EVENT_COLUMNS,
  startAuditLog,
  toStoredEvent,
  TreeHeadSigner,
  type EventRow,
} from '@vru/event-store';
import { spendProjection } from '@vru/projector';
import { metricsRegistry } from '@vru/runtime';
import {
  checkConsistency,
  fromBase64,
  generateKeys,
  leafHash,
  openCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  toBase64,
  utf8,
  runVerifier,
  verifyEvidencePack,
  verifyInclusion,
  type VerifierKey,
} from '@vru/verifier';
import { Harness, journey, PROGRAMME } from '@vru/testkit';

/**
 * The attacks of the audit threat model (docs/audit.md), each on a real PostgreSQL and Kafka, each detected and
 * named: a rewrite re-signed with another key, a truncation re-signed, the signer asked to sign a tree that does not
 * extend its last head, the spend read model edited, and a funder's saved head checked against the log afterwards.
 */

type Json = Record<string, unknown>;
const GRANT = 'G-AUD-1';
const grantEvent = (type: string, data: Json, eventId: string = randomUUID()): Json => ({
  eventId,
  type,
  schemaVersion: eventDefinition(type)!.latest,
  occurredAt: '2025-07-01T10:00:00Z',
  grantRef: GRANT,
  data,
});
/** A SpendRecorded for the period from..to (ISO dates). */
const spend = (
  amountPence: number,
  category: string,
  from: string,
  to: string,
  evidenceRef: string,
  eventId?: string,
) => grantEvent('SpendRecorded', { amountPence, category, periodStart: from, periodEnd: to, evidenceRef }, eventId);

interface Log {
  h: Harness;
  key: VerifierKey;
  spendIds: string[];
  /** The head a funder saved after the honest log was signed. */
  saved: string;
  total: number;
}

/** A fresh stack with a grant, its spend and a participant's journey, projected, logged and signed. */
async function honestLog(t: Test): Promise<Log> {
  const h = await Harness.start();
  // One stack per attack; only the last close may end the process (see the end of this file).
  t.teardown(() => h.close({ keepProcess: true }));
  const spendIds = [randomUUID(), randomUUID(), randomUUID()];
  await h.postAccepted(
    [
      grantEvent('GrantAwarded', {
        providerId: 'prov-a',
        programmeId: PROGRAMME,
        amountPence: 5_000_000,
        startDate: '2025-04-01',
        endDate: '2026-03-31',
        targetParticipants: 20,
      }),
    ],
    h.keys.commissioner,
  );
  await h.postAccepted(
    [
      spend(1_672_600, 'staff', '2025-04-01', '2025-06-30', 'INV-1', spendIds[0]),
      ...journey('AUD-1', { attended: 2, missed: 1 }),
      spend(250_000, 'venue', '2025-07-01', '2025-09-30', 'INV-2', spendIds[1]),
      spend(80_000, 'materials', '2025-10-01', '2025-12-31', 'INV-3', spendIds[2]),
    ],
    h.keys.providerA,
  );
  const total = await h.count('events');
  await h.startRelay();
  await h.startProjectors([spendProjection]);
  await h.waitForProjections(['spend'], total);
  const signed = await h.appendAndSign(total);
  if (signed.status !== 'signed') throw new Error(`the honest log was not signed: ${signed.status}`);
  return { h, key: parseVerifierKey(h.config.AUDIT_PUBLIC_KEY!), spendIds, saved: signed.checkpoint, total };
}

const verify = async (h: Harness, full = false) => {
  const res = await h.get(`/v1/audit/verify${full ? '?full=true' : ''}`, h.keys.funder);
  if (res.statusCode !== 200) throw new Error(`GET /v1/audit/verify answered ${res.statusCode}: ${res.body}`);
  return res.json();
};

/** A signed-in funder's dashboard session cookie. */
async function funderSession(h: Harness): Promise<string> {
  const form = await h.app.inject({ method: 'GET', url: '/app/sign-in' });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1];
  const cookieOf = (res: typeof form) =>
    [res.headers['set-cookie']]
      .flat()
      .filter(Boolean)
      .map((c) => String(c).split(';')[0])
      .join('; ');
  const signIn = await h.app.inject({
    method: 'POST',
    url: '/app/sign-in',
    headers: { cookie: cookieOf(form), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ apiKey: h.keys.funder, _csrf: csrf ?? '' }).toString(),
  });
  return cookieOf(signIn);
}

/** The funding page as a signed-in funder sees it. */
async function fundingPage(h: Harness): Promise<string> {
  const page = await h.app.inject({ method: 'GET', url: '/app/funding', headers: { cookie: await funderSession(h) } });
  if (page.statusCode !== 200) throw new Error(`/app/funding answered ${page.statusCode}`);
  return page.body;
}

/** Edits rows the way a database administrator can: with the append-only triggers switched off. */
async function asDatabaseAdmin(h: Harness, edit: (sql: Harness['sql']) => Promise<unknown>): Promise<void> {
  await h.sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await edit(tx as unknown as Harness['sql']);
  });
}

/** Re-builds the whole Merkle tree from the events as they now are, as an attacker covering a rewrite would. */
async function rebuildTree(h: Harness, options: { keepHeads?: boolean } = {}): Promise<void> {
  await asDatabaseAdmin(h, async (sql) => {
    if (!options.keepHeads) await sql`delete from audit_tree_heads`;
    await sql`delete from audit_log_nodes`;
    await sql`delete from audit_log_leaves`;
  });
  while ((await appendPending(h.sql)).appended > 0);
}

const attackerKey = (h: Harness) =>
  parseSignerKey(generateKeys(parseVerifierKey(h.config.AUDIT_PUBLIC_KEY!).name).signerKey);

/** Signs the tree as stored with a key that is not the log's, and stores the head. */
async function signAsAttacker(h: Harness): Promise<string> {
  // A signer checks its key against the key it is given; the attacker's own signer is given the attacker's key.
  const own = attackerKey(h);
  const forged = new TreeHeadSigner(h.sql, own, parseVerifierKey(own.verifierKey));
  const outcome = await forged.signNext();
  if (outcome.status !== 'signed') throw new Error(`the attacker could not sign: ${outcome.status}`);
  return outcome.checkpoint;
}

const consistencyFrom = async (h: Harness, from: number, to: number) => ({
  from,
  to,
  proof: (await consistencyProof(h.sql, from, to)).map(toBase64),
});

/**
 * The funder's command (vru-verify, as scripts/verify runs it) against the API over HTTP, with real files: the saved
 * head is written to a file first. Returns the exit status and the JSON it printed.
 */
async function funderCli(
  h: Harness,
  args: string[],
  files: Record<string, string> = {},
): Promise<{ status: number; out: any }> {
  if (!h.app.server.listening) await h.app.listen({ host: '127.0.0.1', port: 0 });
  const address = h.app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'vru-funder-'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  const lines: string[] = [];
  const status = await runVerifier(
    [...args.map((a) => (a in files ? path.join(dir, a) : a === '$URL' ? url : a)), '--json'],
    {
      readFile: (file) => readFile(file, 'utf8'),
      writeFile: (file, text) => writeFile(file, text),
      fetch: (target, init) => fetch(target, init),
      env: { AUDIT_PUBLIC_KEY: h.config.AUDIT_PUBLIC_KEY, VRU_API_KEY: h.keys.funder },
      out: (line) => lines.push(line),
      err: (line) => lines.push(line),
    },
  );
  return { status, out: lines.length > 0 ? JSON.parse(lines.at(-1)!) : null };
}

const kinds = (body: { problems: { kind: string }[] }) => [...new Set(body.problems.map((p) => p.kind))].sort();

await t.test(
  'an honest log verifies: heads, inclusion, consistency and the evidence pack, all against the pinned key',
  async (t) => {
    const { h, key, saved, total } = await honestLog(t);
    const clean = await verify(h);
    t.equal(clean.ok, true, 'verified');
    t.same(clean.problems, []);
    t.equal(clean.treeSize, total);
    t.equal(clean.leavesChecked, total, 'the first run checks every leaf');
    t.equal(clean.drift.ok, true, 'the spend read model agrees with the log');
    const again = await verify(h);
    t.equal(again.leavesChecked, 0, 'incremental: nothing new, nothing re-computed');
    t.equal((await verify(h, true)).leavesChecked, total, 'full=true re-computes every leaf');
    t.equal((await h.get('/v1/audit/verify', h.keys.providerA)).statusCode, 403, 'providers may not');
    t.equal((await h.get('/v1/audit/verify', null)).statusCode, 401);

    const head = await h.get('/v1/audit/log/checkpoint', h.keys.funder);
    t.equal(head.statusCode, 200);
    t.match(head.headers['content-type'], /^text\/plain/);
    t.equal(head.body, saved, 'the latest signed head');
    const opened = openCheckpoint(head.body, key);
    t.equal(opened.size, total);

    const [spend] = await h.sql<
      [{ event_id: string }]
    >`select event_id from events where type = 'SpendRecorded' order by position limit 1`;
    const inclusion = (await h.get(`/v1/audit/log/inclusion?eventId=${spend.event_id}`, h.keys.funder)).json();
    t.equal(inclusion.treeSize, total);
    t.match(inclusion.entry, /"\$sealed"|"SpendRecorded"/);
    t.ok(
      verifyInclusion(
        inclusion.leafIndex,
        total,
        leafHash(utf8(inclusion.entry)),
        inclusion.proof.map(fromBase64),
        opened.rootHash,
      ).ok,
      'the inclusion proof leads to the signed root',
    );

    const pack = await h.get(`/v1/audit/evidence-pack?grantRef=${GRANT}`, h.keys.funder);
    t.equal(pack.statusCode, 200);
    t.match(pack.headers['content-disposition'], /attachment/);
    const checked = verifyEvidencePack(pack.json(), key);
    t.same(checked.problems, [], 'the offline verifier accepts the pack');
    t.equal(checked.recomputed?.spentPence, 1_672_600 + 250_000 + 80_000);
    t.equal((await h.get('/v1/audit/evidence-pack?grantRef=G-NONE', h.keys.funder)).statusCode, 404);

    // A month later: more events, a new head; the funder's saved head is proven a prefix of it.
    await h.postAccepted(journey('AUD-2', { attended: 1, missed: 0 }), h.keys.providerA);
    const later = await h.appendAndSign();
    t.equal(later.status, 'signed');
    const current = (await h.get('/v1/audit/log/checkpoint', h.keys.funder)).body;
    const size = openCheckpoint(current, key).size;
    const proof = (await h.get(`/v1/audit/log/consistency?from=${total}&to=${size}`, h.keys.funder)).json();
    t.match(checkConsistency(key, saved, current, proof), { verdict: 'consistent', appended: size - total });
    const cli = await funderCli(h, ['consistency', '--old', 'saved.txt', '--url', '$URL'], { 'saved.txt': saved });
    t.match(
      cli,
      { status: 0, out: { verdict: 'consistent', ok: true, appended: size - total } },
      'vru-verify consistency over HTTP',
    );
    const packCli = await funderCli(h, ['pack', 'pack.json'], {
      'pack.json': (await h.get(`/v1/audit/evidence-pack?grantRef=${GRANT}`, h.keys.funder)).body,
    });
    t.match(packCli, { status: 0, out: { ok: true } }, 'vru-verify pack on the downloaded pack');
    t.equal(
      (await h.get(`/v1/audit/log/consistency?from=${size}&to=${size + 1}`, h.keys.funder)).statusCode,
      400,
      'beyond the log: 400',
    );
    const incremental = await verify(h);
    t.equal(incremental.ok, true);
    t.equal(incremental.leavesChecked, size - total, 'incremental: only the new leaves');
    const page = await fundingPage(h);
    t.match(page, />Verified</);
    t.match(
      page,
      new RegExp(`href="/app/download/evidence-pack\\?grantRef=${GRANT}"`),
      "the page links the grant's evidence pack",
    );
    const download = await h.app.inject({
      method: 'GET',
      url: `/app/download/evidence-pack?grantRef=${GRANT}`,
      headers: { cookie: await funderSession(h) },
    });
    t.equal(download.statusCode, 200);
    t.same(
      verifyEvidencePack(download.json(), key).problems,
      [],
      'the pack downloaded from the dashboard verifies offline',
    );
  },
);

await t.test(
  'a gap in positions and a late commit: leaves follow the order the log took events in; proofs and packs verify',
  async (t) => {
    const { h, key, total } = await honestLog(t);
    const copy = (position: string | null, streamId: string, recordedAt: string) =>
      h.sql.unsafe(
        `
    insert into events (${position ? 'position, ' : ''}event_id, stream_id, stream_version, type, schema_version, provider_id, programme_id,
                        occurred_at, recorded_at, data, metadata, request_hash)
    ${position ? 'overriding system value' : ''}
    select ${position ? '$1::bigint, ' : ''}gen_random_uuid(), '${streamId}', 1, type, schema_version, provider_id, programme_id,
           occurred_at, ${recordedAt}, data, metadata, request_hash
    from events where type = 'SessionAttended' order by position limit 1`,
        position ? [position] : [],
      );
    // A rolled-back append leaves its identity value unused: a gap in positions.
    await h.sql
      .begin(async (tx) => {
        await tx.unsafe(`insert into events (event_id, stream_id, stream_version, type, schema_version, provider_id, programme_id,
      occurred_at, data, metadata, request_hash)
      select gen_random_uuid(), 'participant-rolled-back', 1, type, schema_version, provider_id, programme_id, occurred_at, data, metadata,
             request_hash from events limit 1`);
        throw new Error('rolled back');
      })
      .catch(() => {});
    const [{ gap }] = await h.sql<[{ gap: string }]>`select (max(position) + 1)::text as gap from events`;
    await h.postAccepted(
      [
        grantEvent('SpendRecorded', {
          amountPence: 5_000,
          category: 'staff',
          periodStart: '2025-10-01',
          periodEnd: '2025-12-31',
          evidenceRef: 'INV-5',
        }),
      ],
      h.keys.providerA,
    );
    await h.waitForProjections(['spend'], total + 1);
    t.equal((await h.appendAndSign(total + 1)).status, 'signed', 'the gap is passed once it is old enough');
    // The missing position commits after all (a transaction slower than the appender's grace): it becomes the next leaf.
    await copy(gap, 'participant-late', `now() - interval '1 minute'`);
    t.equal((await h.appendAndSign(total + 2)).status, 'signed');
    const leaves = await h.sql<{ leaf_index: string; position: string }[]>`
    select leaf_index::text, position::text from audit_log_leaves where leaf_index >= ${total} order by leaf_index`;
    t.same(
      leaves.map((l) => Number(l.position) - Number(gap)),
      [1, 0],
      'the spend (the gap + 1) first, the late event (the gap) after it',
    );
    const full = await verify(h, true);
    t.same(full.problems, []);
    t.equal(full.ok, true);
    const pack = verifyEvidencePack(
      (await h.get(`/v1/audit/evidence-pack?grantRef=${GRANT}`, h.keys.funder)).json(),
      key,
    );
    t.same(pack.problems, [], 'the pack verifies with leaf indexes that are not positions − 1');
    t.equal(pack.positions.at(-1), String(Number(gap) + 1));
    const [late] = await h.sql<[{ event_id: string }]>`select event_id from events where position = ${gap}::bigint`;
    const inclusion = (await h.get(`/v1/audit/log/inclusion?eventId=${late.event_id}`, h.keys.funder)).json();
    t.equal(inclusion.leafIndex, total + 1);
    t.ok(
      verifyInclusion(
        inclusion.leafIndex,
        inclusion.treeSize,
        leafHash(utf8(inclusion.entry)),
        inclusion.proof.map(fromBase64),
        openCheckpoint((await h.get('/v1/audit/log/checkpoint', h.keys.funder)).body, key).rootHash,
      ).ok,
    );
  },
);

await t.test(
  'a late commit hidden behind a forged leaf, so that the appender counts as many leaves as events: verification names it',
  async (t) => {
    const { h, total } = await honestLog(t);
    // Two rolled-back appends leave two positions unused, then a real event commits above them.
    for (const stream of ['participant-rolled-back-1', 'participant-rolled-back-2'])
      await h.sql
        .begin(async (tx) => {
          await tx.unsafe(`insert into events (event_id, stream_id, stream_version, type, schema_version, provider_id,
        programme_id, occurred_at, data, metadata, request_hash)
        select gen_random_uuid(), '${stream}', 1, type, schema_version, provider_id, programme_id, occurred_at, data,
               metadata, request_hash from events limit 1`);
          throw new Error('rolled back');
        })
        .catch(() => {});
    const [{ hidden }] = await h.sql<[{ hidden: string }]>`select (max(position) + 1)::text as hidden from events`;
    const forged = String(Number(hidden) + 1);
    await h.postAccepted(
      [
        grantEvent('SpendRecorded', {
          amountPence: 7_000,
          category: 'staff',
          periodStart: '2025-10-01',
          periodEnd: '2025-12-31',
          evidenceRef: 'INV-HIDDEN',
        }),
      ],
      h.keys.providerA,
    );
    t.equal((await h.appendAndSign(total + 1)).status, 'signed');
    // The attacker commits an event at the first unused position, below the logged head, and adds a leaf for the
    // second (which holds no event) in the same window, so that the window's events and leaves count the same.
    await asDatabaseAdmin(h, async (sql) => {
      await sql.unsafe(
        `insert into events (position, event_id, stream_id, stream_version, type, schema_version, provider_id,
           programme_id, occurred_at, recorded_at, data, metadata, request_hash)
         overriding system value
         select $1::bigint, gen_random_uuid(), 'participant-hidden', 1, type, schema_version, provider_id, programme_id,
                occurred_at, now() - interval '1 minute', data, metadata, request_hash
         from events where type = 'SessionAttended' order by position limit 1`,
        [hidden],
      );
      await sql`insert into audit_log_leaves (leaf_index, position) values (${total + 1}, ${forged}::bigint)`;
    });
    t.equal((await appendPending(h.sql)).appended, 0, 'the appender, counting first, finds nothing to add');
    const [{ leaves }] = await h.sql<[{ leaves: number }]>`
      select count(*)::int as leaves from audit_log_leaves where position = ${hidden}::bigint`;
    t.equal(leaves, 0, 'the late event has no leaf');
    const full = await verify(h, true);
    t.equal(full.ok, false);
    t.ok(
      full.problems.some(
        (p: { kind: string; position?: string }) => p.kind === 'event-missing' && p.position === forged,
      ),
      'the forged leaf is named: its event is not in the log',
    );
  },
);

await t.test(
  'read-model tampering: the drift check names the grant and the funding page says so instead of "Verified"',
  async (t) => {
    const { h, key, spendIds } = await honestLog(t);
    t.equal((await verify(h)).ok, true);
    await h.sql`update rm_spend.spend set amount_pence = 1 where event_id = ${spendIds[0]!}`;
    const tampered = await verify(h);
    t.equal(tampered.ok, false);
    t.same(kinds(tampered), ['spend-drift'], 'only the read model differs; the log itself verifies');
    t.match(tampered.drift.drift, [
      { grantRef: GRANT, field: 'spentPence', log: 2_002_600, readModel: 1 + 250_000 + 80_000 },
    ]);
    const page = await fundingPage(h);
    t.notMatch(page, />Verified</);
    t.match(page, /Not verified/);
    t.match(page, /differ from the spend re-computed from the audit log/);
    const metrics = await metricsRegistry.metrics();
    t.match(metrics, /^vru_audit_spend_drift_grants 1$/m);
    // The evidence pack carries the figures as reported: the offline verifier finds them wrong.
    const pack = verifyEvidencePack(
      (await h.get(`/v1/audit/evidence-pack?grantRef=${GRANT}`, h.keys.funder)).json(),
      key,
    );
    t.equal(pack.ok, false);
    t.match(
      pack.problems.map((p) => p.path),
      ['/figures/spentPence', '/figures/remainingPence', '/figures/spentByCategory', '/figures/spentByQuarter'],
    );
  },
);

await t.test(
  'rewrite re-signed with another key: the head is named, the signer refuses, a saved head shows the divergence',
  async (t) => {
    const { h, key, spendIds, saved, total } = await honestLog(t);
    t.equal((await verify(h)).ok, true, 'the API has verified the honest log');
    const [target] = await h.sql<
      [{ position: string }]
    >`select position::text from events where event_id = ${spendIds[0]!}`;
    // Cut the spend by £16,716 in the log itself, then rebuild the whole tree and sign it with the attacker's key.
    await asDatabaseAdmin(
      h,
      (sql) => sql`update events set data = data || '{"amountPence": 1000}'::jsonb where event_id = ${spendIds[0]!}`,
    );
    await rebuildTree(h);
    const forged = await signAsAttacker(h);

    const incremental = await verify(h);
    t.equal(incremental.ok, false);
    t.ok(
      incremental.problems.some((p: { kind: string; headId?: string }) => p.kind === 'head-not-signed' && p.headId),
      'the re-signed head is named: not signed by the pinned key',
    );
    t.ok(
      incremental.problems.some((p: { kind: string }) => p.kind === 'tree-mismatch'),
      'the tree under the verified head changed',
    );
    const full = await verify(h, true);
    t.match(
      full.problems.find((p: { kind: string }) => p.kind === 'head-not-signed'),
      { headSize: total },
    );
    t.equal(full.latestHead, null, 'no head the pinned key signed is left');
    t.ok(
      full.problems.some((p: { kind: string; grantRef?: string }) => p.kind === 'spend-drift' && p.grantRef === GRANT),
      'and the figures drift',
    );

    const refused = await h.auditSigner.signNext();
    t.match(
      refused,
      { status: 'refused', lastSigned: { size: total }, size: total },
      'the signer will not sign the rewritten tree',
    );

    t.match(
      checkConsistency(key, saved, forged, await consistencyFrom(h, total, total)),
      { verdict: 'unverifiable' },
      'the forged head is not signed by the pinned key',
    );
    // A signer restarted with the real key and no memory signs the rewritten tree (the attacker deleted its heads):
    // the head the funder saved still exposes it.
    const fresh = new TreeHeadSigner(h.sql, parseSignerKey(h.config.AUDIT_SIGNING_KEY!), key);
    const resigned = await fresh.signNext(Date.now() + 1000);
    t.equal(resigned.status, 'signed');
    const verdict = checkConsistency(
      key,
      saved,
      (resigned as { checkpoint: string }).checkpoint,
      await consistencyFrom(h, total, total),
    );
    t.equal(verdict.verdict, 'diverged');
    t.match((verdict as { message: string }).message, new RegExp(`position from 1 to ${total}`));
    const cli = await funderCli(h, ['consistency', '--old', 'saved.txt', '--url', '$URL'], { 'saved.txt': saved });
    t.match(
      cli,
      { status: 1, out: { verdict: 'diverged', ok: false } },
      'vru-verify, given the head saved before the rewrite',
    );
    const named = await verify(h, true);
    t.ok(named.problems.some((p: { kind: string }) => p.kind === 'spend-drift'));
    t.ok(named.problems.some((p: { kind: string }) => p.kind === 'head-not-signed'));
    t.ok(Number(target.position) > 0);
  },
);

await t.test('rewrite of one event without touching the tree: the event is named by position', async (t) => {
  const { h, spendIds } = await honestLog(t);
  const [target] = await h.sql<
    [{ position: string }]
  >`select position::text from events where event_id = ${spendIds[1]!}`;
  await asDatabaseAdmin(
    h,
    (sql) => sql`update events set data = data || '{"amountPence": 1}'::jsonb where event_id = ${spendIds[1]!}`,
  );
  const full = await verify(h, true);
  t.equal(full.ok, false);
  t.match(
    full.problems.find((p: { kind: string }) => p.kind === 'event-changed'),
    { position: target.position },
  );
  t.match(
    full.problems.find((p: { kind: string }) => p.kind === 'spend-drift'),
    { grantRef: GRANT },
  );
  const pack = (await h.get(`/v1/audit/evidence-pack?grantRef=${GRANT}`, h.keys.funder)).json();
  const checked = verifyEvidencePack(pack, parseVerifierKey(h.config.AUDIT_PUBLIC_KEY!));
  t.ok(
    checked.problems.some((p) => p.message.includes('not in the signed log as given')),
    "the evidence pack's proof for the altered event fails offline",
  );
});

await t.test(
  'truncation re-signed: the signer refuses, verification names the heads, the saved head says "truncated"',
  async (t) => {
    const { h, key, saved, total } = await honestLog(t);
    t.equal((await verify(h)).ok, true);
    // Remove the last three events and their leaves and subtrees, then sign the shorter tree with another key.
    const cut = total - 3;
    await asDatabaseAdmin(h, async (sql) => {
      const gone = await sql<
        { position: string }[]
      >`select position::text from audit_log_leaves where leaf_index >= ${cut}`;
      const positions = gone.map((g) => g.position);
      await sql`delete from audit_log_leaves where leaf_index >= ${cut}`;
      await sql`delete from audit_log_nodes where (index + 1) * power(2, level)::bigint > ${cut}`;
      await sql`delete from outbox where position = any(${positions}::bigint[])`;
      await sql`delete from events where position = any(${positions}::bigint[])`;
    });
    const refused = await h.auditSigner.signNext();
    t.match(refused, { status: 'refused', size: cut });
    t.match((refused as { reason: string }).reason, new RegExp(`leaves ${cut + 1} to ${total} are gone`));

    const forged = await signAsAttacker(h);
    const found = await verify(h, true);
    t.equal(found.ok, false);
    t.match(
      found.problems.find((p: { kind: string }) => p.kind === 'truncated'),
      { headSize: total },
      'the honest head is larger than the log',
    );
    t.match(
      found.problems.find((p: { kind: string }) => p.kind === 'head-not-signed'),
      { headSize: cut },
    );
    t.match(checkConsistency(key, saved, forged, {}), { verdict: 'unverifiable' });

    // Even re-signed with the real key (heads deleted, a signer with no memory), the saved head names the positions gone.
    await asDatabaseAdmin(h, (sql) => sql`delete from audit_tree_heads`);
    const fresh = await new TreeHeadSigner(h.sql, parseSignerKey(h.config.AUDIT_SIGNING_KEY!), key).signNext(
      Date.now() + 1000,
    );
    t.equal(fresh.status, 'signed');
    const verdict = checkConsistency(key, saved, (fresh as { checkpoint: string }).checkpoint, {});
    t.equal(verdict.verdict, 'truncated');
    t.match((verdict as { message: string }).message, new RegExp(`positions ${cut + 1} to ${total} are gone`));
    const cli = await funderCli(h, ['consistency', '--old', 'saved.txt', '--url', '$URL'], { 'saved.txt': saved });
    t.match(
      cli,
      { status: 1, out: { verdict: 'truncated', ok: false } },
      'vru-verify, given the head saved before the truncation',
    );
  },
);

await t.test(
  'the signer refuses a tree that does not extend its last head, raises the alarm, and signs nothing',
  async (t) => {
    const { h, total, spendIds } = await honestLog(t);
    const before = await h.count('audit_tree_heads');
    // A spend rewritten and the whole tree rebuilt over it (the signed heads left alone), then more events appended.
    await asDatabaseAdmin(
      h,
      (sql) => sql`update events set data = data || '{"amountPence": 1000}'::jsonb where event_id = ${spendIds[2]!}`,
    );
    await rebuildTree(h, { keepHeads: true });
    await h.postAccepted(journey('AUD-3', { attended: 1, missed: 0 }), h.keys.providerA);
    const outcome = await h.appendAndSign();
    t.match(outcome, { status: 'refused', lastSigned: { size: total } });
    t.match((outcome as { reason: string }).reason, new RegExp(`does not extend the signed head of ${total}`));
    t.equal(await h.count('audit_tree_heads'), before, 'no head was stored');
    // The relay's loop does the same on its timer, and holds the alarm in /metrics.
    const loop = startAuditLog({ sql: h.sql, logger: h.logger, signer: h.auditSigner, intervalMs: 50, signEveryMs: 0 });
    t.teardown(() => loop.stop());
    await h.waitFor('the signer alarm in /metrics', async () =>
      /^vru_audit_signer_alarm 1$/m.test(await metricsRegistry.metrics()) ? true : undefined,
    );
    t.match(await metricsRegistry.metrics(), /^vru_audit_signer_refusals_total [1-9]/m);
    t.equal(await h.count('audit_tree_heads'), before, 'and it keeps refusing');
    const forgedKey = attackerKey(h);
    t.throws(
      () => new TreeHeadSigner(h.sql, forgedKey, parseVerifierKey(h.config.AUDIT_PUBLIC_KEY!)),
      /does not match the pinned public key/,
      'a signer never signs with a key other than the pinned one',
    );
  },
);

await t.test(
  'a forged Kafka message (produced with the admin user) is refused and named; genuine events still apply',
  async (t) => {
    const { h, total } = await honestLog(t);
    const [genuine] = await h.sql<[EventRow]>`
    select ${h.sql.unsafe(EVENT_COLUMNS)} from events where type = 'SpendRecorded' order by position limit 1`;
    const stored = toStoredEvent(genuine);
    const forgedId = randomUUID();
    const producer = h.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: h.config.KAFKA_TOPIC,
      acks: -1,
      messages: [
        // A spend that was never recorded, far ahead in the grant's stream.
        {
          key: stored.streamId,
          value: JSON.stringify({
            ...stored,
            eventId: forgedId,
            position: '999999',
            streamVersion: 100_000,
            data: { ...stored.data, amountPence: 4_000_000 },
          }),
        },
        // A genuine event with its amount raised.
        {
          key: stored.streamId,
          value: JSON.stringify({ ...stored, data: { ...stored.data, amountPence: 4_000_000 } }),
        },
        { key: stored.streamId, value: 'not an event' },
      ],
    });
    await producer.disconnect();
    const rejected = await h.waitFor('both forgeries refused', async () => {
      const metrics = await metricsRegistry.metrics();
      const series = (reason: string) =>
        `^vru_projector_messages_rejected_total\\{projection="spend",reason="${reason}"\\} (\\d+)$`;
      const count = (reason: string) => Number(new RegExp(series(reason), 'm').exec(metrics)?.[1] ?? 0);
      return count('not-in-store') >= 1 && count('differs-from-store') >= 1 ? true : undefined;
    });
    t.ok(rejected);
    const [{ spent }] = await h.sql<[{ spent: number }]>`select sum(amount_pence)::int as spent from rm_spend.spend`;
    t.equal(spent, 1_672_600 + 250_000 + 80_000, 'the read model did not take the forged amounts');
    t.equal((await h.sql`select 1 from rm_spend.spend where event_id = ${forgedId}`).length, 0);

    // The stream is not blocked: the next genuine spend (version 5) is applied.
    await h.postAccepted([spend(10_000, 'venue', '2025-10-01', '2025-12-31', 'INV-4')], h.keys.providerA);
    await h.waitForProjections(['spend'], total + 1);
    const [{ spent: after }] = await h.sql<
      [{ spent: number }]
    >`select sum(amount_pence)::int as spent from rm_spend.spend`;
    t.equal(after, 1_672_600 + 250_000 + 80_000 + 10_000);
    t.equal((await verify(h)).drift.ok, true, 'the read model agrees with the log');
  },
);

await t.test(
  'a stream version gap is never applied over: the missing events are read from the store first',
  async (t) => {
    const { h, total } = await honestLog(t);
    await h.stopRelay();
    const ids = [randomUUID(), randomUUID()];
    await h.postAccepted(
      ids.map((id, i) =>
        grantEvent(
          'SpendRecorded',
          {
            amountPence: 1_000 * (i + 1),
            category: 'staff',
            periodStart: '2025-10-01',
            periodEnd: '2025-12-31',
            evidenceRef: `GAP-${i}`,
          },
          id,
        ),
      ),
      h.keys.providerA,
    );
    t.equal((await verify(h)).drift.ok, true, 'spend not projected yet is lag, not drift (within the grace period)');
    // Only the later of the two reaches the projector, as the relay would publish it: a gap of one version.
    const [later] = await h.sql<
      [EventRow]
    >`select ${h.sql.unsafe(EVENT_COLUMNS)} from events where event_id = ${ids[1]!}`;
    const producer = h.kafka.producer();
    await producer.connect();
    const message = { key: later.stream_id, value: JSON.stringify(toStoredEvent(later)) };
    await producer.send({ topic: h.config.KAFKA_TOPIC, acks: -1, messages: [message] });
    await producer.disconnect();
    await h.waitForProjections(['spend'], total + 2);
    const rows = await h.sql<
      { event_id: string }[]
    >`select event_id from rm_spend.spend where event_id = any(${ids}::uuid[])`;
    t.equal(rows.length, 2, 'both versions applied, the earlier one read from the store');
    const metrics = await metricsRegistry.metrics();
    t.match(metrics, /^vru_projector_stream_gaps_total\{projection="spend"\} [1-9]/m, 'reported');
    await h.startRelay();
    t.equal((await verify(h)).drift.ok, true);
  },
);

// kafkajs can leave retry timers behind (see Harness.close): once every stack is closed, the process ends.
t.teardown(() => void setTimeout(() => process.exit(), 3_000).unref());
t.end();
