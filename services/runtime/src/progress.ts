import type { Logger } from './log.js';

export interface ProgressState {
  label: string;
  done: number;
  /** Unknown (e.g. a log still growing) when undefined: no bar, no percentage. */
  total?: number;
  elapsedMs: number;
}

const number = (n: number) => n.toLocaleString('en-GB');

/** Items per second so far (0 before any time has passed). */
export function progressRate(state: ProgressState): number {
  return state.elapsedMs > 0 ? (state.done * 1000) / state.elapsedMs : 0;
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The terminal line: `label [#####-----] 1,200/5,000 24% 812/s eta 5s` (`width` = bar cells). */
export function formatProgressBar(state: ProgressState, width = 30): string {
  const rate = progressRate(state);
  const parts = [state.label];
  if (state.total !== undefined && state.total > 0) {
    const fraction = Math.min(1, state.done / state.total);
    const filled = Math.round(fraction * width);
    parts.push(
      `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`,
      `${number(state.done)}/${number(state.total)}`,
      `${Math.floor(fraction * 100)}%`,
    );
  } else {
    parts.push(number(state.done));
  }
  parts.push(`${number(Math.round(rate))}/s`);
  if (state.total !== undefined && rate > 0 && state.done < state.total)
    parts.push(`eta ${duration((state.total - state.done) / rate)}`);
  return parts.join(' ');
}

/** The fields of a periodic log line (when stdout is not a terminal). */
export function progressFields(state: ProgressState): Record<string, number | string> {
  return {
    task: state.label,
    done: state.done,
    ...(state.total !== undefined
      ? {
          total: state.total,
          percent: state.total > 0 ? Math.floor((Math.min(state.done, state.total) / state.total) * 100) : 100,
        }
      : {}),
    perSecond: Math.round(progressRate(state) * 10) / 10,
    elapsedSeconds: Math.round(state.elapsedMs / 100) / 10,
  };
}

export interface Progress {
  /** Adds `n` finished items (and updates the total when it became known). */
  advance(n?: number, total?: number): void;
  /** Final line: the count and the overall rate. */
  finish(): ProgressState;
}

/**
 * Progress of a long-running command: a redrawn bar when `stream` is a terminal, otherwise a log line
 * with counts and rate every `intervalMs` (and at the end), so CI logs and journald stay readable.
 */
/** Where the bar is drawn: a terminal has isTTY and columns; a pipe or a file has neither. */
export type ProgressStream = Pick<NodeJS.WritableStream, 'write'> & { isTTY?: boolean; columns?: number };

export function startProgress(options: {
  label: string;
  total?: number;
  logger: Logger;
  stream?: ProgressStream;
  intervalMs?: number;
  now?: () => number;
}): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const tty = stream.isTTY === true;
  const interval = options.intervalMs ?? (tty ? 100 : 5_000);
  const started = now();
  let last = started;
  const state: ProgressState = { label: options.label, done: 0, total: options.total, elapsedMs: 0 };
  const show = (final: boolean) => {
    state.elapsedMs = now() - started;
    if (tty) {
      const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - state.label.length - 45));
      stream.write(`\r\x1b[2K${formatProgressBar(state, width)}${final ? '\n' : ''}`);
    } else {
      options.logger.info(progressFields(state), final ? 'finished' : 'progress');
    }
  };
  return {
    advance(n = 1, total) {
      state.done += n;
      if (total !== undefined) state.total = total;
      if (now() - last >= interval) {
        last = now();
        show(false);
      }
    },
    finish() {
      show(true);
      return { ...state };
    },
  };
}
