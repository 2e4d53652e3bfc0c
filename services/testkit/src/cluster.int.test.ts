import kafkajs from 'kafkajs';
import t from 'tap';
import { projectionByName } from '@vru/projector';
import { Harness, journey, startKafkaCluster } from './index.js';

// A 3-broker KRaft cluster of its own (scripts/kafka --brokers 3 on another port base), configured the way
// scripts/up --brokers 3 configures the services: replication factor 3, min.insync.replicas 2, acks = all.
const cluster = await startKafkaCluster(3, 20);
// eslint-disable-next-line prefer-const -- declared before the teardown that reads it; a failed start leaves it undefined
let h: Harness | undefined;
t.teardown(async () => {
  await h?.stopProjectors();
  await h?.stopRelay();
  await cluster.stop();
  await h?.close();
});
h = await Harness.start({
  partitions: 6,
  env: { KAFKA_BROKERS: cluster.brokers, KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' },
});

await t.test(
  'ensureEventTopic creates the topic replicated on all three brokers with min.insync.replicas 2',
  async (t) => {
    const admin = h.kafka.admin();
    await admin.connect();
    try {
      const { brokers } = await admin.describeCluster();
      t.equal(brokers.length, 3, 'three brokers in the cluster');
      // The topic was created a moment ago: the broker asked may not have its metadata yet (a retriable error).
      const topic = await h.waitFor(
        "the topic in the cluster's metadata",
        async () => {
          const metadata = await admin.fetchTopicMetadata({ topics: [h.config.KAFKA_TOPIC] }).catch(() => null);
          return metadata?.topics[0];
        },
        30_000,
      );
      t.equal(topic.partitions.length, 6);
      t.ok(
        topic.partitions.every((p) => p.replicas.length === 3),
        'every partition has 3 replicas',
      );
      t.ok(
        topic.partitions.every((p) => p.isr.length === 3),
        'all in sync',
      );
      const {
        resources: [resource],
      } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          { type: kafkajs.ConfigResourceTypes.TOPIC, name: h.config.KAFKA_TOPIC, configNames: ['min.insync.replicas'] },
        ],
      });
      t.equal(resource!.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue, '2');
    } finally {
      await admin.disconnect();
    }
  },
);

await t.test('events go through the relay (acks = all) and a projector on the replicated topic', async (t) => {
  await h.startRelay();
  await h.startProjectors([projectionByName('attendance')!]);
  const posted =
    (await h.postAccepted(journey('P-c1', { attended: 3, missed: 1 }), h.keys.providerA)) +
    (await h.postAccepted(journey('P-c2', { attended: 2, missed: 0 }), h.keys.providerA));
  await h.waitForProjections(['attendance'], posted);
  const report = await h.getReport('/v1/reports/attendance', h.keys.providerA);
  t.match(report.body.rows, [{ participants: 2, sessionsAttended: 5, sessionsMissed: 1 }]);
  // The relay deletes its outbox rows after Kafka's ack, so a projector can apply the last events first.
  await h.waitFor('the outbox drained', async () => ((await h.count('outbox')) === 0 ? true : undefined));
  t.equal(await h.count('outbox'), 0, 'the relay published everything');
});

t.end();
