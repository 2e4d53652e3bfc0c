import assert from 'node:assert/strict';
import { DomainRuleError, type Decider } from '../decision.js';

/**
 * Given/when/then for deciders: `spec(decider).given(history).when(command).then(events)` or `.thenThrows(...rules)`.
 * Runner-free: a mismatch throws an AssertionError, which any test runner reports as a failure.
 */
export function spec<State, Event, Command>(decider: Decider<State, Event, Command>) {
  return {
    given: (history: Event[]) => ({
      when: (command: Command) => {
        const run = () => decider.decide(command, history.reduce(decider.evolve, decider.initialState()));
        return {
          /** The command is accepted and appends exactly these events. */
          then(expected: Event[]): Event[] {
            const events = run();
            assert.deepStrictEqual(events, expected);
            return events;
          },
          /** The command is refused with exactly these rules (in any order); returns the error for further checks. */
          thenThrows(...rules: [string, ...string[]]): DomainRuleError {
            let events: Event[];
            try {
              events = run();
            } catch (err) {
              if (!(err instanceof DomainRuleError)) throw err;
              assert.deepStrictEqual(
                err.violations.map((v) => v.rule).sort(),
                [...rules].sort(),
                `rules broken: ${err.message}`,
              );
              return err;
            }
            assert.fail(`expected ${rules.join(', ')} but the command was accepted with ${events.length} event(s)`);
          },
        };
      },
    }),
  };
}
