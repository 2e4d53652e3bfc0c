import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { REPO_ROOT } from './harness.js';
import { parseLogLines, type LogLine } from './logs.js';

export type ServiceName = 'api' | 'relay' | 'projector';
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

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

/** SIGKILLs every child this process started that still runs (a harness interrupted by Ctrl-C). */
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
 * A node script run as a real child process — a service (`ServiceProcess.start`, as in production) or a command
 * (`ServiceProcess.spawn`, e.g. the CLI). Its stdout is kept whole (pino JSON lines: `logLines()`), the last few
 * hundred lines of both streams for waiting and failure messages; it can be stopped (SIGTERM) or killed (SIGKILL).
 */
export class ServiceProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<ExitStatus>;
  private stdout = '';
  private listeners: ((line: string) => void)[] = [];
  private status: ExitStatus | undefined;

  private constructor(
    readonly name: string,
    readonly env: Record<string, string>,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.status = { code, signal };
        resolve(this.status);
      }),
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        if (this.lines.length > 500) this.lines.shift();
        for (const l of this.listeners) l(line);
      });
    }
  }

  /** Runs `node script ...args` with `env` on top of this process's environment; does not wait for anything. */
  static spawn(
    name: string,
    script: string,
    env: Record<string, string>,
    args: readonly string[] = [],
  ): ServiceProcess {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    return new ServiceProcess(name, env, child);
  }

  /** Starts a service and waits until it says it is ready. */
  static async start(name: ServiceName, env: Record<string, string>, timeoutMs = 60_000): Promise<ServiceProcess> {
    const service = ServiceProcess.spawn(name, path.join(REPO_ROOT, ENTRY[name]), env);
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
    return this.status === undefined;
  }

  /** Everything written to stdout so far. */
  get output(): string {
    return this.stdout;
  }

  /** stdout's pino JSON lines, parsed. */
  logLines(): LogLine[] {
    return parseLogLines(this.stdout);
  }

  /** The port of Fastify's "Server listening at http://host:port" line (an API started with PORT=0). */
  async listeningPort(timeoutMs?: number): Promise<number> {
    await this.waitForLog('Server listening at http://', timeoutMs);
    const line = this.logLines().find(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://'),
    )!;
    return Number(new URL(String(line.msg).slice('Server listening at '.length)).port);
  }

  /** Resolves when a log line whose message starts with `message` appears (or already has); fails if the process exits first. */
  waitForLog(message: string, timeoutMs = 60_000): Promise<void> {
    const matches = (line: string) => {
      try {
        const { msg } = JSON.parse(line) as { msg?: unknown };
        return typeof msg === 'string' && msg.startsWith(message);
      } catch {
        return false;
      }
    };
    if (this.lines.some(matches)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
        if (err) reject(err);
        else resolve();
      };
      const listener = (line: string) => {
        if (matches(line)) done();
      };
      const timer = setTimeout(
        () => done(new Error(`${this.name} did not log "${message}" within ${timeoutMs} ms:\n${this.tail()}`)),
        timeoutMs,
      );
      this.listeners.push(listener);
      void this.exited.then(({ code }) => {
        if (this.listeners.includes(listener))
          done(new Error(`${this.name} exited (${code}) before logging "${message}":\n${this.tail()}`));
      });
    });
  }

  /** The last log lines, for failure messages. */
  tail(n = 20): string {
    return this.lines.slice(-n).join('\n');
  }

  /** SIGKILL: no shutdown code runs, as when a machine or container dies. */
  async kill(): Promise<ExitStatus> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** SIGTERM and wait for the graceful stop; SIGKILL if it takes longer than `graceMs`. */
  async stop(graceMs = 20_000): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const status = await this.exited;
    clearTimeout(timer);
    return status;
  }
}
