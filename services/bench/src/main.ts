import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiKey, upsertProgramme, upsertProvider } from '@vru/api';
import { EVENT_COLUMNS } from '@vru/event-store';
import { createKafka, createLogger, createSql, loadConfig, openDatabase, type Sql } from '@vru/runtime';
import { createTestDatabase } from '@vru/testkit/test-database';
import type { Result, Task } from './driver.js';
import { percentile, ratio, round, sleep } from './stats.js';
import { BENCH_PROGRAMME, BENCH_PROVIDER, Journeys, streamIdOf } from './workload.js';
import { loadReportWorkload, measureReportLatency, type ReportKeys, type ReportLatency } from './report-latency.js';
import { reportProgrammes, reportProviders } from './report-workload.js';

/**
 * scripts/bench [--quick]: starts the real API, relay and projector on a database of its own, measures every
 * figure side by side in one run, prints them next to the targets, and ends with one JSON line.
 */
const quick = process.argv.includes('--quick');
const keep = process.argv.includes('--keep');
const option = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
/** Only the report-latency phase (while working on reports); --reports-db=NAME reuses a database a --keep run left. */
const reportsOnly = process.argv.includes('--reports-only');
const reportsDbReused = option('reports-db');
/**
 * Only the ingest phases (lag, the CSV uploads, single-event and batch rounds, API memory): an A/B of an ingest or
 * memory change, with BENCH_API_SERVER naming the other build's server.js. The uploads stay in because the API's
 * peak memory is set by them in a full run.
 */
const ingestOnly = process.argv.includes('--ingest-only');
/**
 * Only the end-to-end lag phase (with the pipeline's CPU per event and projector memory): an A/B of a relay or
 * projector change, with BENCH_PROJECTOR_MAIN naming the other build's projector main.js.
 */
const lagOnly = process.argv.includes('--lag-only');
const batchOnly = process.argv.includes('--batch-only');
const singleOnly = process.argv.includes('--single-only');
/** Leaves out the reports at an earlier asAt position (an A/B of the current-position figures in less time). */
const skipAsAt = process.argv.includes('--skip-as-at');
/** --report=NAME (repeatable): only the reports whose name contains NAME, e.g. to profile the overview alone. */
const reportsChosen = process.argv.filter((a) => a.startsWith('--report=')).map((a) => a.slice('--report='.length));
// Quick: rates and ratios, not the full run's sizes. A rebuild rate settles within ten of its 5,000-event chunks and a
// verification's cost is linear in the leaves, so 50,000 and 20,000 keep those figures while the quick run fits its
// two minutes (at 100,000 each they took 37 s and 46 s of a 402 s run on the loaded machine). Every contender's round is
// 2 s after a 0.5 s warm-up (hundreds to thousands of requests, the interleaving unchanged), and /healthz is sampled
// for 2 s per condition (about 400 requests at rest).
const plan = quick
  ? {
      warmup: 0.5,
      rounds: 2,
      ingest: 4,
      batch: 4,
      ceiling: 4,
      emmett: 4,
      lag: 6,
      lagWarmup: 1,
      // The wait for the backlog after the 6 s offered: it took 30-40 s on the loaded machine, where the API answers a
      // few hundred events a second. Events not answered and seen by then count as unseen, at least that late.
      lagDrain: 4 as number | undefined,
      health: 2,
      rebuildEvents: 50_000,
      auditEvents: 20_000,
    }
  : {
      warmup: 2,
      rounds: 3,
      ingest: 30,
      batch: 20,
      ceiling: 20,
      emmett: 20,
      lag: 30,
      lagWarmup: 10,
      lagDrain: undefined,
      health: 15,
      rebuildEvents: 1_000_000,
      auditEvents: 1_000_000,
    };
/** The report-latency phase: events in its database and rounds of every report (quick: a smaller database, fewer rounds). */
const reportPlan = {
  events: Number(option('report-events') ?? (quick ? 15_000 : 1_000_000)),
  rounds: Number(option('report-rounds') ?? (quick ? 2 : 5)),
};
/** In flight at once: the issue's single-row ceiling is measured with 32 inserts in flight, and so is everything single-event. */
const CONCURRENCY = 32;
const BATCH_CONCURRENCY = 4;
const BATCH_SIZE = 500;
/** The issue's rate; --lag-rate=N offers another (a rate the machine sustains shows each process's cost per event). */
const LAG_RATE = Number(option('lag-rate') ?? 1_000);

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const logDir = `${process.env.VRU_STATE_DIR ?? `${REPO}.run`}/bench`;
mkdirSync(logDir, { recursive: true });
/** Progress lines carry the seconds since the run started, so a slow phase shows in the log. */
const say = (line: string) => process.stderr.write(`[bench +${Math.round(performance.now() / 1000)}s] ${line}\n`);
/** Seconds of each phase, in order, for the summary: where a run's time went without reading its log. */
const phaseSeconds: [string, number][] = [];
let phaseStarted = performance.now();
const endPhase = (name: string) => {
  const now = performance.now();
  phaseSeconds.push([name, round((now - phaseStarted) / 1000, 1)]);
  phaseStarted = now;
};

const config = loadConfig();
const runId = randomUUID().slice(0, 8);
const withDatabase = (name: string) => {
  const u = new URL(config.DATABASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
};
const benchDb = `vru_bench_${runId}`;
const emmettDb = `vru_bench_emmett_${runId}`;
const benchUrl = withDatabase(benchDb);
const reportsDb = reportsDbReused ?? `vru_bench_reports_${runId}`;
const reportsUrl = withDatabase(reportsDb);
const emmettUrl = withDatabase(emmettDb);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Peak resident set size (VmHWM) of a live process, in MB. */
function peakRssMb(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? round(Number(kb) / 1024, 1) : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a process has used so far; 0 once it has gone. */
function cpuSecondsOf(pid: number | string | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
/** Linux's USER_HZ, the unit of /proc's CPU times. */
const CLOCK_TICKS = 100;

/** CPU seconds used so far by each process of interest (by pid, with its part) and by the whole machine. */
interface CpuSnapshot {
  processes: Map<string, { part: string; seconds: number }>;
  machine: number;
}

/**
 * The CPU used so far by each service the bench started, by PostgreSQL's processes, by the JVMs (the broker) and by
 * the whole machine (/proc/stat: everything but idle and I/O wait). On a machine shared with other work, PostgreSQL's
 * and the JVMs' include that work's.
 */
function cpuSnapshot(started: readonly Service[]): CpuSnapshot {
  const processes = new Map<string, { part: string; seconds: number }>();
  const ours = new Map(started.map((s) => [String(s.child.pid), s.name]));
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    const part = ours.get(pid) ?? (comm === 'postgres' ? 'postgres' : comm === 'java' ? 'kafka' : undefined);
    if (part) processes.set(pid, { part, seconds: cpuSecondsOf(pid) });
  }
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { processes, machine: (user! + nice! + system! + irq! + softirq! + steal!) / CLOCK_TICKS };
}

/** CPU seconds used between two snapshots, by part; a process that ended in between is not counted. */
function cpuUsed(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const used: Record<string, number> = { machine: after.machine - before.machine };
  for (const [pid, { part, seconds }] of after.processes)
    used[part] = (used[part] ?? 0) + seconds - (before.processes.get(pid)?.seconds ?? 0);
  return used;
}

/** The events a contender's rounds handled, warm-ups included (counted at the measured rate): what its CPU paid for. */
function eventsWithWarmup(measured: Result, rounds: number): number {
  return Math.max(1, measured.events + measured.eps * plan.warmup * rounds);
}

/** CPU seconds by part (a service's name, postgres, machine), summed over rounds. */
type CpuSeconds = Record<string, number>;

/** Runs one driver task, adding the CPU that `service`, PostgreSQL and the whole machine used meanwhile to `cpu`. */
async function runCounted(task: Task, service: Service, cpu: CpuSeconds): Promise<Result> {
  const before = cpuSnapshot([service]);
  const result = await runDriver(task);
  const used = cpuUsed(before, cpuSnapshot([service]));
  for (const part of [service.name, 'postgres', 'machine']) cpu[part] = (cpu[part] ?? 0) + (used[part] ?? 0);
  return result;
}

interface Service {
  name: string;
  child: ChildProcess;
  peakRss: () => number;
}
const services: Service[] = [];

/** BENCH_CPU_PROF=1 writes a V8 CPU profile of each service to .run/bench/prof when it stops. */
const profileArgs = process.env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${logDir}/prof`] : [];

/**
 * The API's own Node flags (API_NODE_FLAGS, from scripts/lib.sh, as wherever the API starts), then
 * BENCH_API_NODE_ARGS: more for the API processes only (e.g. heap flags, for an A/B of their memory and speed).
 */
const apiNodeArgs = `${process.env.API_NODE_FLAGS ?? ''} ${process.env.BENCH_API_NODE_ARGS ?? ''}`
  .split(' ')
  .filter(Boolean);
/** The API's own environment (API_ENV from scripts/lib.sh: VAR=value words, as wherever the API starts). */
const apiEnv = Object.fromEntries(
  (process.env.API_ENV ?? '')
    .split(' ')
    .filter(Boolean)
    .map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]),
);

/** Starts a service with its output in .run/bench/<name>.log; `echo` also shows its stdout (progress lines). */
function startService(
  name: string,
  script: string,
  env: Record<string, string>,
  options: { echo?: boolean; args?: readonly string[] } = {},
): Service {
  const out = openSync(`${logDir}/${name}.log`, 'a');
  const isApi = name.startsWith('api');
  const nodeArgs = isApi ? apiNodeArgs : [];
  const child = spawn(
    process.execPath,
    [...profileArgs, ...nodeArgs, script.startsWith('/') ? script : `${REPO}${script}`, ...(options.args ?? [])],
    {
      env: { ...process.env, ...(isApi ? apiEnv : {}), ...env },
      stdio: ['ignore', options.echo ? 'pipe' : out, out],
    },
  );
  child.stdout?.on('data', (d: Buffer) => process.stderr.write(d.toString().replace(/^(?=.)/gm, '  ')));
  const service = { name, child, peakRss: () => peakRssMb(child.pid) };
  services.push(service);
  return service;
}

async function stopService(s: Service): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((resolve) => s.child.once('exit', resolve));
  s.child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000).then(() => s.child.kill('SIGKILL'))]);
}

interface AuditFigures {
  verifyFullMs: number;
  verifyFullLeaves: number;
  verifyIncrementalMs: number;
  verifyIncrementalLeaves: number;
  inclusionProof: { hashes: number; bytes: number };
  projectorCheckPerEventUs: number;
}

/** The audit log's costs (the program behind scripts/audit-bench) on a synthetic log in a database of its own. */
function measureAuditLog(events: number): Promise<AuditFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./audit-log.js', import.meta.url)), String(events)], {
      env: { ...process.env, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as AuditFigures);
      else reject(new Error(`audit-log exited with ${code}: ${out.slice(-500)}`));
    });
  });
}

/** Runs one phase in a separate process (driver.js) and returns its result. */
function runDriver(task: Task): Promise<Result> {
  return new Promise((resolve, reject) => {
    const resultFile = path.join(os.tmpdir(), `vru-bench-${process.pid}-${randomUUID()}.json`);
    const child = spawn(process.execPath, [fileURLToPath(new URL('./driver.js', import.meta.url))], {
      env: { ...process.env, BENCH_TASK: JSON.stringify(task), BENCH_RESULT_FILE: resultFile },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('close', (code) => {
      let last: string | undefined;
      try {
        last = readFileSync(resultFile, 'utf8').trim();
        rmSync(resultFile);
      } catch {
        last = undefined;
      }
      if (code !== 0 || !last) {
        reject(new Error(`${task.kind} driver exited with ${code}: ${out.slice(-500)}`));
        return;
      }
      // A rejection, not a throw in this handler: the run's clean-up (services, broker, databases) still runs.
      try {
        resolve(JSON.parse(last) as Result);
      } catch (e) {
        reject(new Error(`${task.kind} driver's result is not JSON (${(e as Error).message}): ${last.slice(0, 200)}`));
      }
    });
  });
}

/** Rounds of one contender as one result: events over seconds, percentiles over the pooled latency samples. */
function mergeRounds(results: Result[]): Result & { samples: number[] } {
  const events = results.reduce((n, r) => n + r.events, 0);
  const seconds = results.reduce((n, r) => n + r.seconds, 0);
  const samples = results.flatMap((r) => r.samples ?? []).sort((a, b) => a - b);
  return {
    events,
    seconds: round(seconds, 1),
    eps: round(events / seconds),
    samples,
    p50_ms: round(percentile(samples, 50), 1),
    p99_ms: round(percentile(samples, 99), 1),
    max_ms: Math.max(...results.map((r) => r.max_ms ?? 0)),
    errors: results.reduce((n, r) => n + r.errors, 0),
    firstError: results.find((r) => r.firstError)?.firstError,
  };
}

/**
 * The single-event rounds: the single-row ceiling, our API over HTTP, Emmett's appendToStream and Emmett behind
 * Fastify, interleaved; with the API's CPU per event.
 */
async function measureSingleRounds(
  apiUrl: string,
  apiKey: string,
  api: Service,
  rounds: number,
): Promise<[string, string, string][]> {
  const out: [string, string, string][] = [];
  // Each contender runs in several short rounds, interleaved (ceiling, ours, peer, ceiling, ours, peer, ...):
  // on a shared machine the load changes by the minute, and interleaving spreads it over all of them alike.
  const merged: Record<'ceiling' | 'ingest' | 'peer' | 'peerHttp', Result[]> = {
    ceiling: [],
    ingest: [],
    peer: [],
    peerHttp: [],
  };
  // The peer a team would build instead: Emmett behind Fastify, a process of its own like our API (emmett-fastify.ts).
  const peerPort = await freePort();
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const peerApp = startService('emmett-fastify', fileURLToPath(new URL('./emmett-fastify.js', import.meta.url)), {
    PORT: String(peerPort),
    BENCH_KEYS_DATABASE_URL: benchUrl,
    BENCH_EMMETT_DATABASE_URL: emmettUrl,
    API_KEY_PEPPER: config.API_KEY_PEPPER,
  });
  await waitFor(
    'Emmett behind Fastify',
    async () => ((await fetch(`${peerUrl}/readyz`)).ok ? true : undefined),
    60_000,
  );
  const cpuSeconds: CpuSeconds = {};
  const peerCpuSeconds: CpuSeconds = {};
  const slice = (seconds: number) => Math.max(2, Math.round(seconds / rounds));
  for (let round = 1; round <= rounds; round++) {
    say(
      `round ${round}/${rounds}: single-row ceiling, single-event ingest over HTTP, Emmett appendToStream, Emmett behind Fastify over HTTP (${CONCURRENCY} in flight each)`,
    );
    merged.ceiling.push(
      await runDriver({
        kind: 'ceiling-single',
        databaseUrl: benchUrl,
        secret: config.PSEUDONYM_SECRET,
        concurrency: CONCURRENCY,
        seconds: slice(plan.ceiling),
        warmupSeconds: plan.warmup,
      }),
    );
    merged.ingest.push(
      await runCounted(
        {
          kind: 'http-single',
          url: apiUrl,
          apiKey,
          concurrency: CONCURRENCY,
          seconds: slice(plan.ingest),
          warmupSeconds: plan.warmup,
        },
        api,
        cpuSeconds,
      ),
    );
    merged.peer.push(
      await runDriver({
        kind: 'emmett',
        databaseUrl: emmettUrl,
        concurrency: CONCURRENCY,
        seconds: slice(plan.emmett),
        warmupSeconds: plan.warmup,
      }),
    );
    merged.peerHttp.push(
      await runCounted(
        {
          kind: 'http-single',
          url: peerUrl,
          apiKey,
          concurrency: CONCURRENCY,
          seconds: slice(plan.emmett),
          warmupSeconds: plan.warmup,
        },
        peerApp,
        peerCpuSeconds,
      ),
    );
  }
  const ceiling = mergeRounds(merged.ceiling);
  const ingest = mergeRounds(merged.ingest);
  const peer = mergeRounds(merged.peer);
  const peerHttp = mergeRounds(merged.peerHttp);
  Object.assign(results, { emmett_fastify_rss_mb: peerApp.peakRss() });
  await stopService(peerApp);
  say(
    `per round, events/s: ${Object.entries(merged)
      .map(([k, rs]) => `${k} ${rs.map((r) => r.eps).join(' / ')}`)
      .join('; ')}`,
  );
  for (const [name, r] of Object.entries({ ceiling, ingest, peer, peerHttp }))
    if (r.firstError) say(`${name}: ${r.errors} errors, first: ${r.firstError}`);

  Object.assign(results, {
    ingest_eps: ingest.eps,
    ingest_p50_ms: ingest.p50_ms ?? 0,
    ingest_p99_ms: ingest.p99_ms ?? 0,
    ingest_errors: ingest.errors,
    ceiling_eps: ceiling.eps,
    ingest_vs_ceiling: ratio(ingest.eps, ceiling.eps),
    emmett_eps: peer.eps,
    ingest_vs_emmett: ratio(ingest.eps, peer.eps),
    emmett_fastify_eps: peerHttp.eps,
    ingest_vs_emmett_fastify: ratio(ingest.eps, peerHttp.eps),
  });
  // CPU µs per event of the app's process, PostgreSQL and the machine, as `<prefix>_cpu_us_per_event_<app|postgres|
  // machine>`.
  const recordCpuPerEvent = (prefix: string, cpu: CpuSeconds, service: string, app: string, measured: Result) => {
    const events = eventsWithWarmup(measured, rounds);
    for (const [part, name] of [
      [service, app],
      ['postgres', 'postgres'],
      ['machine', 'machine'],
    ] as const)
      results[`${prefix}_cpu_us_per_event_${name}`] = round(((cpu[part] ?? 0) * 1e6) / events, 1);
  };
  recordCpuPerEvent('ingest', cpuSeconds, 'api', 'api', ingest);
  recordCpuPerEvent('emmett_fastify', peerCpuSeconds, 'emmett-fastify', 'app', peerHttp);
  out.push(['single-event ingest (HTTP)', `${ingest.eps} ev/s, p50 ${ingest.p50_ms} ms, p99 ${ingest.p99_ms} ms`, '']);
  out.push([
    '  CPU µs per event: API | PostgreSQL | machine (load driver and OS included)',
    `${results.ingest_cpu_us_per_event_api} | ${results.ingest_cpu_us_per_event_postgres} | ${results.ingest_cpu_us_per_event_machine}`,
    '',
  ]);
  out.push([
    'single-row ceiling (postgres.js, 1 row/tx)',
    `${ceiling.eps} ev/s, p50 ${ceiling.p50_ms} ms, p99 ${ceiling.p99_ms} ms`,
    '≈ 11,700 ev/s on the reference machine',
  ]);
  out.push(['  ingest ÷ single-row ceiling', `${results.ingest_vs_ceiling}`, '≥ 0.5']);
  out.push([
    'Emmett appendToStream',
    `${peer.eps} ev/s, p50 ${peer.p50_ms} ms, p99 ${peer.p99_ms} ms`,
    '≈ 3,200 ev/s on the reference machine',
  ]);
  out.push(['  ingest ÷ Emmett appendToStream (library call, no HTTP)', `${results.ingest_vs_emmett}`, '≥ 1.2']);
  out.push([
    'Emmett behind Fastify (HTTP, own process)',
    `${peerHttp.eps} ev/s, p50 ${peerHttp.p50_ms} ms, p99 ${peerHttp.p99_ms} ms`,
    '',
  ]);
  out.push([
    '  CPU µs per event: app | PostgreSQL | machine (load driver and OS included)',
    `${results.emmett_fastify_cpu_us_per_event_app} | ${results.emmett_fastify_cpu_us_per_event_postgres} | ${results.emmett_fastify_cpu_us_per_event_machine}`,
    '',
  ]);
  out.push(['  ingest ÷ Emmett behind Fastify', `${results.ingest_vs_emmett_fastify}`, '≥ 2.0']);

  return out;
}

/**
 * The batch rounds: the multi-row insert ceiling and our batch ingest over HTTP, interleaved. Sets the batch figures
 * in `results` (with the API's CPU per event, which the machine's noise moves less than its throughput) and returns
 * their rows.
 */
async function measureBatchRounds(
  apiUrl: string,
  apiKey: string,
  api: Service,
  rounds: number,
): Promise<[string, string, string][]> {
  const slice = (seconds: number) => Math.max(2, Math.round(seconds / rounds));
  const merged: Record<'batchCeiling' | 'batch', Result[]> = { batchCeiling: [], batch: [] };
  const cpuSeconds: CpuSeconds = {};
  for (let round = 1; round <= rounds; round++) {
    say(
      `round ${round}/${rounds}: ${BATCH_SIZE}-row insert ceiling, ${BATCH_SIZE}-event batch ingest over HTTP (${BATCH_CONCURRENCY} in flight each)`,
    );
    merged.batchCeiling.push(
      await runDriver({
        kind: 'ceiling-batch',
        databaseUrl: benchUrl,
        secret: config.PSEUDONYM_SECRET,
        concurrency: BATCH_CONCURRENCY,
        seconds: slice(plan.ceiling),
        warmupSeconds: plan.warmup,
        batchSize: BATCH_SIZE,
      }),
    );
    merged.batch.push(
      await runCounted(
        {
          kind: 'http-batch',
          url: apiUrl,
          apiKey,
          concurrency: BATCH_CONCURRENCY,
          seconds: slice(plan.batch),
          warmupSeconds: plan.warmup,
          batchSize: BATCH_SIZE,
        },
        api,
        cpuSeconds,
      ),
    );
  }
  const batchCeiling = mergeRounds(merged.batchCeiling);
  const batch = mergeRounds(merged.batch);
  say(
    `per round, events/s: ${Object.entries(merged)
      .map(([k, rs]) => `${k} ${rs.map((r) => r.eps).join(' / ')}`)
      .join('; ')}`,
  );
  for (const [name, r] of Object.entries({ batchCeiling, batch }))
    if (r.firstError) say(`${name}: ${r.errors} errors, first: ${r.firstError}`);
  Object.assign(results, {
    batch_eps: batch.eps,
    batch_ceiling_eps: batchCeiling.eps,
    batch_vs_ceiling: ratio(batch.eps, batchCeiling.eps),
    batch_api_cpu_us_per_event: round(((cpuSeconds.api ?? 0) * 1e6) / eventsWithWarmup(batch, rounds), 1),
  });
  return [
    [
      `batch ingest (HTTP, ${BATCH_SIZE}/batch)`,
      `${batch.eps} ev/s, p50 ${batch.p50_ms} ms (API CPU ${results.batch_api_cpu_us_per_event} µs per event)`,
      '',
    ],
    [`batch ceiling (${BATCH_SIZE}-row insert)`, `${batchCeiling.eps} ev/s`, '≈ 43,600 ev/s on the reference machine'],
    ['  batch ÷ multi-row insert ceiling', `${results.batch_vs_ceiling}`, '≥ 1.0'],
  ];
}

/**
 * scripts/bench starts the broker while the bench sets up its databases, and writes the start's exit
 * status to BENCH_KAFKA_STATUS when it ends: waited for before anything needs the broker.
 */
async function brokerStarted(): Promise<void> {
  const file = process.env.BENCH_KAFKA_STATUS;
  if (!file) return;
  for (;;) {
    const status = await readFile(file, 'utf8').catch(() => undefined);
    if (status !== undefined) {
      if (status.trim() !== '0') throw new Error(`the broker did not start (scripts/kafka start: ${status.trim()})`);
      return;
    }
    await sleep(100);
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function describeMachine(sql: Sql) {
  return sql<
    { version: string; fsync: string; synchronous_commit: string; wal_sync_method: string; shared_buffers: string }[]
  >`
    select current_setting('server_version') as version, current_setting('fsync') as fsync,
           current_setting('synchronous_commit') as synchronous_commit, current_setting('wal_sync_method') as wal_sync_method,
           current_setting('shared_buffers') as shared_buffers`;
}

const logger = createLogger('warn', 'bench');
const started = performance.now();
say(
  `${quick ? 'quick' : 'full'} run ${runId}: database ${benchDb}, peer database ${emmettDb}, service logs in ${logDir}`,
);

// The database, its reference data and a provider key, before the API starts (it caches reference data). Databases
// are copied from the test suite's migrated template (kept between runs), which takes a fraction of migrating anew.
await createTestDatabase(config.DATABASE_URL, benchDb);
const sql = await openDatabase({ ...config, DATABASE_URL: benchUrl }, logger, 'vru-bench', { max: 4 });
await upsertProvider(sql, BENCH_PROVIDER, 'Benchmark provider');
await upsertProgramme(sql, {
  programmeId: BENCH_PROGRAMME,
  name: 'Benchmark mentoring',
  interventionType: 'mentoring',
  startsOn: '2025-01-01',
});
const apiKey = (
  await createApiKey(sql, config.API_KEY_PEPPER, { role: 'provider', providerId: BENCH_PROVIDER, label: 'bench' })
).apiKey;
await sql`create schema bench_ceiling`;
// The ceiling's table is the events table (columns, identity, unique constraints, indexes) without triggers.
await sql`create table bench_ceiling.events (like public.events including all)`;
const [machine] = await describeMachine(sql);
const admin = createSql(config.DATABASE_URL.replace(/\/[^/]*$/, '/postgres'), { max: 3, applicationName: 'vru-bench' });
await admin.unsafe(`create database ${emmettDb}`);

const port = await freePort();
const apiMetricsPort = await freePort();
const apiUrl = `http://127.0.0.1:${port}`;
const serviceEnv = {
  // Topic and groups inside the prefixes the broker's ACLs grant the relay and the projector (scripts/kafka).
  DATABASE_URL: benchUrl,
  KAFKA_TOPIC: `participant-events-bench-${runId}`,
  PROJECTOR_GROUP_PREFIX: `vru-projection-bench-${runId}`,
  KAFKA_CLIENT_ID: `vru-bench-${runId}`,
  HOST: '127.0.0.1',
  PORT: String(port),
  LOG_LEVEL: 'warn',
  API_METRICS_PORT: String(apiMetricsPort),
  RELAY_METRICS_PORT: '0',
  PROJECTOR_METRICS_PORT: '0',
  // One key drives the whole load; the limiter stays in the path but must not be what is measured.
  RATE_LIMIT_PER_MINUTE: '10000000',
};
const results: Record<string, number> = {};
const rows: [string, string, string][] = [];
const row = (what: string, figure: string, target = '') => rows.push([what, figure, target]);

/**
 * Each report's figures: its first request (the warm-up's, before anything is remembered, such as a drawn chart), then
 * p50 / p99 / max over the rounds; recorded as report_<name><suffix>_{first,p50,p99}_ms.
 */
function reportRows(reports: readonly ReportLatency[], suffix: '' | '_asat', target: string): void {
  for (const r of reports) {
    const slug = `${r.name.replace(/ /g, '_')}${suffix}`;
    Object.assign(results, {
      [`report_${slug}_first_ms`]: r.first_ms,
      [`report_${slug}_p50_ms`]: r.p50_ms,
      [`report_${slug}_p99_ms`]: r.p99_ms,
    });
    row(
      `  ${r.name}`,
      `${r.first_ms === null ? 'failed' : `${r.first_ms} ms`}; ${r.p50_ms} / ${r.p99_ms} / ${r.max_ms} ms${r.errors ? ` (${r.errors} errors: ${r.firstError?.slice(0, 120)})` : ''}`,
      target,
    );
    if (r.firstError) say(`${r.name}${suffix ? ' at asAt' : ''}: first error: ${r.firstError}`);
  }
}
try {
  if (batchOnly || singleOnly) {
    // The batch or single-event rounds alone, with the relay and the projector not running (as in a full run's rounds).
    const api = startService('api', process.env.BENCH_API_SERVER ?? 'services/api/dist/server.js', serviceEnv);
    await waitFor('the API', async () => ((await fetch(`${apiUrl}/readyz`)).ok ? true : undefined), 60_000);
    endPhase('databases and API start');
    const rounds = Number(option('rounds') ?? plan.rounds);
    const phase = batchOnly ? 'batch rounds' : 'single-event rounds';
    rows.push(...(await (batchOnly ? measureBatchRounds : measureSingleRounds)(apiUrl, apiKey, api, rounds)));
    Object.assign(results, { api_rss_mb: api.peakRss() });
    row(`API peak RSS (${phase})`, `${results.api_rss_mb} MB`, '< 200 MB');
    endPhase(phase);
  } else if (!reportsOnly) {
    await brokerStarted();
    const api = startService('api', process.env.BENCH_API_SERVER ?? 'services/api/dist/server.js', serviceEnv);
    await waitFor('the API', async () => ((await fetch(`${apiUrl}/readyz`)).ok ? true : undefined), 60_000);
    const relay = startService('relay', process.env.BENCH_RELAY_MAIN ?? 'services/relay/dist/main.js', serviceEnv);
    const projector = startService(
      'projector',
      process.env.BENCH_PROJECTOR_MAIN ?? 'services/projector/dist/main.js',
      serviceEnv,
    );
    let projectorPeak = 0;
    const stopPipeline = async () => {
      projectorPeak = Math.max(projectorPeak, projector.peakRss());
      await Promise.all([stopService(relay), stopService(projector)]);
    };

    // 5. End-to-end lag first, on a quiet pipeline: one journey must come through before the clock starts.
    endPhase('databases and API start');
    say('waiting for the pipeline (API → outbox → relay → Kafka → projector) to carry a first event');
    const probe = new Journeys(`probe-${runId}`).next();
    for (const e of probe.events) {
      const res = await fetch(`${apiUrl}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(e),
      });
      if (res.status !== 202) throw new Error(`probe event answered ${res.status}: ${await res.text()}`);
    }
    const probeStream = streamIdOf(config.PSEUDONYM_SECRET, probe.ref);
    await waitFor(
      'the first journey in the attendance read model',
      async () => {
        const [r] = await sql<
          { version: number }[]
        >`select version from rm_attendance.stream_positions where stream_id = ${probeStream}`;
        return r && r.version >= probe.events.length ? true : undefined;
      },
      120_000,
    );

    endPhase('first journey');
    say(`phase: end-to-end lag at ${LAG_RATE} events/s for ${plan.lag} s, after ${plan.lagWarmup} s not counted`);
    // Open loop: 1,000 participants in rotation, so each one's next event falls due a second after its previous one.
    // The CPU per event counts from the warm-up's end (the driver's start, a few hundred ms, is in the window).
    const cpuFromWarm = sleep(plan.lagWarmup * 1000).then(() => cpuSnapshot([api, relay, projector]));
    const lag = await runDriver({
      kind: 'lag',
      url: apiUrl,
      apiKey,
      databaseUrl: benchUrl,
      secret: config.PSEUDONYM_SECRET,
      rate: LAG_RATE,
      seconds: plan.lag,
      warmupSeconds: plan.lagWarmup,
      concurrency: 1_000,
      drainSeconds: plan.lagDrain,
    });
    Object.assign(results, {
      lag_offered_eps: lag.offered_eps ?? 0,
      lag_p50_ms: lag.p50_ms ?? 0,
      lag_p99_ms: lag.p99_ms ?? 0,
      lag_max_ms: lag.max_ms ?? 0,
      lag_unseen: lag.unseen ?? 0,
      lag_late: lag.late ?? 0,
      lag_errors: lag.errors,
      lag_p99_lower_bound: lag.p99_lower_bound ? 1 : 0,
    });
    const atLeast = (bound: boolean | undefined) => (bound ? '≥ ' : '');
    row(
      'end-to-end lag p50 / p99 / max (open loop)',
      `${atLeast(lag.p50_lower_bound)}${lag.p50_ms} / ${atLeast(lag.p99_lower_bound)}${lag.p99_ms} / ${atLeast((lag.unseen ?? 0) > 0)}${lag.max_ms} ms at ${lag.offered_eps} ev/s offered (${lag.late} sent late for want of an answer, ${lag.unseen} unseen${plan.lagDrain === undefined ? '' : ` ${plan.lagDrain} s after the last was due`}, ${lag.errors} errors)`,
      'p99 < 500 ms at 1,000 ev/s offered',
    );
    if (lag.firstError) say(`lag: first error: ${lag.firstError}`);
    // Read before lagStages, whose own consumer would count as the machine's.
    const cpuInPhase = cpuUsed(await cpuFromWarm, cpuSnapshot([api, relay, projector]));
    const offered = Math.max(1, Math.round((lag.offered_eps ?? 0) * plan.lag));
    const cpuPerEvent = (what: string) => round(((cpuInPhase[what] ?? 0) * 1000) / offered, 2);
    const cpuParts = ['api', 'relay', 'projector', 'postgres', 'kafka'] as const;
    for (const part of [...cpuParts, 'machine' as const]) results[`lag_cpu_ms_per_event_${part}`] = cpuPerEvent(part);
    const rest = round(cpuPerEvent('machine') - cpuParts.reduce((n, part) => n + cpuPerEvent(part), 0), 2);
    row(
      '  lag phase CPU ms per event offered: API | relay | projector | PostgreSQL | broker | the rest (load driver, OS) = machine',
      `${cpuParts.map((part) => cpuPerEvent(part)).join(' | ')} | ${rest} = ${cpuPerEvent('machine')} (${os.cpus().length} cores: ${round((os.cpus().length * 1000) / LAG_RATE, 2)} ms per event at the offered rate)`,
    );
    const stages = await lagStages(lag.stages ?? []);
    Object.assign(results, stages.results);
    row(...stages.row);

    // The throughput phases run with the relay and projector stopped, so that our ingest, the ceilings and the
    // peer all get the same machine (the outbox keeps what the relay would publish; nothing is lost).
    await stopPipeline();
    // The API's peak resident set so far, after each phase: which load sets the peak (VmHWM never goes down).
    const apiPeakAfter: Record<string, number> = { lag: api.peakRss() };
    endPhase('lag');
    if (lagOnly) {
      Object.assign(results, { api_rss_after_lag_mb: apiPeakAfter.lag, projector_rss_mb: projectorPeak });
      row('projector peak RSS (lag phase)', `${results.projector_rss_mb} MB`);
    } else {
      // One request must not stall everyone: /healthz latency at rest, then while the largest CSV uploads run back to back.
      const health = await measureHealthUnderUploads(apiUrl, apiKey, plan.health);
      Object.assign(results, health.results);
      for (const r of health.rows) row(...r);
      apiPeakAfter.uploads = api.peakRss();
      endPhase('/healthz under CSV uploads');

      const rounds = Number(option('rounds') ?? plan.rounds);
      rows.push(...(await measureSingleRounds(apiUrl, apiKey, api, rounds)));
      apiPeakAfter.single = api.peakRss();
      endPhase('single-event rounds');
      const batchRows = await measureBatchRounds(apiUrl, apiKey, api, rounds);
      apiPeakAfter.batch = api.peakRss();
      endPhase('batch rounds');
      // Where the API's memory is, right after the heaviest load (the batch rounds): its own prom-client gauges.
      const memory = await apiMemory(`http://127.0.0.1:${apiMetricsPort}/metrics`).catch(() => null);
      rows.push(...batchRows);

      // 6. Rebuild (not in an ingest-only run): the log topped up to N events with copies of what the phases stored (new streams, same bodies).
      if (!ingestOnly) {
        const stored = (await sql<{ n: number }[]>`select count(*)::int as n from events`)[0]!.n;
        if (stored < plan.rebuildEvents) {
          say(`phase: topping the log up from ${stored} to ${plan.rebuildEvents} events (copies under new stream ids)`);
          const last = (await sql<{ last: bigint }[]>`select max(position) as last from events`)[0]!.last;
          // One statement per copy of the stored events, so that a long top-up reports its progress.
          for (let copy = 1, total = stored; total < plan.rebuildEvents; copy++) {
            const take = Math.min(stored, plan.rebuildEvents - total);
            await sql`
            insert into events (event_id, stream_id, stream_version, type, schema_version, provider_id, programme_id, occurred_at, data, metadata, request_hash)
            select gen_random_uuid(), e.stream_id || '~' || ${copy}::int, e.stream_version, e.type, e.schema_version, e.provider_id, e.programme_id,
                   e.occurred_at, e.data, e.metadata, e.request_hash
            from events e where e.position <= ${last.toString()}::bigint
            order by e.position
            limit ${take}::int`;
            total += take;
            say(`  top-up: ${total} events in the log`);
          }
        }
        await sql`vacuum analyze events`;
        const logSize = (await sql<{ n: number }[]>`select count(*)::int as n from events`)[0]!.n;

        say(`phase: plain sequential read of ${logSize} events (the rebuild's query and chunk size, same driver)`);
        const seqStarted = performance.now();
        let after = 0n;
        let read = 0;
        for (;;) {
          const chunk = await sql<{ position: bigint }[]>`
          select ${sql.unsafe(EVENT_COLUMNS)} from events where position > ${after.toString()}::bigint order by position limit 5000`;
          if (chunk.length === 0) break;
          after = chunk[chunk.length - 1]!.position;
          read += chunk.length;
        }
        const seqSeconds = (performance.now() - seqStarted) / 1000;

        endPhase('top-up and sequential read');
        say(`phase: rebuild of every read model from ${logSize} events (scripts/rebuild all)`);
        const rebuildStarted = performance.now();
        const rebuild = startService(
          'rebuild',
          'services/api/dist/cli.js',
          { ...serviceEnv, LOG_LEVEL: 'warn' },
          { echo: true, args: ['rebuild', 'all'] },
        );
        let rebuildPeak = 0;
        const sampler = setInterval(() => {
          rebuildPeak = Math.max(rebuildPeak, rebuild.peakRss());
        }, 250);
        const rebuildCode = await new Promise<number | null>((resolve) => rebuild.child.once('exit', resolve));
        clearInterval(sampler);
        if (rebuildCode !== 0) throw new Error(`rebuild exited with ${rebuildCode}; see ${logDir}/rebuild.log`);
        const rebuildSeconds = (performance.now() - rebuildStarted) / 1000;
        Object.assign(results, {
          rebuild_events: logSize,
          rebuild_s: round(rebuildSeconds, 1),
          rebuild_eps: round(logSize / rebuildSeconds),
          seqread_eps: round(read / seqSeconds),
          rebuild_vs_seqread: ratio(logSize / rebuildSeconds, read / seqSeconds),
          rebuild_rss_mb: rebuildPeak,
        });
        row(
          `rebuild, every read model (${logSize} events)`,
          `${results.rebuild_eps} ev/s in ${results.rebuild_s} s (peak RSS ${rebuildPeak} MB)`,
          '1,000,000 events in ≤ 25 s',
        );
        row('plain sequential read of the log', `${results.seqread_eps} ev/s`);
        row('  rebuild ÷ sequential read', `${results.rebuild_vs_seqread}`);
      }

      Object.assign(results, { api_rss_mb: api.peakRss(), projector_rss_mb: projectorPeak });
      row('API peak RSS (under the ingest load)', `${results.api_rss_mb} MB`, '< 200 MB');
      Object.assign(results, {
        api_rss_after_lag_mb: apiPeakAfter.lag,
        api_rss_after_uploads_mb: apiPeakAfter.uploads,
        api_rss_after_single_mb: apiPeakAfter.single,
        api_rss_after_batch_mb: apiPeakAfter.batch,
      });
      row(
        '  API peak RSS so far, after: lag / CSV uploads / single / batch',
        `${apiPeakAfter.lag} / ${apiPeakAfter.uploads} / ${apiPeakAfter.single} / ${apiPeakAfter.batch} MB`,
      );
      if (memory) {
        Object.assign(results, {
          api_heap_total_mb: memory.heapTotal,
          api_heap_used_mb: memory.heapUsed,
          api_external_mb: memory.external,
        });
        row(
          '  API memory after the ingest phases',
          `RSS ${memory.rss} MB: heap ${memory.heapTotal} MB (used ${memory.heapUsed}; new space ${memory.newSpace}, old ${memory.oldSpace}, code ${memory.codeSpace}), external ${memory.external} MB`,
        );
      }
      row('projector peak RSS (lag phase)', `${results.projector_rss_mb} MB`);

      if (!ingestOnly) {
        endPhase('rebuild');
        say(`phase: the audit log on ${plan.auditEvents} events (a database of its own)`);
        const audit = await measureAuditLog(plan.auditEvents);
        Object.assign(results, {
          audit_leaves: audit.verifyFullLeaves,
          audit_verify_full_ms: audit.verifyFullMs,
          audit_verify_incremental_ms: audit.verifyIncrementalMs,
          audit_inclusion_proof_bytes: audit.inclusionProof.bytes,
          audit_projector_check_us: audit.projectorCheckPerEventUs,
        });
        row(`audit log: full verification (${audit.verifyFullLeaves} leaves)`, `${audit.verifyFullMs} ms`);
        row(
          `  incremental verification (${audit.verifyIncrementalLeaves} new leaves)`,
          `${audit.verifyIncrementalMs} ms`,
          'proportional to what is new',
        );
        endPhase('audit log');
        row(
          '  inclusion proof / projector check per event',
          `${audit.inclusionProof.hashes} hashes (${audit.inclusionProof.bytes} B) / ${audit.projectorCheckPerEventUs} µs`,
        );
      }
    }
  }

  // 7. Report latency at scale, in a database of its own served by an API process of its own.
  if (reportPlan.events > 0 && !ingestOnly && !lagOnly && !batchOnly && !singleOnly) await reportPhase();
} finally {
  await Promise.all(services.map(stopService));
  if (!reportsOnly && !batchOnly && !singleOnly) {
    const kafkaAdmin = createKafka({ ...config, KAFKA_CLIENT_ID: `vru-bench-${runId}` }, 'admin', logger).admin();
    await kafkaAdmin
      .connect()
      .then(() => kafkaAdmin.deleteTopics({ topics: [serviceEnv.KAFKA_TOPIC] }))
      .catch(() => {});
    await kafkaAdmin.disconnect().catch(() => {});
  }
  await sql.end();
  const drop = (name: string) => admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
  await Promise.all([
    !keep && !reportsDbReused ? drop(reportsDb) : undefined,
    ...(keep ? [] : [drop(benchDb), drop(emmettDb)]),
  ]);
  await admin.end();
  endPhase('stop and clean up');
}

/**
 * Every report and the dashboard overview on the report workload (report-workload.ts), p50/p99 over interleaved
 * rounds with /healthz asked meanwhile. BENCH_API_SERVER names another build's server.js (an A/B of a change).
 */
async function reportPhase(): Promise<void> {
  if (!reportsDbReused) await createTestDatabase(config.DATABASE_URL, reportsDb);
  const rsql = await openDatabase({ ...config, DATABASE_URL: reportsUrl }, logger, 'vru-bench', { max: 2 });
  try {
    for (const providerId of reportProviders())
      await upsertProvider(rsql, providerId, `Benchmark provider ${providerId.slice(-2)}`);
    for (const p of reportProgrammes()) {
      await upsertProgramme(rsql, {
        programmeId: p.programmeId,
        name: `Benchmark ${p.interventionType} ${p.programmeId.slice(-4)}`,
        interventionType: p.interventionType,
        startsOn: '2023-04-01',
      });
    }
    const key = async (role: 'provider' | 'commissioner' | 'data-partner', providerId?: string) =>
      (
        await createApiKey(rsql, config.API_KEY_PEPPER, {
          role,
          providerId: providerId ?? null,
          label: 'bench-reports',
        })
      ).apiKey;
    const keys: ReportKeys = {
      commissioner: await key('commissioner'),
      dataPartner: await key('data-partner'),
      providers: {},
    };
    for (const providerId of reportProviders()) keys.providers[providerId] = await key('provider', providerId);
    const rport = await freePort();
    const reportUrl = `http://127.0.0.1:${rport}`;
    const reportEnv = { ...serviceEnv, DATABASE_URL: reportsUrl, PORT: String(rport), API_METRICS_PORT: '0' };
    await brokerStarted();
    const reportApi = startService(
      'api-reports',
      process.env.BENCH_API_SERVER ?? 'services/api/dist/server.js',
      reportEnv,
    );
    await waitFor('the reports API', async () => ((await fetch(`${reportUrl}/readyz`)).ok ? true : undefined), 60_000);
    endPhase('report database and API start');
    if (!reportsDbReused) {
      say(
        `phase: report workload, about ${reportPlan.events} events over ${reportProviders().length} providers, ${reportProgrammes().length} programmes and four financial years (database ${reportsDb})`,
      );
      const loadStarted = performance.now();
      const sent = await loadReportWorkload(reportUrl, keys, runId, reportPlan.events, say);
      say(
        `  ${sent} events stored in ${round((performance.now() - loadStarted) / 1000)} s; rebuilding every read model from them`,
      );
      const rebuild = startService('rebuild-reports', 'services/api/dist/cli.js', reportEnv, {
        args: ['rebuild', 'all'],
      });
      const code = await new Promise<number | null>((resolve) => rebuild.child.once('exit', resolve));
      if (code !== 0)
        throw new Error(`rebuild of the report database exited with ${code}; see ${logDir}/rebuild-reports.log`);
      await rsql`vacuum analyze`;
    }
    endPhase('report workload: load and rebuild');
    const { events, participants } = (
      await rsql<{ events: number; participants: number }[]>`
      select (select count(*)::int from events) as events, (select count(*)::int from rm_participants.participants) as participants`
    )[0]!;
    say(
      `phase: report latency on ${events} events (${participants} participants), ${reportPlan.rounds} interleaved rounds after a warm-up, /healthz every 50 ms`,
    );
    const m = await measureReportLatency(reportUrl, keys, reportPlan.rounds, { only: reportsChosen });
    Object.assign(results, {
      report_events: events,
      report_participants: participants,
      report_healthz_p99_ms: m.healthz.p99_ms,
      report_healthz_max_ms: m.healthz.max_ms,
    });
    row(
      `report latency (${events} events, ${participants} participants; ${reportPlan.rounds} rounds)`,
      'first; then p50 / p99 / max',
      '',
    );
    reportRows(m.reports, '', 'p99 < 250 ms at 1,000,000 events');
    row(
      '  /healthz while the reports run',
      `${m.healthz.p50_ms} / ${m.healthz.p99_ms} / ${m.healthz.max_ms} ms (${m.healthz.requests} requests; slowest sent during ${m.healthz.slowest_during})`,
      'p99 < 250 ms (no report blocks the API)',
    );
    endPhase('report rounds');
    if (!skipAsAt) {
      await measureAsAt(rsql, reportUrl, keys);
      endPhase('report rounds at asAt');
    }
    Object.assign(results, { report_api_rss_mb: reportApi.peakRss() });
    await stopService(reportApi);
  } finally {
    await rsql.end();
  }
}

/**
 * Every report (commissioner key) at an earlier published position: one below the lowest position any live read
 * model has applied, so every report reads the rows true at it (the as-at views over the versioned rows). The first
 * request is timed apart from the rounds after it. The position is recorded as published here, standing for a
 * report answered at it earlier (asAt across providers is refused at any other position).
 */
async function measureAsAt(rsql: Sql, reportUrl: string, keys: ReportKeys): Promise<void> {
  const schemas = (
    await rsql<{ table_schema: string }[]>`
    select table_schema from information_schema.tables where table_name = 'checkpoint'`
  )
    .map((t) => t.table_schema)
    .filter((name) => /^rm_[a-z0-9_]+$/.test(name));
  const positions = await rsql.unsafe<{ position: string }[]>(
    schemas.map((name) => `select position::text from ${name}.checkpoint`).join(' union all '),
  );
  const lowest = positions.reduce(
    (p, r) => (BigInt(r.position) < p ? BigInt(r.position) : p),
    BigInt(positions[0]?.position ?? '1'),
  );
  const asAt = lowest > 1n ? lowest - 1n : 1n;
  await rsql`insert into published_positions (position) values (${asAt.toString()}) on conflict do nothing`;
  say(
    `phase: reports at asAt=${asAt} (published; every read model holds events above it): the first requests, then ${reportPlan.rounds} rounds`,
  );
  const m = await measureReportLatency(reportUrl, keys, reportPlan.rounds, {
    asAt,
    timeoutMs: 3_600_000,
    only: reportsChosen,
  });
  Object.assign(results, { report_asat_position: Number(asAt) });
  row(`report latency at asAt=${asAt} (${reportPlan.rounds} rounds)`, 'first; then p50 / p99 / max', '');
  reportRows(m.reports, '_asat', '');
  row(
    '  /healthz while they run',
    `${m.healthz.p50_ms} / ${m.healthz.p99_ms} / ${m.healthz.max_ms} ms (${m.healthz.requests} requests; slowest sent during ${m.healthz.slowest_during})`,
    '',
  );
  Object.assign(results, {
    report_asat_healthz_p99_ms: m.healthz.p99_ms,
    report_asat_healthz_max_ms: m.healthz.max_ms,
  });
}

/** The API's memory by kind, in MB, from the default Node.js gauges of its metrics endpoint. */
async function apiMemory(url: string) {
  const text = await (await fetch(url)).text();
  const gauge = (name: string, label = '') => {
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${name}${label} `) || (label === '' && l.startsWith(`${name} `)));
    return line ? round(Number(line.split(' ').at(-1)) / 2 ** 20, 1) : 0;
  };
  return {
    rss: gauge('process_resident_memory_bytes'),
    heapTotal: gauge('nodejs_heap_size_total_bytes'),
    heapUsed: gauge('nodejs_heap_size_used_bytes'),
    external: gauge('nodejs_external_memory_bytes'),
    newSpace: gauge('nodejs_heap_space_size_total_bytes', '{space="new"}'),
    oldSpace: gauge('nodejs_heap_space_size_total_bytes', '{space="old"}'),
    codeSpace: gauge('nodejs_heap_space_size_total_bytes', '{space="code"}'),
  };
}

/** p50/p99 of /healthz asked one at a time for `seconds`, while `load` (if any) runs in a loop beside it. */
async function healthLatency(
  apiUrl: string,
  seconds: number,
  load?: () => Promise<unknown>,
): Promise<{ p50: number; p99: number; max: number; loads: number }> {
  const latencies: number[] = [];
  let stop = false;
  let loads = 0;
  const loader = (async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set once the measurement ends, while the loop awaits
    while (load && !stop) {
      await load();
      loads++;
    }
  })();
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const t0 = performance.now();
    const res = await fetch(`${apiUrl}/healthz`);
    await res.arrayBuffer();
    latencies.push(performance.now() - t0);
    await sleep(5);
  }
  stop = true;
  await loader;
  latencies.sort((a, b) => a - b);
  const ms = (x: number) => round(x, 1);
  return {
    p50: ms(percentile(latencies, 50)),
    p99: ms(percentile(latencies, 99)),
    max: ms(latencies.at(-1) ?? 0),
    loads,
  };
}

/**
 * Where the lag went, per event seen in the read model: waiting to be sent (due → sent: its participant's previous
 * event not yet answered), the API (sent → 2xx; of it, sent → the append transaction's start, i.e. queued before
 * the database), the relay (recorded in the log → on Kafka: the append transaction's
 * time against the message's timestamp, set by the relay as it sends) and the projector (on Kafka → seen applied,
 * polled every 10 ms). The message timestamps are read back from the topic; one clock, the machine's.
 */
async function lagStages(stages: readonly [string, number, number, number, number][]) {
  const wanted = new Set(stages.map(([position]) => position));
  const onKafka = new Map<string, { recordedAt: number; publishedAt: number }>();
  const kafka = createKafka({ ...config, KAFKA_CLIENT_ID: `vru-bench-${runId}` }, 'admin', logger, 'lag-stages');
  const consumer = kafka.consumer({ groupId: `${serviceEnv.PROJECTOR_GROUP_PREFIX}-lag-stages` });
  let allRead = () => {};
  const read = new Promise<void>((resolve) => (allRead = resolve));
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: serviceEnv.KAFKA_TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const event = JSON.parse(message.value?.toString() ?? '{}') as { position?: string; recordedAt?: string };
        if (event.position && event.recordedAt && wanted.has(event.position))
          onKafka.set(event.position, {
            recordedAt: Date.parse(event.recordedAt),
            publishedAt: Number(message.timestamp),
          });
        if (onKafka.size === wanted.size) allRead();
      },
    });
    await Promise.race([read, sleep(30_000)]);
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  const waiting: number[] = [];
  const api: number[] = [];
  const beforeAppend: number[] = [];
  const relay: number[] = [];
  const projector: number[] = [];
  for (const [position, due, sent, answered, seen] of stages) {
    const message = onKafka.get(position);
    if (!message) continue;
    waiting.push(sent - due);
    api.push(answered - sent);
    beforeAppend.push(message.recordedAt - sent);
    relay.push(message.publishedAt - message.recordedAt);
    projector.push(seen - message.publishedAt);
  }
  const figures = (xs: number[]) => {
    xs.sort((a, b) => a - b);
    return { p50: round(percentile(xs, 50)), p99: round(percentile(xs, 99)) };
  };
  const [w, a, b, r, p] = [waiting, api, beforeAppend, relay, projector].map(figures) as Figures[] as [
    Figures,
    Figures,
    Figures,
    Figures,
    Figures,
  ];
  return {
    results: {
      lag_waiting_p99_ms: w.p99,
      lag_api_p99_ms: a.p99,
      lag_api_before_append_p99_ms: b.p99,
      lag_relay_p99_ms: r.p99,
      lag_projector_p99_ms: p.p99,
    },
    row: [
      '  lag by stage p50 / p99: due → sent | API sent → 2xx (of it, sent → append began) | relay recorded → on Kafka | projector on Kafka → applied',
      `${w.p50} / ${w.p99} | ${a.p50} / ${a.p99} (${b.p50} / ${b.p99}) | ${r.p50} / ${r.p99} | ${p.p50} / ${p.p99} ms (${api.length} events)`,
      '',
    ] as [string, string, string],
  };
}
interface Figures {
  p50: number;
  p99: number;
}

/**
 * /healthz p99 at rest and while the largest CSV uploads run back to back: 8 MiB of empty rows (the parser must stop
 * at the row limit), and the largest file accepted (5,000 full rows, each validated and appended).
 */
async function measureHealthUnderUploads(apiUrl: string, apiKey: string, seconds: number) {
  const header = 'participantRef,programmeId,sessionId,sessionDate,durationMinutes,sessionType,deliveredBy';
  const emptyRows = `${header}\r\n${',,,,,,\r\n'.repeat(Math.floor((8 * 1024 * 1024 - header.length - 2) / 8))}`;
  const fullRow = (i: number) => `BENCH-CSV-${i},${BENCH_PROGRAMME},S-${i},2026-02-03,60,one-to-one,staff\r\n`;
  const fullRows = `${header}\r\n${Array.from({ length: 5000 }, (_, i) => fullRow(i)).join('')}`;
  const upload = (body: string) => async () => {
    const res = await fetch(`${apiUrl}/v1/imports?eventType=SessionAttended`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'text/csv' },
      body,
    });
    await res.arrayBuffer();
    return res.status;
  };
  say(`phase: /healthz latency at rest and under CSV uploads (${seconds} s each)`);
  const rest = await healthLatency(apiUrl, seconds);
  const empty = await healthLatency(apiUrl, seconds, upload(emptyRows));
  say(`  8 MiB CSV of empty rows: ${empty.loads} uploads in ${seconds} s`);
  const full = await healthLatency(apiUrl, seconds, upload(fullRows));
  say(`  5,000-row CSV: ${full.loads} uploads in ${seconds} s`);
  const mib = (text: string) => round(Buffer.byteLength(text) / 2 ** 20, 1);
  return {
    results: {
      healthz_rest_p99_ms: rest.p99,
      healthz_empty_csv_p99_ms: empty.p99,
      healthz_full_csv_p99_ms: full.p99,
    },
    rows: [
      ['/healthz p50 / p99 / max at rest', `${rest.p50} / ${rest.p99} / ${rest.max} ms`, ''],
      [
        `  while ${mib(emptyRows)} MiB CSV of empty rows upload`,
        `${empty.p50} / ${empty.p99} / ${empty.max} ms (${empty.loads} uploads)`,
        'p99 within a few × rest',
      ],
      [
        `  while 5,000-row CSV (${mib(fullRows)} MiB) uploads`,
        `${full.p50} / ${full.p99} / ${full.max} ms (${full.loads} uploads)`,
        'p99 within a few × rest',
      ],
    ] as [string, string, string][],
  };
}

const width = Math.max(...rows.map((r) => r[0].length));
const figWidth = Math.max(...rows.map((r) => r[1].length));
process.stdout.write(`\nscripts/bench${quick ? ' --quick' : ''}: ${round((performance.now() - started) / 1000)} s\n`);
process.stdout.write(
  `machine: ${(await import('node:os')).cpus().length} CPUs, ${round((await import('node:os')).totalmem() / 2 ** 30, 1)} GB RAM, PostgreSQL ${machine?.version} (fsync=${machine?.fsync}, synchronous_commit=${machine?.synchronous_commit}, wal_sync_method=${machine?.wal_sync_method}, shared_buffers=${machine?.shared_buffers}), Node ${process.versions.node}\n\n`,
);
process.stdout.write(`${'figure'.padEnd(width)}  ${'measured'.padEnd(figWidth)}  target\n`);
for (const [what, figure, target] of rows)
  process.stdout.write(`${what.padEnd(width)}  ${figure.padEnd(figWidth)}  ${target}\n`);
process.stdout.write(`\nseconds by phase: ${phaseSeconds.map(([name, seconds]) => `${name} ${seconds}`).join(', ')}\n`);
for (const [name, seconds] of phaseSeconds)
  results[
    `phase_${name
      .replace(/[^a-z0-9]+/gi, '_')
      .replace(/^_|_$/g, '')
      .toLowerCase()}_s`
  ] = seconds;
process.stdout.write(`${JSON.stringify(results)}\n`);
process.exit(0);
