import { startAuditChainer } from '@vru/event-store';
import { createKafka, ensureEventTopic, openDatabase, runService, serveMetrics, watchOutbox } from '@vru/runtime';
import { startRelay } from './relay.js';

runService('relay', async (config, logger) => {
  // Checkpoints signed by a key generated at start could not be checked against a published key: refuse instead.
  if (!config.AUDIT_SIGNING_KEY) throw new Error('AUDIT_SIGNING_KEY must be set: the relay signs audit checkpoints with it');
  const sql = await openDatabase(config, logger, 'vru-relay', { max: 4 });
  // Only a process given the admin password creates the topic (development); in production it exists already.
  if (config.KAFKA_ADMIN_PASSWORD) await ensureEventTopic(config, logger);
  const relay = await startRelay({
    sql,
    kafka: createKafka(config, 'relay', logger),
    topic: config.KAFKA_TOPIC,
    logger,
    batchSize: config.RELAY_BATCH_SIZE,
    pollMs: config.RELAY_POLL_MS,
  });
  logger.info({ topic: config.KAFKA_TOPIC }, 'relay started');
  watchOutbox(sql);
  const closeMetrics = await serveMetrics(config.RELAY_METRICS_PORT, config.HOST);
  logger.info({ port: closeMetrics.port }, 'metrics at GET /metrics');
  const auditChainer = startAuditChainer({ sql, logger, intervalMs: 1000, signingKeyPem: config.AUDIT_SIGNING_KEY });
  return async () => {
    await closeMetrics();
    await relay.stop();
    await auditChainer.stop();
    await sql.end({ timeout: 5 });
  };
});
