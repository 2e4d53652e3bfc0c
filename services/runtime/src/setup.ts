import type { Config } from './config.js';
import { createSql, type Sql } from './db.js';
import { createKafka, ensureTopic } from './kafka.js';
import type { Logger } from './log.js';
import { ensureDatabase, migrate } from './migrate.js';

/** Database created if missing and migrated: every service runs this at start-up (migrations are idempotent and locked). */
export async function openDatabase(
  config: Config,
  logger: Logger,
  applicationName: string,
  options: { max?: number } = {},
): Promise<Sql> {
  await ensureDatabase(config.DATABASE_URL);
  const sql = createSql(config.DATABASE_URL, { max: options.max ?? config.DATABASE_POOL_SIZE, applicationName });
  const applied = await migrate(sql);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  return sql;
}

/** Creates the event topic if it is missing, as the Kafka admin (KAFKA_ADMIN_PASSWORD is required). */
export async function ensureEventTopic(config: Config, logger: Logger): Promise<void> {
  const kafka = createKafka(config, 'admin', logger);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopic(admin, config.KAFKA_TOPIC, {
      partitions: config.KAFKA_PARTITIONS,
      replicationFactor: config.KAFKA_REPLICATION_FACTOR,
      minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS,
    });
  } finally {
    await admin.disconnect();
  }
}
