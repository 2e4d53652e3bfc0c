import t from 'tap';
import { chainPending, generateSigningKey, signCheckpoint, verifyCheckpointOffline } from '@vru/event-store';
import { Harness, journey } from './index.js';

const h = await Harness.start();
t.teardown(() => h.close());

const verify = async (key = h.keys.funder) => {
  const res = await h.get('/v1/audit/verify', key);
  t.equal(res.statusCode, 200, 'GET /v1/audit/verify answers');
  return res.json();
};

await t.test('audit ledger: chained events verify; an altered event and a deleted event are found', async (t) => {
  const events = [...journey('AUD-1', { attended: 2, missed: 1 }), ...journey('AUD-2', { attended: 1, missed: 0 })];
  for (const e of events) t.equal((await h.post('/v1/events', e, h.keys.providerA)).statusCode, 202);
  const total = await h.count('events');
  t.equal(total, events.length);

  // Events settle for two seconds before the chainer links them.
  await h.waitFor('every event chained', async () => {
    await chainPending(h.sql, 3);
    return (await h.count('audit_chain')) === total ? true : undefined;
  });
  const checkpoint = await signCheckpoint(h.sql, generateSigningKey());
  t.ok(checkpoint && verifyCheckpointOffline(checkpoint).ok, 'a fresh checkpoint verifies offline');

  const clean = await verify();
  t.equal(clean.ok, true);
  t.equal(clean.checked, total);
  t.equal(clean.firstBroken, undefined);
  t.equal(clean.headPosition, checkpoint!.position);
  t.equal(clean.headHash, checkpoint!.headHash);
  t.match(clean.checkpoint, { signatureValid: true, matchesChain: true });
  t.equal((await verify(h.keys.commissioner)).ok, true, 'commissioners may verify');
  t.equal((await h.get('/v1/audit/verify', h.keys.providerA)).statusCode, 403, 'providers may not');

  const positions = (await h.sql<{ position: bigint }[]>`select position from events order by position`).map((r) => r.position);
  const altered = positions[3]!;
  const [{ data: original }] = await h.sql<[{ data: unknown }]>`select data from events where position = ${altered}`;
  await h.sql.begin(async (tx) => {
    await tx`alter table events disable trigger events_immutable`;
    await tx`update events set data = data || '{"durationMinutes": 600}'::jsonb where position = ${altered}`;
    await tx`alter table events enable trigger events_immutable`;
  });
  const tampered = await verify();
  t.equal(tampered.ok, false);
  t.same(tampered.firstBroken, { position: altered.toString(), reason: 'hash-mismatch' }, 'the altered event is the first broken link');

  // Put it back exactly: the chain verifies again (the hash is over canonical content, not storage layout).
  await h.sql.begin(async (tx) => {
    await tx`alter table events disable trigger events_immutable`;
    await tx`update events set data = ${h.sql.json(original as never)} where position = ${altered}`;
    await tx`alter table events enable trigger events_immutable`;
  });
  t.equal((await verify()).ok, true, 'restored content verifies');

  // Deleting an event means deleting its chain link and outbox row too (foreign keys, append-only triggers).
  const deleted = positions[6]!;
  await h.sql.begin(async (tx) => {
    await tx`alter table events disable trigger events_immutable`;
    await tx`alter table audit_chain disable trigger audit_chain_immutable`;
    await tx`delete from outbox where position = ${deleted}`;
    await tx`delete from audit_chain where position = ${deleted}`;
    await tx`delete from events where position = ${deleted}`;
    await tx`alter table audit_chain enable trigger audit_chain_immutable`;
    await tx`alter table events enable trigger events_immutable`;
  });
  const gone = await verify();
  t.equal(gone.ok, false);
  t.same(gone.firstBroken, { position: deleted.toString(), reason: 'missing-event' }, 'the deleted event is reported missing');
  t.equal(gone.checked, total - 1);
});

t.end();
