import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import type { Harness } from './harness.js';

/**
 * A consumer of the admin client in a group of its own (`name`), for a test that reads the topic itself. Its disconnect
 * waits for the fetch in flight, so the broker holds an empty fetch for half a second rather than kafkajs' 5 s.
 */
export function topicReader(h: Harness, name: string): Consumer {
  return h.kafka.consumer({ groupId: `${h.config.KAFKA_CLIENT_ID}-${name}`, maxWaitTimeInMs: 500 });
}

/** The messages of the topic, read from its start with the admin client, that belong to one stream. */
export async function publishedFor(h: Harness, streamId: string, atLeast: number): Promise<string[]> {
  const published: string[] = [];
  const consumer = topicReader(h, `privacy-reader-${randomUUID()}`);
  await consumer.connect();
  await consumer.subscribe({ topic: h.config.KAFKA_TOPIC, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void published.push(message.value?.toString() ?? '') });
  try {
    return await h.waitFor(`${atLeast} messages of the stream on the topic`, async () => {
      const mine = published.filter((m) => m.includes(streamId));
      return mine.length >= atLeast ? mine : undefined;
    });
  } finally {
    await consumer.disconnect();
  }
}
