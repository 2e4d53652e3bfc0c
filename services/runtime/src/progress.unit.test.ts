import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger } from './log.js';
import { formatProgressBar, progressFields, startProgress } from './progress.js';

t.test('the terminal bar shows count, total, percentage, rate and time left', async (t) => {
  t.equal(
    formatProgressBar({ label: 'rebuild attendance', done: 1_200, total: 5_000, elapsedMs: 2_000 }, 10),
    'rebuild attendance [##--------] 1,200/5,000 24% 600/s eta 6s',
  );
  t.equal(
    formatProgressBar({ label: 'demo', done: 5_000, total: 5_000, elapsedMs: 4_000 }, 4),
    'demo [####] 5,000/5,000 100% 1,250/s',
  );
  t.equal(
    formatProgressBar({ label: 'import', done: 30, total: 100_000, elapsedMs: 3_000 }, 4),
    'import [----] 30/100,000 0% 10/s eta 2h46m',
  );
  t.equal(
    formatProgressBar({ label: 'import', done: 0, total: 10, elapsedMs: 0 }, 4),
    'import [----] 0/10 0% 0/s',
    'no rate, no eta before anything is done',
  );
  t.equal(
    formatProgressBar({ label: 'replay', done: 42, elapsedMs: 500 }),
    'replay 42 84/s',
    'no bar when the total is unknown',
  );
});

t.test('the log fields carry counts and rate', async (t) => {
  t.same(progressFields({ label: 'demo', done: 250, total: 1_000, elapsedMs: 2_500 }), {
    task: 'demo',
    done: 250,
    total: 1_000,
    percent: 25,
    perSecond: 100,
    elapsedSeconds: 2.5,
  });
  t.same(progressFields({ label: 'replay', done: 7, elapsedMs: 0 }), {
    task: 'replay',
    done: 7,
    perSecond: 0,
    elapsedSeconds: 0,
  });
});

function clock() {
  let ms = 0;
  return {
    now: () => ms,
    tick: (by: number) => {
      ms += by;
    },
  };
}

t.test('on a terminal the bar is redrawn in place and ends with a newline', async (t) => {
  const writes: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(c, _e, done) {
        writes.push(c.toString());
        done();
      },
    }),
    { isTTY: true, columns: 120 },
  );
  const c = clock();
  const progress = startProgress({
    label: 'load',
    total: 4,
    logger: createLogger('silent', 'x'),
    stream,
    intervalMs: 100,
    now: c.now,
  });
  progress.advance(1);
  t.equal(writes.length, 0, 'not redrawn more often than the interval');
  c.tick(100);
  progress.advance(1);
  c.tick(100);
  progress.advance(2);
  const final = progress.finish();
  t.equal(final.done, 4);
  t.equal(writes.length, 3);
  t.ok(
    writes.every((w) => w.startsWith('\r')),
    'each redraw returns to the start of the line',
  );
  t.match(writes[2], /load \[#+\] 4\/4 100% 20\/s\n$/);
});

t.test('elsewhere it logs a line per interval and a final line', async (t) => {
  let text = '';
  const logger = createLogger(
    'info',
    'x',
    new Writable({
      write(c: Buffer, _e, done) {
        text += c.toString();
        done();
      },
    }),
  );
  const notTty = new Writable({
    write(_c, _e, done) {
      done();
    },
  });
  const c = clock();
  const progress = startProgress({ label: 'rebuild', logger, stream: notTty, intervalMs: 5_000, now: c.now });
  for (let i = 0; i < 10; i++) {
    c.tick(1_000);
    progress.advance(100, 1_000);
  }
  progress.finish();
  const lines = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.same(
    lines.map((l) => [l.msg, l.done, l.perSecond]),
    [
      ['progress', 500, 100],
      ['progress', 1_000, 100],
      ['finished', 1_000, 100],
    ],
  );
  t.equal(lines[2].total, 1_000);
});
