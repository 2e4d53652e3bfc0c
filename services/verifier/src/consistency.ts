import { CheckpointError, openCheckpoint, type TreeHead, type VerifierKey } from './checkpoint.js';
import { fromBase64 } from './encoding.js';
import { HASH_BYTES, type Hash } from './merkle.js';
import { verifyConsistency } from './proofs.js';

/** A consistency proof as the log serves it: that the tree of `from` entries is a prefix of the tree of `to`. */
export interface ConsistencyProofDocument {
  from: number;
  to: number;
  /** Base64 SHA-256 hashes, RFC 9162 order. */
  proof: string[];
}

export type ConsistencyVerdict =
  /** Today's log is the saved one with entries appended. */
  | { verdict: 'consistent'; saved: TreeHead; current: TreeHead; appended: number }
  /** Today's log has fewer entries than the saved head: entries were removed from its end. */
  | { verdict: 'truncated'; saved: TreeHead; current: TreeHead; message: string }
  /** The log's own proof shows that today's log does not begin with the entries the saved head covered. */
  | { verdict: 'diverged'; saved: TreeHead; current: TreeHead; message: string }
  /** The log gave no valid proof that today's log begins with the saved entries (a rewrite, or a bad proof). */
  | { verdict: 'unproven'; saved: TreeHead; current: TreeHead; message: string }
  /** A head is not signed by the pinned key, or an input is malformed: nothing was proven either way. */
  | { verdict: 'unverifiable'; message: string };

const iso = (ms: number) => new Date(ms).toISOString();
const describe = (h: TreeHead) => `${h.size} entries, signed ${iso(h.timestamp)}`;

function decodeProof(doc: unknown): { from: number; to: number; hashes: Hash[] } | string {
  if (typeof doc !== 'object' || doc === null) return 'the consistency proof is not a JSON object';
  const { from, to, proof } = doc as Partial<ConsistencyProofDocument>;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || !Array.isArray(proof) || proof.length > 128) {
    return 'the consistency proof needs from, to and proof';
  }
  const hashes = proof.map((p) => (typeof p === 'string' ? fromBase64(p) : null));
  if (!hashes.every((h): h is Hash => h !== null && h.length === HASH_BYTES)) {
    return 'the consistency proof holds something that is not a base64 SHA-256 hash';
  }
  return { from: from!, to: to!, hashes };
}

/**
 * What a funder runs each month: the head they saved last time, today's head and the log's consistency proof
 * between them, all checked against the pinned key. Both heads must verify; then today's log either extends the
 * saved one (proven), is shorter (truncated), or does not start with the entries the saved head covered
 * (diverged). Two heads signed by the pinned key that are not consistent are themselves the evidence: a log
 * never signs both.
 */
export function checkConsistency(
  key: VerifierKey,
  savedNote: string,
  currentNote: string,
  proofDocument: unknown,
): ConsistencyVerdict {
  let saved: TreeHead;
  let current: TreeHead;
  try {
    saved = openCheckpoint(savedNote, key);
  } catch (err) {
    return {
      verdict: 'unverifiable',
      message: `your saved head: ${err instanceof CheckpointError ? err.message : String(err)}`,
    };
  }
  try {
    current = openCheckpoint(currentNote, key);
  } catch (err) {
    return {
      verdict: 'unverifiable',
      message: `today's head: ${err instanceof CheckpointError ? err.message : String(err)}`,
    };
  }
  const evidence =
    'Both heads are signed by the pinned key: keep both files, together they show the log was rewritten.';
  if (current.size < saved.size) {
    return {
      verdict: 'truncated',
      saved,
      current,
      message:
        `today's log has ${current.size} entries, your saved head covered ${saved.size}: entries at positions ` +
        `${current.size + 1} to ${saved.size} are gone (or the log was rewritten). ${evidence}`,
    };
  }
  if (current.timestamp < saved.timestamp) {
    return {
      verdict: 'unverifiable',
      message: `today's head (${iso(current.timestamp)}) is older than your saved head (${iso(saved.timestamp)})`,
    };
  }
  const proof = decodeProof(proofDocument);
  if (typeof proof === 'string') return { verdict: 'unverifiable', message: proof };
  if (proof.from !== saved.size || proof.to !== current.size) {
    const message = `the proof is from ${proof.from} to ${proof.to} entries, the heads are ${saved.size} and ${current.size}`;
    return { verdict: 'unverifiable', message };
  }
  const checked = verifyConsistency(saved.size, current.size, proof.hashes, saved.rootHash, current.rootHash);
  if (checked.ok) return { verdict: 'consistent', saved, current, appended: current.size - saved.size };
  if (checked.code === 'first-root-mismatch') {
    return {
      verdict: 'diverged',
      saved,
      current,
      message:
        `today's log (${describe(current)}) does not begin with the ${saved.size} entries your head covered ` +
        `(${describe(saved)}): an entry at a position from 1 to ${saved.size} was changed, removed or reordered. ${evidence}`,
    };
  }
  return {
    verdict: 'unproven',
    saved,
    current,
    message:
      `the log did not prove that today's log (${describe(current)}) begins with the ${saved.size} entries your head covered ` +
      `(${describe(saved)}): ${checked.reason}. Treat it as a rewrite until the operator explains it.`,
  };
}
