import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { CheckpointError, openNote, signNote, type SignerKey, type VerifierKey } from './checkpoint.js';

/**
 * The signed statement of a frozen return (docs/audit.md, "Frozen returns"): a signed note, Ed25519 under the audit
 * key, whose text is
 *
 *     vru.frozen-return/v1
 *     id <uuid>
 *     report <report name>
 *     sha256 <hex SHA-256 of the canonical JSON of the figures>
 *     position <log position>
 *     asOf <YYYY-MM-DD>
 *     rules <disclosure rule version>
 *     code <code version>
 *     frozenAt <ISO 8601 UTC>
 *
 * Anyone holding the pinned public key can check a return as the API serves it: the note verifies, its lines are the
 * return's own fields, and the figures hash to the digest it names.
 */

export const FROZEN_RETURN_STATEMENT = 'vru.frozen-return/v1';

export interface FrozenReturnFacts {
  id: string;
  report: string;
  figuresSha256: string;
  position: string;
  asOf: string;
  disclosureRules: string;
  codeVersion: string;
  frozenAt: string;
}

const LINES: readonly [keyof FrozenReturnFacts, string][] = [
  ['id', 'id'],
  ['report', 'report'],
  ['figuresSha256', 'sha256'],
  ['position', 'position'],
  ['asOf', 'asOf'],
  ['disclosureRules', 'rules'],
  ['codeVersion', 'code'],
  ['frozenAt', 'frozenAt'],
];

export function frozenReturnStatement(facts: FrozenReturnFacts): string {
  for (const [field] of LINES) {
    if (typeof facts[field] !== 'string' || !/^[^\s]+$/.test(facts[field]))
      throw new CheckpointError(`${field} must be one word`);
  }
  return `${FROZEN_RETURN_STATEMENT}\n${LINES.map(([field, label]) => `${label} ${facts[field]}`).join('\n')}\n`;
}

export const signFrozenReturn = (facts: FrozenReturnFacts, signer: SignerKey): string =>
  signNote(frozenReturnStatement(facts), signer);

export const figuresDigest = (figures: unknown): string =>
  createHash('sha256').update(canonicalJson(figures), 'utf8').digest('hex');

export interface FrozenReturnVerdict {
  ok: boolean;
  problems: string[];
}

/**
 * Checks a frozen return as GET /v1/returns/{id} answers it against the pinned key: signed, the statement matches
 * the return's fields, and the figures are the ones the digest names.
 */
export function verifyFrozenReturn(doc: unknown, key: VerifierKey): FrozenReturnVerdict {
  const problems: string[] = [];
  if (doc === null || typeof doc !== 'object')
    return { ok: false, problems: ['not a frozen return (expected a JSON object)'] };
  const r = doc as Record<string, unknown>;
  const note = (r.signature as { note?: unknown } | null | undefined)?.note;
  if (typeof note !== 'string') return { ok: false, problems: ['not signed yet: the return has no signature'] };
  let text: string;
  try {
    text = openNote(note, key);
  } catch (err) {
    return { ok: false, problems: [`signature: ${(err as Error).message}`] };
  }
  const facts = Object.fromEntries(LINES.map(([field]) => [field, String(r[field])])) as unknown as FrozenReturnFacts;
  let expected: string | null = null;
  try {
    expected = frozenReturnStatement(facts);
  } catch (err) {
    problems.push(`the return's fields: ${(err as Error).message}`);
  }
  if (expected !== null && text !== expected) {
    const signed = new Map(
      text
        .split('\n')
        .slice(1)
        .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
    );
    for (const [field, label] of LINES) {
      if (signed.get(label) !== facts[field])
        problems.push(
          `${field}: the return says ${facts[field]}, the signed statement ${signed.get(label) ?? 'nothing'}`,
        );
    }
    if (problems.length === 0) problems.push('the signed statement is not the statement of this return');
  }
  let digest: string | null = null;
  try {
    digest = figuresDigest(r.figures);
  } catch (err) {
    problems.push(`figures: ${(err as Error).message}`);
  }
  if (digest !== null && digest !== facts.figuresSha256) {
    problems.push(
      `figures: their SHA-256 is ${digest}, the signed digest ${facts.figuresSha256}: the figures were changed`,
    );
  }
  return { ok: problems.length === 0, problems };
}
