import { ETHNICITY_GROUPS, type EvaluationSubject } from '../evaluation/covariates.js';
import { addMonths } from '../metrics/dates.js';
import type { ReoffendingOffence } from '../metrics/reoffending.js';
import { pick, poisson, seededRandom } from './random.js';

/**
 * Synthetic data with a known effect and confounding. Each person has proven reoffences ~ Poisson(μ) in the
 * follow-up year, μ = 0.2 + 0.25 × min(prior offences, 8) + 0.2 × prior serious violence − 0.15 × participant.
 * Taking part is more likely with more prior offences (logit = −3.6 + 0.7 × prior + 0.4 × prior serious violence),
 * and prior offences also raise reoffending, so a naive comparison makes the programme look harmful.
 * The other covariates are noise the model has to carry.
 *
 * True effects on the participants: −0.15 proven reoffences per person (frequency); for the binary rate, where
 * P(any) = 1 − e^(−μ), the participants' mean of e^(−μ₀) − e^(−(μ₀ − 0.15)), computed per person.
 */

const AREAS = ['DE1', 'DE21', 'DE22', 'DE23', 'DE24', 'NG10'];

/** Index dates fall on the first of a month, so a few hundred distinct date sums serve a whole world: keep them. */
const sums = new Map<string, string>();
const monthsAfter = (date: string, months: number) => {
  const key = `${date}+${months}`;
  let sum = sums.get(key);
  if (sum === undefined) sums.set(key, (sum = addMonths(date, months)));
  return sum;
};

/** The programme lowers the expected number of proven reoffences by this much per participant. */
export const SYNTHETIC_EFFECT = 0.15;

export interface SyntheticWorld {
  subjects: EvaluationSubject[];
  /** The participants' mean effect on the probability of any proven reoffence. */
  trueBinaryEffect: number;
}

/** A world of `size` people, the same for the same seed. Index dates in 2024: the last waiting period ends on 2026-06-01. */
export function syntheticWorld(seed: number, size = 2000): SyntheticWorld {
  const random = seededRandom(seed);
  const subjects: EvaluationSubject[] = [];
  let binaryEffectSum = 0;
  let participants = 0;
  for (let i = 0; i < size; i++) {
    const priorOffences = poisson(random, 1.6);
    const priorSeriousViolence = random() < 0.15 + 0.05 * Math.min(priorOffences, 4);
    const participates =
      random() < 1 / (1 + Math.exp(-(-3.6 + 0.7 * priorOffences + 0.4 * (priorSeriousViolence ? 1 : 0))));
    const indexDate = monthsAfter('2024-01-01', Math.floor(random() * 12));
    const mu0 = 0.2 + 0.25 * Math.min(priorOffences, 8) + 0.2 * (priorSeriousViolence ? 1 : 0);
    const mu = participates ? mu0 - SYNTHETIC_EFFECT : mu0;
    const count = poisson(random, mu);
    const offences: ReoffendingOffence[] = [];
    for (let k = 0; k < count; k++) {
      const offenceDate = monthsAfter(indexDate, Math.floor(random() * 12));
      offences.push({ offenceDate, provenDate: monthsAfter(offenceDate, 1), seriousViolence: random() < 0.2 });
    }
    // Offences the proven reoffending rule must not count: before the index date, and after the follow-up year.
    const ignored = (offenceMonths: number, provenMonths: number): ReoffendingOffence => ({
      offenceDate: monthsAfter(indexDate, offenceMonths),
      provenDate: monthsAfter(indexDate, provenMonths),
      seriousViolence: false,
    });
    if (random() < 0.5) offences.push(ignored(-3, -1));
    if (random() < 0.5) offences.push(ignored(13, 14));
    if (participates) {
      participants += 1;
      binaryEffectSum += Math.exp(-mu0) - Math.exp(-mu);
    }
    subjects.push({
      id: `${participates ? 'p' : 'c'}-${String(i).padStart(5, '0')}`,
      group: participates ? 'participant' : 'comparison',
      covariates: {
        indexDate,
        ageAtIndex: 12 + Math.floor(random() * 13),
        gender: random() < 0.72 ? 'male' : 'female',
        ethnicityGroup: pick(random, ETHNICITY_GROUPS),
        area: pick(random, AREAS),
        priorOffences,
        priorSeriousViolence,
        priorCustody: random() < 0.05 * Math.min(priorOffences, 6),
      },
      evaluationConsentWithdrawnOn: null,
      offences,
    });
  }
  return { subjects, trueBinaryEffect: binaryEffectSum / participants };
}
