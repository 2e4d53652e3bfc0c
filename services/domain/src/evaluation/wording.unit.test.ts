import t from 'tap';
import type { DifferenceEstimate } from './estimate.js';
import { describeDifference, describeTooFewMatched, per100 } from './wording.js';

const estimate = (
  participants: number,
  comparison: number,
  lower: number,
  upper: number,
  significant: boolean,
): DifferenceEstimate => ({
  participants,
  comparison,
  difference: participants - comparison,
  standardError: 0,
  ci: { lower, upper },
  pValue: significant ? 0.01 : 0.4,
  significant,
});
const COMPARED = 'than in a matched comparison group of similar people who did not take part.';

t.test('a significant reduction, as the Justice Data Lab words it', async (t) => {
  t.equal(
    describeDifference('binary', estimate(0.3, 0.38, -0.14, -0.02, true), null),
    `For every 100 participants, between 2 and 14 fewer proven reoffenders ${COMPARED}`,
  );
  t.equal(
    describeDifference('frequency', estimate(0.8, 1.2, -0.652, -0.148, true), null),
    `For every 100 participants, between 15 and 65 fewer proven reoffences ${COMPARED}`,
  );
});

t.test('a significant increase is said as plainly', async (t) => {
  t.equal(
    describeDifference('binary', estimate(0.45, 0.35, 0.004, 0.196, true), null),
    `For every 100 participants, between 0.4 and 20 more proven reoffenders ${COMPARED}`,
  );
});

t.test('inconclusive: never said as failure, with the participants needed', async (t) => {
  t.equal(
    describeDifference('binary', estimate(0.3, 0.34, -0.12, 0.04, false), 240),
    'Inconclusive: for every 100 participants, the difference lies between 12 fewer and 4 more proven reoffenders than in a matched ' +
      'comparison group of similar people who did not take part, so it may be no difference at all. ' +
      'This does not mean the programme does ' +
      'not work: about 240 more participants would be needed to tell whether a difference as large as the one seen is real ' +
      '(80% power, 5% significance).',
  );
  t.match(
    describeDifference('frequency', estimate(0.5, 0.5, -0.2, 0.2, false), null),
    /the two groups' figures were the same, so more/,
  );
  t.match(
    describeDifference('binary', estimate(0.3, 0.36, -0.13, 0.01, false), 0),
    /a study of this size would usually detect/,
  );
});

t.test('too few matched participants', async (t) => {
  t.equal(
    describeTooFewMatched(60),
    'No estimate: fewer than 60 participants could be matched to similar people in the comparison group, ' +
      "and an estimate needs at least 60 (the Justice Data Lab's minimum). " +
      'More participants are needed before the programme can be evaluated.',
  );
});

t.test('counts per 100', async (t) => {
  t.same([0, 0.04, 0.4, -0.94, 0.96, 2.5, -13.6].map(per100), ['0', '0.04', '0.4', '0.9', '1', '3', '14']);
});
