import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { fromBase64, toBase64, toHex, utf8 } from './encoding.js';
import { HASH_BYTES, sha256, type Hash } from './merkle.js';

/**
 * Signed tree heads as C2SP checkpoints (c2sp.org/tlog-checkpoint) in C2SP signed notes (c2sp.org/signed-note),
 * Ed25519. A checkpoint's text is
 *
 *     <origin>\n<tree size>\n<base64 root hash>\ntimestamp <unix milliseconds>\n
 *
 * followed by a blank line and the signature line `— <key name> base64(key id ‖ signature)`. The format is the one
 * Go's sumdb, Sigstore and the witness network read, so a head can be checked with their tools too; the timestamp
 * is our one extension line.
 *
 * Verification takes the public key from the caller (pinned, configured out of band), never from the data being
 * verified: a head re-signed with any other key fails.
 */

export interface TreeHead {
  /** The log's name; the signing key carries the same name. */
  origin: string;
  size: number;
  rootHash: Hash;
  /** When the log signed it, in milliseconds since 1970 (UTC). */
  timestamp: number;
}

/** Ed25519 in signed notes (c2sp.org/signed-note). */
const ED25519 = 0x01;
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const NAME = /^[^\s+]+$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const MAX_NOTE_BYTES = 64 * 1024;

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** Splits at the first `count` plus signs only: base64 has its own. */
function splitPlus(text: string, count: number): string[] {
  const parts: string[] = [];
  let rest = text;
  for (let i = 0; i < count; i++) {
    const at = rest.indexOf('+');
    if (at < 0) break;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  return [...parts, rest];
}

/** A verifier key: `<name>+<hex key id>+<base64(0x01 ‖ 32-byte public key)>`. */
export interface VerifierKey {
  name: string;
  keyId: Uint8Array;
  publicKey: KeyObject;
  text: string;
}

export interface SignerKey {
  name: string;
  keyId: Uint8Array;
  privateKey: KeyObject;
  /** The matching verifier key, to publish and pin. */
  verifierKey: string;
}

const keyIdOf = (name: string, publicKey: Uint8Array): Uint8Array =>
  sha256(utf8(name), Uint8Array.of(0x0a, ED25519), publicKey).slice(0, 4);

function rawPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(SPKI_ED25519_PREFIX.length));
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw new CheckpointError('a key name must be non-empty, with no spaces and no "+"');
}

export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  checkName(name);
  if (publicKey.length !== 32) throw new CheckpointError('an Ed25519 public key is 32 bytes');
  return `${name}+${toHex(keyIdOf(name, publicKey))}+${toBase64(Uint8Array.of(ED25519, ...publicKey))}`;
}

export function parseVerifierKey(text: string): VerifierKey {
  const trimmed = text.trim();
  const parts = splitPlus(trimmed, 2);
  if (parts.length !== 3) throw new CheckpointError('a verifier key reads <name>+<key id>+<key>');
  const [name, idHex, keyB64] = parts as [string, string, string];
  checkName(name);
  const key = fromBase64(keyB64);
  if (!/^[0-9a-f]{8}$/.test(idHex) || key?.length !== 33 || key[0] !== ED25519) {
    throw new CheckpointError(
      'not an Ed25519 verifier key (expected <name>+<8 hex digits>+<base64 of 0x01 and 32 bytes>)',
    );
  }
  const raw = key.slice(1);
  const keyId = keyIdOf(name, raw);
  if (toHex(keyId) !== idHex) throw new CheckpointError("the verifier key's id does not match its name and key");
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
  return { name, keyId, publicKey, text: trimmed };
}

/** A private key in the one-line form of Go's note package: `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ seed)>`. */
export function parseSignerKey(text: string): SignerKey {
  const parts = splitPlus(text.trim(), 4);
  if (parts.length !== 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') {
    throw new CheckpointError('a signer key reads PRIVATE+KEY+<name>+<key id>+<key>');
  }
  const [, , name, idHex, seedB64] = parts as [string, string, string, string, string];
  checkName(name);
  const seed = fromBase64(seedB64);
  if (seed?.length !== 33 || seed[0] !== ED25519) throw new CheckpointError('not an Ed25519 signer key');
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed.slice(1)]),
    format: 'der',
    type: 'pkcs8',
  });
  const raw = rawPublicKey(createPublicKey(privateKey));
  const keyId = keyIdOf(name, raw);
  if (toHex(keyId) !== idHex) throw new CheckpointError("the signer key's id does not match its name and key");
  return { name, keyId, privateKey, verifierKey: formatVerifierKey(name, raw) };
}

/** A new key pair for a log called `name`: the signer key stays secret, the verifier key is published and pinned. */
export function generateKeys(name: string): { signerKey: string; verifierKey: string } {
  checkName(name);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_PREFIX.length);
  const raw = rawPublicKey(publicKey);
  return {
    signerKey: `PRIVATE+KEY+${name}+${toHex(keyIdOf(name, raw))}+${toBase64(Uint8Array.of(ED25519, ...seed))}`,
    verifierKey: formatVerifierKey(name, raw),
  };
}

// ------------------------------------------------------------------------------------------ notes

/** Signs a note text (which must end in a newline) with one key. */
export function signNote(text: string, signer: SignerKey): string {
  if (!text.endsWith('\n') || text.includes('\n\n'))
    throw new CheckpointError('a note text ends in a newline and has no empty line');
  const signature = sign(null, Buffer.from(text, 'utf8'), signer.privateKey);
  return `${text}\n— ${signer.name} ${toBase64(Uint8Array.of(...signer.keyId, ...signature))}\n`;
}

/**
 * Verifies a signed note against the pinned key and returns its text. Signatures by other keys are ignored (a
 * witness may add its own), but a signature that claims to be the pinned key's and does not verify rejects the
 * note, and so does a note the pinned key did not sign.
 */
export function openNote(note: string, key: VerifierKey): string {
  if (typeof note !== 'string' || note.length === 0) throw new CheckpointError('empty note');
  if (Buffer.byteLength(note, 'utf8') > MAX_NOTE_BYTES) throw new CheckpointError('note too large');
  // eslint-disable-next-line no-control-regex -- the control characters are what this refuses
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(note))
    throw new CheckpointError('a note has no control characters but newlines');
  if (!note.endsWith('\n')) throw new CheckpointError('a note ends in a newline');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new CheckpointError('no signatures: a note is its text, a blank line and signature lines');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  let verified = false;
  for (const line of lines) {
    const m = /^— (\S+) (\S+)$/.exec(line);
    const bytes = m ? fromBase64(m[2]!) : null;
    if (!m || !bytes || bytes.length < 5)
      throw new CheckpointError(`malformed signature line: ${JSON.stringify(line.slice(0, 80))}`);
    if (m[1] !== key.name || !bytes.subarray(0, 4).every((b, i) => b === key.keyId[i])) continue;
    if (!verify(null, Buffer.from(text, 'utf8'), key.publicKey, bytes.subarray(4))) {
      throw new CheckpointError(
        'the signature by the pinned key does not verify: the text was changed or signed by another key',
      );
    }
    verified = true;
  }
  if (!verified) throw new CheckpointError(`not signed by the pinned key ${key.name}+${toHex(key.keyId)}`);
  return text;
}

// ------------------------------------------------------------------------------------------ checkpoints

export function checkpointText(head: TreeHead): string {
  checkName(head.origin);
  if (!Number.isSafeInteger(head.size) || head.size < 0) throw new CheckpointError('tree size must be a whole number');
  if (head.rootHash.length !== HASH_BYTES) throw new CheckpointError('root hash must be 32 bytes');
  if (!Number.isSafeInteger(head.timestamp) || head.timestamp < 0)
    throw new CheckpointError('timestamp must be whole milliseconds');
  return `${head.origin}\n${head.size}\n${toBase64(head.rootHash)}\ntimestamp ${head.timestamp}\n`;
}

export function parseCheckpointText(text: string): TreeHead {
  const lines = text.split('\n');
  if (lines.length !== 5 || lines[4] !== '')
    throw new CheckpointError('a checkpoint has four lines: origin, size, root hash, timestamp');
  const [origin, size, root, stamp] = lines as [string, string, string, string];
  if (!NAME.test(origin)) throw new CheckpointError('malformed origin line');
  if (!DECIMAL.test(size) || !Number.isSafeInteger(Number(size))) throw new CheckpointError('malformed tree size line');
  const rootHash = fromBase64(root);
  if (rootHash?.length !== HASH_BYTES) throw new CheckpointError('malformed root hash line');
  const ts = /^timestamp (0|[1-9][0-9]*)$/.exec(stamp);
  if (!ts || !Number.isSafeInteger(Number(ts[1]))) throw new CheckpointError('malformed timestamp line');
  return { origin, size: Number(size), rootHash, timestamp: Number(ts[1]) };
}

export const signCheckpoint = (head: TreeHead, signer: SignerKey): string => {
  if (head.origin !== signer.name)
    throw new CheckpointError(`the log ${head.origin} signs with a key of its own name, not ${signer.name}`);
  return signNote(checkpointText(head), signer);
};

/** Verifies a signed checkpoint against the pinned key; the log it names must be the key's. */
export function openCheckpoint(note: string, key: VerifierKey): TreeHead {
  const head = parseCheckpointText(openNote(note, key));
  if (head.origin !== key.name)
    throw new CheckpointError(`the checkpoint is for log ${head.origin}, the pinned key for ${key.name}`);
  return head;
}
