// A new key pair for the audit log, in the signed-note form services/verifier reads (c2sp.org/signed-note):
//   node scripts/audit-keygen.mjs NAME                      prints AUDIT_SIGNING_KEY=… and AUDIT_PUBLIC_KEY=…
//   node scripts/audit-keygen.mjs NAME SIGNER_FILE PUB_FILE writes them to two files
// Plain node:crypto, so it runs before anything is built. The verifier's parseSignerKey checks what it writes.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const [name, signerFile, publicFile] = process.argv.slice(2);
if (!name || /[\s+]/.test(name) || (signerFile && !publicFile)) {
  process.stderr.write('usage: audit-keygen.mjs NAME [SIGNER_FILE PUBLIC_FILE]   (NAME: no spaces, no "+")\n');
  process.exit(2);
}
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(16);
const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
const keyId = createHash('sha256')
  .update(name)
  .update(Buffer.from([0x0a, 0x01]))
  .update(raw)
  .digest()
  .subarray(0, 4)
  .toString('hex');
const b64 = (bytes) => Buffer.concat([Buffer.from([0x01]), bytes]).toString('base64');
const signer = `PRIVATE+KEY+${name}+${keyId}+${b64(seed)}`;
const verifier = `${name}+${keyId}+${b64(raw)}`;
if (signerFile) {
  writeFileSync(signerFile, signer, { mode: 0o600 });
  writeFileSync(publicFile, verifier, { mode: 0o600 });
} else {
  process.stdout.write(`AUDIT_SIGNING_KEY=${signer}\nAUDIT_PUBLIC_KEY=${verifier}\n`);
}
