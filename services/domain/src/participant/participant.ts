import { unhandled, type StreamEvent } from '../decision.js';

/** The events of a participant's stream. */
export type ParticipantEvent = StreamEvent<'participant'>;

export type ConsentScope = 'service-delivery' | 'evaluation' | 'follow-up-contact';

/** What the rules need to know about one participant's history. JSON-serialisable: stored as a snapshot. */
export interface ParticipantState {
  referralDate: string | null;
  startDate: string | null;
  exitDate: string | null;
  /** Per scope, the periods consent was in force: [from, to | null]. */
  consents: Partial<Record<ConsentScope, { from: string; to: string | null }[]>>;
  /**
   * Keyed digests of the sessions recorded (SessionDigest): enough to refuse a session recorded twice, while the stored snapshot
   * holds none of the provider's session id text.
   */
  sessionKeys: string[];
  /** Personal fields erased: the stream is closed to new facts. */
  erased: boolean;
}

export const initialParticipantState = (): ParticipantState => ({
  referralDate: null,
  startDate: null,
  exitDate: null,
  consents: {},
  sessionKeys: [],
  erased: false,
});

/**
 * The port that digests a provider's session id into what state (and its stored snapshot) keeps instead of the text.
 * Keyed by the event store with a secret held outside the database: an unkeyed hash of a guessable id (`S-2026-09-14-A`)
 * would confirm the guess. Deterministic, so evolve and decide stay pure for a given key.
 */
export type SessionDigest = (sessionId: string) => string;

export const evolveParticipant =
  (sessionDigest: SessionDigest) =>
  (state: ParticipantState, event: ParticipantEvent): ParticipantState => {
    switch (event.type) {
      case 'ParticipantReferred':
        return { ...state, referralDate: event.data.referralDate };
      case 'ParticipantEnrolled':
        return { ...state, startDate: event.data.startDate };
      case 'ParticipantExited':
        return { ...state, exitDate: event.data.exitDate };
      case 'ParticipantErased':
        // The stream is closed, so the session digests have no further use: the stored snapshot drops them.
        return { ...state, erased: true, sessionKeys: [] };
      case 'SessionAttended':
      case 'SessionMissed': {
        // A session id sealed under a destroyed key is absent; the stream is erased and refuses new sessions anyway.
        const sessionId = event.data.sessionId;
        return sessionId === undefined
          ? state
          : { ...state, sessionKeys: [...state.sessionKeys, sessionDigest(sessionId)] };
      }
      case 'ConsentRecorded': {
        const { scope, recordedOn } = event.data;
        const periods = state.consents[scope] ?? [];
        return { ...state, consents: { ...state.consents, [scope]: [...periods, { from: recordedOn, to: null }] } };
      }
      case 'ConsentWithdrawn': {
        const { scope, withdrawnOn } = event.data;
        const periods = (state.consents[scope] ?? []).map((p) => (p.to === null ? { ...p, to: withdrawnOn } : p));
        return { ...state, consents: { ...state.consents, [scope]: periods } };
      }
      case 'OutcomeMeasured':
      case 'FollowUpRecorded':
      case 'OffenceRecorded':
      case 'MatchTokenRecorded':
        return state;
      default:
        return unhandled(event);
    }
  };

/** Whether consent for a scope was in force on a date (withdrawal takes effect from its date). */
export function consentInForce(state: ParticipantState, scope: ConsentScope, date: string): boolean {
  return (state.consents[scope] ?? []).some((p) => p.from <= date && (p.to === null || date < p.to));
}

export function hasOpenConsent(state: ParticipantState, scope: ConsentScope): boolean {
  return (state.consents[scope] ?? []).some((p) => p.to === null);
}
