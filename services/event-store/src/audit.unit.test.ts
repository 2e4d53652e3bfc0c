import t from 'tap';
import { createLogger } from '@vru/runtime';
import { generateKeys, leafHash, parseCanonicalJson, utf8 } from '@vru/verifier';
import { entryLeafHash, storedEntry, type AuditEventRow } from './audit.js';
import { auditSigningKeys, pinnedAuditKey } from './audit-keys.js';

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
  data: { sessionId: 's-1', durationMinutes: 60, nested: { b: 1, a: [1, 2] }, note: { $sealed: 'v1.aXY.Y2lwaGVydGV4dA' } },
  metadata: { requestId: 'req-1', keyId: 'k1', role: 'provider', source: 'api' },
};

t.test('a leaf hashes the stored form as canonical JSON, every field, timestamps to the microsecond', async (t) => {
  const entry = storedEntry(row);
  t.same(Object.keys(parseCanonicalJson(entry) as object), [
    'data', 'eventId', 'metadata', 'occurredAt', 'position', 'programmeId', 'providerId', 'recordedAt', 'schemaVersion', 'streamId',
    'streamVersion', 'type',
  ], 'canonical (the verifier re-parses it) with the fields an evidence pack reads');
  t.match(entry, /"position":"42"/, 'positions are text (64-bit)');
  t.match(entry, /"recordedAt":"2026-02-02T09:30:12.123456Z"/);
  t.match(entry, /"\$sealed":"v1.aXY.Y2lwaGVydGV4dA"/, 'sealed fields are hashed as ciphertext');
  const leaf = entryLeafHash(row);
  t.same(leaf, leafHash(utf8(entry)));
  t.same(entryLeafHash({ ...row, position: '42', data: { note: (row.data as { note: unknown }).note, nested: { a: [1, 2], b: 1 }, durationMinutes: 60, sessionId: 's-1' } }), leaf,
    'key order in JSON columns never matters');
  for (const changed of [
    { ...row, data: { ...(row.data as object), durationMinutes: 61 } }, { ...row, stream_version: 4 }, { ...row, position: 43n },
    { ...row, recorded_at: '2026-02-02T09:30:12.123457Z' }, { ...row, metadata: { ...(row.metadata as object), keyId: 'k2' } },
  ]) t.notSame(entryLeafHash(changed), leaf);
});

t.test('the audit keys come from settings; production refuses to sign without them or with a pair that does not match', async (t) => {
  const logger = createLogger('silent', 'test');
  const pair = generateKeys('vru.test/log');
  const other = generateKeys('vru.test/log');
  t.throws(() => auditSigningKeys({ NODE_ENV: 'production' }, logger), /AUDIT_SIGNING_KEY: must be set in production/);
  t.throws(() => auditSigningKeys({ NODE_ENV: 'production', AUDIT_SIGNING_KEY: pair.signerKey }, logger), /AUDIT_PUBLIC_KEY: must be set/);
  t.throws(() => auditSigningKeys({ NODE_ENV: 'production', AUDIT_SIGNING_KEY: pair.signerKey, AUDIT_PUBLIC_KEY: other.verifierKey }, logger),
    /not the signing half of AUDIT_PUBLIC_KEY/);
  const keys = auditSigningKeys({ NODE_ENV: 'production', AUDIT_SIGNING_KEY: pair.signerKey, AUDIT_PUBLIC_KEY: pair.verifierKey }, logger);
  t.equal(keys.key.text, pair.verifierKey);
  const throwaway = auditSigningKeys({ NODE_ENV: 'development' }, logger);
  t.equal(throwaway.key.text, throwaway.signer.verifierKey, 'development without a key: a throwaway pair');
  t.equal(pinnedAuditKey({}), null);
  t.throws(() => pinnedAuditKey({ AUDIT_PUBLIC_KEY: 'vru.test/log+00000000+AAAA' }), /AUDIT_PUBLIC_KEY: not an Ed25519 verifier key/);
});
