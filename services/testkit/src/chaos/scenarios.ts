import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { RELAY_LOCK } from '@vru/relay';
import { projectorGroupId, projections, storedTableOf } from '@vru/projector';
import { event } from '../fixtures.js';
import { REPO_ROOT, kafkaScriptWith } from '../harness.js';
import { freePort, type ServiceProcess } from '../processes.js';
import { LoadClient, type LoadOptions } from './load.js';
import { ChaosStack } from './stack.js';

const run = promisify(execFile);

export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface ScenarioResult {
  scenario: string;
  offered: number;
  acknowledged: number;
  stored: number;
  projected: number;
  lost: number;
  duplicated: number;
  checks: Check[];
  /** Other figures the scenario measured (catch-up time, answers by status, ...). */
  figures: Record<string, number | string>;
}

export interface ChaosOptions {
  /** The short form run by scripts/test: fewer events, shorter pauses. */
  short: boolean;
  log: (line: string) => void;
  /** Bootstrap servers of a 3-broker cluster (scenario broker-kill-3-brokers) and how scripts/kafka reaches it. */
  cluster?: { brokers: string; env: Record<string, string> };
}

export interface Scenario {
  name: string;
  describe: string;
  run: (options: ChaosOptions) => Promise<ScenarioResult>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function loadSize(o: ChaosOptions): Pick<LoadOptions, 'participants' | 'sessionsPerParticipant' | 'concurrency'> {
  return o.short
    ? { participants: 24, sessionsPerParticipant: 6, concurrency: 6 }
    : { participants: 300, sessionsPerParticipant: 12, concurrency: 16 };
}

const statusCounts = (answers: { status: number | string }[]): string => {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(String(a.status), (counts.get(String(a.status)) ?? 0) + 1);
  return (
    [...counts]
      .sort()
      .map(([s, n]) => `${s}:${n}`)
      .join(' ') || 'none'
  );
};

/**
 * The closing comparison of every scenario: what the clients were told (acknowledged eventIds) against what the
 * store holds and what each read model applied, and every read model against a fresh rebuild from the log.
 */
async function settle(
  stack: ChaosStack,
  load: LoadClient,
  scenario: string,
  checks: Check[],
  figures: ScenarioResult['figures'],
  o: ChaosOptions,
): Promise<ScenarioResult> {
  let convergedMs: number | null = null;
  try {
    convergedMs = await stack.converged(o.short ? 60_000 : 180_000);
  } catch (err) {
    checks.push({ name: 'outbox drained and every read model caught up', ok: false, detail: (err as Error).message });
    for (const service of stack.started)
      o.log(`${scenario}: last log lines of ${service.name} (pid ${service.pid}):\n${service.tail(15)}`);
  }
  if (convergedMs !== null) figures.settle_ms = convergedMs;
  const rows = await stack.h.sql<
    { event_id: string; n: number }[]
  >`select event_id::text, count(*)::int as n from events group by event_id`;
  const storedIds = new Map(rows.map((r) => [r.event_id, r.n]));
  const acked = [...load.acknowledged];
  const lostFromStore = acked.filter((id) => !storedIds.has(id)).length;
  const storedOffered = [...load.offered].filter((id) => storedIds.has(id)).length;
  const storedTwice = rows.reduce((s, r) => s + (r.n - 1), 0);
  const totalStored = rows.reduce((s, r) => s + r.n, 0);
  const applied = Object.values(await stack.projected());
  const projected = Math.min(...applied);
  const overApplied = Math.max(...applied) - totalStored;
  const differences = await stack.differencesFromRebuild();
  checks.push({
    name: 'every read model equals a fresh rebuild from the log',
    ok: differences.length === 0,
    detail:
      differences.map((d) => `${d.projection}.${d.table}: ${d.missing} missing, ${d.extra} extra`).join('; ') ||
      undefined,
  });
  // Once every event is applied, each read model's consistent position is the head of the log, whatever the kills,
  // redeliveries and partition moves did on the way (a live batch advances it for partitions that are idle).
  const head = String(await stack.count('select coalesce(max(position), 0)::text as n from events'));
  const lagging: string[] = [];
  for (const p of projections) {
    const consistent = await stack
      .count(`select consistent_position::text as n from rm_${p.name}.checkpoint`)
      .catch(() => -1);
    if (String(consistent) !== head) lagging.push(`${p.name} at ${consistent} of ${head}`);
  }
  checks.push({
    name: "every read model's consistent position reached the head of the log",
    ok: convergedMs === null || lagging.length === 0,
    detail: lagging.join('; ') || undefined,
  });
  checks.push({
    name: 'no refused events (the load is valid)',
    ok: load.refused.size === 0,
    detail: load.refused.size ? statusCounts([...load.refused.values()].map((status) => ({ status }))) : undefined,
  });
  checks.push({
    name: 'every offered event acknowledged',
    ok: load.acknowledged.size === load.offered.size,
    detail: `${load.offered.size - load.acknowledged.size} not acknowledged`,
  });
  const result: ScenarioResult = {
    scenario,
    offered: load.offered.size,
    acknowledged: load.acknowledged.size,
    stored: storedOffered,
    projected,
    lost: lostFromStore + Math.max(0, totalStored - projected),
    duplicated: storedTwice + Math.max(0, overApplied),
    checks,
    figures: {
      ...figures,
      retries: load.retries,
      duplicate_answers: load.duplicateAnswers.size,
      answers: statusCounts(load.answers),
    },
  };
  o.log(
    `${scenario}: offered ${result.offered}, acknowledged ${result.acknowledged}, stored ${result.stored}, projected ${result.projected}, lost ${result.lost}, duplicated ${result.duplicated}`,
  );
  return result;
}

/** Runs a scenario body on a fresh stack and always tears the stack down. */
async function withStack(
  options: { partitions?: number; env?: Record<string, string> },
  body: (stack: ChaosStack) => Promise<ScenarioResult>,
): Promise<ScenarioResult> {
  const stack = await ChaosStack.start(options);
  try {
    return await body(stack);
  } finally {
    await stack.close();
  }
}

/**
 * A stack on a PostgreSQL cluster of the scenario's own (scripts/pg start-local: own port, own directory under the
 * temp dir), never the shared server; `pg` runs scripts/pg's commands (stop-local, start-local, crash-local) on it.
 */
async function withOwnPostgres(
  body: (stack: ChaosStack, pg: (command: string) => Promise<unknown>) => Promise<ScenarioResult>,
): Promise<ScenarioResult> {
  const port = await freePort();
  const stateDir = path.join(os.tmpdir(), `vru-chaos-pg-${port}`);
  const pg = (command: string) =>
    run(path.join(REPO_ROOT, 'scripts/pg'), [command], {
      env: { ...process.env, PG_LOCAL_PORT: String(port), VRU_STATE_DIR: stateDir, DATABASE_URL: '' },
      timeout: 120_000,
    });
  await pg('start-local');
  try {
    return await withStack({ env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres` } }, (stack) =>
      body(stack, pg),
    );
  } finally {
    await pg('stop-local').catch(() => {});
    await fs.rm(stateDir, { recursive: true, force: true });
  }
}

/** Waits for the scenario's own pool, whose connections a stopped or crashed server dropped, to be answered again. */
const databaseAnswering = (stack: ChaosStack) =>
  stack.h.waitFor(
    'the database answering the checks',
    () =>
      stack.h.sql`select 1`.then(
        () => true,
        () => undefined,
      ),
    60_000,
  );

function newLoad(
  stack: ChaosStack,
  o: ChaosOptions,
  targets: string[],
  scenario: string,
  over: Partial<LoadOptions> = {},
): LoadClient {
  return new LoadClient({
    targets,
    key: stack.key,
    prefix: `${scenario}-${randomUUID().slice(0, 6)}`,
    ...loadSize(o),
    ...over,
  });
}

// ------------------------------------------------------------------------------------------

const apiKilled: Scenario = {
  name: 'api-killed',
  describe: 'API killed (SIGKILL) mid-load and restarted; clients retry the same eventIds',
  run: (o) =>
    withStack({}, async (stack) => {
      const { api, url, port } = await stack.startApi();
      await stack.startRelay();
      await stack.startProjector();
      const load = newLoad(stack, o, [url], 'api-killed');
      const running = load.run();
      const kills = o.short ? 1 : 3;
      let restarted = 0;
      let current = api;
      for (let k = 1; k <= kills; k++) {
        await load.acknowledgedAtLeast(Math.floor((load.events * k) / (kills + 1)));
        await current.kill();
        o.log(`api-killed: API SIGKILLed after ${load.acknowledged.size} acknowledged`);
        await sleep(o.short ? 300 : 2_000);
        current = (await stack.startApi(port)).api;
        restarted++;
      }
      await running;
      return settle(
        stack,
        load,
        'api-killed',
        [{ name: 'API restarted after each kill', ok: restarted === kills }],
        { kills },
        o,
      );
    }),
};

const relayAndProjectorKilled: Scenario = {
  name: 'relay-projector-killed',
  describe: 'relay and projector killed (SIGKILL) mid-stream and restarted',
  run: (o) =>
    withStack({}, async (stack) => {
      const { url } = await stack.startApi();
      let relay = await stack.startRelay();
      let projector = await stack.startProjector();
      const load = newLoad(stack, o, [url], 'relay-projector-killed');
      const running = load.run();
      const kills = o.short ? 1 : 3;
      for (let k = 1; k <= kills; k++) {
        await load.acknowledgedAtLeast(Math.floor((load.events * k) / (kills + 1)));
        // Wait until the projector is really mid-stream (has applied something), so the kill interrupts work.
        await stack.h.waitFor(
          'projector applying',
          async () => (Math.min(...Object.values(await stack.projected())) > 0 ? true : undefined),
          60_000,
        );
        await Promise.all([relay.kill(), projector.kill()]);
        o.log(`relay-projector-killed: relay and projector SIGKILLed after ${load.acknowledged.size} acknowledged`);
        await sleep(o.short ? 300 : 2_000);
        [relay, projector] = await Promise.all([stack.startRelay(), stack.startProjector()]);
      }
      await running;
      return settle(stack, load, 'relay-projector-killed', [], { kills }, o);
    }),
};

const brokerStopped: Scenario = {
  name: 'broker-stopped',
  describe: 'Kafka broker stopped under load, then restarted: API keeps answering 202, relay catches up',
  run: (o) =>
    withStack({}, async (stack) => {
      const { url } = await stack.startApi();
      await stack.startRelay();
      await stack.startProjector();
      const load = newLoad(stack, o, [url], 'broker-stopped');
      const size = loadSize(o);
      await load.run(Math.ceil(size.participants / 4));
      const pauseMs = o.short ? 3_000 : 30_000;
      let downFrom = 0;
      let downTo = 0;
      let backlogAtRestart = 0;
      let lastWaiting = '0';
      await stack.h.withBrokerStopped(async () => {
        downFrom = Date.now();
        o.log(`broker-stopped: broker stopped for ${pauseMs / 1000} s, load continues`);
        // Load for the whole outage: journeys of a few participants at a time until the pause is over.
        while (Date.now() - downFrom < pauseMs) await load.run(size.concurrency);
        downTo = Date.now();
        backlogAtRestart = await stack.count('select count(*)::text as n from outbox');
        lastWaiting = String(await stack.count('select coalesce(max(position), 0)::text as n from outbox'));
      });
      const running = load.run(Math.ceil(size.participants / 4));
      // Catch-up: from the broker answering again to every event that waited in the outbox being in every read model.
      const restartedAt = Date.now();
      const waited = await stack.count(`select count(*)::text as n from events where position <= ${lastWaiting}`);
      const catchUpMs = await stack.h
        .waitFor(
          'the backlog published and projected',
          async () => {
            if ((await stack.count(`select count(*)::text as n from outbox where position <= ${lastWaiting}`)) > 0)
              return undefined;
            return Object.values(await stack.projected()).every((n) => n >= waited)
              ? Date.now() - restartedAt
              : undefined;
          },
          300_000,
        )
        .catch(() => -1);
      o.log(
        `broker-stopped: ${backlogAtRestart} waiting events published and projected ${catchUpMs} ms after the broker returned`,
      );
      await running;
      const during = load.answersBetween(downFrom, downTo);
      return settle(
        stack,
        load,
        'broker-stopped',
        [
          {
            name: 'API answered 202 to everything while the broker was down',
            ok: during.length > 0 && during.every((a) => a.status === 202),
            detail: statusCounts(during),
          },
          {
            name: 'events waited in the outbox while the broker was down',
            ok: backlogAtRestart > 0,
            detail: `${backlogAtRestart} rows`,
          },
        ],
        {
          broker_down_ms: downTo - downFrom,
          answers_while_down: during.length,
          outbox_at_restart: backlogAtRestart,
          // From the broker answering again (scripts/kafka start returned) to an empty outbox and caught-up read models.
          catch_up_ms: catchUpMs < 0 ? 'did not converge' : catchUpMs,
        },
        o,
      );
    }),
};

/**
 * PostgreSQL stopped under load. Never the shared server: the scenario creates a cluster of its own with
 * scripts/pg start-local (own port, own directory under the temp dir) and stops and starts only that.
 */
const postgresStopped: Scenario = {
  name: 'postgres-stopped',
  describe: "PostgreSQL (a cluster of the scenario's own) stopped under load: 503 problem+json, then recovery",
  run: (o) =>
    withOwnPostgres(async (stack, pg) => {
      const { api, url } = await stack.startApi();
      await stack.startRelay();
      await stack.startProjector();
      const requestTimeoutMs = 15_000;
      const load = newLoad(stack, o, [url], 'postgres-stopped', { requestTimeoutMs, giveUpMs: 60_000 });
      const running = load.run();
      await load.acknowledgedAtLeast(Math.floor(load.events / 4));
      // The harness's own pool would hold connections the stop has to wait for; fast shutdown closes them.
      const downFrom = Date.now();
      await pg('stop-local');
      o.log('postgres-stopped: PostgreSQL stopped');
      await sleep(o.short ? 3_000 : 20_000);
      const downTo = Date.now();
      await pg('start-local');
      o.log('postgres-stopped: PostgreSQL started again');
      const upAt = Date.now();
      await running;
      o.log(`postgres-stopped: load finished (${load.acknowledged.size} of ${load.offered.size} acknowledged)`);
      // The scenario's own pool lost its connections too; it reconnects on the next queries.
      await databaseAnswering(stack);
      if (load.acknowledged.size < load.offered.size) {
        for (const service of stack.started)
          o.log(
            `postgres-stopped: last log lines of ${service.name} (${service.running ? 'running' : 'exited'}):\n${service.tail(25)}`,
          );
      }
      const during = load.answersBetween(downFrom + 500, downTo);
      const refusals = during.filter((a) => a.status !== 202);
      const firstAcceptAfter = load.answers.find((a) => a.at > upAt && a.status === 202);
      return settle(
        stack,
        load,
        'postgres-stopped',
        [
          {
            name: 'while PostgreSQL was down the API answered 503',
            ok: refusals.length > 0 && refusals.every((a) => a.status === 503),
            detail: statusCounts(during),
          },
          {
            name: 'every 503 was application/problem+json',
            ok: refusals.every((a) => a.problemJson),
            detail:
              refusals
                .filter((a) => !a.problemJson)
                .map((a) => `${a.status} ${a.contentType || 'no content type'} ${a.at - downFrom} ms after the stop`)
                .join('; ') || undefined,
          },
          { name: 'no answer was a 500', ok: load.answers.every((a) => a.status !== 500) },
          {
            name: `no request hung past ${requestTimeoutMs} ms`,
            ok: load.answers.every((a) => a.status !== 'timeout'),
            detail: `slowest ${Math.max(...during.map((a) => a.ms), 0)} ms`,
          },
          { name: 'the same API process recovered by itself', ok: api.running && firstAcceptAfter !== undefined },
        ],
        {
          pg_down_ms: downTo - downFrom,
          answers_while_down: statusCounts(during),
          slowest_answer_while_down_ms: Math.max(...during.map((a) => a.ms), 0),
          timeouts_at_ms:
            load.answers
              .filter((a) => a.status === 'timeout')
              .map((a) => a.at - a.ms - downFrom)
              .join(',') || 'none',
          first_202_after_restart_ms: firstAcceptAfter ? firstAcceptAfter.at - upAt : 'none',
        },
        o,
      );
    }),
};

const duplicateDelivery: Scenario = {
  name: 'duplicate-delivery',
  describe:
    "the projector's consumer group reset to the beginning: the same messages delivered twice change no read model",
  run: (o) =>
    withStack({}, async (stack) => {
      const { url } = await stack.startApi();
      await stack.startRelay();
      const projector = await stack.startProjector();
      const load = newLoad(stack, o, [url], 'duplicate-delivery');
      await load.run();
      await stack.converged();
      const snapshot = await readModelSnapshot(stack);
      await projector.stop();
      const { h } = stack;
      const admin = h.kafka.admin();
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(h.config.KAFKA_TOPIC);
      const groups = [projectorGroupId(h.config.PROJECTOR_GROUP_PREFIX, projections)];
      for (const groupId of groups) await admin.resetOffsets({ groupId, topic: h.config.KAFKA_TOPIC, earliest: true });
      o.log(
        `duplicate-delivery: the projector's consumer group reset to the beginning; ${ends.reduce((s, p) => s + Number(p.high), 0)} messages will be delivered again`,
      );
      await stack.startProjector();
      // Redelivered when every group's committed offsets are back at the end of every partition.
      await h.waitFor(
        'every group re-consumed the topic',
        async () => {
          for (const groupId of groups) {
            const [committed] = await admin.fetchOffsets({ groupId, topics: [h.config.KAFKA_TOPIC] });
            for (const end of ends) {
              const c = committed!.partitions.find((p) => p.partition === end.partition);
              if (Number(end.high) > 0 && Number(c?.offset ?? -1) < Number(end.high)) return undefined;
            }
          }
          return true;
        },
        120_000,
      );
      await admin.disconnect();
      const after = await readModelSnapshot(stack);
      const changed = Object.keys(snapshot).filter((k) => snapshot[k] !== after[k]);
      return settle(
        stack,
        load,
        'duplicate-delivery',
        [
          {
            name: 'no read model changed when every message was delivered again',
            ok: changed.length === 0,
            detail: changed.join(', ') || undefined,
          },
        ],
        { redelivered: ends.reduce((s, p) => s + Number(p.high), 0) },
        o,
      );
    }),
};

/** A digest of every read model table and checkpoint count (positions and Kafka offsets aside). */
async function readModelSnapshot(stack: ChaosStack): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of projections) {
    for (const table of [...p.tables.map(storedTableOf), 'stream_positions']) {
      const [row] = await stack.h.sql.unsafe<{ digest: string }[]>(
        `select coalesce(md5(string_agg(t::text, '|' order by t::text)), '') as digest from rm_${p.name}.${table} t`,
      );
      out[`${p.name}.${table}`] = row!.digest;
    }
    out[`${p.name}.events_applied`] = String((await stack.projected())[p.name]);
  }
  return out;
}

// ------------------------------------------------------------------------------------------

const brokerKilledInCluster: Scenario = {
  name: 'broker-killed-3-brokers',
  describe:
    'one of three brokers SIGKILLed under load (topic RF 3, min.insync.replicas 2): no loss, no 5xx, consumers continue',
  run: async (o) => {
    if (!o.cluster) throw new Error('broker-killed-3-brokers needs a 3-broker cluster (scripts/chaos starts one)');
    const cluster = o.cluster;
    return withStack(
      {
        partitions: 12,
        env: { KAFKA_BROKERS: cluster.brokers, KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' },
      },
      async (stack) => {
        // The harness made the topic with its own defaults; recreate nothing, but check what the services will use.
        const { url } = await stack.startApi();
        await stack.startRelay();
        await stack.startProjector();
        const admin = stack.h.kafka.admin();
        await admin.connect();
        const meta = await admin.fetchTopicMetadata({ topics: [stack.h.config.KAFKA_TOPIC] });
        await admin.disconnect();
        const replicas = Math.min(...meta.topics[0]!.partitions.map((p) => p.replicas.length));
        const load = newLoad(stack, o, [url], 'broker-killed-3-brokers');
        const running = load.run();
        await load.acknowledgedAtLeast(Math.floor(load.events / 3));
        const killedAt = Date.now();
        await kafkaScriptWith(cluster.env, 'kill', '--broker', '2');
        o.log('broker-killed-3-brokers: broker 2 SIGKILLed');
        await running;
        // Consumers continue with two brokers: settle waits for the read models before the killed broker returns.
        const result = await settle(
          stack,
          load,
          'broker-killed-3-brokers',
          [
            { name: 'topic replicated on 3 brokers', ok: replicas === 3, detail: `replicas ${replicas}` },
            {
              name: 'no 5xx from the API',
              ok: load.answers.every((a) => typeof a.status === 'number' && a.status < 500),
            },
          ],
          { answers_after_kill: statusCounts(load.answersBetween(killedAt)) },
          o,
        );
        // Messages on the topic (sum of the partitions' end offsets) against events stored: tells a message the relay
        // never got onto Kafka from one a consumer did not read. Repeats from producer retries can make it larger.
        const topicAdmin = stack.h.kafka.admin();
        result.figures.topic_messages = await topicAdmin
          .connect()
          .then(() => topicAdmin.fetchTopicOffsets(stack.h.config.KAFKA_TOPIC))
          .then(
            (ends) => ends.reduce((n, p) => n + Number(p.high), 0),
            (err: unknown) => `unavailable (${(err as Error).message})`,
          )
          .finally(() => topicAdmin.disconnect().catch(() => {}));
        await kafkaScriptWith(cluster.env, 'start', '--broker', '2');
        return result;
      },
    );
  },
};

const projectorsScaledOut: Scenario = {
  name: 'projectors-scaled-out',
  describe: 'two projector instances share the 12 partitions; one SIGKILLed mid-stream; read models equal a rebuild',
  run: (o) =>
    withStack({ partitions: 12 }, async (stack) => {
      const { url } = await stack.startApi();
      await stack.startRelay();
      const first = await stack.startProjector();
      const second = await stack.startProjector();
      const { h } = stack;
      const admin = h.kafka.admin();
      await admin.connect();
      const groupId = projectorGroupId(h.config.PROJECTOR_GROUP_PREFIX, projections);
      const members = await h.waitFor(
        'both instances in the group',
        async () => {
          const { groups } = await admin.describeGroups([groupId]);
          const n = groups[0]?.members.length ?? 0;
          return n >= 2 && groups[0]!.state === 'Stable' ? n : undefined;
        },
        60_000,
      );
      await admin.disconnect();
      const load = newLoad(stack, o, [url], 'projectors-scaled-out');
      const running = load.run();
      await load.acknowledgedAtLeast(Math.floor(load.events / 3));
      await h.waitFor(
        'projectors applying',
        async () => (Math.min(...Object.values(await stack.projected())) > 0 ? true : undefined),
        60_000,
      );
      await first.kill();
      o.log(
        `projectors-scaled-out: one of two projector instances SIGKILLed after ${load.acknowledged.size} acknowledged`,
      );
      await running;
      return settle(
        stack,
        load,
        'projectors-scaled-out',
        [
          { name: 'two instances shared the group', ok: members === 2 },
          { name: 'the surviving instance kept running', ok: second.running },
        ],
        { members_before_kill: members },
        o,
      );
    }),
};

const twoApis: Scenario = {
  name: 'two-apis',
  describe:
    'two API instances on different ports, the same eventIds sent to both at once; optimistic concurrency across them',
  run: (o) =>
    withStack({}, async (stack) => {
      const a = await stack.startApi();
      const b = await stack.startApi();
      await stack.startRelay();
      await stack.startProjector();
      // Every event goes to both instances at the same moment: a retry that lands on the other instance.
      const load = newLoad(stack, o, [a.url, b.url], 'two-apis');
      const both = new LoadClient({ targets: [b.url, a.url], key: stack.key, prefix: 'unused', ...loadSize(o) });
      const postUntil = load.postUntilAcknowledged.bind(load);
      load.postUntilAcknowledged = async (event) => {
        const [mine] = await Promise.all([postUntil(event), both.postUntilAcknowledged(event)]);
        return mine;
      };
      await load.run();
      // Optimistic concurrency: two different events with the same expectedVersion, one to each instance.
      const races = o.short ? 10 : 50;
      let oneWinner = 0;
      const outcomes: string[] = [];
      const winners: string[] = [];
      const losers: string[] = [];
      for (let i = 0; i < races; i++) {
        const ref = `two-apis-race-${randomUUID().slice(0, 8)}`;
        for (const e of [event.referred(ref), event.consent(ref), event.enrolled(ref)])
          await load.postUntilAcknowledged(e);
        const pair: Record<string, unknown>[] = [
          { ...event.attended(ref, 's-x', '2026-02-03'), expectedVersion: 3 },
          { ...event.attended(ref, 's-y', '2026-02-04'), expectedVersion: 3 },
        ];
        const [x, y] = await Promise.all([
          load.post(a.url, '/v1/events', pair[0]),
          load.post(b.url, '/v1/events', pair[1]),
        ]);
        pair.forEach((e, j) => ([x, y][j]!.answer.status === 202 ? winners : losers).push(String(e.eventId)));
        const statuses = [x.answer.status, y.answer.status].sort().join('/');
        outcomes.push(statuses);
        const conflict = [x, y].find((r) => r.answer.status === 409)?.body as { type?: string } | undefined;
        if (statuses === '202/409' && (conflict?.type ?? '').includes('version-conflict')) oneWinner++;
      }
      for (const id of both.duplicateAnswers) load.duplicateAnswers.add(id);
      const storedOf = async (ids: string[]) =>
        stack.count(`select count(*)::text as n from events where event_id = any('{${ids.join(',')}}'::uuid[])`);
      const winnersStored = winners.length ? await storedOf(winners) : 0;
      const losersStored = losers.length ? await storedOf(losers) : 0;
      return settle(
        stack,
        load,
        'two-apis',
        [
          {
            name: 'each concurrent pair with the same expectedVersion: one 202, one 409 version-conflict',
            ok: oneWinner === races,
            detail: statusCounts(outcomes.map((status) => ({ status }))),
          },
          {
            name: 'every event sent to both instances answered 202 by both',
            ok: both.acknowledged.size === load.offered.size,
          },
          {
            name: 'no 5xx from either instance',
            ok: [...load.answers, ...both.answers].every((x) => typeof x.status !== 'number' || x.status < 500),
            detail: statusCounts([...load.answers, ...both.answers]),
          },
          {
            name: 'each race stored its winner and not its loser',
            ok: winnersStored === winners.length && losersStored === 0,
            detail: `${winnersStored}/${winners.length} winners, ${losersStored} losers stored`,
          },
        ],
        { races, answers_second_client: statusCounts(both.answers) },
        o,
      );
    }),
};

const relayTakeover: Scenario = {
  name: 'relay-takeover',
  describe:
    'two relays: exactly one holds the publishing lock; the active one SIGKILLed mid-stream, the other takes over',
  run: (o) =>
    withStack({}, async (stack) => {
      const { url } = await stack.startApi();
      const relays = [await stack.startRelay(), await stack.startRelay()];
      await stack.startProjector();
      const holder = async (): Promise<ServiceProcess> =>
        stack.h.waitFor(
          'a relay holding the lock',
          async () =>
            relays.find((r) => r.running && r.lines.some((l) => l.includes('relay holds the publishing lock'))),
          30_000,
        );
      const active = await holder();
      const holdersLogged = relays.filter((r) =>
        r.lines.some((l) => l.includes('relay holds the publishing lock')),
      ).length;
      const lockHolders = await stack.count(
        `select count(*)::text as n from pg_locks where locktype = 'advisory' and objid = ${RELAY_LOCK} and granted and database = (select oid from pg_database where datname = current_database())`,
      );
      const load = newLoad(stack, o, [url], 'relay-takeover');
      const running = load.run();
      await load.acknowledgedAtLeast(Math.floor(load.events / 3));
      const killedAt = Date.now();
      await active.kill();
      o.log(`relay-takeover: active relay SIGKILLed after ${load.acknowledged.size} acknowledged`);
      const standby = relays.find((r) => r !== active)!;
      await standby.waitForLog('relay holds the publishing lock', 60_000);
      const takeoverMs = Date.now() - killedAt;
      await running;
      const holdersAfter = await stack.count(
        `select count(*)::text as n from pg_locks where locktype = 'advisory' and objid = ${RELAY_LOCK} and granted and database = (select oid from pg_database where datname = current_database())`,
      );
      return settle(
        stack,
        load,
        'relay-takeover',
        [
          {
            name: 'exactly one relay held the publishing lock',
            ok: lockHolders === 1 && holdersLogged === 1,
            detail: `${lockHolders} granted lock(s), ${holdersLogged} relay(s) publishing`,
          },
          { name: 'the standby took the lock after the kill', ok: holdersAfter === 1 },
        ],
        { takeover_ms: takeoverMs },
        o,
      );
    }),
};

/**
 * No 2xx before the event is durable: a crash of PostgreSQL (immediate stop: no checkpoint, its unflushed WAL lost)
 * under load must lose no acknowledged event, and the read models must still equal a rebuild of what the log kept
 * (settle checks both).
 */
const postgresCrashed: Scenario = {
  name: 'postgres-crashed',
  describe: "PostgreSQL (a cluster of the scenario's own) crashed under load: nothing acknowledged lost",
  run: (o) =>
    withOwnPostgres(async (stack, pg) => {
      const { url } = await stack.startApi();
      await stack.startRelay();
      await stack.startProjector();
      const load = newLoad(stack, o, [url], 'postgres-crashed', { requestTimeoutMs: 15_000, giveUpMs: 60_000 });
      const running = load.run();
      await load.acknowledgedAtLeast(Math.floor(load.events / 3));
      await pg('crash-local');
      o.log('postgres-crashed: PostgreSQL crashed (immediate stop)');
      await sleep(1_000);
      await pg('start-local');
      o.log('postgres-crashed: PostgreSQL started again (crash recovery)');
      await running;
      await databaseAnswering(stack);
      return settle(
        stack,
        load,
        'postgres-crashed',
        [{ name: 'no answer was a 500', ok: load.answers.every((a) => a.status !== 500) }],
        { answers: statusCounts(load.answers) },
        o,
      );
    }),
};

export const scenarios: Scenario[] = [
  apiKilled,
  relayAndProjectorKilled,
  brokerStopped,
  postgresStopped,
  postgresCrashed,
  duplicateDelivery,
  brokerKilledInCluster,
  projectorsScaledOut,
  twoApis,
  relayTakeover,
];

/** Scenarios that need more than the one broker scripts/test runs. */
export const NEEDS_CLUSTER = new Set(['broker-killed-3-brokers']);

export const failed = (r: ScenarioResult): boolean => r.lost > 0 || r.duplicated > 0 || r.checks.some((c) => !c.ok);
