import t from 'tap';
import {
  CheckpointError,
  checkpointText,
  generateKeys,
  openCheckpoint,
  openNote,
  parseCheckpointText,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  type TreeHead,
} from './checkpoint.js';
import { toBase64, utf8 } from './encoding.js';
import { leafHash } from './merkle.js';

// Known answers, used as data: the example of the C2SP signed-note specification, and the example key and note of
// golang.org/x/mod/sumdb/note. Ed25519 is deterministic, so signing the same text with that key must give the
// very same note.
const SPEC_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const SPEC_NOTE =
  'This is an example message.\n\n' +
  '— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

t.test("signed notes match the C2SP specification and Go's reference implementation byte for byte", async (t) => {
  t.equal(openNote(SPEC_NOTE, parseVerifierKey(SPEC_VKEY)), 'This is an example message.\n');
  const signer = parseSignerKey(GO_SKEY);
  t.equal(signer.verifierKey, GO_VKEY, 'the verifier key derived from the signer key');
  t.equal(signNote(GO_TEXT, signer), GO_NOTE, 'the same signature');
  t.equal(openNote(GO_NOTE, parseVerifierKey(GO_VKEY)), GO_TEXT);
});

t.test(
  'a note is refused when its text changed, when the pinned key did not sign it, or when it is malformed',
  async (t) => {
    const key = parseVerifierKey(GO_VKEY);
    t.throws(() => openNote(GO_NOTE.replace('cryptography', 'cryptology'), key), CheckpointError, 'changed text');
    t.throws(() => openNote(SPEC_NOTE, key), /not signed by the pinned key/, 'only another key signed it');
    // Another key calling itself PeterNeumann: a different key id, so not the pinned key's signature.
    const impostor = parseSignerKey(generateKeys('PeterNeumann').signerKey);
    t.throws(() => openNote(signNote(GO_TEXT, impostor), key), /not signed by the pinned key/);
    // Another key's signature presented under the pinned key's name and id: verified, and refused.
    const forged = signNote(GO_TEXT, { ...impostor, keyId: key.keyId });
    t.throws(() => openNote(forged, key), /does not verify/);
    // A witness's extra signature does not matter; the pinned key's does.
    const witness = parseSignerKey(generateKeys('witness.example/w1').signerKey);
    const cosigned = `${GO_NOTE}${signNote(GO_TEXT, witness).slice(GO_TEXT.length + 1)}`;
    t.equal(openNote(cosigned, key), GO_TEXT, 'an unknown second signature is ignored');
    const malformed = [
      '',
      GO_TEXT,
      GO_NOTE.slice(0, -1),
      GO_NOTE.replace('— ', '-- '),
      GO_NOTE.replace('\n\n', '\n\u0007\n'),
      `${GO_NOTE}extra\n`,
    ];
    for (const bad of malformed) {
      t.throws(() => openNote(bad, key), CheckpointError, JSON.stringify(bad.slice(-30)));
    }
  },
);

t.test('verifier and signer keys: strict parsing, and the id must match the name and key', async (t) => {
  const { signerKey, verifierKey } = generateKeys('vru.example/audit-log');
  t.match(verifierKey, /^vru\.example\/audit-log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
  t.equal(parseSignerKey(signerKey).verifierKey, verifierKey);
  const [name, id] = verifierKey.split('+') as [string, string];
  const material = verifierKey.slice(name.length + id.length + 2);
  t.throws(() => parseVerifierKey(`other.example+${id}+${material}`), /id does not match/, 'renamed');
  t.throws(() => parseVerifierKey(`${name}+00000000+${material}`), /id does not match/, 'wrong id');
  t.throws(() => parseVerifierKey(`${name}+${id}`), CheckpointError);
  t.throws(() => parseVerifierKey(`${name}+${id}+${material.slice(1)}`), CheckpointError, 'truncated key');
  t.throws(() => parseVerifierKey('-----BEGIN PUBLIC KEY-----'), CheckpointError);
  t.throws(() => generateKeys('has space'), CheckpointError);
  t.equal(
    parseVerifierKey(` ${verifierKey}\n`).text,
    verifierKey,
    "surrounding whitespace (a key file's newline) is ignored",
  );
});

const head = (over: Partial<TreeHead> = {}): TreeHead => ({
  origin: 'vru.example/audit-log',
  size: 1042,
  rootHash: leafHash(utf8('root')),
  timestamp: 1_780_000_000_123,
  ...over,
});

t.test('checkpoints: the C2SP body with a timestamp line, signed, and opened only with the pinned key', async (t) => {
  const { signerKey, verifierKey } = generateKeys('vru.example/audit-log');
  const signer = parseSignerKey(signerKey);
  const key = parseVerifierKey(verifierKey);
  const text = checkpointText(head());
  t.equal(text, `vru.example/audit-log\n1042\n${toBase64(head().rootHash)}\ntimestamp 1780000000123\n`);
  const note = signCheckpoint(head(), signer);
  const opened = openCheckpoint(note, key);
  t.same({ ...opened, rootHash: toBase64(opened.rootHash) }, { ...head(), rootHash: toBase64(head().rootHash) });
  t.throws(
    () => signCheckpoint(head({ origin: 'other.example/log' }), signer),
    CheckpointError,
    'a log signs only its own heads',
  );
  // The same head re-signed by an attacker's key of the same name: refused with the pinned key.
  const attacker = parseSignerKey(generateKeys('vru.example/audit-log').signerKey);
  t.throws(() => openCheckpoint(signCheckpoint(head({ size: 9 }), attacker), key), /not signed by the pinned key/);
  // Editing any line of a signed checkpoint breaks its signature.
  for (const [from, to] of [
    ['\n1042\n', '\n1041\n'],
    ['timestamp 1780000000123', 'timestamp 1780000000124'],
  ] as const) {
    t.throws(() => openCheckpoint(note.replace(from, to), key), /does not verify/, `${from.trim()} edited`);
  }
});

t.test('checkpoint bodies are parsed strictly', async (t) => {
  const good = checkpointText(head());
  t.ok(parseCheckpointText(good));
  t.equal(parseCheckpointText(checkpointText(head({ size: 0 }))).size, 0, 'the empty tree');
  const bad = [
    good.replace('\n1042\n', '\n01042\n'),
    good.replace('\n1042\n', '\n-1\n'),
    good.replace('\n1042\n', '\n1e3\n'),
    good.replace('\n1042\n', '\n99999999999999999999\n'),
    good.replace(toBase64(head().rootHash), 'AAAA'),
    good.replace('timestamp ', 'time '),
    good.replace(/timestamp \d+\n$/, ''),
    `${good}extra\n`,
    good.slice(0, -1),
    `x y\n${good.slice(good.indexOf('\n') + 1)}`,
  ];
  for (const text of bad) t.throws(() => parseCheckpointText(text), CheckpointError, JSON.stringify(text));
});
