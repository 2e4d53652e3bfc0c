import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { REPO_ROOT } from './harness.js';

export type ServiceName = 'api' | 'relay' | 'projector';

const ENTRY: Record<ServiceName, string> = {
  api: 'services/api/dist/server.js',
  relay: 'services/relay/dist/main.js',
  projector: 'services/projector/dist/main.js',
};

/** The log line each service writes once it is serving (pino `msg`). */
const READY: Record<ServiceName, string> = {
  api: 'Server listening at',
  relay: 'relay started',
  projector: 'projector started',
};

const live = new Set<ChildProcess>();

/** SIGKILLs every service this process started that still runs (a harness interrupted by Ctrl-C). */
export function killAllServices(): void {
  for (const child of live) child.kill('SIGKILL');
}

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A service run as a real child process (`node services/<name>/dist/...`), as in production: its JSON log lines
 * are kept (the last few hundred) so tests can wait for a message, and it can be stopped (SIGTERM) or killed (SIGKILL).
 */
export class ServiceProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private listeners: ((line: string) => void)[] = [];
  private exitCode: number | null | undefined;

  private constructor(readonly name: ServiceName, readonly env: Record<string, string>, private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      this.exitCode = code ?? (signal ? null : 0);
      resolve(code);
    }));
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        if (this.lines.length > 500) this.lines.shift();
        for (const l of this.listeners) l(line);
      });
    }
  }

  /** Starts the service with `env` on top of this process's environment and waits until it says it is ready. */
  static async start(name: ServiceName, env: Record<string, string>, timeoutMs = 60_000): Promise<ServiceProcess> {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, ENTRY[name])], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    const service = new ServiceProcess(name, env, child);
    try {
      await service.waitForLog(READY[name], timeoutMs);
    } catch (err) {
      await service.kill();
      throw err;
    }
    return service;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Resolves when a log line whose message starts with `message` appears (or already has). */
  waitForLog(message: string, timeoutMs = 60_000): Promise<void> {
    const matches = (line: string) => {
      try {
        return String((JSON.parse(line) as { msg?: unknown }).msg ?? '').startsWith(message);
      } catch {
        return false;
      }
    };
    if (this.lines.some(matches)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
        void this.exited.then(() => {}); // keep the exit promise observed
        if (err) reject(err); else resolve();
      };
      const listener = (line: string) => { if (matches(line)) done(); };
      const timer = setTimeout(() => done(new Error(`${this.name} did not log "${message}" within ${timeoutMs} ms:\n${this.tail()}`)), timeoutMs);
      this.listeners.push(listener);
      void this.exited.then((code) => { if (this.listeners.includes(listener)) done(new Error(`${this.name} exited (${code}) before logging "${message}":\n${this.tail()}`)); });
    });
  }

  /** The last log lines, for failure messages. */
  tail(n = 20): string {
    return this.lines.slice(-n).join('\n');
  }

  /** SIGKILL: no shutdown code runs, as when a machine or container dies. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait for the graceful stop; SIGKILL if it takes longer than `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
