import { createHmac, hkdfSync } from 'node:crypto';

/**
 * The internal participant id: a keyed hash of provider + the provider's own reference. Stable (same input, same id),
 * separate per provider, and irreversible without the secret, which lives outside the database.
 */
export function participantId(secret: string, providerId: string, participantRef: string): string {
  return createHmac('sha256', secret).update(`${providerId}\u0000${participantRef}`).digest('hex').slice(0, 32);
}

export const participantStreamId = (id: string): string => `participant-${id}`;
export const grantStreamId = (grantRef: string): string => `grant-${grantRef}`;

/**
 * A comparison record's stream: a keyed hash of the data partner and its own reference, so the reference is never
 * stored and two partners' references never collide.
 */
export function comparisonStreamId(secret: string, dataPartnerId: string, comparisonRef: string): string {
  const hash = createHmac('sha256', secret)
    .update(`comparison\u0000${dataPartnerId}\u0000${comparisonRef}`)
    .digest('hex');
  return `comparison-${hash.slice(0, 32)}`;
}

/**
 * The digest of a provider's session id kept in the participant decider's state (and its stored snapshot): an HMAC
 * under a key derived from PSEUDONYM_SECRET, so a guessed session id cannot be confirmed from a database backup.
 */
export function sessionDigest(pseudonymSecret: string): (sessionId: string) => string {
  const key = Buffer.from(hkdfSync('sha256', pseudonymSecret, 'vru', 'session-digest', 32));
  return (sessionId) => createHmac('sha256', key).update(sessionId).digest('hex').slice(0, 32);
}
