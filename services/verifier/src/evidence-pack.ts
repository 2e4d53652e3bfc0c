import { CheckpointError, openCheckpoint, type TreeHead, type VerifierKey } from './checkpoint.js';
import { parseCanonicalJson } from './canonical-json.js';
import { fromBase64, utf8 } from './encoding.js';
import { HASH_BYTES, leafHash, type Hash } from './merkle.js';
import { verifyInclusion } from './proofs.js';
import { foldGrantEvents, spendFigures, SpendError, type GrantStreamEvent, type SpendFigures } from './spend.js';

/**
 * Evidence packs: one JSON document a funder can check offline with nothing but the log's pinned public key.
 *
 *   {
 *     "format": "vru-evidence-pack", "version": 1,
 *     "subject": { "kind": "grant", "grantRef": "…" },
 *     "checkpoint": "<signed tree head, a C2SP signed note>",
 *     "events": [ { "leafIndex": 41, "entry": "<the event's stored form, canonical JSON>", "inclusionProof": ["<base64>", …] }, … ],
 *     "figures": { "grantRef", "providerId", "programmeId", "awardedPence", "spentPence", "remainingPence",
 *                  "spentByCategory": {…}, "spentByQuarter": {…} }
 *   }
 *
 * An entry is exactly the bytes the log hashed into its leaf (sealed personal fields stay ciphertext), so the
 * verifier hashes the text as given, proves it is in the signed tree at leafIndex (leaves are numbered in the order
 * the log took events in; the entry names its position, which can differ: positions have gaps), and then
 * reads it. The pack holds every event of the grant's stream up to the head, in stream order; the verifier
 * re-computes the figures from them with the same spend arithmetic the service's report uses, and compares.
 */

export const EVIDENCE_PACK_FORMAT = 'vru-evidence-pack';
export const EVIDENCE_PACK_VERSION = 1;

export interface GrantFigures extends SpendFigures {
  grantRef: string;
  providerId: string;
  programmeId: string;
}

export interface PackEvent {
  leafIndex: number;
  entry: string;
  inclusionProof: string[];
}

export interface GrantEvidencePack {
  format: typeof EVIDENCE_PACK_FORMAT;
  version: typeof EVIDENCE_PACK_VERSION;
  subject: { kind: 'grant'; grantRef: string };
  checkpoint: string;
  events: PackEvent[];
  figures: GrantFigures;
}

/** A failed check, with a JSON Pointer to the part of the pack it concerns. */
export interface PackProblem {
  path: string;
  message: string;
}

export interface PackVerification {
  ok: boolean;
  problems: PackProblem[];
  /** The signed head the proofs were checked against, when its signature verified. */
  head?: TreeHead;
  /** Events whose inclusion in the signed tree was proven. */
  eventsProven: number;
  /** Log positions of the proven events, as text (positions are 64-bit). */
  positions: string[];
  /** The figures as re-computed from the pack's events, when every event was proven. */
  recomputed?: GrantFigures;
}

/** The stream a grant's events live in (the service keys grant streams this way). */
export const grantStreamId = (grantRef: string): string => `grant-${grantRef}`;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The subset of an entry (the stored event) the checks read; anything else in it is hashed but not interpreted. */
interface EntryFields extends GrantStreamEvent {
  position: string;
  streamId: string;
}

function readEntry(value: unknown): EntryFields | string {
  if (!isRecord(value)) return 'the entry is not a JSON object';
  const { position, eventId, streamId, streamVersion, type, schemaVersion, data } = value;
  if (typeof position !== 'string' || !/^[1-9][0-9]*$/.test(position)) return 'the entry has no position';
  if (typeof eventId !== 'string' || typeof streamId !== 'string' || typeof type !== 'string') {
    return 'the entry lacks eventId, streamId or type';
  }
  if (!Number.isSafeInteger(streamVersion) || !Number.isSafeInteger(schemaVersion) || !isRecord(data)) {
    return 'the entry lacks streamVersion, schemaVersion or data';
  }
  return {
    position,
    eventId,
    streamId,
    streamVersion: streamVersion as number,
    type,
    schemaVersion: schemaVersion as number,
    data,
  };
}

function decodeProof(proof: unknown): Hash[] | null {
  if (!Array.isArray(proof) || proof.length > 64) return null;
  const hashes = proof.map((p) => (typeof p === 'string' ? fromBase64(p) : null));
  return hashes.every((h): h is Hash => h !== null && h.length === HASH_BYTES) ? hashes : null;
}

function sameRecord(a: unknown, b: Record<string, number>): boolean {
  if (!isRecord(a)) return false;
  const keys = Object.keys(b);
  return Object.keys(a).length === keys.length && keys.every((k) => a[k] === b[k]);
}

/** Checks a grant evidence pack against the pinned key: the head's signature, every inclusion proof, the figures. */
export function verifyEvidencePack(pack: unknown, key: VerifierKey): PackVerification {
  const problems: PackProblem[] = [];
  const problem = (path: string, message: string): void => void problems.push({ path, message });
  const result = (extra: Partial<PackVerification> = {}): PackVerification => ({
    ok: problems.length === 0,
    problems,
    eventsProven: 0,
    positions: [],
    ...extra,
  });
  if (!isRecord(pack)) return (problem('', 'an evidence pack is a JSON object'), result());
  if (pack.format !== EVIDENCE_PACK_FORMAT) problem('/format', `expected "${EVIDENCE_PACK_FORMAT}"`);
  if (pack.version !== EVIDENCE_PACK_VERSION)
    problem('/version', `this verifier reads version ${EVIDENCE_PACK_VERSION}`);
  const subject = pack.subject;
  if (
    !isRecord(subject) ||
    subject.kind !== 'grant' ||
    typeof subject.grantRef !== 'string' ||
    subject.grantRef === ''
  ) {
    problem('/subject', 'expected { "kind": "grant", "grantRef": "…" }');
  }
  if (!Array.isArray(pack.events)) problem('/events', 'expected an array');
  if (!isRecord(pack.figures)) problem('/figures', 'expected an object');
  if (problems.length > 0) return result();

  let head: TreeHead;
  try {
    head = openCheckpoint(typeof pack.checkpoint === 'string' ? pack.checkpoint : '', key);
  } catch (err) {
    // Without a head signed by the pinned key, no proof means anything.
    problem('/checkpoint', err instanceof CheckpointError ? err.message : 'unreadable checkpoint');
    return result();
  }

  const grantRef = (subject as { grantRef: string }).grantRef;
  const stream = grantStreamId(grantRef);
  const proven: EntryFields[] = [];
  let previousLeaf = -1;
  (pack.events as unknown[]).forEach((item, i) => {
    const at = `/events/${i}`;
    if (!isRecord(item)) {
      problem(at, 'expected { leafIndex, entry, inclusionProof }');
      return;
    }
    const { leafIndex, entry, inclusionProof } = item;
    if (!Number.isSafeInteger(leafIndex) || (leafIndex as number) < 0) {
      problem(`${at}/leafIndex`, 'not a leaf index');
      return;
    }
    const leaf = leafIndex as number;
    if (leaf >= head.size) {
      problem(`${at}/leafIndex`, `leaf ${leaf} is beyond the signed tree (${head.size} entries)`);
      return;
    }
    if (typeof entry !== 'string') {
      problem(`${at}/entry`, 'expected the entry as text');
      return;
    }
    const proof = decodeProof(inclusionProof);
    if (!proof) {
      problem(`${at}/inclusionProof`, 'expected an array of base64 SHA-256 hashes');
      return;
    }
    const included = verifyInclusion(leaf, head.size, leafHash(utf8(entry)), proof, head.rootHash);
    if (!included.ok) {
      problem(`${at}/inclusionProof`, `leaf ${leaf}: not in the signed log as given (${included.reason})`);
      return;
    }
    let fields: EntryFields | string;
    try {
      fields = readEntry(parseCanonicalJson(entry));
    } catch (err) {
      fields = (err as Error).message;
    }
    if (typeof fields === 'string') {
      problem(`${at}/entry`, fields);
      return;
    }
    if (fields.streamId !== stream) {
      problem(`${at}/entry`, `the entry belongs to ${fields.streamId}, not ${stream}`);
      return;
    }
    if (fields.streamVersion !== i + 1) {
      problem(`${at}/entry`, `expected stream version ${i + 1} (the pack holds the stream in order, with no gap)`);
      return;
    }
    // A stream's next version is appended only after the one before it committed, so the log holds it later.
    if (leaf <= previousLeaf) {
      problem(`${at}/leafIndex`, `leaf ${leaf} is not after the stream's previous event (leaf ${previousLeaf})`);
      return;
    }
    previousLeaf = leaf;
    proven.push(fields);
  });
  const positions = proven.map((e) => e.position);
  if (problems.length > 0) {
    problem('/figures', 'not re-computed: some events were not proven');
    return result({ head, eventsProven: proven.length, positions });
  }

  let recomputed: GrantFigures;
  try {
    const { terms, lines } = foldGrantEvents(proven);
    if (!terms) throw new SpendError('the pack has no GrantAwarded event');
    recomputed = {
      grantRef,
      providerId: terms.providerId,
      programmeId: terms.programmeId,
      ...spendFigures(terms.amountPence, lines),
    };
  } catch (err) {
    problem('/events', err instanceof SpendError ? err.message : 'the events could not be folded');
    return result({ head, eventsProven: proven.length, positions });
  }
  const figures = pack.figures as Record<string, unknown>;
  const differs = (field: keyof GrantFigures) =>
    problem(
      `/figures/${field}`,
      `the pack says ${JSON.stringify(figures[field])}, the events give ${JSON.stringify(recomputed[field])}`,
    );
  for (const field of [
    'grantRef',
    'providerId',
    'programmeId',
    'awardedPence',
    'spentPence',
    'remainingPence',
  ] as const) {
    if (figures[field] !== recomputed[field]) differs(field);
  }
  for (const field of ['spentByCategory', 'spentByQuarter'] as const) {
    if (!sameRecord(figures[field], recomputed[field])) differs(field);
  }
  return result({ head, eventsProven: proven.length, positions, recomputed });
}
