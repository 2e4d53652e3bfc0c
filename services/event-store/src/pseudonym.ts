import { createHmac } from 'node:crypto';

/**
 * The internal participant id: a keyed hash of provider + the provider's own reference. Stable (same input, same id),
 * separate per provider, and irreversible without the secret, which lives outside the database.
 */
export function participantId(secret: string, providerId: string, participantRef: string): string {
  return createHmac('sha256', secret).update(`${providerId}\u0000${participantRef}`).digest('hex').slice(0, 32);
}

export const participantStreamId = (id: string): string => `participant-${id}`;
export const grantStreamId = (grantRef: string): string => `grant-${grantRef}`;
