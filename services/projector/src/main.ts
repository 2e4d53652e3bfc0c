import { PersonalDataVault } from '@vru/event-store';
import { createKafka, ensureEventTopic, openDatabase, runService, serveMetrics, watchConsumerLag } from '@vru/runtime';
import { startProjector } from './consumer.js';
import { projections } from './projections/index.js';

runService('projector', async (config, logger) => {
  const sql = await openDatabase(config, logger, 'vru-projector');
  // Only a process given the admin password creates the topic (development); in production it exists already.
  if (config.KAFKA_ADMIN_PASSWORD) await ensureEventTopic(config, logger);
  const kafka = createKafka(config, 'projector', logger);
  const only = config.PROJECTIONS?.split(',');
  const vault = new PersonalDataVault(config.PERSONAL_DATA_KEY);
  const running = await startProjector({
    sql,
    kafka,
    topic: config.KAFKA_TOPIC,
    projections: projections.filter((p) => !only || only.includes(p.name)),
    logger,
    vault,
    groupPrefix: config.PROJECTOR_GROUP_PREFIX,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
  });
  logger.info({ projections: running.projections, groupId: running.groupId }, 'projector started');
  const stopLag = watchConsumerLag(
    kafka,
    config.KAFKA_TOPIC,
    Object.fromEntries(running.projections.map((name) => [name, running.groupId])),
  );
  const closeMetrics = await serveMetrics(config.PROJECTOR_METRICS_PORT, config.HOST);
  logger.info({ port: closeMetrics.port }, 'metrics at GET /metrics');
  return async () => {
    await closeMetrics();
    await stopLag();
    // Disconnecting lets the consumer finish its batch (rows and positions commit together) and leave the group.
    await running.stop();
    await sql.end({ timeout: 5 });
  };
});
