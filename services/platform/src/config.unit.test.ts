import t from 'tap';
import { ConfigError, loadConfig } from './config.js';

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
