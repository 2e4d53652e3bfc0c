import { Kafka, logLevel, type LogEntry, type Admin } from 'kafkajs';
import type { Logger } from './log.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs through the service's pino logger (structured, one format everywhere). */
export function createKafka(brokers: string, clientId: string, logger: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers: brokers.split(',').map((b) => b.trim()).filter(Boolean),
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, log }: LogEntry) => {
      const { message, ...extra } = log;
      // kafkajs' own noise about partitioner defaults is not actionable.
      if (typeof message === 'string' && message.includes('KafkaJS v2.0.0 switched default partitioner')) return;
      logger[LEVELS[level] ?? 'info']({ kafka: extra }, message);
    },
  });
}

/** Creates the topic if it is missing. Partitions let projector instances share the load; keys keep each stream in order. */
export async function ensureTopic(admin: Admin, topic: string, options: { partitions?: number; replicationFactor?: number; minInsyncReplicas?: number } = {}): Promise<void> {
  const existing = await admin.listTopics();
  if (existing.includes(topic)) return;
  const configEntries = options.minInsyncReplicas ? [{ name: 'min.insync.replicas', value: String(options.minInsyncReplicas) }] : [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: options.partitions ?? 12, replicationFactor: options.replicationFactor ?? 1, configEntries }],
  });
}
