import { Type, type Static } from 'typebox';
import type { EventData, EventType } from './catalogue.js';

export const EventMetadata = Type.Object(
  {
    requestId: Type.String({ description: 'Correlation id: the HTTP request id that appended the event.' }),
    keyId: Type.String({ description: 'The API key (public id) that submitted it.' }),
    role: Type.String(),
    source: Type.Union([
      Type.Literal('api'),
      Type.Literal('batch'),
      Type.Literal('csv'),
      Type.Literal('xlsx'),
      Type.Literal('system'),
    ]),
  },
  { additionalProperties: false },
);
export type EventMetadata = Static<typeof EventMetadata>;

/** An event as stored and as published on the `participant-events` topic (value, JSON). Pseudonymous only. */
export const StoredEvent = Type.Object(
  {
    position: Type.String({ description: 'Global log position (64-bit integer as a string).' }),
    eventId: Type.String({ format: 'uuid' }),
    streamId: Type.String(),
    streamVersion: Type.Integer({ minimum: 1 }),
    type: Type.String(),
    schemaVersion: Type.Integer({ minimum: 1 }),
    providerId: Type.String(),
    programmeId: Type.Union([Type.String(), Type.Null()]),
    occurredAt: Type.String({ format: 'date-time' }),
    recordedAt: Type.String({ format: 'date-time' }),
    data: Type.Record(Type.String(), Type.Unknown()),
    metadata: EventMetadata,
  },
  { additionalProperties: false, $id: 'StoredEvent' },
);
export type StoredEvent = Static<typeof StoredEvent>;

/**
 * A stored event read as its latest version, typed by the catalogue and discriminated by `type` (the projections' input).
 * Personal fields may be absent: sealed under a destroyed key, they are not opened (see EventData).
 */
export type ReadEvent<T extends EventType = EventType> = T extends EventType
  ? Omit<StoredEvent, 'type' | 'data'> & { type: T; data: EventData<T> }
  : never;
