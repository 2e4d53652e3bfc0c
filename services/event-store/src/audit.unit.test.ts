import t from 'tap';
import {
  GENESIS_HASH, checkpointMessage, eventHash, generateSigningKey, signHead, verifyCheckpointOffline, type AuditEventRow,
} from './audit.js';

const row: AuditEventRow = {
  position: 42n,
  event_id: '7d1d3c8e-4a3f-4c1e-9f7e-2b3c4d5e6f70',
  stream_id: 'participant-abc',
  stream_version: 3,
  type: 'SessionAttended',
  schema_version: 2,
  provider_id: 'prov-a',
  programme_id: 'mentoring-test',
  occurred_at: '2026-02-01T10:00:00.000000Z',
  recorded_at: '2026-02-02T09:30:12.123456Z',
  data: { sessionId: 's-1', durationMinutes: 60, nested: { b: 1, a: [1, 2] } },
  metadata: { requestId: 'req-1', keyId: 'k1', role: 'provider', source: 'api' },
};

t.test('event hashes are deterministic and cover every field and the previous hash', async (t) => {
  const h = eventHash(GENESIS_HASH, row);
  t.match(h, /^[0-9a-f]{64}$/);
  t.equal(GENESIS_HASH, '0'.repeat(64));
  t.equal(eventHash(GENESIS_HASH, { ...row }), h, 'same input, same hash');
  // Key order in JSON columns never matters; a bigint or string position is the same position.
  t.equal(eventHash(GENESIS_HASH, { ...row, position: '42', data: { nested: { a: [1, 2], b: 1 }, durationMinutes: 60, sessionId: 's-1' } }), h);
  t.equal(eventHash(GENESIS_HASH, { ...row, occurred_at: new Date('2026-02-01T10:00:00Z') }) === h, false, 'timestamps keep full precision');
  t.not(eventHash('f'.repeat(64), row), h, 'chained to its predecessor');
  t.not(eventHash(GENESIS_HASH, { ...row, data: { ...(row.data as object), durationMinutes: 61 } }), h);
  t.not(eventHash(GENESIS_HASH, { ...row, position: 43n }), h);
  t.not(eventHash(GENESIS_HASH, { ...row, metadata: { ...(row.metadata as object), role: 'admin' } }), h);
  t.not(eventHash(GENESIS_HASH, { ...row, programme_id: null }), h);
});

t.test('checkpoints are signed with Ed25519 and verify offline', async (t) => {
  const key = generateSigningKey();
  t.match(key, /BEGIN PRIVATE KEY/);
  const head = eventHash(GENESIS_HASH, row);
  const cp = signHead('42', head, key);
  t.equal(checkpointMessage('42', head), `42:${head}`);
  t.match(cp.publicKey, /BEGIN PUBLIC KEY/);
  t.same(verifyCheckpointOffline(cp), { ok: true });
  t.same(verifyCheckpointOffline(JSON.stringify(cp)), { ok: true }, 'from the stored JSON');
});

t.test('a tampered checkpoint fails', async (t) => {
  const key = generateSigningKey();
  const head = eventHash(GENESIS_HASH, row);
  const cp = signHead('42', head, key);
  t.equal(verifyCheckpointOffline({ ...cp, position: '41' }).ok, false, 'moved position');
  t.equal(verifyCheckpointOffline({ ...cp, headHash: 'a'.repeat(64) }).ok, false, 'other head');
  const other = signHead('42', head, generateSigningKey());
  t.equal(verifyCheckpointOffline({ ...cp, publicKey: other.publicKey }).ok, false, 'someone else\'s key');
  const sig = Buffer.from(cp.signature, 'base64');
  sig[0] = sig[0]! ^ 1;
  t.equal(verifyCheckpointOffline({ ...cp, signature: sig.toString('base64') }).ok, false, 'flipped signature bit');
  t.equal(verifyCheckpointOffline('{not json').ok, false);
  t.equal(verifyCheckpointOffline({ position: '42' } as never).ok, false, 'malformed');
});
