import { createKafka, openDatabase, runService } from '@vru/platform';
import { buildApp } from './app.js';

runService('api', async (config, logger) => {
  const sql = await openDatabase(config, logger, 'vru-api');
  const admin = createKafka(config.KAFKA_BROKERS, `${config.KAFKA_CLIENT_ID}-api`, logger).admin();
  await admin.connect().catch(() => logger.warn('broker not reachable at start; /readyz will say so'));
  const app = await buildApp({
    config,
    sql,
    readinessChecks: {
      database: async () => void (await sql`select 1`),
      broker: async () => void (await admin.describeCluster()),
    },
  });
  await app.listen({ host: config.HOST, port: config.PORT });
  return async () => {
    // Stop accepting, let in-flight requests finish (each has its outcome committed or not), then close the pool.
    await app.close();
    await admin.disconnect().catch(() => {});
    await sql.end({ timeout: 5 });
  };
});
