import { createHash, createHmac, hkdfSync } from 'node:crypto';
import type { ValidSubmission } from '@vru/contracts';
import { canonicalJson } from '@vru/verifier';

/**
 * What tells a retry from a reused eventId. Keyed (HMAC with a key derived from PSEUDONYM_SECRET, held outside the
 * database): a plain hash of the submission, next to its event id in a backup, would let whoever guesses a participant's
 * reference and an offence confirm the guess although the offence itself is sealed. Without a key: the hash rows stored
 * before hashes were keyed hold, still honoured for retries of those events.
 */
export function requestHash(submission: ValidSubmission, key: Buffer | null = null): string {
  const { expectedVersion: _ignored, ...content } = submission;
  return key
    ? createHmac('sha256', key).update(canonicalJson(content)).digest('hex')
    : createHash('sha256').update(canonicalJson(content)).digest('hex');
}

export const requestHashKey = (pseudonymSecret: string): Buffer =>
  Buffer.from(hkdfSync('sha256', pseudonymSecret, 'vru', 'request-hash', 32));
