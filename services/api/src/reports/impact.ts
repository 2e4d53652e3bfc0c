import type { FieldError, ImpactQuery, ImpactReport, Principal } from '@vru/contracts';
import {
  DISCLOSURE_VERSION,
  disclosedImpact,
  evaluateImpact,
  ethnicityGroupOf,
  participantCovariates,
  publishableImpact,
  suppressCount,
  type Covariates,
  type Ethnicity,
  type EvaluationSubject,
  type Gender,
  type OffenceHistoryEntry,
} from '@vru/domain';
import { comparisonsReadModel, offencesReadModel, participantsReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { disclosureScope } from '../disclosure.js';
import { HttpProblem } from '../problem.js';
import { emptyIfNoReadModel } from './read-model.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';

const { participants: participantsTable } = participantsReadModel.tables;
const { offences: offencesTable } = offencesReadModel.tables;
const { comparisonRecords: comparisonRecordsTable, comparisonOffences: comparisonOffencesTable } =
  comparisonsReadModel.tables;

/**
 * Did it work? One programme's participants against a matched comparison group from the data partners' pool
 * (docs/evaluation.md). Whole quarters only: a reader who could move the cohort by a day could difference two
 * answers down to one person.
 */

const QUARTER_STARTS = ['01-01', '04-01', '07-01', '10-01'];
const QUARTER_ENDS = ['03-31', '06-30', '09-30', '12-31'];

/** The cohort period's problems: it must run from the first day of a quarter to the last day of a quarter. */
export function cohortPeriodErrors(q: Pick<ImpactQuery, 'cohortFrom' | 'cohortTo'>): FieldError[] {
  const errors: FieldError[] = [];
  if (!QUARTER_STARTS.includes(q.cohortFrom.slice(5))) {
    const message = 'cohortFrom must be the first day of a quarter (01-01, 04-01, 07-01 or 10-01)';
    errors.push({ field: '/querystring/cohortFrom', rule: 'quarter-start', message });
  }
  if (!QUARTER_ENDS.includes(q.cohortTo.slice(5))) {
    const message = 'cohortTo must be the last day of a quarter (03-31, 06-30, 09-30 or 12-31)';
    errors.push({ field: '/querystring/cohortTo', rule: 'quarter-end', message });
  }
  if (errors.length === 0 && q.cohortTo < q.cohortFrom) {
    errors.push({
      field: '/querystring/cohortTo',
      rule: 'date-order',
      message: 'cohortTo must not be before cohortFrom',
    });
  }
  return errors;
}

interface ParticipantRow {
  stream_id: string;
  referral_date: string;
  age_at_referral: number | null;
  gender: string | null;
  ethnicity: string | null;
  postcode_district: string | null;
  enrolled_on: string;
  evaluation_consent_withdrawn_on: string | null;
}

interface ComparisonRow {
  stream_id: string;
  index_date: string;
  age_at_index: number;
  gender: string;
  ethnicity_group: string;
  area: string;
  prior_offences: number;
  prior_serious_violence: boolean;
  prior_custody: boolean;
}

interface OffenceRow {
  stream_id: string;
  offence_date: string;
  proven_date: string;
  serious_violence: boolean;
  custodial: boolean;
}

const byStream = (rows: readonly OffenceRow[]): Map<string, OffenceHistoryEntry[]> => {
  const out = new Map<string, OffenceHistoryEntry[]>();
  for (const r of rows) {
    const entry = {
      offenceDate: r.offence_date,
      provenDate: r.proven_date,
      seriousViolence: r.serious_violence,
      custodial: r.custodial,
    };
    // Appended in place: copying a participant's list per offence is quadratic in their offences.
    const list = out.get(r.stream_id);
    if (list) list.push(entry);
    else out.set(r.stream_id, [entry]);
  }
  return out;
};

/** Participants and comparisons as evaluation subjects; participants whose personal fields were erased cannot be. */
export function evaluationSubjects(
  participants: readonly ParticipantRow[],
  participantOffences: readonly OffenceRow[],
  comparisons: readonly ComparisonRow[],
  comparisonOffences: readonly OffenceRow[],
): { subjects: EvaluationSubject[]; erased: number } {
  const pOffences = byStream(participantOffences);
  const cOffences = byStream(comparisonOffences);
  const subjects: EvaluationSubject[] = [];
  let erased = 0;
  for (const p of participants) {
    const offences = pOffences.get(p.stream_id) ?? [];
    const covariates =
      p.gender === null || p.ethnicity === null || p.postcode_district === null || p.age_at_referral === null
        ? null
        : participantCovariates(
            {
              ageAtReferral: p.age_at_referral,
              referralDate: p.referral_date,
              gender: p.gender as Gender,
              ethnicity: p.ethnicity as Ethnicity,
              postcodeDistrict: p.postcode_district,
            },
            p.enrolled_on,
            offences,
          );
    if (covariates === null) {
      erased += 1;
      continue;
    }
    subjects.push({
      id: p.stream_id,
      group: 'participant',
      covariates,
      evaluationConsentWithdrawnOn: p.evaluation_consent_withdrawn_on,
      offences,
    });
  }
  for (const c of comparisons) {
    const covariates: Covariates = {
      indexDate: c.index_date,
      ageAtIndex: c.age_at_index,
      gender: c.gender as Gender,
      ethnicityGroup: c.ethnicity_group as ReturnType<typeof ethnicityGroupOf>,
      area: c.area,
      priorOffences: c.prior_offences,
      priorSeriousViolence: c.prior_serious_violence,
      priorCustody: c.prior_custody,
    };
    subjects.push({
      id: c.stream_id,
      group: 'comparison',
      covariates,
      evaluationConsentWithdrawnOn: null,
      offences: cOffences.get(c.stream_id) ?? [],
    });
  }
  return { subjects, erased };
}

/** The impact report for commissioners and admins: disclosure-controlled whoever reads it. */
export const impactReport = (sql: Sql, principal: Principal, q: ImpactQuery): Promise<ImpactReport> =>
  atConsistentPosition(sql, principal, ['participants', 'offences', 'comparisons'], q, (tx, at) =>
    impactAt(tx, at, principal, q),
  );

async function impactAt(sql: Sql, at: ReportSnapshot, principal: Principal, q: ImpactQuery): Promise<ImpactReport> {
  // The reports' one disclosure-control layer refuses unaligned periods (a month, a quarter or a financial year) and
  // stamps the answer; the impact result's own small-number rules (disclosedImpact) then apply to every reader.
  const disclosure = disclosureScope(principal, undefined, {
    from: q.cohortFrom,
    to: q.cohortTo,
    fields: { from: '/querystring/cohortFrom', to: '/querystring/cohortTo' },
    required: true,
  });
  const errors = cohortPeriodErrors(q);
  // Cohorts are whole quarters (a single month is refused here too), refused like every disclosure-control rule.
  if (errors.length > 0) {
    throw new HttpProblem(
      422,
      'disclosure-control',
      'The cohort period must be whole quarters',
      errors,
      `Disclosure control ${DISCLOSURE_VERSION}: impact cohorts are whole quarters`,
    );
  }
  if (!q.programmeId) {
    throw new HttpProblem(422, 'disclosure-control', 'A programme is required', [
      { field: '/querystring/programmeId', rule: 'required', message: 'programmeId is required' },
    ]);
  }
  const { computedAt, position, asOf } = at;
  const participants = await sql<ParticipantRow[]>`
    select stream_id, referral_date::text, age_at_referral, gender, ethnicity, postcode_district, enrolled_on::text,
           evaluation_consent_withdrawn_on::text
    from ${sql(participantsTable)}
    where programme_id = ${q.programmeId} and evaluation_consent_from is not null and referral_date is not null
      and enrolled_on between ${q.cohortFrom}::date and ${q.cohortTo}::date`.catch(emptyIfNoReadModel);
  // Offences recorded as OffenceRecorded version 1 carry no custodial flag and count as not custodial (docs/evaluation.md).
  const participantOffences =
    participants.length === 0
      ? []
      : await sql<OffenceRow[]>`
    select stream_id, offence_date::text, proven_date::text, serious_violence, custodial from ${sql(offencesTable)}
    where stream_id = any(${participants.map((p) => p.stream_id)}::text[])`.catch(emptyIfNoReadModel);
  const comparisons = await sql<ComparisonRow[]>`
    select stream_id, index_date::text, age_at_index, gender, ethnicity_group, area, prior_offences, prior_serious_violence, prior_custody
    from ${sql(comparisonRecordsTable)}
    where not erased and age_at_index is not null and gender is not null and ethnicity_group is not null and area is not null
      and prior_offences is not null and prior_serious_violence is not null and prior_custody is not null
      and index_date between ${q.cohortFrom}::date and ${q.cohortTo}::date
      ${q.poolId ? sql`and pool_id = ${q.poolId}` : sql``}`.catch(emptyIfNoReadModel);
  const comparisonOffences =
    comparisons.length === 0
      ? []
      : await sql<OffenceRow[]>`
    select o.stream_id, o.offence_date::text, o.proven_date::text, o.serious_violence, o.custodial
    from ${sql(comparisonOffencesTable)} o join ${sql(comparisonRecordsTable)} r on r.stream_id = o.stream_id
    where not r.erased and r.index_date between ${q.cohortFrom}::date and ${q.cohortTo}::date
      ${q.poolId ? sql`and r.pool_id = ${q.poolId}` : sql``}`.catch(emptyIfNoReadModel);

  const { subjects, erased } = evaluationSubjects(participants, participantOffences, comparisons, comparisonOffences);
  const d = disclosedImpact(publishableImpact(evaluateImpact(subjects, asOf)));
  const rows =
    d.estimate.status === 'estimated'
      ? (['binary', 'frequency'] as const).map((measure) => {
          const m = d.estimate.status === 'estimated' ? d.estimate[measure] : null;
          return {
            measure,
            participants: m!.matched.participants,
            comparison: m!.matched.comparison,
            difference: m!.matched.difference,
            lower: m!.matched.lower,
            upper: m!.matched.upper,
            pValue: m!.matched.pValue,
            significant: m!.matched.significant,
            wording: m!.wording,
          };
        })
      : [];
  return {
    report: 'impact',
    filters: reportFilters(q),
    asOf,
    position,
    computedAt,
    suppressed: true,
    disclosure: disclosure.stamp,
    provisional: d.provisional,
    finalOn: d.finalOn,
    population: { ...d.population, excludedErased: suppressCount(erased) },
    matching: d.matching && { ...d.matching, exact: [...d.matching.exact] },
    balance: d.balance,
    propensity: d.propensity,
    estimate: d.estimate,
    warnings: d.warnings,
    rows,
  };
}
