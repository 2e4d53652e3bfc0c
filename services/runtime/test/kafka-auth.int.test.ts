import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import t from 'tap';
import { kafkaCredentials } from '@vru/runtime';
import { Harness, journey, PROGRAMME } from '@vru/testkit';

// The broker started by scripts/kafka authenticates every client (SASL/SCRAM-SHA-512) and authorises by ACL:
// the relay's user writes the event topic, the projector's reads it in its groups, the admin manages. Each test
// plays someone who should not get in, and fails if they do.
const h = await Harness.start({ partitions: 1 });
t.teardown(() => h.close());

const brokers = h.config.KAFKA_BROKERS.split(',');
/** Every error type kafkajs saw (its debug log), so a refusal can be told from a broker that was not there. */
const seenErrors = new Set<string>();
const client = (config: Partial<KafkaConfig>) =>
  new Kafka({
    brokers,
    clientId: `attacker-${randomUUID().slice(0, 8)}`,
    connectionTimeout: 3_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
    logLevel: logLevel.DEBUG,
    logCreator:
      () =>
      ({ log }) => {
        const error = (log as { error?: unknown }).error;
        const type = (error as { type?: string } | undefined)?.type ?? (typeof error === 'string' ? error : undefined);
        if (type) seenErrors.add(type);
      },
    ...config,
  });
/** The error's type, its message and those of the errors it aggregates. */
const reasons = (err: unknown): string => {
  const e = err as { type?: string; message?: string; errors?: unknown[] };
  return [e.type, e.message, ...(e.errors ?? []).map(reasons)].filter(Boolean).join(' / ');
};
const refusedWith = async (what: Promise<unknown>, pattern: RegExp): Promise<string> => {
  try {
    await what;
    return 'accepted';
  } catch (err) {
    const why = reasons(err);
    return pattern.test(why) ? 'refused' : `failed otherwise: ${why}`;
  }
};
const AUTHORIZATION = /AUTHORIZATION_FAILED|Not authorized/;
const as = (role: 'relay' | 'projector' | 'admin', password?: string) => {
  const { username, password: real } = kafkaCredentials(h.config, role);
  return client({ sasl: { mechanism: 'scram-sha-512', username, password: password ?? real } });
};

/** The forged message of the attack the broker used to allow: spend on a grant, far beyond any real stream version. */
const forged = () => ({
  key: 'grant-G-FORGED',
  value: JSON.stringify({
    position: '999999',
    eventId: randomUUID(),
    streamId: 'grant-G-FORGED',
    streamVersion: 100_000,
    type: 'SpendRecorded',
    schemaVersion: 1,
    providerId: 'prov-a',
    programmeId: PROGRAMME,
    occurredAt: '2026-01-05T00:00:00.000Z',
    recordedAt: '2026-01-05T00:00:00.000Z',
    data: {
      amountPence: 4_000_000,
      category: 'staff',
      periodStart: '2026-01-01',
      periodEnd: '2026-01-31',
      evidenceRef: 'FORGED',
    },
    metadata: { requestId: 'forged', keyId: 'forged', role: 'provider', source: 'api' },
  }),
});

async function produce(kafka: Kafka, topic = h.config.KAFKA_TOPIC): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  try {
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [forged()] });
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

/** Joins a group and waits for a message or for the consumer to crash; resolves with what happened. */
async function consume(kafka: Kafka, groupId: string, topic = h.config.KAFKA_TOPIC): Promise<string> {
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    retry: { retries: 0, restartOnFailure: async () => false },
  });
  try {
    return await new Promise<string>((resolve) => {
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        resolve(`crashed: ${(payload.error as { type?: string }).type ?? payload.error.message}`);
      });
      consumer
        .connect()
        .then(() => consumer.subscribe({ topic, fromBeginning: true }))
        .then(() => consumer.run({ eachMessage: async () => resolve('read a message') }))
        .catch((err: unknown) => {
          const { type, message } = err as { type?: string; message: string };
          resolve(`refused: ${type ?? message}`);
        });
    });
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}

const topicMessages = async () => {
  const admin = h.kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(h.config.KAFKA_TOPIC)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
};

await t.test('a client without credentials is refused: it can neither write nor read nor list', async (t) => {
  const anonymous = client({});
  t.not(await refusedWith(produce(anonymous), /./), 'accepted', 'the forged SpendRecorded is not accepted');
  t.match(
    await consume(anonymous, `${h.config.PROJECTOR_GROUP_PREFIX}-attendance`),
    /^(refused|crashed)/,
    'the topic cannot be read',
  );
  const admin = anonymous.admin();
  await t.rejects(
    admin.connect().then(() => admin.listTopics()),
    'not even the topic list',
  );
  await admin.disconnect().catch(() => {});
  t.equal(await topicMessages(), 0, 'nothing reached the topic');
});

await t.test('a wrong password is refused', async (t) => {
  const refusal = await refusedWith(
    produce(as('relay', 'not-the-relay-password')),
    /SASL_AUTHENTICATION_FAILED|authentication failed/i,
  );
  t.equal(refusal, 'refused');
  t.equal(await topicMessages(), 0);
});

await t.test(
  "the projector's credentials cannot write the topic, create topics or read outside the projector groups",
  async (t) => {
    t.equal(
      await refusedWith(produce(as('projector')), AUTHORIZATION),
      'refused',
      'a forged message sent with a leaked projector password',
    );
    const admin = as('projector').admin();
    await admin.connect();
    const created = admin.createTopics({ topics: [{ topic: `${h.config.KAFKA_TOPIC}-extra` }] });
    t.equal(await refusedWith(created, AUTHORIZATION), 'refused', 'no topics');
    await admin.disconnect();
    seenErrors.clear();
    t.match(
      await consume(as('projector'), `someone-else-${randomUUID().slice(0, 8)}`),
      /^(refused|crashed)/,
      'a group outside the prefix',
    );
    t.ok(seenErrors.has('GROUP_AUTHORIZATION_FAILED'), "because the group is not the projector's");
    t.equal(await topicMessages(), 0);
  },
);

await t.test("the relay's credentials cannot read the topic, nor write outside the event topics", async (t) => {
  seenErrors.clear();
  const relayConsumer = await consume(as('relay'), `${h.config.PROJECTOR_GROUP_PREFIX}-attendance`);
  t.match(relayConsumer, /^(refused|crashed)/, 'no consumer group for the relay');
  t.ok(seenErrors.has('GROUP_AUTHORIZATION_FAILED'), "because the relay may not use the projector's groups");
  const other = `other-topic-${randomUUID().slice(0, 8)}`;
  const admin = h.kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: other, numPartitions: 1 }] });
  t.equal(
    await refusedWith(produce(as('relay'), other), AUTHORIZATION),
    'refused',
    'a topic that is not an event topic',
  );
  await admin.deleteTopics({ topics: [other] });
  await admin.disconnect();
});

await t.test('the relay and the projectors, each with their own user, carry events to the read models', async (t) => {
  const events = journey('P-auth-1', { attended: 1, missed: 0 });
  await h.postAccepted(events, h.keys.providerA);
  await h.startRelay();
  await h.startProjectors();
  await h.waitForProjections(['participants', 'attendance'], events.length);
  t.equal(await topicMessages(), events.length, 'the genuine events, and nothing else, are on the topic');
  const [{ n }] = await h.sql<[{ n: number }]>`select count(*)::int as n from rm_spend.spend`;
  t.equal(n, 0, 'no forged spend in the read model');
});
