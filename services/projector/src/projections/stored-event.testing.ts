import { eventDefinition, type StoredEvent } from '@vru/contracts';

/** The event id storedEvent gives every event. */
export const STORED_EVENT_ID = '6f1c2a4e-1b2c-4d3e-8f40-0123456789ab';

/**
 * For the projections' unit tests: an event of `type` as the store gives it (at its type's latest version, on a
 * stream of its kind, `<kind>-x`), with `data` as given.
 */
export const storedEvent = (type: string, data: Record<string, unknown>): StoredEvent => ({
  position: '7',
  eventId: STORED_EVENT_ID,
  streamId: `${eventDefinition(type)?.stream ?? 'participant'}-x`,
  streamVersion: 4,
  type,
  schemaVersion: eventDefinition(type)?.latest ?? 1,
  providerId: 'prov-a',
  programmeId: 'mentoring-test',
  occurredAt: '2026-02-01T10:00:00.000Z',
  recordedAt: '2026-02-01T10:00:01.000Z',
  data,
  metadata: { requestId: 'req-1', keyId: 'k1', role: 'provider', source: 'api' },
});
