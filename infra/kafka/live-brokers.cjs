// node infra/kafka/live-brokers.cjs BOOTSTRAP: prints how many brokers the cluster's metadata lists (in KRaft only
// registered, unfenced brokers), asked once as the admin user (ADMIN_USER, KAFKA_ADMIN_PASSWORD); exits 1 when the
// cluster does not answer. scripts/kafka's readiness probe: a Node.js process and one metadata request instead of a
// JVM per probe, which took seconds of a start on a loaded machine. kafkajs is the workspace's own (services/runtime).
'use strict';
const path = require('node:path');
const { createRequire } = require('node:module');

const { Kafka, logLevel } = createRequire(path.join(__dirname, '../../services/runtime/package.json'))('kafkajs');
const [bootstrap] = process.argv.slice(2);
// No default: without the admin password the probe cannot ask, and an empty one must not be tried.
const password = process.env.KAFKA_ADMIN_PASSWORD;
if (!password) {
  process.stderr.write('live-brokers: KAFKA_ADMIN_PASSWORD must be set\n');
  process.exit(2);
}
const admin = new Kafka({
  clientId: 'scripts-kafka-ready',
  brokers: (bootstrap ?? '').split(','),
  sasl: {
    mechanism: 'scram-sha-512',
    username: process.env.ADMIN_USER ?? 'admin',
    password,
  },
  connectionTimeout: 2000,
  requestTimeout: 3000,
  retry: { retries: 0 },
  logLevel: logLevel.NOTHING,
}).admin();

admin
  .connect()
  .then(() => admin.describeCluster())
  .then(
    (cluster) => {
      process.stdout.write(`${cluster.brokers.length}\n`);
      return 0;
    },
    () => 1,
  )
  .then(async (code) => {
    await admin.disconnect().catch(() => {});
    process.exit(code);
  });
