import t from 'tap';
import { failed, scenarios } from './chaos/scenarios.js';

// Issue 8, scale-out on the real engine: projector instances sharing a group, two APIs on one store, two relays.
// The same scenarios run in scripts/chaos with more events.
const SCALE_OUT = ['projectors-scaled-out', 'two-apis', 'relay-takeover'];

for (const scenario of scenarios.filter((s) => SCALE_OUT.includes(s.name))) {
  await t.test(`${scenario.name}: ${scenario.describe}`, async (t) => {
    const result = await scenario.run({ short: true, log: (line) => t.comment(line) });
    t.equal(result.lost, 0, 'nothing acknowledged was lost');
    t.equal(result.duplicated, 0, 'nothing was stored or counted twice');
    for (const check of result.checks) t.ok(check.ok, check.name, { detail: check.detail });
    t.notOk(failed(result));
  });
}

t.teardown(() => setTimeout(() => process.exit(), 3_000).unref());
t.end();
