import t from 'tap';
import type { EvaluationSubject } from './covariates.js';
import { disclosedImpact } from './disclosure.js';
import { evaluateImpact } from './evaluate.js';
import { publishableImpact } from './publishable.js';

/** The small-number rules on the impact result, played by a reader who wants a count or a rate the tables withhold. */

const AS_OF = '2027-01-01';
type Over = Partial<EvaluationSubject['covariates']>;
const reoffence = [{ offenceDate: '2025-05-01', provenDate: '2025-06-01', seriousViolence: false }];
const subject = (
  id: string,
  group: 'participant' | 'comparison',
  i: number,
  reoffends: boolean,
  over: Over = {},
): EvaluationSubject => ({
  id,
  group,
  covariates: {
    indexDate: '2025-01-01',
    ageAtIndex: 12 + (i % 9),
    gender: 'male',
    ethnicityGroup: i % 2 ? 'white' : 'black',
    area: i % 3 ? 'DE23' : 'DE22',
    priorOffences: i % 4,
    priorSeriousViolence: i % 5 === 0,
    priorCustody: false,
    ...over,
  },
  evaluationConsentWithdrawnOn: null,
  offences: reoffends ? reoffence : [],
});

type Reoffends = (i: number) => boolean;
const cohort = (
  participants: number,
  comparisons: number,
  participantReoffends: Reoffends,
  over: (i: number) => Over = () => ({}),
) => [
  ...Array.from({ length: participants }, (_, i) =>
    subject(`STREAM-${i}-c0ffee`, 'participant', i, participantReoffends(i), over(i)),
  ),
  ...Array.from({ length: comparisons }, (_, i) => subject(`PNC-PSEUDO-${i}-beef`, 'comparison', i + 1, i % 3 === 0)),
];

const disclose = (subjects: EvaluationSubject[], asOf = AS_OF) =>
  disclosedImpact(publishableImpact(evaluateImpact(subjects, asOf)));

t.test(
  'a well-populated result keeps its counts, rates and estimate; no group means in the balance table',
  async (t) => {
    const d = disclose(cohort(80, 200, (i) => i % 3 === 0));
    t.equal(d.estimate.status, 'estimated');
    t.equal(d.population.participants, 80);
    t.equal(d.matching!.matched, 80);
    if (d.estimate.status !== 'estimated') return;
    t.type(d.estimate.binary.matched.participants, 'number', "the participants' rate is shown");
    t.type(d.estimate.binary.matched.comparison, 'number');
    t.ok(d.balance!.covariates.length > 5);
    const json = JSON.stringify(d);
    t.notMatch(
      json,
      /participantMean|comparisonMean|varianceRatio|bins/,
      'no group mean, variance ratio or histogram count',
    );
    t.notMatch(json, /STREAM-|PNC-PSEUDO-/, 'no participant or comparison id');
  },
);

t.test(
  "three reoffenders among 80 matched participants: both groups' rates withheld, the difference kept",
  async (t) => {
    const d = disclose(cohort(80, 200, (i) => i % 27 === 0));
    if (d.estimate.status !== 'estimated') return t.fail('expected an estimate');
    t.equal(d.estimate.binary.matched.participants, null, '3 / 80 would give back the count 3');
    t.equal(
      d.estimate.binary.matched.comparison,
      null,
      'the other group too: it plus the difference would give the first back',
    );
    t.type(d.estimate.binary.matched.difference, 'number');
    t.type(d.estimate.binary.per100.lower, 'number');
    t.equal(d.estimate.frequency.matched.participants, null, '3 reoffences: the frequency is withheld as well');
    t.equal(d.estimate.binary.unadjusted!.participants, null, 'and the unadjusted rate over the same participants');
  },
);

t.test('3 matched and 2 unmatched: neither count is published, nor the reasons', async (t) => {
  const d = disclose(
    cohort(
      5,
      37,
      () => false,
      (i) => (i < 2 ? { gender: 'female' } : {}),
    ),
    '2026-01-01',
  );
  t.equal(d.population.participants, 5);
  t.same([d.matching!.matched, d.matching!.unmatched], [null, null]);
  t.same([d.matching!.unmatchedNoComparisonInStratum, d.matching!.unmatchedNoneWithinCaliper], [null, null]);
  t.equal(d.estimate.status, 'not-estimated');
  t.equal(d.estimate.matchedParticipants, null);
  t.notMatch(JSON.stringify(d), /"(matched|unmatched)":[1-4]\b/);
});

t.test('2 of 80 unmatched: the matched count is withheld wherever it is published', async (t) => {
  // Two women among the participants and none in the pool: nobody of their gender to match them to.
  const subjects = cohort(
    80,
    200,
    (i) => i % 3 === 0,
    (i) => (i < 2 ? { gender: 'female' } : {}),
  );
  const d = disclose(subjects);
  t.equal(d.population.participants, 80);
  t.same([d.matching!.matched, d.matching!.unmatched], [null, null], '78 and 2: the 2 primary, the 78 secondary');
  t.equal(d.estimate.status, 'estimated');
  t.equal(d.estimate.matchedParticipants, null, 'not given back by the estimate either (80 − 78 = 2)');
});
