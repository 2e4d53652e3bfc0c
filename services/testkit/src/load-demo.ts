import { mkdir, writeFile } from 'node:fs/promises';
import { createApiKey, upsertProgramme, upsertProvider } from '@vru/api';
import { createLogger, loadConfig, openDatabase, startProgress } from '@vru/runtime';
import {
  DEMO_FROZEN_RETURN,
  DEMO_PROGRAMMES,
  DEMO_PROVIDERS,
  demoAfterFreeze,
  demoPhases,
  demoSubmissions,
  type DemoSubmission,
} from './demo-data.js';

/**
 * Loads the demo data set through the running API (never straight into the database), so it exercises
 * validation, rules, idempotency and the pipeline like a real provider would. Safe to run twice.
 */
const config = loadConfig();
const apiUrl = config.API_URL ?? `http://${config.HOST}:${config.PORT}`;
const stateDir = process.env.VRU_STATE_DIR ?? new URL('../../../.run/', import.meta.url).pathname;
const logger = createLogger('warn', 'demo');
const sql = await openDatabase(config, logger, 'vru-demo', { max: 2 });

for (const p of DEMO_PROVIDERS) await upsertProvider(sql, p.providerId, p.name);
for (const p of DEMO_PROGRAMMES) await upsertProgramme(sql, { ...p, endsOn: null });
const key = async (role: 'provider' | 'commissioner' | 'funder' | 'data-partner' | 'admin', providerId?: string) =>
  (await createApiKey(sql, config.API_KEY_PEPPER, { role, providerId: providerId ?? null, label: 'demo' })).apiKey;
const keys: Record<string, string> = {
  commissioner: await key('commissioner'),
  funder: await key('funder'),
  'data-partner': await key('data-partner'),
  admin: await key('admin'),
};
for (const p of DEMO_PROVIDERS) keys[`provider:${p.providerId}`] = await key('provider', p.providerId);
await sql.end();

const keyFor = (s: DemoSubmission) => keys[s.as === 'provider' ? `provider:${s.providerId}` : s.as]!;

async function post(path: string, body: unknown, apiKey: string) {
  const res = await fetch(`${apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function get(path: string, apiKey: string) {
  const res = await fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The highest log position a batch stored (or found already stored). */
const highestPosition = (results: readonly { position?: string }[]) =>
  results.reduce((max, r) => (r.position !== undefined && BigInt(r.position) > max ? BigInt(r.position) : max), 0n);

const all = demoSubmissions();
const totals = { accepted: 0, duplicates: 0, rejected: 0 };
// A bar on a terminal (stderr: stdout is read by scripts/up), log lines with counts and rate otherwise.
const progress = startProgress({
  label: 'demo events',
  total: all.length,
  logger: createLogger(config.LOG_LEVEL, 'demo'),
});
// Grants first, then each provider's participants and spend in order, then data partners' offence records.
const phases = demoPhases(all);
let lastPosition = 0n;
for (const phase of phases) {
  for (let i = 0; i < phase.length; i += 500) {
    const chunk = phase.slice(i, i + 500);
    const res = await post('/v1/events/batch', { events: chunk.map((s) => s.body) }, keyFor(chunk[0]!));
    if (res.status !== 200) throw new Error(`batch refused: ${res.status} ${JSON.stringify(res.body)}`);
    totals.accepted += res.body.accepted as number;
    totals.duplicates += res.body.duplicates as number;
    totals.rejected += res.body.rejected as number;
    lastPosition = [lastPosition, highestPosition(res.body.results as { position?: string }[])].reduce((a, b) =>
      b > a ? b : a,
    );
    for (const r of res.body.results as { status: string; problem?: { code: string; errors?: unknown } }[]) {
      if (r.status === 'rejected') process.stdout.write(`demo: unexpected rejection ${JSON.stringify(r.problem)}\n`);
    }
    progress.advance(chunk.length);
  }
}
// The realistic mistakes, one by one, as a provider's system would send them.
for (const s of all.filter((x) => x.bad)) {
  const res = await post('/v1/events', s.body, keyFor(s));
  progress.advance(1);
  totals.rejected += res.status >= 400 ? 1 : 0;
  process.stdout.write(`demo: ${String(s.body.type)} refused as expected: ${res.status} ${String(res.body.code)}\n`);
}
progress.finish();

// A frozen return, then late data and a correction: what a VRU explains when last quarter's figures change. The
// return is frozen once the quarterly return's read models have reached the demo's last event, and only once.
const commissioner = keys.commissioner!;
const query = new URLSearchParams(DEMO_FROZEN_RETURN.query).toString();
const frozenAlready = (
  (await get('/v1/returns', commissioner)).body.returns as { report: string; query: Record<string, string> }[]
).some((r) => r.report === DEMO_FROZEN_RETURN.report && new URLSearchParams(r.query).toString() === query);
if (!frozenAlready) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const report = await get(`/v1/reports/${DEMO_FROZEN_RETURN.report}?${query}`, commissioner);
    const positions = ((report.body.computedAt ?? []) as { position: string }[]).map((c) => BigInt(c.position));
    if (positions.length > 0 && positions.every((p) => p >= lastPosition)) break;
    if (Date.now() > deadline) throw new Error("the read models did not reach the demo's last event within 2 minutes");
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const frozen = await post('/v1/returns', DEMO_FROZEN_RETURN, commissioner);
  if (frozen.status !== 201) throw new Error(`demo freeze refused: ${frozen.status} ${JSON.stringify(frozen.body)}`);
  process.stdout.write(
    `demo: froze the ${DEMO_FROZEN_RETURN.report} for ${DEMO_FROZEN_RETURN.query.quarter} as return ${String(frozen.body.id)}\n`,
  );
}
const late = demoAfterFreeze();
const lateRes = await post('/v1/events/batch', { events: late.map((s) => s.body) }, keyFor(late[0]!));
if (lateRes.status !== 200) throw new Error(`late batch refused: ${lateRes.status} ${JSON.stringify(lateRes.body)}`);
totals.accepted += lateRes.body.accepted as number;
totals.duplicates += lateRes.body.duplicates as number;
process.stdout.write(
  `demo: ${String(lateRes.body.accepted)} events after the freeze (late submissions and a spend correction)\n`,
);
process.stdout.write(
  `demo: ${totals.accepted} accepted, ${totals.duplicates} duplicates (already loaded), ${totals.rejected} rejected\n`,
);
await mkdir(stateDir, { recursive: true });
await writeFile(`${stateDir}/demo-keys.json`, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
for (const [role, k] of Object.entries(keys)) process.stdout.write(`KEY ${role} ${k}\n`);
