import { Type, type TObject } from 'typebox';
import { EventCatalogue, type EventDefinition } from './catalogue.js';
import { EventMetadata, StoredEvent } from './stored.js';

/** Kafka headers the relay sets on every message of the topic (all UTF-8 strings). */
export const EventHeaders = Type.Object(
  {
    'event-type': Type.String({ description: "The event type, e.g. SessionAttended (same as the value's `type`)." }),
    'schema-version': Type.String({
      pattern: '^[1-9][0-9]*$',
      description: 'The schema version of `data`, as stored (consumers upcast).',
    }),
    'event-id': Type.String({ format: 'uuid', description: "The event id (the submitter's idempotency key)." }),
    'correlation-id': Type.String({
      description: 'The HTTP request id that appended the event (also `metadata.requestId`).',
    }),
  },
  { additionalProperties: true },
);

/**
 * `data` as published: the personal fields of the type (catalogue `personalFields`) are not there in clear but
 * sealed together in `$sealed`, decryptable only with the participant's key (gone once the participant is erased).
 */
function publishedData(def: EventDefinition, data: TObject): TObject {
  const personal = def.personalFields ?? [];
  if (personal.length === 0) return data;
  const kept = Object.fromEntries(Object.entries(data.properties).filter(([k]) => !personal.includes(k)));
  return Type.Object(
    {
      ...kept,
      $sealed: Type.String({
        pattern: '^v1\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
        description:
          `AES-256-GCM ciphertext (v1.<iv>.<ciphertext+tag>, base64url, bound to the stream id) of the JSON object holding ${personal.join(', ')} where given. Readable only with the participant's key; after erasure the key is destroyed. ` +
          'Events stored before a field was sealed carry it in clear and may have no `$sealed`.',
      }),
    },
    { additionalProperties: false, description: (data as { description?: string }).description },
  );
}

/** The value of one message: a stored event whose `data` has the shape of one event type and version. */
export function storedEventSchema(def: EventDefinition, version: number): TObject {
  const stored = def.versions[version];
  if (!stored) throw new Error(`${def.type} has no version ${version}`);
  const data = publishedData(def, stored);
  return Type.Object(
    {
      ...StoredEvent.properties,
      type: Type.Literal(def.type),
      schemaVersion: Type.Literal(version),
      data,
      metadata: EventMetadata,
    },
    { additionalProperties: false, title: `${def.type}V${version}`, description: def.summary },
  );
}

const plain = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema));

/**
 * The AsyncAPI 3 document of the `participant-events` topic, from the same TypeBox schemas as the OpenAPI
 * contract: one message per event type and version. Committed as contracts/asyncapi.json (scripts/asyncapi).
 */
export function buildAsyncApi(options: { topic?: string; partitions?: number } = {}): Record<string, unknown> {
  const topic = options.topic ?? 'participant-events';
  const messages: Record<string, unknown> = {};
  for (const def of Object.values(EventCatalogue) as EventDefinition[]) {
    for (const version of Object.keys(def.versions).map(Number)) {
      const name = `${def.type}V${version}`;
      messages[name] = {
        name,
        title: `${def.type} v${version}`,
        summary: def.summary,
        contentType: 'application/json',
        headers: plain(EventHeaders),
        payload: plain(storedEventSchema(def, version)),
        bindings: {
          kafka: {
            key: {
              type: 'string',
              description: `Stream id: all events of one ${def.stream} stream share a partition, in order.`,
            },
            bindingVersion: '0.5.0',
          },
        },
      };
    }
  }
  const refs = Object.fromEntries(
    Object.keys(messages).map((name) => [name, { $ref: `#/components/messages/${name}` }]),
  );
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'VRU intervention outcomes: event log',
      version: '1.0.0',
      description: [
        'Every event accepted by the API, published by the relay in log order from the transactional outbox.',
        'At-least-once: a consumer may see a message again and must skip (streamId, streamVersion) pairs it has',
        'already applied. Values are published as stored; consumers upcast older schema versions.',
        'Pseudonymous only: no participantRef, names or contact details.',
      ].join(' '),
    },
    defaultContentType: 'application/json',
    channels: {
      participantEvents: {
        address: topic,
        title: 'Participant and grant events',
        description: 'Keyed by stream id (participant or grant), so each stream stays in order on one partition.',
        messages: refs,
        bindings: {
          kafka: {
            topic,
            partitions: options.partitions ?? 12,
            bindingVersion: '0.5.0',
          },
        },
      },
    },
    operations: {
      publishEvent: {
        action: 'send',
        title: 'Relay publishes an event',
        summary: 'The relay sends each stored event once Kafka acknowledges it with acks=all (idempotent producer).',
        channel: { $ref: '#/channels/participantEvents' },
        messages: Object.keys(messages).map((name) => ({ $ref: `#/channels/participantEvents/messages/${name}` })),
      },
    },
    components: { messages },
  };
}
