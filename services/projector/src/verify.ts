import type { StoredEvent } from '@vru/contracts';
import { canonicalJson } from '@vru/event-store';

/**
 * Projectors do not trust the broker: a message is applied only if it is, field for field, the event the store
 * holds under its id (as the relay publishes it: stored schema version, sealed fields sealed). A message forged by
 * anyone who can write the topic (a leaked relay password, a broker administrator) names an event the store does
 * not hold, or holds differently, and is refused. What is applied is the store's copy.
 */

export type RejectionReason = 'not-in-store' | 'differs-from-store';

export interface Rejection {
  eventId: unknown;
  position: unknown;
  reason: RejectionReason;
}

export function checkAgainstStore(
  published: readonly StoredEvent[],
  stored: ReadonlyMap<string, StoredEvent>,
): { accepted: StoredEvent[]; rejected: Rejection[] } {
  const accepted: StoredEvent[] = [];
  const rejected: Rejection[] = [];
  for (const message of published) {
    // Messages are parsed JSON, typed as what they should be: these checks are for what they are.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- see above
    const original = typeof message?.eventId === 'string' ? stored.get(message.eventId) : undefined;
    if (!original) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- see above
      rejected.push({ eventId: message?.eventId, position: message?.position, reason: 'not-in-store' });
    } else if (canonicalJson(message) !== canonicalJson(original)) {
      rejected.push({ eventId: message.eventId, position: message.position, reason: 'differs-from-store' });
    } else {
      accepted.push(original);
    }
  }
  return { accepted, rejected };
}
