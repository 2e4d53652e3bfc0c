import t from 'tap';
import type { EvaluationSubject } from './covariates.js';
import { evaluateImpact } from './evaluate.js';
import { publishableImpact } from './publishable.js';

/**
 * Playing the attacker against what an evaluation publishes. The adversary reads the published result (a
 * commissioner's screen, a CSV, a leaked report) and wants to learn who is in it: a participant's stream id or a
 * data partner's comparison id, that someone from a rare area took part, or a small count hidden in the words.
 */

const AS_OF = '2027-01-01';
type Over = Partial<EvaluationSubject['covariates']>;
const subject = (id: string, group: 'participant' | 'comparison', i: number, over: Over = {}): EvaluationSubject => ({
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
  offences: i % 3 === 0 ? [{ offenceDate: '2025-05-01', provenDate: '2025-06-01', seriousViolence: false }] : [],
});

const cohort = (participants: number, comparisons: number, over: (i: number) => Over = () => ({})) => [
  ...Array.from({ length: participants }, (_, i) => subject(`STREAM-${i}-c0ffee`, 'participant', i, over(i))),
  ...Array.from({ length: comparisons }, (_, i) => subject(`PNC-PSEUDO-${i}-beef`, 'comparison', i + 1)),
];

t.test('no subject id leaves in the published result', async (t) => {
  const evaluation = evaluateImpact(cohort(80, 200), AS_OF);
  t.ok(
    JSON.stringify(evaluation).includes('STREAM-0-c0ffee'),
    'the full evaluation holds the ids (so this test can fail)',
  );
  const published = JSON.stringify(publishableImpact(evaluation));
  t.notMatch(published, /STREAM-|PNC-PSEUDO-/, 'no participant or comparison id');
  t.equal(
    publishableImpact(evaluation).matching!.counts.matched,
    evaluation.matching!.counts.matched,
    'the counts stay',
  );
});

t.test('a rare value is not named: someone from a rare area stays hidden in the pooled level', async (t) => {
  // One participant from NG10: the only person in the evaluation from there.
  const evaluation = evaluateImpact(
    cohort(80, 200, (i) => (i === 7 ? { area: 'NG10' } : {})),
    AS_OF,
  );
  t.ok(JSON.stringify(evaluation).includes('NG10'), 'the full evaluation records which level was pooled');
  t.notMatch(JSON.stringify(publishableImpact(evaluation)), /NG10/);
  t.equal(publishableImpact(evaluation).propensity!.categorical.find((c) => c.covariate === 'area')!.pooledLevels, 1);
});

t.test('the words carry no small count of people that the tables would withhold', async (t) => {
  // 5 participants, 2 of whom (the women) have nobody of their gender to match: 3 matched, 2 unmatched, 37 comparisons.
  const evaluation = evaluateImpact(
    cohort(5, 37, (i) => (i < 2 ? { gender: 'female' } : {})),
    '2026-01-01',
  );
  t.same([evaluation.matching!.counts.matched, evaluation.matching!.counts.unmatched], [3, 2]);
  const published = publishableImpact(evaluation);
  const wording = published.estimate.status === 'not-estimated' ? published.estimate.wording : '';
  const words = [wording, ...published.warnings.map((w) => w.message)];
  t.ok(words.length >= 3, 'the no-estimate wording, the unmatched and the provisional warnings');
  for (const text of words) t.notMatch(text, /\b(2|3|5|37)\b/, `no count in: ${text}`);
});

t.test('ids that look like object internals are just ids', async (t) => {
  const subjects = cohort(70, 150);
  subjects[0] = { ...subjects[0]!, id: '__proto__' };
  subjects[70] = { ...subjects[70]!, id: 'constructor' };
  subjects[71] = { ...subjects[71]!, id: 'hasOwnProperty' };
  const evaluation = evaluateImpact(subjects, AS_OF);
  t.equal(evaluation.estimate.status, 'estimated');
  t.ok(
    evaluation.matching!.matched.some((m) => m.participantId === '__proto__'),
    'the participant named __proto__ is matched like anyone',
  );
  t.equal(({} as Record<string, unknown>).polluted, undefined);
  t.equal(Object.getPrototypeOf({}), Object.prototype);
});
