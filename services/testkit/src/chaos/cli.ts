import { killAllServices } from '../processes.js';
import { failed, NEEDS_CLUSTER, scenarios, type ChaosOptions, type ScenarioResult } from './scenarios.js';

/**
 * scripts/chaos [--short] [scenario ...]: runs fault-injection scenarios against real child processes and prints,
 * per scenario, what clients were told against what the system holds. Exits 1 if anything was lost or
 * duplicated or a check failed. CHAOS_CLUSTER_BROKERS (set by scripts/chaos) enables the 3-broker scenario.
 */
const args = process.argv.slice(2);
const short = args.includes('--short');
const wanted = args.filter((a) => !a.startsWith('--'));
const unknown = wanted.filter((w) => !scenarios.some((s) => s.name === w));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown scenario(s) ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}\n`,
  );
  process.exit(2);
}
const clusterBrokers = process.env.CHAOS_CLUSTER_BROKERS;
const options: ChaosOptions = {
  short,
  log: (line) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`),
  cluster: clusterBrokers
    ? {
        brokers: clusterBrokers,
        env: {
          KAFKA_PORT_BASE: process.env.CHAOS_CLUSTER_PORT_BASE ?? '',
          VRU_STATE_DIR: process.env.CHAOS_CLUSTER_STATE_DIR ?? '',
        },
      }
    : undefined,
};

// Some waits end only by an unref'd timer (fetch's AbortSignal.timeout); the run must not end before them.
setInterval(() => {}, 60_000);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllServices();
    process.exit(130);
  });
}

const results: ScenarioResult[] = [];
for (const scenario of scenarios.filter((s) => wanted.length === 0 || wanted.includes(s.name))) {
  if (NEEDS_CLUSTER.has(scenario.name) && !options.cluster) {
    options.log(`${scenario.name}: skipped (no 3-broker cluster; scripts/chaos starts one)`);
    continue;
  }
  options.log(`${scenario.name}: ${scenario.describe}`);
  const started = Date.now();
  try {
    const result = await scenario.run(options);
    result.figures.scenario_ms = Date.now() - started;
    results.push(result);
  } catch (err) {
    options.log(`${scenario.name}: FAILED to run: ${(err as Error).stack ?? String(err)}`);
    results.push({
      scenario: scenario.name,
      offered: 0,
      acknowledged: 0,
      stored: 0,
      projected: 0,
      lost: 0,
      duplicated: 0,
      checks: [{ name: 'scenario ran', ok: false, detail: (err as Error).message }],
      figures: {},
    });
  }
}

const columns = ['scenario', 'offered', 'acknowledged', 'stored', 'projected', 'lost', 'duplicated', 'result'] as const;
const rows = results.map((r) =>
  [r.scenario, r.offered, r.acknowledged, r.stored, r.projected, r.lost, r.duplicated, failed(r) ? 'FAIL' : 'ok'].map(
    String,
  ),
);
const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: readonly string[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
process.stdout.write(`\n${line(columns)}\n${rows.map(line).join('\n')}\n\n`);
for (const r of results) {
  process.stdout.write(
    `${r.scenario}: ${Object.entries(r.figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}\n`,
  );
  for (const c of r.checks)
    process.stdout.write(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.detail ? ` (${c.detail})` : ''}\n`);
}
process.stdout.write(
  `${JSON.stringify({ short, scenarios: results.map((r) => ({ ...r, checks: undefined, ok: !failed(r) })) })}\n`,
);
// kafkajs can leave retry timers behind after a broker outage; the run is over.
process.exit(results.length > 0 && !results.some(failed) ? 0 : 1);
