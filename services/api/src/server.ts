// First, so that the heap's growth is bounded from the first full collection on.
import './heap.js';
import { createKafka, openDatabase, runService, serveMetrics } from '@vru/runtime';
import { buildApp } from './app.js';

runService('api', async (config, logger) => {
  const sql = await openDatabase(config, logger, 'vru-api');
  // The readiness check only needs an authenticated session. The projector's read-only user serves: the topic
  // carries nothing the API's own database access does not already reach.
  const admin = createKafka(config, 'projector', logger, 'api').admin();
  await admin.connect().catch(() => logger.warn('broker not reachable at start; /readyz will say so'));
  const app = await buildApp({
    config,
    sql,
    readinessChecks: {
      database: async () => {
        await sql`select 1`;
      },
      broker: async () => {
        await admin.describeCluster();
      },
    },
  });
  await app.listen({ host: config.HOST, port: config.PORT });
  const closeMetrics = await serveMetrics(config.API_METRICS_PORT, config.HOST);
  logger.info({ port: closeMetrics.port }, 'metrics at GET /metrics');
  return async () => {
    await closeMetrics();
    // Stop accepting, let in-flight requests finish (each has its outcome committed or not), then close the pool.
    // A keep-alive connection whose request finishes during the close would otherwise stay open until the
    // keep-alive timeout (72 s): close each one as soon as it is idle, and cut any still open after 20 s.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
    const cut = setTimeout(() => app.server.closeAllConnections(), 20_000);
    await app.close().finally(() => {
      clearInterval(sweep);
      clearTimeout(cut);
    });
    await admin.disconnect().catch(() => {});
    await sql.end({ timeout: 5 });
  };
});
