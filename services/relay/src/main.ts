import { auditSigningKeys, startAuditLog, startFrozenReturnSigner, TreeHeadSigner } from '@vru/event-store';
import { createKafka, ensureEventTopic, openDatabase, runService, serveMetrics, watchOutbox } from '@vru/runtime';
import { startRelay } from './relay.js';

runService('relay', async (config, logger) => {
  // Checked before anything starts: in production the relay never signs with a key nobody pinned.
  const auditKeys = auditSigningKeys(config);
  // The verifier key's text is public: operators compare it with the one published to funders.
  logger.info({ verifierKey: auditKeys.key.text }, 'audit log heads are signed for this verifier key');
  const sql = await openDatabase(config, logger, 'vru-relay', { max: 4 });
  // Only a process given the admin password creates the topic (development); in production it exists already.
  if (config.KAFKA_ADMIN_PASSWORD) await ensureEventTopic(config, logger);
  const relay = await startRelay({
    sql,
    databaseUrl: config.DATABASE_URL,
    kafka: createKafka(config, 'relay', logger),
    topic: config.KAFKA_TOPIC,
    logger,
    batchSize: config.RELAY_BATCH_SIZE,
    pollMs: config.RELAY_POLL_MS,
    lingerMs: config.RELAY_LINGER_MS,
  });
  logger.info({ topic: config.KAFKA_TOPIC }, 'relay started');
  watchOutbox(sql);
  const closeMetrics = await serveMetrics(config.RELAY_METRICS_PORT, config.HOST);
  logger.info({ port: closeMetrics.port }, 'metrics at GET /metrics');
  const auditLog = startAuditLog({
    sql,
    logger,
    intervalMs: 1000,
    signEveryMs: config.AUDIT_SIGN_EVERY_MS,
    signer: new TreeHeadSigner(sql, auditKeys.signer, auditKeys.key),
  });
  // Frozen returns are signed here too: the API that stores them never holds the private key.
  const returnSigner = startFrozenReturnSigner({ sql, logger, signer: auditKeys.signer });
  return async () => {
    await closeMetrics();
    await relay.stop();
    await auditLog.stop();
    await returnSigner.stop();
    await sql.end({ timeout: 5 });
  };
});
