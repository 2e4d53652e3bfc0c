import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** Every setting, from the environment. Validated once at start-up; see .env.example. */
export const ConfigSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], { default: 'development' }),
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://', default: 'postgres://postgres@127.0.0.1:5432/vru' }),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  KAFKA_BROKERS: Type.String({ minLength: 1, default: '127.0.0.1:19092', description: 'Comma-separated host:port list.' }),
  KAFKA_TOPIC: Type.String({ minLength: 1, default: 'participant-events' }),
  KAFKA_CLIENT_ID: Type.String({ minLength: 1, default: 'vru-outcomes' }),
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  PSEUDONYM_SECRET: Type.String({
    minLength: 32,
    default: 'development-only-pseudonym-secret-change-me',
    description: 'HMAC key turning participantRef into participant ids. Keep outside the database.',
  }),
  API_KEY_PEPPER: Type.String({
    minLength: 32,
    default: 'development-only-api-key-pepper-change-me',
    description: 'HMAC key for stored API key hashes. Keep outside the database.',
  }),
  KAFKA_PARTITIONS: Type.Integer({ minimum: 1, maximum: 1000, default: 12 }),
  KAFKA_REPLICATION_FACTOR: Type.Integer({ minimum: 1, maximum: 5, default: 1 }),
  KAFKA_MIN_INSYNC_REPLICAS: Type.Integer({ minimum: 1, maximum: 5, default: 1 }),
  KAFKA_GROUP_PREFIX: Type.String({ pattern: '^[A-Za-z0-9._-]+$', default: 'vru-projection', description: 'Consumer groups are <prefix>-<projection>.' }),
  KAFKA_SESSION_TIMEOUT_MS: Type.Integer({
    minimum: 6_000, maximum: 300_000, default: 30_000,
    description: 'How long a projector instance may be silent before the group hands its partitions to the others.',
  }),
  APPEND_MAX_IN_FLIGHT: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
  RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 60_000, description: 'Requests per minute per API key.' }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 50_000_000, default: 5_000_000 }),
  RELAY_POLL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 200 }),
  RELAY_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
  RELAY_METRICS_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 9464, description: 'Port of the relay\'s GET /metrics (bound to HOST).' }),
  PROJECTOR_METRICS_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 9465, description: 'Port of the projector\'s GET /metrics (bound to HOST).' }),
  AUDIT_SIGNING_KEY: Type.Optional(Type.String({
    pattern: '-----BEGIN PRIVATE KEY-----',
    description: 'Ed25519 private key (PKCS#8 PEM) signing audit checkpoints. Unset: an ephemeral key is generated at start, with a warning.',
  })),
});
export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

const INTEGER_KEYS = new Set(['DATABASE_POOL_SIZE', 'PORT', 'RELAY_POLL_MS', 'RELAY_BATCH_SIZE', 'RELAY_METRICS_PORT', 'PROJECTOR_METRICS_PORT', 'KAFKA_PARTITIONS', 'KAFKA_REPLICATION_FACTOR', 'KAFKA_MIN_INSYNC_REPLICAS', 'KAFKA_SESSION_TIMEOUT_MS', 'APPEND_MAX_IN_FLIGHT', 'BODY_LIMIT_BYTES', 'RATE_LIMIT_PER_MINUTE']);

/** Reads, converts and validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    raw[key] = INTEGER_KEYS.has(key) && /^-?\d+$/.test(value) ? Number(value) : value;
  }
  const withDefaults = Value.Default(ConfigSchema, raw) as Record<string, unknown>;
  const problems = [...Value.Errors(ConfigSchema, withDefaults)].map((e) => `${e.path.slice(1)}: ${e.message}`);
  if (problems.length > 0) throw new ConfigError(problems);
  const config = withDefaults as Config;
  if (config.NODE_ENV === 'production') {
    const weak = (['PSEUDONYM_SECRET', 'API_KEY_PEPPER'] as const).filter((k) => config[k] === ConfigSchema.properties[k].default);
    if (weak.length > 0) throw new ConfigError(weak.map((k) => `${k}: must be set in production`));
  }
  return config;
}
