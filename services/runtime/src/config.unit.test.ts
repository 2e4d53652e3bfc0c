import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ConfigError, ConfigSchema, loadConfig } from './config.js';

t.test('defaults give a working development configuration', async (t) => {
  const c = loadConfig({});
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

t.test('production refuses the development secrets', async (t) => {
  t.throws(() => loadConfig({ NODE_ENV: 'production' }), /PSEUDONYM_SECRET[\s\S]*API_KEY_PEPPER[\s\S]*PERSONAL_DATA_KEY[\s\S]*SESSION_SECRET/);
  const ok = loadConfig({ NODE_ENV: 'production', PSEUDONYM_SECRET: 'x'.repeat(40), API_KEY_PEPPER: 'y'.repeat(40), PERSONAL_DATA_KEY: 'z'.repeat(40), SESSION_SECRET: 'w'.repeat(40) });
  t.equal(ok.NODE_ENV, 'production');
});

t.test('each invalid variable is named once, with what it accepts; secrets are never echoed', async (t) => {
  const err = t.throws(() => loadConfig({ LOG_LEVEL: 'loud', RELAY_POLL_MS: '1', PSEUDONYM_SECRET: 'short-secret' })) as ConfigError;
  t.same(err.problems, [
    'LOG_LEVEL: expected one of: fatal, error, warn, info, debug, trace, silent (got "loud")',
    'PSEUDONYM_SECRET: expected text of at least 32 characters',
    'RELAY_POLL_MS: expected an integer 10..60000 (got "1")',
  ], 'in schema order');
  t.notMatch(err.message, 'short-secret');
});

t.test('.env.example documents every setting of the schema, and only those, with valid values', async (t) => {
  const text = await readFile(fileURLToPath(new URL('../../../.env.example', import.meta.url)), 'utf8');
  const entries = text.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const);
  const documented = entries.map(([k]) => k);
  t.same([...documented].sort(), Object.keys(ConfigSchema.properties).sort(), 'every key of ConfigSchema appears in .env.example');
  t.doesNotThrow(() => loadConfig(Object.fromEntries(entries)), 'the example values pass validation');
});
