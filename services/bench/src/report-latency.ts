import { Agent, Pool, fetch as undiciFetch } from 'undici';
import { percentile, round, sleep } from './stats.js';
import {
  commissionerSubmissions,
  comparisonSubmissions,
  providerSubmissions,
  reportProviders,
  type Submission,
} from './report-workload.js';

/**
 * The report-latency phase: the report workload sent through the API's batch endpoint, then every report and the
 * dashboard overview asked in interleaved rounds (one request at a time, each report once per round), with
 * /healthz asked every 50 ms throughout to show whether a report blocks other requests.
 */
export interface ReportKeys {
  commissioner: string;
  dataPartner: string;
  providers: Record<string, string>;
}

const BATCH = 500;

async function postBatch(pool: Pool, apiKey: string, events: Submission[]): Promise<number> {
  const res = await pool.request({
    method: 'POST',
    path: '/v1/events/batch',
    body: JSON.stringify({ events }),
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
  });
  const text = await res.body.text();
  if (res.statusCode !== 200)
    throw new Error(`report workload batch answered ${res.statusCode}: ${text.slice(0, 300)}`);
  const answer = JSON.parse(text) as {
    accepted: number;
    duplicates: number;
    results: { status: string; problem?: unknown }[];
  };
  const refused = answer.results.find((r) => r.status === 'rejected');
  if (refused) throw new Error(`report workload event refused: ${JSON.stringify(refused.problem).slice(0, 400)}`);
  return answer.accepted + answer.duplicates;
}

/** Sends about `events` events: the commissioner's grants, every provider's journeys (4 batches in flight), then offences and the comparison pool. */
export async function loadReportWorkload(
  url: string,
  keys: ReportKeys,
  run: string,
  events: number,
  say: (line: string) => void,
): Promise<number> {
  const pool = new Pool(url, { connections: 4, pipelining: 1, keepAliveTimeout: 30_000 });
  let sent = 0;
  try {
    const commissioner = commissionerSubmissions(run);
    // Stored counts are added after each await, never as `sent += await …` (that reads `sent` before the wait).
    const send = async (apiKey: string, events: Submission[]) => {
      const n = await postBatch(pool, apiKey, events);
      sent += n;
    };
    for (let i = 0; i < commissioner.length; i += BATCH)
      await send(keys.commissioner, commissioner.slice(i, i + BATCH));
    const providers = reportProviders();
    const offences: Submission[] = [];
    const perProvider = Math.ceil(events / providers.length);
    const started = performance.now();
    let next = 0;
    let lastSaid = started;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let p = next++; p < providers.length; p = next++) {
          const providerId = providers[p]!;
          let batch: Submission[] = [];
          for (const s of providerSubmissions(run, providerId, perProvider, offences)) {
            batch.push(s);
            if (batch.length < BATCH) continue;
            await send(keys.providers[providerId]!, batch);
            batch = [];
            if (performance.now() - lastSaid > 10_000) {
              lastSaid = performance.now();
              say(`  report workload: ${sent} events in ${round((lastSaid - started) / 1000)} s`);
            }
          }
          if (batch.length > 0) await send(keys.providers[providerId]!, batch);
        }
      }),
    );
    const partner = [...offences, ...comparisonSubmissions(run, 1_500)];
    for (let i = 0; i < partner.length; i += BATCH) await send(keys.dataPartner, partner.slice(i, i + BATCH));
    return sent;
  } finally {
    await pool.close();
  }
}

/** A dashboard session for `apiKey`: the sign-in form's CSRF token and pre-session cookie, then the form posted. */
export async function dashboardCookie(url: string, apiKey: string): Promise<string> {
  const form = await fetch(`${url}/app/sign-in`, { redirect: 'manual' });
  const preSession = form.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  if (!csrf) throw new Error('no CSRF token on the sign-in page');
  const res = await fetch(`${url}/app/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ apiKey, _csrf: csrf }),
    headers: { cookie: preSession, 'content-type': 'application/x-www-form-urlencoded' },
  });
  await res.arrayBuffer();
  if (res.status !== 303) throw new Error(`dashboard sign-in answered ${res.status}`);
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

/** The reports as a commissioner asks them (every provider, disclosure control applied), with typical filters. */
export const REPORT_REQUESTS: { name: string; path: string; page?: boolean }[] = [
  { name: 'engagement', path: '/v1/reports/engagement?from=2025-04-01&to=2026-03-31' },
  { name: 'engagement by gender', path: '/v1/reports/engagement?from=2025-07-01&to=2025-09-30&groupBy=gender' },
  { name: 'reoffending', path: '/v1/reports/reoffending?cohortFrom=2025-04-01&cohortTo=2025-06-30' },
  { name: 'outcomes', path: '/v1/reports/outcomes?from=2025-04-01&to=2026-03-31' },
  { name: 'attendance', path: '/v1/reports/attendance?from=2025-07-01&to=2025-09-30' },
  { name: 'spend', path: '/v1/reports/spend?from=2025-04-01&to=2026-03-31' },
  { name: 'data quality', path: '/v1/reports/data-quality?from=2026-04-01&to=2027-03-31' },
  { name: 'quarterly return', path: '/v1/reports/quarterly-return?quarter=2025Q3' },
  { name: 'performance', path: '/v1/reports/performance?quarter=2025Q3' },
  { name: 'impact', path: '/v1/reports/impact?programmeId=bench-prog-01-1&cohortFrom=2025-04-01&cohortTo=2025-06-30' },
  { name: 'dashboard overview', path: '/app/overview?from=2025-04-01&to=2026-03-31', page: true },
];

export interface ReportLatency {
  name: string;
  first_ms: number | null;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  requests: number;
  errors: number;
  firstError?: string;
}

/**
 * A client that waits as long as a report takes (the request's own timeout still applies): the first request at a
 * new asAt position replays the log into copies of the read models it reads, which on a large log can take longer
 * than fetch's default wait for an answer.
 */
const patient = new Agent({ headersTimeout: 0, bodyTimeout: 0 });

/**
 * `rounds` rounds, each asking every report once in turn (so load drift hits them alike), after one warm-up round
 * that is not counted (its time, if answered, is each report's `first_ms`); /healthz every 50 ms meanwhile, its
 * latencies reported separately. With `asAt`, the reports (not the dashboard page, which has no asAt) are asked at that position: the
 * warm-up round's requests are then the first at it, which build the copies of the read models.
 */
export async function measureReportLatency(
  url: string,
  keys: ReportKeys,
  rounds: number,
  { timeoutMs = 180_000, asAt, only = [] }: { timeoutMs?: number; asAt?: bigint; only?: readonly string[] } = {},
): Promise<{
  reports: ReportLatency[];
  healthz: { p50_ms: number; p99_ms: number; max_ms: number; requests: number; slowest_during: string };
}> {
  const chosen = REPORT_REQUESTS.filter((r) => only.length === 0 || only.some((name) => r.name.includes(name)));
  const requests =
    asAt === undefined ? chosen : chosen.filter((r) => !r.page).map((r) => ({ ...r, path: `${r.path}&asAt=${asAt}` }));
  const samples = new Map<string, number[]>(requests.map((r) => [r.name, []]));
  const first = new Map<string, number>();
  const failures = new Map<string, { errors: number; first?: string }>();
  const health: number[] = [];
  // The request in flight when each /healthz was sent, so a slow one can be put down to the report that held it up.
  const healthDuring: string[] = [];
  let during = 'no report';
  let measuring = true;
  const healthLoop = (async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- cleared in the finally below while this loop awaits
    while (measuring) {
      const t0 = performance.now();
      const sentDuring = during;
      const res = await fetch(`${url}/healthz`).catch(() => null);
      await res?.arrayBuffer();
      health.push(performance.now() - t0);
      healthDuring.push(sentDuring);
      await sleep(50);
    }
  })();
  try {
    // Signed in while /healthz is asked: a process's first dashboard request (which loads what the charts need) counts.
    during = 'dashboard sign-in';
    const cookie = await dashboardCookie(url, keys.commissioner);
    for (let round = 0; round <= rounds; round++) {
      for (const r of requests) {
        during = round === 0 ? `${r.name} (warm-up)` : r.name;
        const t0 = performance.now();
        const res = await undiciFetch(`${url}${r.path}`, {
          headers: r.page ? { cookie } : { authorization: `Bearer ${keys.commissioner}` },
          signal: AbortSignal.timeout(timeoutMs),
          dispatcher: patient,
        }).catch((err: unknown) => ({ status: 0, text: async () => (err as Error).message }) as const);
        const body = await res.text();
        const ms = performance.now() - t0;
        if (res.status !== 200) {
          const f = failures.get(r.name) ?? { errors: 0 };
          f.errors += 1;
          f.first ??= `${res.status} ${body.slice(0, 300)}`;
          failures.set(r.name, f);
        } else if (round > 0) {
          samples.get(r.name)!.push(ms);
        } else {
          first.set(r.name, ms);
        }
      }
    }
  } finally {
    measuring = false;
    await healthLoop;
  }
  const summary = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return {
      p50_ms: round(percentile(sorted, 50), 1),
      p99_ms: round(percentile(sorted, 99), 1),
      max_ms: round(sorted.at(-1) ?? 0, 1),
      requests: sorted.length,
    };
  };
  return {
    reports: requests.map((r) => ({
      name: r.name,
      first_ms: first.has(r.name) ? round(first.get(r.name)!, 1) : null,
      ...summary(samples.get(r.name)!),
      errors: failures.get(r.name)?.errors ?? 0,
      ...(failures.get(r.name)?.first ? { firstError: failures.get(r.name)!.first } : {}),
    })),
    healthz: {
      ...summary(health),
      slowest_during: healthDuring[health.indexOf(Math.max(...health))] ?? 'no report',
    },
  };
}
