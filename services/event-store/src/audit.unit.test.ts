import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { generateKeys, leafHash, parseCanonicalJson, parseSignerKey, parseVerifierKey, utf8 } from '@vru/verifier';
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
  data: {
    sessionId: 's-1',
    durationMinutes: 60,
    nested: { b: 1, a: [1, 2] },
    note: { $sealed: 'v1.aXY.Y2lwaGVydGV4dA' },
  },
  metadata: { requestId: 'req-1', keyId: 'k1', role: 'provider', source: 'api' },
};

t.test('a leaf hashes the stored form as canonical JSON, every field, timestamps to the microsecond', async (t) => {
  const entry = storedEntry(row);
  t.same(
    Object.keys(parseCanonicalJson(entry) as object),
    [
      'data',
      'eventId',
      'metadata',
      'occurredAt',
      'position',
      'programmeId',
      'providerId',
      'recordedAt',
      'schemaVersion',
      'streamId',
      'streamVersion',
      'type',
    ],
    'canonical (the verifier re-parses it) with the fields an evidence pack reads',
  );
  t.match(entry, /"position":"42"/, 'positions are text (64-bit)');
  t.match(entry, /"recordedAt":"2026-02-02T09:30:12.123456Z"/);
  t.match(entry, /"\$sealed":"v1.aXY.Y2lwaGVydGV4dA"/, 'sealed fields are hashed as ciphertext');
  const leaf = entryLeafHash(row);
  t.same(leaf, leafHash(utf8(entry)));
  const reordered = {
    note: (row.data as { note: unknown }).note,
    nested: { a: [1, 2], b: 1 },
    durationMinutes: 60,
    sessionId: 's-1',
  };
  t.same(entryLeafHash({ ...row, position: '42', data: reordered }), leaf, 'key order in JSON columns never matters');
  for (const changed of [
    { ...row, data: { ...(row.data as object), durationMinutes: 61 } },
    { ...row, stream_version: 4 },
    { ...row, position: 43n },
    { ...row, recorded_at: '2026-02-02T09:30:12.123457Z' },
    { ...row, metadata: { ...row.metadata, keyId: 'k2' } },
  ])
    t.notSame(entryLeafHash(changed), leaf);
});

t.test(
  'the audit keys come from settings: no environment signs without a key, production not without the pinned key',
  async (t) => {
    const pair = generateKeys('vru.test/log');
    const other = generateKeys('vru.test/log');
    for (const NODE_ENV of ['production', 'development'] as const) {
      t.throws(() => auditSigningKeys({ NODE_ENV }), /AUDIT_SIGNING_KEY: must be set/, `${NODE_ENV}: no throwaway key`);
    }
    t.throws(
      () => auditSigningKeys({ NODE_ENV: 'production', AUDIT_SIGNING_KEY: pair.signerKey }),
      /AUDIT_PUBLIC_KEY: must be set/,
    );
    const mismatched = {
      NODE_ENV: 'production' as const,
      AUDIT_SIGNING_KEY: pair.signerKey,
      AUDIT_PUBLIC_KEY: other.verifierKey,
    };
    t.throws(() => auditSigningKeys(mismatched), /not the signing half of AUDIT_PUBLIC_KEY/);
    const keys = auditSigningKeys({
      NODE_ENV: 'production',
      AUDIT_SIGNING_KEY: pair.signerKey,
      AUDIT_PUBLIC_KEY: pair.verifierKey,
    });
    t.equal(keys.key.text, pair.verifierKey);
    const unpinned = auditSigningKeys({ NODE_ENV: 'development', AUDIT_SIGNING_KEY: pair.signerKey });
    t.equal(
      unpinned.key.text,
      pair.verifierKey,
      "development without a pinned key: the signing key's own verifier key",
    );
    t.equal(pinnedAuditKey({}), null);
    t.throws(
      () => pinnedAuditKey({ AUDIT_PUBLIC_KEY: 'vru.test/log+00000000+AAAA' }),
      /AUDIT_PUBLIC_KEY: not an Ed25519 verifier key/,
    );
  },
);

t.test(
  'scripts/audit-keygen.mjs (what scripts/audit-keys and the development scripts run) makes a pair the verifier reads',
  async (t) => {
    const script = fileURLToPath(new URL('../../../scripts/audit-keygen.mjs', import.meta.url));
    const out = execFileSync(process.execPath, [script, 'vru.test/audit-log']).toString();
    const signer = /^AUDIT_SIGNING_KEY=(.+)$/m.exec(out)?.[1] ?? '';
    const verifier = /^AUDIT_PUBLIC_KEY=(.+)$/m.exec(out)?.[1] ?? '';
    t.equal(parseSignerKey(signer).verifierKey, verifier, "the public key is the signing key's");
    t.equal(parseVerifierKey(verifier).name, 'vru.test/audit-log');
    t.throws(
      () => execFileSync(process.execPath, [script, 'no spaces allowed'], { stdio: 'pipe' }),
      'a name with spaces is refused',
    );
  },
);
