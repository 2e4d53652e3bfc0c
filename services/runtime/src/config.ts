import { randomBytes } from 'node:crypto';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';

/** Every setting, from the environment. Validated once at start-up; see .env.example. */
export const ConfigSchema = Type.Object({
  NODE_ENV: Type.Enum(['development', 'test', 'production'], { default: 'development' }),
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://', default: 'postgres://postgres@127.0.0.1:5432/vru' }),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  KAFKA_BROKERS: Type.String({
    minLength: 1,
    default: '127.0.0.1:19092',
    description: 'Comma-separated host:port list.',
  }),
  KAFKA_TOPIC: Type.String({ minLength: 1, default: 'participant-events' }),
  KAFKA_CLIENT_ID: Type.String({ minLength: 1, default: 'vru-outcomes' }),
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  PSEUDONYM_SECRET: Type.String({
    minLength: 32,
    description: 'HMAC key turning participantRef into participant ids. Keep outside the database.',
  }),
  API_KEY_PEPPER: Type.String({
    minLength: 32,
    description: 'HMAC key for stored API key hashes. Keep outside the database.',
  }),
  PERSONAL_DATA_KEY: Type.String({
    minLength: 32,
    description: 'Key-encryption key for the per-participant data keys (crypto-shredding). Keep outside the database.',
  }),
  RETENTION_MONTHS: Type.Integer({
    minimum: 1,
    maximum: 1200,
    default: 72,
    description: "Months after a participant's last recorded event when `vru retention` erases their personal fields.",
  }),
  REJECTION_RETENTION_DAYS: Type.Integer({
    minimum: 1,
    maximum: 3650,
    default: 90,
    description:
      "Days a refused submission's record (field and rule, never the body) is kept for data-quality reports.",
  }),
  SESSION_SECRET: Type.String({
    minLength: 32,
    description: 'HMAC key signing the dashboard session cookie and its CSRF tokens.',
  }),
  SESSION_TTL_MINUTES: Type.Integer({
    minimum: 1,
    maximum: 24 * 60,
    default: 30,
    description: 'Lifetime of a dashboard sign-in.',
  }),
  KAFKA_ADMIN_USERNAME: Type.String({
    minLength: 1,
    default: 'admin',
    description: 'Kafka SCRAM user that creates topics (a super user).',
  }),
  KAFKA_ADMIN_PASSWORD: Type.Optional(
    Type.String({
      minLength: 16,
      description:
        'Password of KAFKA_ADMIN_USERNAME. Only the process that creates the topic needs it; unset, a service assumes ' +
        'the topic exists.',
    }),
  ),
  KAFKA_RELAY_USERNAME: Type.String({
    minLength: 1,
    default: 'relay',
    description: 'Kafka SCRAM user of the relay: may write the event topic.',
  }),
  KAFKA_RELAY_PASSWORD: Type.Optional(
    Type.String({
      minLength: 16,
      description: 'Password of KAFKA_RELAY_USERNAME (the relay needs it).',
    }),
  ),
  KAFKA_PROJECTOR_USERNAME: Type.String({
    minLength: 1,
    default: 'projector',
    description: 'Kafka SCRAM user of the projectors: may read the event topic in the projector groups.',
  }),
  KAFKA_PROJECTOR_PASSWORD: Type.Optional(
    Type.String({
      minLength: 16,
      description:
        'Password of KAFKA_PROJECTOR_USERNAME (the projector needs it; the API uses it for its readiness check).',
    }),
  ),
  KAFKA_PARTITIONS: Type.Integer({ minimum: 1, maximum: 1000, default: 12 }),
  KAFKA_REPLICATION_FACTOR: Type.Integer({ minimum: 1, maximum: 5, default: 1 }),
  KAFKA_MIN_INSYNC_REPLICAS: Type.Integer({ minimum: 1, maximum: 5, default: 1 }),
  KAFKA_SESSION_TIMEOUT_MS: Type.Integer({
    minimum: 6_000,
    maximum: 300_000,
    default: 30_000,
    description: 'How long a projector instance may be silent before the group hands its partitions to the others.',
  }),
  APPEND_MAX_IN_FLIGHT: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 2,
    description:
      'Group-commit transactions in flight at once, at most. Commits take the append lock one after another, so ' +
      'fewer, fuller transactions go faster: a second one starts beside the first only for a batch of 100 or more ' +
      '(docs/performance.md).',
  }),
  RATE_LIMIT_PER_MINUTE: Type.Integer({
    minimum: 1,
    maximum: 10_000_000,
    default: 600,
    description:
      'Requests per minute per verified API key, and per client address for anything else. A case system posting ' +
      'batches makes a few a minute; a script guessing or flooding makes thousands.',
  }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 50_000_000, default: 5_000_000 }),
  RELAY_POLL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 200 }),
  RELAY_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
  RELAY_LINGER_MS: Type.Integer({
    minimum: 0,
    maximum: 1_000,
    default: 20,
    description:
      'After publishing less than a full batch, the relay waits this long before reading the outbox again, so that one read, one Kafka request and one delete carry the events of several commits.',
  }),
  API_METRICS_PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 9463,
    description: "Port of the API's GET /metrics (bound to HOST): a listener of its own, never the public API port.",
  }),
  RELAY_METRICS_PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 9464,
    description: "Port of the relay's GET /metrics (bound to HOST).",
  }),
  PROJECTIONS: Type.Optional(
    Type.String({
      pattern: '^[a-z0-9-]+(,[a-z0-9-]+)*$',
      description:
        'Comma-separated projections this projector instance runs (e.g. attendance,outcomes). Unset: all of them.',
    }),
  ),
  PROJECTOR_GROUP_PREFIX: Type.String({
    pattern: '^[A-Za-z0-9._-]+$',
    default: 'vru-projection',
    description:
      'Consumer group of each projection: <prefix>-<projection>. Instances with the same prefix share the work.',
  }),
  PROJECTOR_METRICS_PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 9465,
    description: "Port of the projector's GET /metrics (bound to HOST).",
  }),
  API_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s]+$',
      description:
        'Where command-line clients (vru import, the demo data load) reach the API. Unset: http://HOST:PORT.',
    }),
  ),
  VRU_API_KEY: Type.Optional(
    Type.String({
      pattern: '^vru_[A-Za-z0-9]+_[A-Za-z0-9_-]+$',
      description: 'API key used by `vru import` (a provider key). Services never read it.',
    }),
  ),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({
    minimum: 1_000,
    maximum: 600_000,
    default: 30_000,
    description: 'How long a service may take to drain and flush after SIGTERM before it exits anyway (with status 1).',
  }),
  AUDIT_SIGNING_KEY: Type.Optional(
    Type.String({
      pattern: '^PRIVATE\\+KEY\\+[^\\s+]+\\+[0-9a-f]{8}\\+[A-Za-z0-9+/=]+$',
      description:
        "The audit log's Ed25519 signer key (PRIVATE+KEY+<name>+<key id>+<key>, from `scripts/audit-keys`): the relay signs " +
        'tree heads with it. The relay refuses to start without it in production; in development the scripts generate one.',
    }),
  ),
  AUDIT_PUBLIC_KEY: Type.Optional(
    Type.String({
      pattern: '^[^\\s+]+\\+[0-9a-f]{8}\\+[A-Za-z0-9+/=]+$',
      description:
        "The audit log's pinned verifier key (<name>+<key id>+<key>), published to funders. Every verification uses it; " +
        'a key stored in the database is never trusted. Unset: audit verification answers 503.',
    }),
  ),
  CODE_COMMIT: Type.Optional(
    Type.String({
      pattern: '^[0-9a-f]{7,40}$',
      description:
        "The git commit the services were built from (the image build sets it): recorded in every frozen return's code version.",
    }),
  ),
  AUDIT_SIGN_EVERY_MS: Type.Integer({
    minimum: 100,
    maximum: 3_600_000,
    default: 60_000,
    description: 'How often the relay signs a tree head when the log has grown.',
  }),
  AUDIT_DRIFT_CHECK_MS: Type.Integer({
    minimum: 1_000,
    maximum: 86_400_000,
    default: 300_000,
    description: 'How often the API re-computes spend from the log and compares it with the spend read model.',
  }),
});
export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

// Environment variables are strings; the schema's integer settings are converted before validation.
const INTEGER_KEYS = new Set(
  Object.entries(ConfigSchema.properties as Record<string, SettingSchema>)
    .filter(([, schema]) => schema.type === 'integer')
    .map(([key]) => key),
);

/** Settings whose values never appear in an error message. */
const SECRET_KEYS = new Set([
  'DATABASE_URL',
  'PSEUDONYM_SECRET',
  'API_KEY_PEPPER',
  'PERSONAL_DATA_KEY',
  'SESSION_SECRET',
  'AUDIT_SIGNING_KEY',
  'VRU_API_KEY',
  'KAFKA_ADMIN_PASSWORD',
  'KAFKA_RELAY_PASSWORD',
  'KAFKA_PROJECTOR_PASSWORD',
]);

/** Secrets whose value must be random: checked for placeholders and low entropy in every NODE_ENV. */
const RANDOM_SECRET_KEYS = [
  'PSEUDONYM_SECRET',
  'API_KEY_PEPPER',
  'PERSONAL_DATA_KEY',
  'SESSION_SECRET',
  'KAFKA_ADMIN_PASSWORD',
  'KAFKA_RELAY_PASSWORD',
  'KAFKA_PROJECTOR_PASSWORD',
] as const;

// Words of published or hand-typed values (.env.example, documentation, "changeme"): never a generated secret.
const PLACEHOLDER =
  /change.?me|development.?only|placeholder|example|not.?a.?secret|replace.?me|your.?(secret|key|password)/i;
/** Fewer bits per character than this (measured over the value itself) means a repeated or hand-typed value. */
const MIN_BITS_PER_CHARACTER = 3;

/** Shannon entropy of the value's own character distribution, in bits per character. */
export function bitsPerCharacter(value: string): number {
  const counts = new Map<string, number>();
  let n = 0;
  for (const ch of value) {
    counts.set(ch, (counts.get(ch) ?? 0) + 1);
    n += 1;
  }
  let bits = 0;
  for (const count of counts.values()) bits -= (count / n) * Math.log2(count / n);
  return bits;
}

/** Why a secret's value is refused (never the value itself), or null when it looks random. */
export function weakSecretReason(value: string): string | null {
  if (PLACEHOLDER.test(value))
    return 'is a placeholder; generate a random value (for example: openssl rand -base64 32)';
  if (bitsPerCharacter(value) < MIN_BITS_PER_CHARACTER) {
    return 'has too little entropy (repeated or hand-typed); generate a random value (for example: openssl rand -base64 32)';
  }
  return null;
}

interface SettingSchema {
  type?: string;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  default?: unknown;
}

/** What a setting accepts, in words: `one of: a, b`, `integer 1..100`, `matching ^postgres(ql)?://`. */
function expectation(schema: SettingSchema): string {
  if (schema.enum) return `one of: ${schema.enum.map(String).join(', ')}`;
  if (schema.type === 'integer') return `an integer ${schema.minimum ?? ''}..${schema.maximum ?? ''}`;
  if (schema.pattern) return `text matching ${schema.pattern}`;
  if (schema.minLength) return `text of at least ${schema.minLength} characters`;
  return schema.type ?? 'a value';
}

/** Reads, converts and validates the environment; throws ConfigError naming every bad variable, once each. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    raw[key] = INTEGER_KEYS.has(key) && /^-?\d+$/.test(value) ? Number(value) : value;
  }
  const withDefaults = Value.Default(ConfigSchema, raw) as Record<string, unknown>;
  const problems: string[] = [];
  const named = new Set<string>();
  for (const e of Value.Errors(ConfigSchema, withDefaults)) {
    const missing = (e.params as { requiredProperties?: string[] }).requiredProperties;
    for (const key of missing ?? [e.instancePath.slice(1).split('/')[0] ?? '']) {
      if (named.has(key)) continue;
      named.add(key);
      const schema = (ConfigSchema.properties as Record<string, SettingSchema>)[key] ?? {};
      const given = env[key] === undefined || SECRET_KEYS.has(key) ? '' : ` (got ${JSON.stringify(env[key])})`;
      problems.push(`${key}: ${missing ? 'must be set: ' : ''}expected ${expectation(schema)}${given}`);
    }
  }
  for (const key of RANDOM_SECRET_KEYS) {
    const value = withDefaults[key];
    if (named.has(key) || typeof value !== 'string') continue;
    const reason = weakSecretReason(value);
    if (reason) problems.push(`${key}: ${reason}`);
  }
  const order = Object.keys(ConfigSchema.properties);
  const position = (problem: string) => order.indexOf(problem.slice(0, problem.indexOf(':')));
  if (problems.length > 0) throw new ConfigError(problems.sort((a, b) => position(a) - position(b)));
  return withDefaults as Config;
}

/** Fresh random values for every required secret: what tests that build a configuration without scripts/lib.sh use. */
export function randomSecrets(): Record<(typeof RANDOM_SECRET_KEYS)[number], string> {
  const entries = RANDOM_SECRET_KEYS.map((key) => [key, randomBytes(32).toString('base64url')]);
  return Object.fromEntries(entries) as Record<(typeof RANDOM_SECRET_KEYS)[number], string>;
}
