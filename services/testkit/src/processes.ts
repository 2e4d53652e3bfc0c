import { spawn, type ChildProcess } from 'node:child_process';
import { parseLogLines, type LogLine } from './logs.js';

/** A node script running as a real child process, with its pino output (stdout) kept as JSON lines. */
export class ChildService {
  private stdout = '';
  private stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly name: string, readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => { this.stdout += chunk.toString(); });
    child.stderr!.on('data', (chunk: Buffer) => { this.stderr += chunk.toString(); });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Spawns `node script ...args` with `env` added to this process's environment. */
  static start(name: string, script: string, env: Record<string, string>, args: readonly string[] = []): ChildService {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    return new ChildService(name, child);
  }

  lines(): LogLine[] {
    return parseLogLines(this.stdout);
  }

  /** Everything written to stdout so far. */
  get output(): string {
    return this.stdout;
  }

  get errorOutput(): string {
    return this.stderr;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits for a log line matching `match` (a message or a predicate); fails early if the process exits. */
  async waitForLog(match: string | ((line: LogLine) => boolean), timeoutMs = 60_000): Promise<LogLine> {
    const test = typeof match === 'string' ? (l: LogLine) => l.msg === match : match;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines().find(test);
      if (found) return found;
      if (!this.running) throw new Error(`${this.name} exited before logging ${String(match)}:\n${this.stderr}${this.stdout.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not log ${String(match)} in time`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The port of Fastify's "Server listening at http://host:port" line (services started with PORT=0). */
  async listeningPort(timeoutMs?: number): Promise<number> {
    const line = await this.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://'), timeoutMs);
    return Number(new URL((line.msg as string).slice('Server listening at '.length)).port);
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }
}
