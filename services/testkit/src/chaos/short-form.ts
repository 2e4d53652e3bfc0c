import type { Test } from 'tap';
import { failed, scenarios } from './scenarios.js';

/**
 * Runs the short form of the named scenarios (the same code as scripts/chaos, fewer events, shorter pauses)
 * as tap subtests. Test files hold two scenarios at most, to stay inside tap's per-file timeout.
 */
export async function runShortScenarios(t: Test, names: string[]): Promise<void> {
  for (const name of names) {
    const scenario = scenarios.find((s) => s.name === name);
    if (!scenario) throw new Error(`no scenario ${name}`);
    await t.test(`${scenario.name}: ${scenario.describe}`, async (t) => {
      const result = await scenario.run({ short: true, log: (line) => t.comment(line) });
      t.equal(result.lost, 0, 'nothing acknowledged was lost');
      t.equal(result.duplicated, 0, 'nothing was stored or counted twice');
      t.equal(result.acknowledged, result.offered, 'every offered event was acknowledged in the end');
      for (const check of result.checks) t.ok(check.ok, check.name, { detail: check.detail });
      t.notOk(failed(result), 'the scenario passed');
    });
  }
  // kafkajs can keep retry timers alive after a broker outage; every stack is closed by now.
  t.teardown(() => setTimeout(() => process.exit(), 3_000).unref());
}
