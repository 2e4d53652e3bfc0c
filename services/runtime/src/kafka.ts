import net from 'node:net';
import tls from 'node:tls';
import { Kafka, logLevel, type LogEntry, type Admin, type ISocketFactory } from 'kafkajs';
import { ConfigError, type Config } from './config.js';
import type { Logger } from './log.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * Who a client is on the broker (SASL/SCRAM-SHA-512; the broker's ACLs decide what each may do): the relay may
 * write the event topic, the projector may read it in its consumer groups, the admin creates topics.
 */
export type KafkaRole = 'admin' | 'relay' | 'projector';

export type KafkaSettings = Pick<
  Config,
  | 'KAFKA_BROKERS'
  | 'KAFKA_CLIENT_ID'
  | 'KAFKA_ADMIN_USERNAME'
  | 'KAFKA_ADMIN_PASSWORD'
  | 'KAFKA_RELAY_USERNAME'
  | 'KAFKA_RELAY_PASSWORD'
  | 'KAFKA_PROJECTOR_USERNAME'
  | 'KAFKA_PROJECTOR_PASSWORD'
>;

const CREDENTIALS = {
  admin: ['KAFKA_ADMIN_USERNAME', 'KAFKA_ADMIN_PASSWORD'],
  relay: ['KAFKA_RELAY_USERNAME', 'KAFKA_RELAY_PASSWORD'],
  projector: ['KAFKA_PROJECTOR_USERNAME', 'KAFKA_PROJECTOR_PASSWORD'],
} as const;

/** The SCRAM user and password of a role; a ConfigError naming the variable when the password is not set. */
export function kafkaCredentials(config: KafkaSettings, role: KafkaRole): { username: string; password: string } {
  const [user, secret] = CREDENTIALS[role];
  const password = config[secret];
  if (!password) throw new ConfigError([`${secret}: required to connect to Kafka as ${role}`]);
  return { username: config[user], password };
}

/**
 * A Kafka client authenticated as `role`; `name` (default: the role) ends its client id. kafkajs logs through the
 * service's pino logger (structured, one format everywhere).
 */
export function createKafka(config: KafkaSettings, role: KafkaRole, logger: Logger, name: string = role): Kafka {
  const { username, password } = kafkaCredentials(config, role);
  const sockets = new Set<net.Socket>();
  // kafkajs' default factory, plus a registry: kafkajs 2.2.4 can lose track of a connection it reopened
  // while a broker restarted, and a stopped service must not keep it open.
  const socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- kafkajs types ssl as always set; it is not on a plaintext listener
    const socket = ssl
      ? tls.connect(Object.assign({ host, port, servername: host }, ssl), onConnect)
      : net.connect({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };
  const kafka = new Kafka({
    socketFactory,
    clientId: `${config.KAFKA_CLIENT_ID}-${name}`,
    brokers: config.KAFKA_BROKERS.split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    sasl: { mechanism: 'scram-sha-512', username, password },
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...extra } = log;
        // kafkajs' own noise about partitioner defaults is not actionable.
        if (typeof message === 'string' && message.includes('KafkaJS v2.0.0 switched default partitioner')) return;
        logger[LEVELS[level] ?? 'info']({ kafka: extra }, message);
      },
  });
  openSockets.set(kafka, sockets);
  return kafka;
}

const openSockets = new WeakMap<Kafka, Set<net.Socket>>();

/** Closes whatever connections a client still holds after its producers, consumers and admins disconnected. */
export function destroyKafkaSockets(kafka: Kafka): void {
  for (const socket of openSockets.get(kafka) ?? []) socket.destroy();
}

/** Creates the topic if it is missing. Partitions let projector instances share the load; keys keep each stream in order. */
export async function ensureTopic(
  admin: Admin,
  topic: string,
  options: { partitions?: number; replicationFactor?: number; minInsyncReplicas?: number } = {},
): Promise<void> {
  const existing = await admin.listTopics();
  if (existing.includes(topic)) return;
  const configEntries = options.minInsyncReplicas
    ? [{ name: 'min.insync.replicas', value: String(options.minInsyncReplicas) }]
    : [];
  // kafkajs' own waitForLeaders asks one broker for the metadata and, on a cluster where that broker has not heard
  // of the topic yet, fails with an unhandled UNKNOWN_TOPIC_OR_PARTITION; so wait for the leaders here instead.
  await admin.createTopics({
    waitForLeaders: false,
    topics: [
      {
        topic,
        numPartitions: options.partitions ?? 12,
        replicationFactor: options.replicationFactor ?? 1,
        configEntries,
      },
    ],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await admin.fetchTopicMetadata({ topics: [topic] }).then(
      ({ topics }) => (topics[0]?.partitions.length ?? 0) > 0 && topics[0]!.partitions.every((p) => p.leader >= 0),
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`topic ${topic} has no leader for every partition after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
