import t from 'tap';
import { reconnectDelaySeconds } from './db.js';

t.test('a closed connection reconnects within a second however many attempts have failed', async (t) => {
  for (const attempts of [0, 1, 5, 10, 100, 10_000]) {
    for (let i = 0; i < 50; i++) {
      const delay = reconnectDelaySeconds(attempts);
      t.ok(delay > 0 && delay <= 1, `after ${attempts} failed attempts: ${delay} s`);
    }
  }
  // The first attempts are quick: a restart of a few seconds costs no request more than it has to.
  t.ok(reconnectDelaySeconds(0) <= 0.05);
  t.ok(reconnectDelaySeconds(3) <= 0.4);
  t.end();
});
