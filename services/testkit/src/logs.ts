import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@vru/runtime';

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** Parses pino's JSON lines (anything else in the text, e.g. a stack trace on stderr, is skipped). */
export function parseLogLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a partial line at the end of a buffer
    }
  }
  return out;
}

/** A real pino logger whose JSON lines the test can read back. */
export function capturingLogger(level: string, name: string): { logger: Logger; lines: () => LogLine[] } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { logger: createLogger(level, name, sink), lines: () => parseLogLines(text) };
}
