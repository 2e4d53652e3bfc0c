import { PersonalDataVault } from '@vru/event-store';
import { createKafka, ensureEventTopic, openDatabase, runService, serveMetrics, watchConsumerLag } from '@vru/runtime';
import { startProjector, type RunningProjector } from './consumer.js';
import { projections } from './projections/index.js';
import { StoredEvents } from './stored-events.js';

runService('projector', async (config, logger) => {
  const sql = await openDatabase(config, logger, 'vru-projector');
  // Only a process given the admin password creates the topic (development); in production it exists already.
  if (config.KAFKA_ADMIN_PASSWORD) await ensureEventTopic(config, logger);
  const kafka = createKafka(config, 'projector', logger);
  const only = config.PROJECTIONS?.split(',');
  const vault = new PersonalDataVault(config.PERSONAL_DATA_KEY);
  const storedEvents = new StoredEvents(sql);
  const running: RunningProjector[] = [];
  for (const projection of projections.filter((p) => !only || only.includes(p.name))) {
    running.push(
      await startProjector({
        sql,
        kafka,
        topic: config.KAFKA_TOPIC,
        projection,
        logger,
        vault,
        storedEvents,
        groupPrefix: config.PROJECTOR_GROUP_PREFIX,
        sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
      }),
    );
  }
  logger.info({ projections: running.map((r) => r.projection) }, 'projector started');
  const stopLag = watchConsumerLag(
    kafka,
    config.KAFKA_TOPIC,
    Object.fromEntries(running.map((r) => [r.projection, r.groupId])),
  );
  const closeMetrics = await serveMetrics(config.PROJECTOR_METRICS_PORT, config.HOST);
  logger.info({ port: closeMetrics.port }, 'metrics at GET /metrics');
  return async () => {
    await closeMetrics();
    await stopLag();
    // Disconnecting lets each consumer finish its batch (rows and positions commit together) and leave the group.
    await Promise.all(running.map((r) => r.stop()));
    await sql.end({ timeout: 5 });
  };
});
