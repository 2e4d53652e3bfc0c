import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { appendPending, consistencyProof, EVENT_COLUMNS, startAuditLog, toStoredEvent, TreeHeadSigner, type EventRow } from '@vru/event-store';
import { spendProjection } from '@vru/projector';
import {
  checkConsistency, fromBase64, generateKeys, leafHash, openCheckpoint, parseSignerKey, parseVerifierKey, toBase64, utf8,
  verifyEvidencePack, verifyInclusion, type VerifierKey,
} from '@vru/verifier';
import { Harness, journey, PROGRAMME } from './index.js';

/**
 * The attacks of the audit threat model (docs/audit.md), each on a real PostgreSQL and Kafka, each detected and
 * named: a rewrite re-signed with another key, a truncation re-signed, the signer asked to sign a tree that does not
 * extend its last head, the spend read model edited, and a funder's saved head checked against the log afterwards.
 */

type Json = Record<string, unknown>;
const GRANT = 'G-AUD-1';
const grantEvent = (type: string, data: Json, eventId: string = randomUUID()): Json =>
  ({ eventId, type, schemaVersion: 1, occurredAt: '2025-07-01T10:00:00Z', grantRef: GRANT, data });

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
  await h.postAccepted([grantEvent('GrantAwarded', {
    providerId: 'prov-a', programmeId: PROGRAMME, amountPence: 5_000_000, startDate: '2025-04-01', endDate: '2026-03-31', targetParticipants: 20,
  })], h.keys.commissioner);
  await h.postAccepted([
    grantEvent('SpendRecorded', { amountPence: 1_672_600, category: 'staff', periodStart: '2025-04-01', periodEnd: '2025-06-30', evidenceRef: 'INV-1' }, spendIds[0]),
    ...journey('AUD-1', { attended: 2, missed: 1 }),
    grantEvent('SpendRecorded', { amountPence: 250_000, category: 'venue', periodStart: '2025-07-01', periodEnd: '2025-09-30', evidenceRef: 'INV-2' }, spendIds[1]),
    grantEvent('SpendRecorded', { amountPence: 80_000, category: 'materials', periodStart: '2025-10-01', periodEnd: '2025-12-31', evidenceRef: 'INV-3' }, spendIds[2]),
  ], h.keys.providerA);
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

/** The funding page as a signed-in funder sees it. */
async function fundingPage(h: Harness): Promise<string> {
  const form = await h.app.inject({ method: 'GET', url: '/app/sign-in' });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1];
  const cookieOf = (res: typeof form) => [res.headers['set-cookie']].flat().filter(Boolean).map((c) => String(c).split(';')[0]).join('; ');
  const signIn = await h.app.inject({
    method: 'POST', url: '/app/sign-in', headers: { cookie: cookieOf(form), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ apiKey: h.keys.funder, _csrf: csrf ?? '' }).toString(),
  });
  const page = await h.app.inject({ method: 'GET', url: '/app/funding', headers: { cookie: cookieOf(signIn) } });
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

const attackerKey = (h: Harness) => parseSignerKey(generateKeys(parseVerifierKey(h.config.AUDIT_PUBLIC_KEY!).name).signerKey);

/** Signs the tree as stored with a key that is not the log's, and stores the head. */
async function signAsAttacker(h: Harness): Promise<string> {
  // A signer checks its key against the key it is given; the attacker's own signer is given the attacker's key.
  const own = attackerKey(h);
  const forged = new TreeHeadSigner(h.sql, own, parseVerifierKey(own.verifierKey));
  const outcome = await forged.signNext();
  if (outcome.status !== 'signed') throw new Error(`the attacker could not sign: ${outcome.status}`);
  return outcome.checkpoint;
}

const consistencyFrom = async (h: Harness, from: number, to: number) =>
  ({ from, to, proof: (await consistencyProof(h.sql, from, to)).map(toBase64) });

const kinds = (body: { problems: { kind: string }[] }) => [...new Set(body.problems.map((p) => p.kind))].sort();

await t.test('an honest log verifies: heads, inclusion, consistency and the evidence pack, all against the pinned key', async (t) => {
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

  const [spend] = await h.sql<[{ event_id: string }]>`select event_id from events where type = 'SpendRecorded' order by position limit 1`;
  const inclusion = (await h.get(`/v1/audit/log/inclusion?eventId=${spend.event_id}`, h.keys.funder)).json();
  t.equal(inclusion.treeSize, total);
  t.match(inclusion.entry, /"\$sealed"|"SpendRecorded"/);
  t.ok(verifyInclusion(inclusion.leafIndex, total, leafHash(utf8(inclusion.entry)), inclusion.proof.map(fromBase64), opened.rootHash).ok,
    'the inclusion proof leads to the signed root');

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
  t.equal((await h.get(`/v1/audit/log/consistency?from=${size}&to=${size + 1}`, h.keys.funder)).statusCode, 400, 'beyond the log: 400');
  const incremental = await verify(h);
  t.equal(incremental.ok, true);
  t.equal(incremental.leavesChecked, size - total, 'incremental: only the new leaves');
  t.match(await fundingPage(h), /Verified/);
});

await t.test('read-model tampering: the drift check names the grant and the funding page says so instead of "Verified"', async (t) => {
  const { h, key, spendIds } = await honestLog(t);
  t.equal((await verify(h)).ok, true);
  await h.sql`update rm_spend.spend set amount_pence = 1 where event_id = ${spendIds[0]!}`;
  const tampered = await verify(h);
  t.equal(tampered.ok, false);
  t.same(kinds(tampered), ['spend-drift'], 'only the read model differs; the log itself verifies');
  t.match(tampered.drift.drift, [{ grantRef: GRANT, field: 'spentPence', log: 2_002_600, readModel: 1 + 250_000 + 80_000 }]);
  const page = await fundingPage(h);
  t.notMatch(page, />Verified</);
  t.match(page, /Not verified/);
  t.match(page, /differ from the spend re-computed from the audit log/);
  const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /^vru_audit_spend_drift_grants 1$/m);
  // The evidence pack carries the figures as reported: the offline verifier finds them wrong.
  const pack = verifyEvidencePack((await h.get(`/v1/audit/evidence-pack?grantRef=${GRANT}`, h.keys.funder)).json(), key);
  t.equal(pack.ok, false);
  t.match(pack.problems.map((p) => p.path), ['/figures/spentPence', '/figures/remainingPence', '/figures/spentByCategory', '/figures/spentByQuarter']);
});

await t.test('rewrite re-signed with another key: the head is named, the signer refuses, the saved head shows the divergence', async (t) => {
  const { h, key, spendIds, saved, total } = await honestLog(t);
  t.equal((await verify(h)).ok, true, 'the API has verified the honest log');
  const [target] = await h.sql<[{ position: string }]>`select position::text from events where event_id = ${spendIds[0]!}`;
  // Cut the spend by £16,716 in the log itself, then rebuild the whole tree and sign it with the attacker's key.
  await asDatabaseAdmin(h, (sql) => sql`update events set data = data || '{"amountPence": 1000}'::jsonb where event_id = ${spendIds[0]!}`);
  await rebuildTree(h);
  const forged = await signAsAttacker(h);

  const incremental = await verify(h);
  t.equal(incremental.ok, false);
  t.ok(incremental.problems.some((p: { kind: string; headId?: string }) => p.kind === 'head-not-signed' && p.headId),
    'the re-signed head is named: not signed by the pinned key');
  t.ok(incremental.problems.some((p: { kind: string }) => p.kind === 'tree-mismatch'), 'the tree under the verified head changed');
  const full = await verify(h, true);
  t.match(full.problems.find((p: { kind: string }) => p.kind === 'head-not-signed'), { headSize: total });
  t.equal(full.latestHead, null, 'no head the pinned key signed is left');
  t.ok(full.problems.some((p: { kind: string; grantRef?: string }) => p.kind === 'spend-drift' && p.grantRef === GRANT), 'and the figures drift');

  const refused = await h.auditSigner.signNext();
  t.match(refused, { status: 'refused', lastSigned: { size: total }, size: total }, 'the signer will not sign the rewritten tree');

  t.match(checkConsistency(key, saved, forged, await consistencyFrom(h, total, total)), { verdict: 'unverifiable' },
    'the forged head is not signed by the pinned key');
  // A signer restarted with the real key and no memory signs the rewritten tree (the attacker deleted its heads):
  // the head the funder saved still exposes it.
  const fresh = new TreeHeadSigner(h.sql, parseSignerKey(h.config.AUDIT_SIGNING_KEY!), key);
  const resigned = await fresh.signNext(Date.now() + 1000);
  t.equal(resigned.status, 'signed');
  const verdict = checkConsistency(key, saved, (resigned as { checkpoint: string }).checkpoint, await consistencyFrom(h, total, total));
  t.equal(verdict.verdict, 'diverged');
  t.match((verdict as { message: string }).message, new RegExp(`position from 1 to ${total}`));
  const named = await verify(h, true);
  t.ok(named.problems.some((p: { kind: string }) => p.kind === 'spend-drift'));
  t.ok(named.problems.some((p: { kind: string }) => p.kind === 'head-not-signed'));
  t.ok(Number(target.position) > 0);
});

await t.test('rewrite of one event without touching the tree: the event is named by position', async (t) => {
  const { h, spendIds } = await honestLog(t);
  const [target] = await h.sql<[{ position: string }]>`select position::text from events where event_id = ${spendIds[1]!}`;
  await asDatabaseAdmin(h, (sql) => sql`update events set data = data || '{"amountPence": 1}'::jsonb where event_id = ${spendIds[1]!}`);
  const full = await verify(h, true);
  t.equal(full.ok, false);
  t.match(full.problems.find((p: { kind: string }) => p.kind === 'event-changed'), { position: target.position });
  t.match(full.problems.find((p: { kind: string }) => p.kind === 'spend-drift'), { grantRef: GRANT });
  const pack = (await h.get(`/v1/audit/evidence-pack?grantRef=${GRANT}`, h.keys.funder)).json();
  const checked = verifyEvidencePack(pack, parseVerifierKey(h.config.AUDIT_PUBLIC_KEY!));
  t.ok(checked.problems.some((p) => /not in the signed log as given/.test(p.message)),
    'the evidence pack\'s proof for the altered event fails offline');
});

await t.test('truncation re-signed: the signer refuses, verification names the heads, the saved head says "truncated"', async (t) => {
  const { h, key, saved, total } = await honestLog(t);
  t.equal((await verify(h)).ok, true);
  // Remove the last three events and their leaves and subtrees, then sign the shorter tree with another key.
  const cut = total - 3;
  await asDatabaseAdmin(h, async (sql) => {
    const gone = await sql<{ position: string }[]>`select position::text from audit_log_leaves where leaf_index >= ${cut}`;
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
  t.match(found.problems.find((p: { kind: string }) => p.kind === 'truncated'), { headSize: total }, 'the honest head is larger than the log');
  t.match(found.problems.find((p: { kind: string }) => p.kind === 'head-not-signed'), { headSize: cut });
  t.match(checkConsistency(key, saved, forged, {}), { verdict: 'unverifiable' });

  // Even re-signed with the real key (heads deleted, a signer with no memory), the saved head names the positions gone.
  await asDatabaseAdmin(h, (sql) => sql`delete from audit_tree_heads`);
  const fresh = await new TreeHeadSigner(h.sql, parseSignerKey(h.config.AUDIT_SIGNING_KEY!), key).signNext(Date.now() + 1000);
  t.equal(fresh.status, 'signed');
  const verdict = checkConsistency(key, saved, (fresh as { checkpoint: string }).checkpoint, {});
  t.equal(verdict.verdict, 'truncated');
  t.match((verdict as { message: string }).message, new RegExp(`positions ${cut + 1} to ${total} are gone`));
});

await t.test('the signer refuses a tree that does not extend its last head, raises the alarm, and signs nothing', async (t) => {
  const { h, total, spendIds } = await honestLog(t);
  const before = await h.count('audit_tree_heads');
  // A spend rewritten and the whole tree rebuilt over it (the signed heads left alone), then more events appended.
  await asDatabaseAdmin(h, (sql) => sql`update events set data = data || '{"amountPence": 1000}'::jsonb where event_id = ${spendIds[2]!}`);
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
    /^vru_audit_signer_alarm 1$/m.test((await h.app.inject({ method: 'GET', url: '/metrics' })).body) ? true : undefined);
  t.match((await h.app.inject({ method: 'GET', url: '/metrics' })).body, /^vru_audit_signer_refusals_total [1-9]/m);
  t.equal(await h.count('audit_tree_heads'), before, 'and it keeps refusing');
  const forgedKey = attackerKey(h);
  t.throws(() => new TreeHeadSigner(h.sql, forgedKey, parseVerifierKey(h.config.AUDIT_PUBLIC_KEY!)), /does not match the pinned public key/,
    'a signer never signs with a key other than the pinned one');
});

await t.test('a forged Kafka message (produced with the admin user) is refused and named; genuine events still apply', async (t) => {
  const { h, total } = await honestLog(t);
  const [genuine] = await h.sql<[EventRow]>`select ${h.sql.unsafe(EVENT_COLUMNS)} from events where type = 'SpendRecorded' order by position limit 1`;
  const stored = toStoredEvent(genuine);
  const forgedId = randomUUID();
  const producer = h.kafka.producer();
  await producer.connect();
  await producer.send({
    topic: h.config.KAFKA_TOPIC, acks: -1,
    messages: [
      // A spend that was never recorded, far ahead in the grant's stream.
      { key: stored.streamId, value: JSON.stringify({ ...stored, eventId: forgedId, position: '999999', streamVersion: 100_000,
        data: { ...stored.data, amountPence: 4_000_000 } }) },
      // A genuine event with its amount raised.
      { key: stored.streamId, value: JSON.stringify({ ...stored, data: { ...stored.data, amountPence: 4_000_000 } }) },
      { key: stored.streamId, value: 'not an event' },
    ],
  });
  await producer.disconnect();
  const rejected = await h.waitFor('both forgeries refused', async () => {
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    const count = (reason: string) => Number(new RegExp(`^vru_projector_messages_rejected_total\\{projection="spend",reason="${reason}"\\} (\\d+)$`, 'm')
      .exec(metrics)?.[1] ?? 0);
    return count('not-in-store') >= 1 && count('differs-from-store') >= 1 ? true : undefined;
  });
  t.ok(rejected);
  const [{ spent }] = await h.sql<[{ spent: number }]>`select sum(amount_pence)::int as spent from rm_spend.spend`;
  t.equal(spent, 1_672_600 + 250_000 + 80_000, 'the read model did not take the forged amounts');
  t.equal((await h.sql`select 1 from rm_spend.spend where event_id = ${forgedId}`).length, 0);

  // The stream is not blocked: the next genuine spend (version 5) is applied.
  await h.postAccepted([grantEvent('SpendRecorded', { amountPence: 10_000, category: 'venue', periodStart: '2025-10-01', periodEnd: '2025-12-31', evidenceRef: 'INV-4' })],
    h.keys.providerA);
  await h.waitForProjections(['spend'], total + 1);
  const [{ spent: after }] = await h.sql<[{ spent: number }]>`select sum(amount_pence)::int as spent from rm_spend.spend`;
  t.equal(after, 1_672_600 + 250_000 + 80_000 + 10_000);
  t.equal((await verify(h)).drift.ok, true, 'the read model agrees with the log');
});

await t.test('a stream version gap is never applied over: the missing events are read from the store first', async (t) => {
  const { h, total } = await honestLog(t);
  await h.stopRelay();
  const ids = [randomUUID(), randomUUID()];
  await h.postAccepted(ids.map((id, i) => grantEvent('SpendRecorded', {
    amountPence: 1_000 * (i + 1), category: 'staff', periodStart: '2025-10-01', periodEnd: '2025-12-31', evidenceRef: `GAP-${i}`,
  }, id)), h.keys.providerA);
  // Only the later of the two reaches the projector, as the relay would publish it: a gap of one version.
  const [later] = await h.sql<[EventRow]>`select ${h.sql.unsafe(EVENT_COLUMNS)} from events where event_id = ${ids[1]!}`;
  const producer = h.kafka.producer();
  await producer.connect();
  await producer.send({ topic: h.config.KAFKA_TOPIC, acks: -1, messages: [{ key: later.stream_id, value: JSON.stringify(toStoredEvent(later)) }] });
  await producer.disconnect();
  await h.waitForProjections(['spend'], total + 2);
  const rows = await h.sql<{ event_id: string }[]>`select event_id from rm_spend.spend where event_id = any(${ids}::uuid[])`;
  t.equal(rows.length, 2, 'both versions applied, the earlier one read from the store');
  t.match((await h.app.inject({ method: 'GET', url: '/metrics' })).body, /^vru_projector_stream_gaps_total\{projection="spend"\} [1-9]/m, 'reported');
  await h.startRelay();
  t.equal((await verify(h)).drift.ok, true);
});

// kafkajs can leave retry timers behind (see Harness.close): once every stack is closed, the process ends.
t.teardown(() => void setTimeout(() => process.exit(), 3_000).unref());
t.end();
