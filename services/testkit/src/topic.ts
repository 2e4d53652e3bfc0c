import { randomUUID } from 'node:crypto';
import type { Harness } from './harness.js';

/** The messages of the topic, read from its start with the admin client, that belong to one stream. */
export async function publishedFor(h: Harness, streamId: string, atLeast: number): Promise<string[]> {
  const published: string[] = [];
  const consumer = h.kafka.consumer({ groupId: `${h.config.KAFKA_CLIENT_ID}-privacy-reader-${randomUUID()}` });
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
