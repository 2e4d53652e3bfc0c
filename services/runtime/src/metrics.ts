import http from 'node:http';
import type { Admin, Kafka } from 'kafkajs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Sql } from './db.js';

/**
 * One Prometheus registry per process. Labels never carry participant data: HTTP routes are recorded by
 * their pattern (`/v1/participants/:ref`), never by the URL asked for.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

const SCRAPE_TIMEOUT_MS = 2_000;

function withTimeout<T>(p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), SCRAPE_TIMEOUT_MS).unref()),
  ]);
}

export const httpRequests = new Counter({
  name: 'vru_http_requests_total',
  help: 'HTTP requests answered, by route pattern, method and status.',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [metricsRegistry],
});
export const httpRequestDuration = new Histogram({
  name: 'vru_http_request_duration_seconds',
  help: 'HTTP request duration in seconds, by route pattern, method and status.',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [metricsRegistry],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});
export const eventsAppended = new Counter({
  name: 'vru_events_appended_total',
  help: 'Events accepted into the event store, by type.',
  labelNames: ['type'] as const,
  registers: [metricsRegistry],
});
export const relayPublished = new Counter({
  name: 'vru_relay_published_total',
  help: 'Events published to Kafka by the outbox relay.',
  registers: [metricsRegistry],
});
export const relayErrors = new Counter({
  name: 'vru_relay_errors_total',
  help: 'Failed relay publishing attempts (each is retried).',
  registers: [metricsRegistry],
});
export const projectionPosition = new Gauge({
  name: 'vru_projection_position',
  help: 'Highest event-log position seen applied by this process, per projection.',
  labelNames: ['projection'] as const,
  registers: [metricsRegistry],
});
export const projectionEventsApplied = new Counter({
  name: 'vru_projection_events_applied_total',
  help: 'Events newly applied to a projection by this process.',
  labelNames: ['projection'] as const,
  registers: [metricsRegistry],
});

export const rebuildEventsReplayed = new Gauge({
  name: 'vru_rebuild_events_replayed',
  help: 'Events replayed so far by the running (or last) rebuild of a projection.',
  labelNames: ['projection'] as const,
  registers: [metricsRegistry],
});
export const rebuildEventsTotal = new Gauge({
  name: 'vru_rebuild_events_total',
  help: 'Events in the log when the running (or last) rebuild of a projection started.',
  labelNames: ['projection'] as const,
  registers: [metricsRegistry],
});

export const auditTreeSize = new Gauge({
  name: 'vru_audit_tree_size',
  help: "Leaves in the audit log's Merkle tree, as last appended by this process.",
  registers: [metricsRegistry],
});
export const auditSignedTreeSize = new Gauge({
  name: 'vru_audit_signed_tree_size',
  help: 'Tree size of the last head this process signed.',
  registers: [metricsRegistry],
});
export const auditSignerAlarm = new Gauge({
  name: 'vru_audit_signer_alarm',
  help: '1 while the signer refuses to sign because the tree does not extend the last head it signed (a rewrite or truncation).',
  registers: [metricsRegistry],
});
export const auditSignerRefusals = new Counter({
  name: 'vru_audit_signer_refusals_total',
  help: 'Tree heads the signer refused to sign (not a consistent extension).',
  registers: [metricsRegistry],
});
export const auditVerificationProblems = new Gauge({
  name: 'vru_audit_verification_problems',
  help: 'Problems found by the last verification of the audit log against the pinned key.',
  registers: [metricsRegistry],
});
export const auditSpendDrift = new Gauge({
  name: 'vru_audit_spend_drift_grants',
  help: 'Grants whose spend read model differs from the spend re-computed from the log (last drift check).',
  registers: [metricsRegistry],
});
export const auditDriftChecks = new Counter({
  name: 'vru_audit_drift_checks_total',
  help: 'Drift checks run, by outcome (ok, drift, failed).',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});
export const projectorRejected = new Counter({
  name: 'vru_projector_messages_rejected_total',
  help: 'Messages a projector did not apply: not the event the store holds (forged or altered), or unreadable.',
  labelNames: ['projection', 'reason'] as const,
  registers: [metricsRegistry],
});
export const projectorStreamGaps = new Counter({
  name: 'vru_projector_stream_gaps_total',
  help: 'Events held back because an earlier version of their stream had not been applied yet (they are applied once it is).',
  labelNames: ['projection'] as const,
  registers: [metricsRegistry],
});

/** Records the HTTP metrics for one answered request; `route` must be the route pattern. */
export function recordHttpRequest(route: string | undefined, method: string, status: number, elapsedMs: number): void {
  const labels = { route: route ?? 'unmatched', method, status: String(status) };
  httpRequests.inc(labels);
  httpRequestDuration.observe(labels, elapsedMs / 1000);
}

/** Counts the accepted outcomes of an append by event type; returns the outcomes unchanged. */
export function countAppended<T extends { status: string }>(
  commands: readonly { definition: { type: string } }[],
  outcomes: T[],
): T[] {
  outcomes.forEach((o, i) => {
    if (o.status === 'accepted') eventsAppended.inc({ type: commands[i]!.definition.type });
  });
  return outcomes;
}

const highestPosition = new Map<string, bigint>();
/** Records one projected batch: events newly applied and the highest position it reached. */
export function recordProjected(projection: string, applied: number, positions: readonly string[]): void {
  if (applied > 0) projectionEventsApplied.inc({ projection }, applied);
  let max = highestPosition.get(projection) ?? 0n;
  for (const p of positions) if (BigInt(p) > max) max = BigInt(p);
  highestPosition.set(projection, max);
  projectionPosition.set({ projection }, Number(max));
}

let outboxSql: Sql | null = null;
/** Points the outbox gauges at a database (null stops collecting them). */
export function watchOutbox(sql: Sql | null): void {
  outboxSql = sql;
}
// Both outbox gauges are collected in parallel on a scrape; they share one query.
let outboxSample: Promise<{ backlog: number; age: number } | null> | null = null;
function sampleOutbox(): Promise<{ backlog: number; age: number } | null> {
  const sql = outboxSql;
  if (!sql) return Promise.resolve(null);
  outboxSample ??= withTimeout(sql<{ backlog: string; age: number | null }[]>`
      select count(*)::text as backlog, extract(epoch from now() - min(e.recorded_at))::float8 as age
      from outbox o join events e on e.position = o.position`)
    .then(([row]) => ({ backlog: Number(row?.backlog ?? 0), age: Math.max(0, row?.age ?? 0) }))
    // A scrape must not fail because the database is slow; the gauges keep their last values.
    .catch(() => null)
    .finally(() =>
      setTimeout(() => {
        outboxSample = null;
      }, 100).unref(),
    );
  return outboxSample;
}
new Gauge({
  name: 'vru_outbox_backlog',
  help: 'Events waiting in the outbox to be published.',
  registers: [metricsRegistry],
  async collect() {
    const s = await sampleOutbox();
    if (s) this.set(s.backlog);
  },
});
new Gauge({
  name: 'vru_outbox_oldest_age_seconds',
  help: 'Age of the oldest unpublished event in the outbox (0 when empty).',
  registers: [metricsRegistry],
  async collect() {
    const s = await sampleOutbox();
    if (s) this.set(s.age);
  },
});

interface LagSource {
  kafka: Kafka;
  topic: string;
  groups: Record<string, string>;
  admin?: Admin;
}
let lagSource: LagSource | null = null;
/**
 * Collects consumer lag (topic end offset minus committed offset, per projection and partition) on scrape.
 * `groups` maps projection name to consumer group id. Returns a function that stops collecting.
 */
export function watchConsumerLag(kafka: Kafka, topic: string, groups: Record<string, string>): () => Promise<void> {
  const source: LagSource = { kafka, topic, groups };
  lagSource = source;
  return async () => {
    if (lagSource === source) lagSource = null;
    await source.admin?.disconnect().catch(() => {});
  };
}
new Gauge({
  name: 'vru_consumer_lag',
  help: 'Messages on the topic not yet committed by a projection consumer group, per partition.',
  labelNames: ['projection', 'partition'] as const,
  registers: [metricsRegistry],
  async collect() {
    const source = lagSource;
    if (!source) return;
    try {
      const lag = await withTimeout(
        (async () => {
          if (!source.admin) {
            const admin = source.kafka.admin();
            await admin.connect();
            source.admin = admin;
          }
          const ends = await source.admin.fetchTopicOffsets(source.topic);
          const out: { projection: string; partition: string; value: number }[] = [];
          for (const [projection, groupId] of Object.entries(source.groups)) {
            const [committed] = await source.admin.fetchOffsets({ groupId, topics: [source.topic] });
            for (const end of ends) {
              const c = Number(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
              const from = c >= 0 ? c : Number(end.low);
              out.push({ projection, partition: String(end.partition), value: Math.max(0, Number(end.high) - from) });
            }
          }
          return out;
        })(),
      );
      this.reset();
      for (const l of lag) this.set({ projection: l.projection, partition: l.partition }, l.value);
    } catch {
      // Broker unreachable or slow: skip this scrape's lag rather than fail the scrape.
      const admin = source.admin;
      source.admin = undefined;
      await admin?.disconnect().catch(() => {});
    }
  },
});

export type MetricsServer = (() => Promise<void>) & { readonly port: number };

/** Serves `GET /metrics` (Prometheus text format) on its own port; resolves to a function that closes it. */
export async function serveMetrics(port: number, host: string): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metricsRegistry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return Object.assign(close, { port: typeof address === 'object' && address ? address.port : port });
}
