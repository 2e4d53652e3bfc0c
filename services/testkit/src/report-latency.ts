import { performance } from 'node:perf_hooks';
import { atConsistentPosition } from '@vru/api';
import { projections, rebuildProjections, storedTableOf } from '@vru/projector';
import { DEMO_EVALUATION_COHORT } from './demo-data.js';
import { loadDemo } from './demo-stack.js';
import { Harness } from './index.js';

/**
 * Latency of every report at one consistent position on the demo data, and what the snapshot itself costs
 * (a repeatable-read read-only transaction and the checkpoint read); then each report asAt one position earlier
 * (the rows true then, filtered from the versioned read models): the first request and the next ones; then the
 * rebuild of every read model from the demo log, three times (the projector's write cost). Printed for
 * docs/metrics.md ("Positions and as-at"). Run by hand on the real services: node services/testkit/dist/report-latency.js (DATABASE_URL, KAFKA_BROKERS).
 */
const ROUNDS = Number(process.env.ROUNDS ?? 30);
const h = await Harness.start();
try {
  await h.startRelay();
  await h.startProjectors();
  const loaded = Date.now();
  const { keys, accepted } = await loadDemo(h);
  console.log(`demo data: ${accepted} events, loaded and projected in ${((Date.now() - loaded) / 1000).toFixed(1)} s`);

  const stats = (ms: number[]) => {
    const sorted = [...ms].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return `median ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms`;
  };
  const time = async (run: () => Promise<unknown>) => {
    await run();
    const ms: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now();
      await run();
      ms.push(performance.now() - started);
    }
    return stats(ms);
  };

  const readModels = [
    'attendance',
    'participants',
    'outcomes',
    'offences',
    'spend',
    'submissions',
    'comparisons',
  ] as const;
  console.log(`a statement on the pool (select 1): ${await time(() => h.sql`select 1`)}`);
  console.log(
    `an empty report at a consistent position (7 read models, its position recorded as published): ${await time(() => atConsistentPosition(h.sql, { keyId: 'latency', role: 'commissioner', providerId: null }, readModels, {}, async () => null))}`,
  );

  const { cohortFrom, cohortTo } = DEMO_EVALUATION_COHORT;
  const reports = [
    '/v1/reports/attendance?from=2025-04-01&to=2026-03-31',
    '/v1/reports/engagement?from=2025-04-01&to=2026-03-31',
    '/v1/reports/outcomes?from=2025-04-01&to=2026-03-31',
    `/v1/reports/reoffending?cohortFrom=${cohortFrom}&cohortTo=${cohortTo}`,
    '/v1/reports/spend',
    '/v1/reports/quarterly-return?quarter=2026Q1',
    '/v1/reports/performance',
    '/v1/reports/data-quality',
    `/v1/reports/impact?programmeId=mentoring-derby&cohortFrom=${cohortFrom}&cohortTo=${cohortTo}`,
  ];
  for (const url of reports) {
    const first = await h.getReport(url, keys.commissioner);
    const { position } = first.body as { position: string };
    if (first.status !== 200) throw new Error(`${url} answered ${first.status}`);
    console.log(
      `${url.split('?')[0]} at ${position} (commissioner): ${await time(() => h.get(url, keys.commissioner))}`,
    );
  }
  for (const url of reports) {
    const current = (await h.getReport(url, keys.commissioner)).body as { position: string };
    const at = (BigInt(current.position) - 1n).toString();
    const earlier = `${url}${url.includes('?') ? '&' : '?'}asAt=${at}`;
    // Standing for a report answered at that position earlier: across providers asAt is answered only at published positions.
    await h.sql`insert into published_positions (position) values (${at}) on conflict do nothing`;
    const started = performance.now();
    const first = await h.getReport(earlier, keys.commissioner);
    if (first.status !== 200) throw new Error(`${earlier} answered ${first.status}`);
    const firstMs = performance.now() - started;
    const asAt = first.body as { position: string; computedAt: unknown[] };
    console.log(
      `${url.split('?')[0]} asAt=${asAt.position}: first ${firstMs.toFixed(0)} ms (${asAt.computedAt.length} read models), ` +
        `then ${await time(() => h.get(earlier, keys.commissioner))}`,
    );
  }
  const rebuilds: number[] = [];
  for (let i = 0; i < 3; i++)
    rebuilds.push((await rebuildProjections(h.sql, projections, h.logger, { vault: h.vault })).ms);
  console.log(`rebuild of every read model from the demo log: ${rebuilds.join(', ')} ms`);
  for (const p of projections) {
    for (const table of p.tables) {
      const [row] = await h.sql.unsafe<{ current: number; versions: number }[]>(
        `select (select count(*)::int from rm_${p.name}.${table.name}) as current, (select count(*)::int from rm_${p.name}.${storedTableOf(table)}) as versions`,
      );
      console.log(`${p.name}.${table.name}: ${row!.current} current rows, ${row!.versions} versions`);
    }
  }
} finally {
  await h.close();
}
