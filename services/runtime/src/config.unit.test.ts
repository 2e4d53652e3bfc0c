import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ConfigError, ConfigSchema, loadConfig, randomSecrets, weakSecretReason } from './config.js';

t.test('defaults and random secrets give a working development configuration', async (t) => {
  const c = loadConfig(randomSecrets());
  t.equal(c.KAFKA_TOPIC, 'participant-events');
  t.equal(c.PORT, 8080);
});

t.test('every invalid variable is named', async (t) => {
  try {
    loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' });
    t.fail('should throw');
  } catch (err) {
    t.ok(err instanceof ConfigError);
    const text = (err as ConfigError).message;
    for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL']) t.match(text, name);
  }
});

const SECRET_NAMES = ['PSEUDONYM_SECRET', 'API_KEY_PEPPER', 'PERSONAL_DATA_KEY', 'SESSION_SECRET'];

t.test('no secret has a default: each must be set, in every NODE_ENV', async (t) => {
  for (const NODE_ENV of ['development', 'test', 'production']) {
    const err = t.throws(() => loadConfig({ NODE_ENV })) as ConfigError;
    t.same(
      err.problems.map((p) => p.slice(0, p.indexOf(':'))),
      SECRET_NAMES,
      NODE_ENV,
    );
    t.match(err.problems[0], /must be set/);
  }
  t.equal(loadConfig({ NODE_ENV: 'production', ...randomSecrets() }).NODE_ENV, 'production');
});

t.test('placeholders and low-entropy secrets are refused in every NODE_ENV, and never echoed', async (t) => {
  const text = await readFile(fileURLToPath(new URL('../../../.env.example', import.meta.url)), 'utf8');
  const exampleValue = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1] ?? '';
  // What a hurried deployment would paste: the published example, the old built-in defaults, repeated characters.
  const candidates = [
    'change-me-at-least-32-characters-long-secret',
    'development-only-pseudonym-secret-change-me',
    'x'.repeat(40),
    'abababababababababababababababababababab',
    '0000000000000000000000000000000000000000000000',
  ];
  for (const name of SECRET_NAMES) if (exampleValue(name)) candidates.push(exampleValue(name));
  for (const NODE_ENV of ['development', 'test', 'production']) {
    for (const name of SECRET_NAMES) {
      for (const value of candidates) {
        const env = { NODE_ENV, ...randomSecrets(), [name]: value };
        const err = t.throws(() => loadConfig(env), `${NODE_ENV} ${name}=${value}`) as ConfigError;
        t.equal(err.problems.length, 1);
        t.match(err.problems[0], new RegExp(`^${name}: `));
        t.notOk(err.message.includes(value), 'the value is not in the error');
      }
    }
  }
  t.equal(weakSecretReason(randomSecrets().SESSION_SECRET), null, 'a generated value is accepted');
  t.equal(weakSecretReason('3f9a1c7e5b2d48a09e6c1b7f3d5a8e2c'), null, '128 random bits in hex are accepted');
});

t.test('a Kafka password is held to the same rule', async (t) => {
  const err = t.throws(() =>
    loadConfig({ ...randomSecrets(), KAFKA_RELAY_PASSWORD: 'relay-password-change-me' }),
  ) as ConfigError;
  t.same(
    err.problems.map((p) => p.slice(0, p.indexOf(':'))),
    ['KAFKA_RELAY_PASSWORD'],
  );
  t.notMatch(err.message, 'relay-password-change-me');
});

t.test('each invalid variable is named once, with what it accepts; secrets are never echoed', async (t) => {
  const env = { ...randomSecrets(), LOG_LEVEL: 'loud', RELAY_POLL_MS: '1', PSEUDONYM_SECRET: 'short-secret' };
  const err = t.throws(() => loadConfig(env)) as ConfigError;
  t.same(
    err.problems,
    [
      'LOG_LEVEL: expected one of: fatal, error, warn, info, debug, trace, silent (got "loud")',
      'PSEUDONYM_SECRET: expected text of at least 32 characters',
      'RELAY_POLL_MS: expected an integer 10..60000 (got "1")',
    ],
    'in schema order',
  );
  t.notMatch(err.message, 'short-secret');
});

t.test('.env.example documents every setting of the schema, and only those, and no usable secret', async (t) => {
  const text = await readFile(fileURLToPath(new URL('../../../.env.example', import.meta.url)), 'utf8');
  const entries = text
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const);
  const documented = entries.map(([k]) => k);
  t.same(
    [...documented].sort(),
    Object.keys(ConfigSchema.properties).sort(),
    'every key of ConfigSchema appears in .env.example',
  );
  const err = t.throws(() => loadConfig(Object.fromEntries(entries))) as ConfigError;
  t.same(
    err.problems.map((p) => p.slice(0, p.indexOf(':'))),
    SECRET_NAMES,
    'only its secrets are refused: they are left empty',
  );
  const given = Object.fromEntries(entries.filter(([, v]) => v !== ''));
  t.doesNotThrow(() => loadConfig({ ...given, ...randomSecrets() }), 'every other example value passes');
});
