import t from 'tap';
import { failed, scenarios } from './chaos/scenarios.js';

// The short form of scripts/chaos (issue 9): the same scenario code, fewer events and shorter pauses.
// The 3-broker scenario and the scale-out ones run from scripts/chaos and scale-out.int.test.ts.
const SHORT = ['api-killed', 'relay-projector-killed', 'broker-stopped', 'postgres-stopped', 'duplicate-delivery'];

for (const scenario of scenarios.filter((s) => SHORT.includes(s.name))) {
  await t.test(`${scenario.name}: ${scenario.describe}`, async (t) => {
    const result = await scenario.run({ short: true, log: (line) => t.comment(line) });
    t.equal(result.lost, 0, 'nothing acknowledged was lost');
    t.equal(result.duplicated, 0, 'nothing was stored or counted twice');
    t.equal(result.acknowledged, result.offered, 'every offered event was acknowledged in the end');
    for (const check of result.checks) t.ok(check.ok, check.name, { detail: check.detail });
    t.notOk(failed(result));
  });
}

// kafkajs can keep retry timers alive after a broker outage; the harness of each scenario is closed by now.
t.teardown(() => setTimeout(() => process.exit(), 3_000).unref());
t.end();
