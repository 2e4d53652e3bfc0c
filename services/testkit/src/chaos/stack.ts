import { compareWithRebuild, projections, type ProjectionDifference } from '@vru/projector';
import { Harness } from '../harness.js';
import { freePort, ServiceProcess } from '../processes.js';

/**
 * One scenario's system: its own database and topic (through the Harness), and the API, relay and projector
 * as real child processes that the scenario kills and restarts.
 */
export class ChaosStack {
  readonly services = new Set<ServiceProcess>();
  /** Every process started, running or not (their last log lines explain a failure). */
  readonly started: ServiceProcess[] = [];

  private constructor(
    readonly h: Harness,
    private readonly serviceEnv: Record<string, string>,
  ) {}

  static async start(options: { partitions?: number; env?: Record<string, string> } = {}): Promise<ChaosStack> {
    const h = await Harness.start({ partitions: options.partitions, env: options.env });
    const c = h.config;
    const serviceEnv: Record<string, string> = {
      ...options.env,
      DATABASE_URL: c.DATABASE_URL,
      KAFKA_BROKERS: c.KAFKA_BROKERS,
      KAFKA_TOPIC: c.KAFKA_TOPIC,
      KAFKA_CLIENT_ID: c.KAFKA_CLIENT_ID,
      PROJECTOR_GROUP_PREFIX: c.PROJECTOR_GROUP_PREFIX,
      // A killed projector instance hands its partitions over after this long (the broker's minimum is 6 s).
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      API_KEY_PEPPER: c.API_KEY_PEPPER,
      PSEUDONYM_SECRET: c.PSEUDONYM_SECRET,
      LOG_LEVEL: 'info',
      RELAY_POLL_MS: '50',
      API_METRICS_PORT: '0',
      RELAY_METRICS_PORT: '0',
      // The scenarios drive one key far harder than a charity would; the limiter must not be what they measure.
      RATE_LIMIT_PER_MINUTE: '10000000',
      PROJECTOR_METRICS_PORT: '0',
      DATABASE_POOL_SIZE: '8',
    };
    return new ChaosStack(h, serviceEnv);
  }

  get key(): string {
    return this.h.keys.providerA;
  }

  private async launch(name: 'api' | 'relay' | 'projector', env: Record<string, string>): Promise<ServiceProcess> {
    const service = await ServiceProcess.start(name, { ...this.serviceEnv, ...env });
    this.services.add(service);
    this.started.push(service);
    void service.exited.then(() => this.services.delete(service));
    return service;
  }

  /** An API process; returns it with its base URL. Pass the port of a killed one to restart it in its place. */
  async startApi(port?: number): Promise<{ api: ServiceProcess; url: string; port: number }> {
    const p = port ?? (await freePort());
    const api = await this.launch('api', { PORT: String(p) });
    return { api, url: `http://127.0.0.1:${p}`, port: p };
  }

  startRelay(): Promise<ServiceProcess> {
    return this.launch('relay', {});
  }

  startProjector(only?: string[]): Promise<ServiceProcess> {
    return this.launch('projector', only ? { PROJECTIONS: only.join(',') } : {});
  }

  async count(query: string): Promise<number> {
    const [row] = await this.h.sql.unsafe<{ n: string }[]>(query);
    return Number(row?.n ?? 0);
  }

  /** events_applied of each projection's checkpoint (0 while its schema does not exist yet). */
  async projected(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const p of projections) {
      out[p.name] = await this.count(`select events_applied::text as n from rm_${p.name}.checkpoint`).catch(() => 0);
    }
    return out;
  }

  /** Waits until the outbox is empty and every projection has applied every stored event; returns how long it took. */
  async converged(timeoutMs = 180_000): Promise<number> {
    const started = Date.now();
    await this.h.waitFor(
      'outbox drained and read models caught up',
      async () => {
        if ((await this.count('select count(*)::text as n from outbox')) > 0) return undefined;
        const stored = await this.count('select count(*)::text as n from events');
        const applied = Object.values(await this.projected());
        return applied.every((n) => n >= stored) ? true : undefined;
      },
      timeoutMs,
    );
    return Date.now() - started;
  }

  /** Every read model compared with a fresh replay of the log (services/projector's rebuild code). */
  async differencesFromRebuild(): Promise<(ProjectionDifference & { projection: string })[]> {
    const out: (ProjectionDifference & { projection: string })[] = [];
    for (const p of projections) {
      for (const d of await compareWithRebuild(this.h.sql, p, this.h.vault)) out.push({ projection: p.name, ...d });
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.services].map((s) => s.kill()));
    await this.h.close({ keepProcess: true });
  }
}
