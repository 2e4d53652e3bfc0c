import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Kafka } from 'kafkajs';
import { buildApp } from '@vru/api';
import type { StoredEvent } from '@vru/contracts';
import { createApiKey, upsertProgramme, upsertProvider } from '@vru/api';
import {
  appendPending,
  auditSigningKeys,
  PersonalDataVault,
  signPendingReturns,
  storedEventsById,
  TreeHeadSigner,
  upcastEvent,
  type SignOutcome,
} from '@vru/event-store';
import { generateKeys } from '@vru/verifier';
import {
  createKafka,
  destroyKafkaSockets,
  createLogger,
  createSql,
  ensureEventTopic,
  loadConfig,
  type Config,
  type Logger,
  type Sql,
} from '@vru/runtime';
import { applyBatch, projections, startProjector, type Projection, type RunningProjector } from '@vru/projector';
import { startRelay, type RunningRelay } from '@vru/relay';
import { createTestDatabase, dropTestDatabase } from './test-database.js';
import { PROGRAMME, PROGRAMME_2 } from './fixtures.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

export interface Keys {
  providerA: string;
  providerB: string;
  dataPartner: string;
  commissioner: string;
  funder: string;
  admin: string;
}

/**
 * A real stack for one test file: its own PostgreSQL database and Kafka topic (so files never see each
 * other's data), the API in process (inject), and the relay and projectors started and stopped on demand.
 */
/** What the batch endpoint answers. */
export interface BatchAnswer {
  results: { eventId: string; status: string; position?: string }[];
  highestPosition: string | null;
}

export class Harness {
  relay: RunningRelay | null = null;
  projectors: RunningProjector[] = [];
  readonly vault: PersonalDataVault;

  private constructor(
    readonly config: Config,
    readonly sql: Sql,
    readonly app: FastifyInstance,
    /** The Kafka admin (a super user): what tests observe and manage the topic and groups with. */
    readonly kafka: Kafka,
    /** The relay's and the projectors' own clients, each with only what the broker's ACLs grant its user. */
    private readonly relayKafka: Kafka,
    private readonly projectorKafka: Kafka,
    readonly keys: Keys,
    readonly logger: Logger,
    private readonly dbName: string,
  ) {
    this.vault = new PersonalDataVault(config.PERSONAL_DATA_KEY);
  }

  static async start(options: { partitions?: number; env?: Partial<Record<string, string>> } = {}): Promise<Harness> {
    const env = { ...process.env, ...options.env };
    // The audit log's key pair: the scripts' development pair when given, else one for this run.
    if (!env.AUDIT_SIGNING_KEY) {
      const pair = generateKeys('vru.test/audit-log');
      Object.assign(env, { AUDIT_SIGNING_KEY: pair.signerKey, AUDIT_PUBLIC_KEY: pair.verifierKey });
    }
    // Tests drive a key far harder than a charity would: the rate limit is lifted unless a test sets its own.
    const base = loadConfig({ RATE_LIMIT_PER_MINUTE: '10000000', ...env });
    const id = randomUUID().slice(0, 8);
    const dbName = `vru_test_${id}`;
    const config: Config = {
      ...base,
      DATABASE_URL: await createTestDatabase(base.DATABASE_URL, dbName),
      // Inside the topic and group prefixes the broker's ACLs grant the relay and the projector (scripts/kafka).
      KAFKA_TOPIC: `participant-events-test-${id}`,
      PROJECTOR_GROUP_PREFIX: `vru-projection-test-${id}`,
      KAFKA_CLIENT_ID: `vru-test-${id}`,
      LOG_LEVEL: (process.env.TEST_LOG_LEVEL ?? 'silent') as Config['LOG_LEVEL'],
      // A projector consumer that crashed (a broker restart) leaves its member in the group until this times out, and
      // its replacement gets no partitions until then: short, so the tests' waits outlast it (the broker's minimum is 6 s).
      KAFKA_SESSION_TIMEOUT_MS: 10_000,
      RELAY_POLL_MS: 50,
    };
    const logger = createLogger(config.LOG_LEVEL, 'test');
    const sql = createSql(config.DATABASE_URL, { max: 10, applicationName: 'vru-test' });
    await upsertProvider(sql, 'prov-a', 'Provider A');
    await upsertProvider(sql, 'prov-b', 'Provider B');
    await upsertProgramme(sql, {
      programmeId: PROGRAMME,
      name: 'Mentoring',
      interventionType: 'mentoring',
      startsOn: '2025-01-01',
    });
    await upsertProgramme(sql, {
      programmeId: PROGRAMME_2,
      name: 'Sport',
      interventionType: 'sport-and-diversion',
      startsOn: '2025-01-01',
    });
    const key = async (role: Parameters<typeof createApiKey>[2]['role'], providerId?: string) =>
      (await createApiKey(sql, config.API_KEY_PEPPER, { role, providerId: providerId ?? null, label: 'test' })).apiKey;
    const keys: Keys = {
      providerA: await key('provider', 'prov-a'),
      providerB: await key('provider', 'prov-b'),
      dataPartner: await key('data-partner'),
      commissioner: await key('commissioner'),
      funder: await key('funder'),
      admin: await key('admin'),
    };
    const [kafka, relayKafka, projectorKafka] = (['admin', 'relay', 'projector'] as const).map((role) =>
      createKafka(config, role, logger),
    );
    // The services' own topic creation (partitions, replication factor and min.insync.replicas from the config).
    await ensureEventTopic({ ...config, KAFKA_PARTITIONS: options.partitions ?? 3 }, logger);
    const app = await buildApp({ config, sql });
    await app.ready();
    return new Harness(config, sql, app, kafka!, relayKafka!, projectorKafka!, keys, logger, dbName);
  }

  private signer: TreeHeadSigner | null = null;

  /** The relay's signer with this run's keys (one per harness: it remembers the last head it signed). */
  get auditSigner(): TreeHeadSigner {
    if (!this.signer) {
      const { signer, key } = auditSigningKeys(this.config);
      this.signer = new TreeHeadSigner(this.sql, signer, key);
    }
    return this.signer;
  }

  /** What the relay does on its timer: appends every settled event to the audit log, then signs a head. */
  async appendAndSign(expectedSize?: number): Promise<SignOutcome> {
    await this.waitFor(`the audit log to hold ${expectedSize ?? 'every'} event(s)`, async () => {
      while ((await appendPending(this.sql)).appended > 0);
      const [{ logged, events }] = await this.sql<[{ logged: number; events: number }]>`
        select (select count(*)::int from audit_log_leaves) as logged, (select count(*)::int from events) as events`;
      return logged === (expectedSize ?? events) ? true : undefined;
    });
    return this.auditSigner.signNext();
  }

  /** What the relay does on its timer for frozen returns: signs every unsigned one with this run's audit key. */
  async signFrozenReturns(): Promise<{ signed: number; refused: string[] }> {
    return signPendingReturns(this.sql, auditSigningKeys(this.config).signer);
  }

  async startRelay(): Promise<RunningRelay> {
    this.relay = await startRelay({
      sql: this.sql,
      databaseUrl: this.config.DATABASE_URL,
      kafka: this.relayKafka,
      topic: this.config.KAFKA_TOPIC,
      logger: this.logger,
      pollMs: 50,
    });
    return this.relay;
  }

  async stopRelay(): Promise<void> {
    await this.relay?.stop();
    this.relay = null;
  }

  /** Starts a projector (all projections, or `only`) as the projector process does; `logger` lets a test read what it logs. */
  async startProjectors(only?: Projection[], logger: Logger = this.logger): Promise<void> {
    this.projectors.push(
      await startProjector({
        sql: this.sql,
        kafka: this.projectorKafka,
        topic: this.config.KAFKA_TOPIC,
        projections: only ?? projections,
        logger,
        vault: this.vault,
        groupPrefix: this.config.PROJECTOR_GROUP_PREFIX,
        sessionTimeoutMs: this.config.KAFKA_SESSION_TIMEOUT_MS,
      }),
    );
  }

  async stopProjectors(): Promise<void> {
    await Promise.all(this.projectors.map((p) => p.stop()));
    this.projectors = [];
  }

  /** POST an event (or anything) as JSON with a key. */
  post(
    url: string,
    body: unknown,
    key: string | null,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    return this.app.inject({
      method: 'POST',
      url,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json', ...headers },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  /** Posts events one by one and fails on the first that is not accepted (202); returns how many were posted. */
  async postAccepted(events: readonly Record<string, unknown>[], key: string): Promise<number> {
    for (const e of events) {
      const res = await this.post('/v1/events', e, key);
      if (res.statusCode !== 202) throw new Error(`${String(e.type)} answered ${res.statusCode}: ${res.body}`);
    }
    return events.length;
  }

  /**
   * Posts events through the batch endpoint, 1,000 a request, and fails if any is refused (a duplicate is
   * acknowledged); returns the last answer (each stored event's position and the highest).
   */
  async postBatchAccepted(events: readonly Record<string, unknown>[], key: string): Promise<BatchAnswer> {
    let answer: BatchAnswer = { results: [], highestPosition: null };
    for (let i = 0; i < events.length; i += 1000) {
      const res = await this.post('/v1/events/batch', { events: events.slice(i, i + 1000) }, key);
      answer = res.json<BatchAnswer>();
      if (res.statusCode !== 200 || answer.results.some((r) => r.status === 'rejected'))
        throw new Error(`batch answered ${res.statusCode}: ${res.body.slice(0, 2000)}`);
    }
    return answer;
  }

  /** Stored events as the projector receives them (opened, upcast), in position order. */
  async storedInOrder(eventIds: readonly string[]): Promise<StoredEvent[]> {
    const stored = [...(await storedEventsById(this.sql, eventIds)).values()].sort((a, b) =>
      BigInt(a.position) < BigInt(b.position) ? -1 : 1,
    );
    return (await this.vault.open(this.sql, stored)).map(upcastEvent);
  }

  get(url: string, key: string | null, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.app.inject({
      method: 'GET',
      url,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    });
  }

  /** GET with the body parsed when it is JSON (reports answer JSON or CSV). */
  async getReport(
    url: string,
    key: string,
    headers: Record<string, string> = {},
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- reports answer JSON of many shapes (or CSV text); the tests assert on them
  ): Promise<{ status: number; body: any; headers: LightMyRequestResponse['headers'] }> {
    const res = await this.get(url, key, headers);
    return {
      status: res.statusCode,
      body: res.headers['content-type']?.toString().includes('json') ? res.json<unknown>() : res.body,
      headers: res.headers,
    };
  }

  /** Waits until each named projection's checkpoint has applied at least `events` events. */
  async waitForProjections(names: readonly string[], events: number): Promise<void> {
    await this.waitFor(
      `projections ${names.join(', ')} to apply ${events} events`,
      async () => {
        for (const name of names) {
          const rows = await this.sql
            .unsafe<{ n: string }[]>(`select events_applied::text as n from rm_${name}.checkpoint`)
            .catch(() => [{ n: '0' }]);
          if (Number(rows[0]?.n ?? 0) < events) return undefined;
        }
        return true;
      },
      60_000,
    );
  }

  /**
   * Applies stored events as partitions and redelivery may: every other stream's events first, then the rest, each
   * in batches of a few events (so a stream's events span several batches, each meeting the rows of the ones
   * before), then all of them again in one batch.
   */
  async applyOutOfOrderThenAgain(projection: Projection, stored: readonly StoredEvent[]): Promise<void> {
    const streams = [...new Set(stored.map((e) => e.streamId))];
    const later = new Set(streams.filter((_, i) => i % 2 === 1));
    for (const half of [stored.filter((e) => later.has(e.streamId)), stored.filter((e) => !later.has(e.streamId))])
      for (let i = 0; i < half.length; i += 5) await applyBatch(this.sql, projection, half.slice(i, i + 5));
    await applyBatch(this.sql, projection, [...stored]);
  }

  async count(table: string): Promise<number> {
    const [row] = await this.sql.unsafe<{ n: number }[]>(`select count(*)::int as n from ${table}`);
    return row!.n;
  }

  /** Polls until `check` returns a value that is not undefined, or fails after the timeout. */
  async waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Stops the project's broker, runs `during`, and starts it again. A lock file serialises outages across test
   * files running side by side, so one file's restart never ends another file's outage early. Every other test file
   * uses that broker too: a file that calls this must be listed under `serial` in .taprc, so tap runs it alone.
   */
  async withBrokerStopped<T>(during: () => Promise<T>): Promise<T> {
    const release = await lockFile(
      path.join(os.tmpdir(), `vru-broker-outage-${process.env.KAFKA_PORT_BASE ?? '19090'}.lock`),
    );
    try {
      await kafkaScript('stop');
      try {
        return await during();
      } finally {
        await kafkaScript('start');
      }
    } finally {
      await release();
    }
  }

  private destroyKafkaSockets(): void {
    for (const kafka of [this.kafka, this.relayKafka, this.projectorKafka]) destroyKafkaSockets(kafka);
  }

  /** `keepProcess`: the caller runs more work after this harness (scripts/chaos), so no forced exit. */
  async close(options: { keepProcess?: boolean } = {}): Promise<void> {
    const step = (name: string) => process.env.DEBUG_HARNESS && process.stderr.write(`harness close: ${name}\n`);
    step('start');
    await this.stopProjectors();
    step('projectors stopped');
    await this.stopRelay();
    step('relay stopped');
    this.destroyKafkaSockets();
    await this.app.close();
    step('app closed');
    await this.sql.end({ timeout: 5 });
    step('sql ended');
    await dropTestDatabase(this.config.DATABASE_URL, this.dbName);
    step('database dropped');
    this.destroyKafkaSockets();
    // kafkajs 2.2.4 can keep retry timers alive after a consumer that lived through a broker restart has
    // disconnected; once everything is closed, a test process must not wait on them until tap's timeout.
    if (!options.keepProcess) setTimeout(() => process.exit(), 3_000).unref();
  }
}

/** Stops or starts the project's own Kafka broker(s) through scripts/kafka (the real process, not a mock). */
export async function kafkaScript(...args: string[]): Promise<string> {
  return kafkaScriptWith({}, ...args);
}

/** kafkaScript with extra environment, e.g. another KAFKA_PORT_BASE and VRU_STATE_DIR for a second cluster. */
export async function kafkaScriptWith(extraEnv: Record<string, string>, ...args: string[]): Promise<string> {
  // KAFKA_BROKERS (exported by scripts/test) makes scripts/kafka treat the cluster as external and leave it alone;
  // these tests stop and start the project's own broker, so the script must not see it.
  const { stdout } = await run(`${REPO_ROOT}scripts/kafka`, args, {
    cwd: REPO_ROOT,
    timeout: 180_000,
    env: { ...withoutBrokers(), ...extraEnv },
  });
  return stdout;
}

function withoutBrokers(): NodeJS.ProcessEnv {
  const { KAFKA_BROKERS: _external, ...env } = process.env;
  return env;
}

export interface KafkaCluster {
  /** Bootstrap list, e.g. 127.0.0.1:19112,127.0.0.1:19114,127.0.0.1:19116. */
  brokers: string;
  /** scripts/kafka on this cluster (e.g. 'kill', '--broker', '2'). */
  script(...args: string[]): Promise<string>;
  /** Kills every broker and deletes the cluster's state. */
  stop(): Promise<void>;
}

/**
 * A cluster of its own for one test file: scripts/kafka with `brokers` nodes on another port base
 * (the shared broker's base + `portOffset`) and its own state directory, so it never touches the shared broker.
 */
export async function startKafkaCluster(brokers: number, portOffset: number): Promise<KafkaCluster> {
  const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'vru-kafka-'));
  const env = {
    KAFKA_PORT_BASE: String(Number(process.env.KAFKA_PORT_BASE ?? 19090) + portOffset),
    VRU_STATE_DIR: stateDir,
    KAFKA_HEAP_OPTS: process.env.KAFKA_HEAP_OPTS ?? '-Xms128m -Xmx384m',
  };
  const script = (...args: string[]) => kafkaScriptWith(env, ...args);
  // If the test process dies before its teardown runs, the brokers must not outlive it.
  const stopOnExit = () => {
    try {
      execFileSync(`${REPO_ROOT}scripts/kafka`, ['stop'], {
        env: { ...withoutBrokers(), ...env },
        stdio: 'ignore',
        timeout: 60_000,
      });
    } catch {
      /* best effort */
    }
  };
  process.once('exit', stopOnExit);
  const out = await script('start', '--brokers', String(brokers));
  const bootstrap = /KAFKA_BROKERS=(\S+)/.exec(out)?.[1];
  if (!bootstrap) throw new Error(`scripts/kafka start printed no KAFKA_BROKERS: ${out}`);
  return {
    brokers: bootstrap,
    script,
    stop: async () => {
      process.removeListener('exit', stopOnExit);
      // Its state is deleted next, so there is nothing to shut down gracefully (which waits for the quorum).
      await Promise.all(
        Array.from({ length: brokers }, (_, i) => script('kill', '--broker', String(i + 1)).catch(() => '')),
      );
      await fs.rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** An exclusive lock between processes: a file created with O_EXCL; a holder that died long ago is ignored. */
async function lockFile(file: string, staleMs = 600_000): Promise<() => Promise<void>> {
  for (;;) {
    try {
      const handle = await fs.open(file, 'wx');
      await handle.close();
      return () => fs.rm(file, { force: true });
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
      const stat = await fs.stat(file).catch(() => null);
      if (stat && Date.now() - stat.mtimeMs > staleMs) await fs.rm(file, { force: true });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
