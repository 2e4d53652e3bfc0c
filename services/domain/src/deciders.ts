import type { StreamKind } from '@vru/contracts';
import type { Command, Decider, DomainEvent } from './decision.js';
import { participantDecider } from './participant/decide.js';
import type { SessionDigest } from './participant/participant.js';
import { grantDecider } from './grant/decide.js';
import { comparisonDecider } from './comparison/decide.js';

/** A decider as the command handler holds it: any stream kind, its state opaque (a stored snapshot). */
export type AnyDecider = Decider<unknown, DomainEvent, Command>;

/**
 * The decider of each stream kind. Widened here, once: a stream holds only its own kind's events and takes only its own
 * kind's commands, because the event type's catalogue entry names the stream it goes to.
 */
export const streamDeciders = (sessionDigest: SessionDigest): Record<StreamKind, AnyDecider> => ({
  participant: participantDecider(sessionDigest) as unknown as AnyDecider,
  grant: grantDecider as unknown as AnyDecider,
  comparison: comparisonDecider as unknown as AnyDecider,
});
