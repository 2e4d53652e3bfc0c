import t from 'tap';
import { Harness, ServiceProcess } from '@vru/testkit';

// The real services started as in production, with secrets a hurried deployment might give them.
const h = await Harness.start();
t.teardown(() => h.close());

const env: Record<string, string> = {
  DATABASE_URL: h.config.DATABASE_URL,
  KAFKA_BROKERS: h.config.KAFKA_BROKERS,
  KAFKA_TOPIC: h.config.KAFKA_TOPIC,
  HOST: '127.0.0.1',
  PORT: '0',
  API_METRICS_PORT: '0',
  RELAY_METRICS_PORT: '0',
  PROJECTOR_METRICS_PORT: '0',
  LOG_LEVEL: 'info',
};

const run = async (script: string, extra: Record<string, string>) => {
  const child = ServiceProcess.spawn(script, `services/${script}`, { ...env, ...extra });
  const { code } = await child.exited;
  return { code, text: child.lines.join('\n') };
};

const PLACEHOLDERS: Record<string, string> = {
  SESSION_SECRET: 'change-me-at-least-32-characters-long-session',
  PSEUDONYM_SECRET: 'development-only-pseudonym-secret-change-me',
  PERSONAL_DATA_KEY: 'k'.repeat(48),
  API_KEY_PEPPER: '0123012301230123012301230123012301230123',
};

for (const NODE_ENV of ['development', 'production']) {
  t.test(`${NODE_ENV}: the API refuses a placeholder or low-entropy secret, naming it without its value`, async (t) => {
    for (const [name, value] of Object.entries(PLACEHOLDERS)) {
      const { code, text } = await run('api/dist/server.js', { NODE_ENV, [name]: value });
      t.equal(code, 78, `${name} refused (configuration error)`);
      t.match(text, new RegExp(`${name}: (is a placeholder|has too little entropy)`));
      t.notOk(text.includes(value), `${name}'s value is not printed`);
    }
  });
}

t.test('a missing secret is refused: there is no built-in default', async (t) => {
  const { code, text } = await run('api/dist/server.js', { SESSION_SECRET: '' });
  t.equal(code, 78);
  t.match(text, /SESSION_SECRET: must be set/);
});

t.test('the relay refuses to start without the audit signing key', async (t) => {
  const { code, text } = await run('relay/dist/main.js', { AUDIT_SIGNING_KEY: '' });
  t.equal(code, 78, 'refused as a configuration error');
  t.match(text, /AUDIT_SIGNING_KEY: must be set/);
});
