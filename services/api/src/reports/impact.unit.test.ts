import t from 'tap';
import { cohortPeriodErrors, evaluationSubjects } from './impact.js';

t.test('the cohort period is whole quarters', async (t) => {
  t.same(cohortPeriodErrors({ cohortFrom: '2025-01-01', cohortTo: '2025-03-31' }), []);
  t.same(
    cohortPeriodErrors({ cohortFrom: '2025-04-01', cohortTo: '2026-03-31' }),
    [],
    'several quarters, across a year',
  );
  t.same(
    cohortPeriodErrors({ cohortFrom: '2025-01-02', cohortTo: '2025-03-30' }).map((e) => [e.field, e.rule]),
    [
      ['/querystring/cohortFrom', 'quarter-start'],
      ['/querystring/cohortTo', 'quarter-end'],
    ],
  );
  t.same(
    cohortPeriodErrors({ cohortFrom: '2025-07-01', cohortTo: '2025-06-30' }).map((e) => e.rule),
    ['date-order'],
  );
  t.same(cohortPeriodErrors({ cohortFrom: '2025-10-01', cohortTo: '2025-12-31' }), []);
});

t.test('participants and comparison records become evaluation subjects', async (t) => {
  const participant = {
    stream_id: 'participant-a',
    referral_date: '2025-01-10',
    age_at_referral: 15,
    gender: 'male',
    ethnicity: 'black-caribbean',
    postcode_district: 'DE23',
    enrolled_on: '2025-02-01',
    evaluation_consent_withdrawn_on: null,
  };
  const erased = {
    ...participant,
    stream_id: 'participant-b',
    gender: null,
    ethnicity: null,
    postcode_district: null,
    age_at_referral: null,
  };
  const comparison = {
    stream_id: 'comparison-c',
    index_date: '2025-02-10',
    age_at_index: 16,
    gender: 'female',
    ethnicity_group: 'white',
    area: 'DE22',
    prior_offences: 2,
    prior_serious_violence: true,
    prior_custody: true,
  };
  const offence = (stream_id: string, offence_date: string, proven_date: string, custodial = false) => ({
    stream_id,
    offence_date,
    proven_date,
    serious_violence: true,
    custodial,
  });
  const { subjects, erased: erasedCount } = evaluationSubjects(
    [participant, erased],
    [offence('participant-a', '2024-06-01', '2024-08-01', true), offence('participant-a', '2025-05-01', '2025-07-01')],
    [comparison],
    [offence('comparison-c', '2025-06-01', '2025-08-01')],
  );
  t.equal(erasedCount, 1, 'the erased participant is counted, not evaluated');
  t.equal(subjects.length, 2);
  t.match(subjects[0], {
    id: 'participant-a',
    group: 'participant',
    covariates: {
      indexDate: '2025-02-01',
      ageAtIndex: 15,
      gender: 'male',
      ethnicityGroup: 'black',
      area: 'DE23',
      priorOffences: 1,
      priorSeriousViolence: true,
      priorCustody: true,
    },
  });
  t.equal(subjects[0]!.offences.length, 2, 'every offence goes in: the reoffending rule picks the follow-up ones');
  t.match(subjects[1], {
    id: 'comparison-c',
    group: 'comparison',
    evaluationConsentWithdrawnOn: null,
    covariates: {
      indexDate: '2025-02-10',
      ageAtIndex: 16,
      ethnicityGroup: 'white',
      area: 'DE22',
      priorOffences: 2,
      priorCustody: true,
    },
  });
  t.equal(subjects[1]!.offences.length, 1);
});
