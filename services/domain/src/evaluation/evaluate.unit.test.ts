import t from 'tap';
import type { ReoffendingOffence } from '../metrics/reoffending.js';
import type { EvaluationSubject } from './covariates.js';
import { seededRandom } from '../testing/random.js';
import { syntheticWorld } from '../testing/synthetic-evaluation.js';
import { evaluateImpact, MINIMUM_MATCHED_PARTICIPANTS } from './evaluate.js';

const AS_OF = '2027-01-01';

/** Participants and comparisons alike in every covariate: ages 12..21 in turn, all male, one area. */
function people(
  group: 'participant' | 'comparison',
  n: number,
  over: (i: number) => Partial<EvaluationSubject> = () => ({}),
): EvaluationSubject[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${group === 'participant' ? 'p' : 'c'}-${String(i).padStart(3, '0')}`,
    group,
    covariates: {
      indexDate: '2025-01-01',
      ageAtIndex: 12 + (i % 10),
      gender: 'male',
      ethnicityGroup: 'white',
      area: 'DE23',
      priorOffences: i % 3,
      priorSeriousViolence: false,
      priorCustody: false,
    },
    evaluationConsentWithdrawnOn: null,
    offences: [],
    ...over(i),
  }));
}

const inFollowUp: ReoffendingOffence = { offenceDate: '2025-06-01', provenDate: '2025-08-01', seriousViolence: false };
const beforeIndex: ReoffendingOffence = { offenceDate: '2024-06-01', provenDate: '2024-08-01', seriousViolence: true };
const afterFollowUp: ReoffendingOffence = {
  offenceDate: '2026-01-01',
  provenDate: '2026-02-01',
  seriousViolence: false,
};
const provenTooLate: ReoffendingOffence = {
  offenceDate: '2025-12-01',
  provenDate: '2026-07-01',
  seriousViolence: false,
};

t.test('no estimate under 60 matched participants, and the result says why', async (t) => {
  const e = evaluateImpact([...people('participant', 59), ...people('comparison', 200)], AS_OF);
  t.equal(e.matching!.counts.matched, 59);
  t.same(e.estimate, {
    status: 'not-estimated',
    reason: 'fewer-than-minimum-matched',
    matchedParticipants: 59,
    minimum: MINIMUM_MATCHED_PARTICIPANTS,
    wording:
      'No estimate: fewer than 60 participants could be matched to similar people in the comparison group, and an estimate ' +
      "needs at least 60 (the Justice Data Lab's minimum). More participants are needed before the programme can be evaluated.",
  });
  t.ok(e.balance, 'the balance diagnostics are still given');
  const sixty = evaluateImpact([...people('participant', 60), ...people('comparison', 200)], AS_OF);
  t.equal(sixty.estimate.status, 'estimated', 'exactly 60 is enough');
});

t.test('the proven reoffending rule of the reoffending report, for both groups', async (t) => {
  // Every other participant has a proven reoffence in the follow-up year; everyone also has offences the rule ignores.
  const ignored = [beforeIndex, afterFollowUp, provenTooLate];
  const e = evaluateImpact(
    [
      ...people('participant', 80, (i) => ({ offences: i % 2 === 0 ? [inFollowUp, inFollowUp, ...ignored] : ignored })),
      ...people('comparison', 300, () => ({ offences: ignored })),
    ],
    AS_OF,
  );
  if (e.estimate.status !== 'estimated') throw new Error('expected an estimate');
  t.equal(e.estimate.matchedParticipants, 80);
  t.equal(e.estimate.binary.matched.participants, 0.5, 'half the participants reoffended');
  t.equal(e.estimate.binary.matched.comparison, 0, 'no comparison did: their offences fall outside the follow-up');
  t.equal(e.estimate.frequency.matched.participants, 1, 'two reoffences each for half of them');
  t.same([e.estimate.participantRate.numerator, e.estimate.participantRate.denominator], [40, 80]);
  t.equal(e.estimate.varianceMethod, 'abadie-imbens-2006');
  t.equal(e.estimate.binary.per100.difference, 50, 'percentage points');
  t.match(e.estimate.binary.wording, /^For every 100 participants, between \d+ and \d+ more proven reoffenders/);
  t.equal(e.estimate.binary.additionalParticipantsNeeded, null, 'significant: no more participants needed');
  t.equal(e.provisional, false);
});

t.test('an inconclusive result says how many more participants would be needed', async (t) => {
  // Reoffending unrelated to the covariates, about 30% in both groups: far too few people to tell a difference.
  const e = evaluateImpact(
    [
      ...people('participant', 100, (i) => ({ offences: i % 7 < 2 ? [inFollowUp] : [] })),
      ...people('comparison', 300, (i) => ({ offences: i % 7 < 2 ? [inFollowUp] : [] })),
    ],
    AS_OF,
  );
  if (e.estimate.status !== 'estimated') throw new Error('expected an estimate');
  const binary = e.estimate.binary;
  t.equal(binary.matched.participants, 0.3, '30 of the 100 participants');
  t.equal(
    binary.matched.significant,
    false,
    `difference ${binary.matched.difference}, p = ${binary.matched.pValue.toFixed(3)}`,
  );
  t.ok(binary.participantsNeeded! > 100, `${binary.participantsNeeded} per group needed`);
  t.equal(binary.additionalParticipantsNeeded, binary.participantsNeeded! - 100);
  t.match(
    binary.wording,
    /^Inconclusive: .* This does not mean the programme does not work: about \d+ more participants would be needed/,
  );
});

t.test('participants who withdrew evaluation consent are left out', async (t) => {
  const withdrawnOn = (i: number) => (i === 0 ? '2026-05-01' : i === 1 ? '2027-02-01' : null);
  const subjects = people('participant', 62, (i) => ({ evaluationConsentWithdrawnOn: withdrawnOn(i) }));
  const e = evaluateImpact([...subjects, ...people('comparison', 100)], AS_OF);
  t.same(
    e.population,
    { participants: 61, comparisons: 100, excludedWithdrawnConsent: 1 },
    'a withdrawal after the as-of date is not one',
  );
  t.notOk(e.matching!.matched.some((m) => m.participantId === 'p-000'));
});

t.test('provisional until the follow-up and waiting period end for everyone in the estimate', async (t) => {
  const subjects = [...people('participant', 60), ...people('comparison', 100)];
  const early = evaluateImpact(subjects, '2026-06-30');
  t.equal(early.finalOn, '2026-07-01', 'index 2025-01-01 + 18 months');
  t.equal(early.provisional, true);
  t.ok(early.warnings.some((w) => w.code === 'provisional'));
  const late = evaluateImpact(subjects, '2026-07-01');
  t.equal(late.provisional, false);
  t.notOk(late.warnings.some((w) => w.code === 'provisional'));
  // A matched comparison indexed later keeps the estimate provisional for longer.
  const laterComparison = people('comparison', 100).map((c) => ({
    ...c,
    covariates: { ...c.covariates, indexDate: '2025-03-01' },
  }));
  const e = evaluateImpact([...people('participant', 60), ...laterComparison], '2026-07-01');
  t.equal(e.finalOn, '2026-09-01');
  t.equal(e.provisional, true);
});

t.test(
  'exact matching on gender: a participant with no comparison of the same gender is reported, not dropped',
  async (t) => {
    const women = people('participant', 2).map((p, i) => ({
      ...p,
      id: `w-${i}`,
      covariates: { ...p.covariates, gender: 'female' as const },
    }));
    const e = evaluateImpact([...people('participant', 60), ...women, ...people('comparison', 100)], AS_OF);
    t.same(e.matching!.unmatched, [
      { participantId: 'w-0', reason: 'no-comparison-in-stratum' },
      { participantId: 'w-1', reason: 'no-comparison-in-stratum' },
    ]);
    t.equal(e.matching!.counts.matched, 60);
    t.same(e.matching!.exact, ['gender']);
    t.match(
      e.warnings.find((w) => w.code === 'unmatched-participants')?.message ?? '',
      /^Some participants had no similar enough person/,
    );
    const none = evaluateImpact([...people('participant', 60), ...women, ...people('comparison', 100)], AS_OF, {
      exact: [],
    });
    t.equal(none.matching!.counts.matched, 62, 'without exact matching they are matched');
  },
);

t.test('without participants or without a comparison pool there is nothing to estimate', async (t) => {
  const noPool = evaluateImpact(people('participant', 70), AS_OF);
  const reason = (e: ReturnType<typeof evaluateImpact>) =>
    e.estimate.status === 'not-estimated' ? e.estimate.reason : null;
  t.equal(reason(noPool), 'no-comparisons');
  t.equal(noPool.propensity, null);
  const nobody = evaluateImpact(people('comparison', 70), AS_OF);
  t.equal(reason(nobody), 'no-participants');
  t.equal(nobody.finalOn, null);
});

t.test('separation is survived and reported', async (t) => {
  // Every participant has prior custody and no comparison has: the maximum-likelihood fit does not exist, and the
  // groups share no propensity scores, so nobody can be matched.
  const e = evaluateImpact(
    [
      ...people('participant', 60).map((p) => ({ ...p, covariates: { ...p.covariates, priorCustody: true } })),
      ...people('comparison', 100),
    ],
    AS_OF,
  );
  t.equal(e.propensity!.method, 'ridge');
  t.ok(e.propensity!.problems.includes('separation'));
  t.ok(e.warnings.some((w) => w.code === 'ridge-fit'));
  t.equal(e.balance!.overlap.commonSupport, null, 'no common support');
  t.equal(e.matching!.counts.unmatchedNoneWithinCaliper, 60, 'every participant reported as unmatched');
  t.equal(e.estimate.status, 'not-estimated');
  t.equal(e.balance!.balanced, false);
});

t.test('ids must be unique', async (t) => {
  const [a] = people('participant', 1);
  t.throws(() => evaluateImpact([a!, { ...a!, group: 'comparison' }], AS_OF), RangeError);
});

t.test('the same people in any order give the same evaluation, to the last bit', async (t) => {
  const { subjects } = syntheticWorld(7, 1500);
  const expected = JSON.stringify(evaluateImpact(subjects, AS_OF));
  const random = seededRandom(11);
  for (let k = 0; k < 5; k++) {
    const shuffled = [...subjects];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    t.equal(JSON.stringify(evaluateImpact(shuffled, AS_OF)), expected, `shuffle ${k + 1}`);
  }
  t.equal(JSON.stringify(evaluateImpact([...subjects].reverse(), AS_OF)), expected, 'reversed');
});
