import { createDecipheriv, randomBytes } from 'node:crypto';
import t from 'tap';
import { PersonalDataVault, SEALED_FIELD } from './personal-data.js';

// Nonces come from a pool of 512 refilled from the CSPRNG: across three fills, each sealed field must carry a nonce
// of its own (a repeated GCM nonce under one participant's key would leak the XOR of two plaintexts), and each must
// open with the nonce it names.
t.test('every sealed field has a fresh 96-bit nonce and opens with it, across refills of the nonce pool', (t) => {
  const key = randomBytes(32);
  const streamId = 'participant-abc';
  const nonces = new Set<string>();
  const wrong: string[] = [];
  const sealings = 512 * 3 + 7;
  for (let i = 0; i < sealings; i++) {
    const sessionId = `S-${i}`;
    const stored = PersonalDataVault.seal('SessionAttended', streamId, { sessionId, durationMinutes: 60 }, key);
    if (stored.sessionId !== undefined || stored.durationMinutes !== 60) wrong.push(`${i}: fields as stored`);
    const [format, iv, body] = String(stored[SEALED_FIELD]).split('.');
    const nonce = Buffer.from(iv ?? '', 'base64url');
    if (format !== 'v1' || nonce.length !== 12) wrong.push(`${i}: format ${format}, nonce of ${nonce.length} bytes`);
    nonces.add(nonce.toString('hex'));
    const bytes = Buffer.from(body ?? '', 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(Buffer.from(streamId));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const plain = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]);
    if ((JSON.parse(plain.toString()) as { sessionId?: string }).sessionId !== sessionId) wrong.push(`${i}: opened`);
  }
  t.same(wrong, [], 'each sealed field stored, named and opened as expected');
  t.equal(nonces.size, sealings, 'no nonce was used twice');
  t.end();
});
