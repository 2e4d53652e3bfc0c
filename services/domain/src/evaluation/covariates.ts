import type { Ethnicities, Genders } from '@vru/contracts';
import { ageBand, ageOn, type RecordedAge } from '../metrics/age.js';
import { addMonths } from '../metrics/dates.js';
import type { ReoffendingOffence } from '../metrics/reoffending.js';

/**
 * What the propensity model knows about a person, participant or comparison, at their index date: the
 * characteristics the Justice Data Lab matches on that a police or probation data partner can share in
 * pseudonymous form. Nothing here names anyone.
 */

export type Gender = (typeof Genders)[number];
export type Ethnicity = (typeof Ethnicities)[number];

/** The five ONS 2021 high-level ethnic groups, and `not-stated`: 19 detailed groups are too fine to match on. */
export const ETHNICITY_GROUPS = ['asian', 'black', 'mixed', 'white', 'other', 'not-stated'] as const;
export type EthnicityGroup = (typeof ETHNICITY_GROUPS)[number];

/** The high-level group of an ONS 2021 ethnic group code (`black-caribbean` → `black`). */
export function ethnicityGroupOf(ethnicity: Ethnicity): EthnicityGroup {
  if (ethnicity === 'prefer-not-to-say') return 'not-stated';
  const group = ethnicity.slice(0, ethnicity.indexOf('-'));
  return (ETHNICITY_GROUPS as readonly string[]).includes(group) ? (group as EthnicityGroup) : 'other';
}

export interface Covariates {
  /** Start of the follow-up: enrolment for a participant, the data partner's index event for a comparison. */
  indexDate: string;
  /** Whole years at the index date. */
  ageAtIndex: number;
  gender: Gender;
  ethnicityGroup: EthnicityGroup;
  /** Postcode district or police district: one kind for everybody in an evaluation. */
  area: string;
  /** Proven offences committed in the 24 months before the index date and proven before it. */
  priorOffences: number;
  /** Any proven serious violence offence before the index date. */
  priorSeriousViolence: boolean;
  /** Any custodial sentence before the index date. */
  priorCustody: boolean;
}

export type EvaluationGroup = 'participant' | 'comparison';

/** One person in an evaluation: the covariates at the index date and the proven offences to follow up. */
export interface EvaluationSubject {
  /**
   * Opaque and unique in the evaluation: the participant's stream id or the data partner's pseudonymous
   * comparison id. Ties in matching are broken on it, so the same input always gives the same matches.
   */
  id: string;
  group: EvaluationGroup;
  covariates: Covariates;
  /** Participants: the date evaluation consent was withdrawn, or null. Comparisons: always null. */
  evaluationConsentWithdrawnOn: string | null;
  /** Proven offences; the proven reoffending rule picks those inside the follow-up. */
  offences: readonly ReoffendingOffence[];
}

export const PRIOR_OFFENCES_WINDOW_MONTHS = 24;

/** A proven offence in a person's history, as a data partner records it. */
export interface OffenceHistoryEntry extends ReoffendingOffence {
  /** The disposal was a custodial sentence. */
  custodial: boolean;
}

/**
 * Offending history at the index date, counted from proven offences as the justice system knew them that day
 * (proven before the index date): the same definition a data partner applies to comparison records.
 */
export function priorOffending(
  indexDate: string,
  offences: readonly OffenceHistoryEntry[],
): Pick<Covariates, 'priorOffences' | 'priorSeriousViolence' | 'priorCustody'> {
  const known = offences.filter((o) => o.offenceDate < indexDate && o.provenDate < indexDate);
  const windowStart = addMonths(indexDate, -PRIOR_OFFENCES_WINDOW_MONTHS);
  return {
    priorOffences: known.filter((o) => o.offenceDate >= windowStart).length,
    priorSeriousViolence: known.some((o) => o.seriousViolence),
    priorCustody: known.some((o) => o.custodial),
  };
}

/** What a participant's referral records about them (personal fields, decrypted by the caller). */
export interface ReferralCharacteristics extends RecordedAge {
  gender: Gender;
  ethnicity: Ethnicity;
  postcodeDistrict: string;
}

/**
 * A participant's covariates: demographics from the referral, offending history from the data partner's
 * offences before the index date. Null when the age is unknown (personal fields erased).
 */
export function participantCovariates(
  referral: ReferralCharacteristics,
  indexDate: string,
  offences: readonly OffenceHistoryEntry[],
): Covariates | null {
  const ageAtIndex = ageOn(referral, indexDate);
  if (ageAtIndex === null) return null;
  return {
    indexDate,
    ageAtIndex,
    gender: referral.gender,
    ethnicityGroup: ethnicityGroupOf(referral.ethnicity),
    area: referral.postcodeDistrict,
    ...priorOffending(indexDate, offences),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Design matrix

export type CategoricalCovariate = 'gender' | 'ethnicityGroup' | 'area' | 'ageBand';
export type ModelCovariate =
  'age' | 'gender' | 'ethnicityGroup' | 'area' | 'priorOffences' | 'priorSeriousViolence' | 'priorCustody';

export interface DesignOptions {
  /** The covariates in the model, in column order. */
  covariates: readonly ModelCovariate[];
  /** Age as a number (capped to `ageRange`) or as the project's age bands (categorical). */
  age: 'numeric' | 'band';
  /** Numeric age is clamped into this range (a 40-year-old counts as the upper end), or null for as given. */
  ageRange: readonly [number, number] | null;
  /** Prior offences above this count as this many: a few prolific people should not steer the model. */
  priorOffencesCap: number | null;
  /** Levels of a categorical covariate with fewer people (both groups together) are pooled into `pooled`. */
  minLevelSize: number;
}

export const DEFAULT_DESIGN: DesignOptions = {
  covariates: ['age', 'gender', 'ethnicityGroup', 'area', 'priorOffences', 'priorSeriousViolence', 'priorCustody'],
  age: 'numeric',
  ageRange: null,
  priorOffencesCap: 10,
  minLevelSize: 10,
};

export const POOLED_LEVEL = 'pooled';

export interface DesignColumn {
  /** `intercept`, `ageAtIndex`, `priorOffences`, `priorCustody`, or `<covariate>=<level>` for a level. */
  name: string;
  covariate: ModelCovariate | 'intercept';
  /** For a level of a categorical covariate. */
  level?: string;
}

export interface CategoricalCoding {
  covariate: CategoricalCovariate;
  /** Levels after pooling, most common first (ties by name); the first is the reference. */
  levels: string[];
  reference: string;
  /**
   * Original levels with fewer than `minLevelSize` people, folded into `pooled` (or into the reference when even
   * the pooled level would be too small). Never published: naming one says someone with that value is in the data.
   */
  pooled: string[];
}

export interface DesignMatrix {
  /** Model columns: intercept, numeric and binary covariates, one dummy per non-reference level. */
  columns: DesignColumn[];
  /** One row per subject, in input order. */
  rows: number[][];
  /** Balance columns: every covariate and every level, reference included, without the intercept. */
  balanceColumns: DesignColumn[];
  balanceRows: number[][];
  categorical: CategoricalCoding[];
  /** Model columns left out because they did not vary (everybody had the same value). */
  dropped: string[];
}

const categoricalOf = (covariate: ModelCovariate, options: DesignOptions): CategoricalCovariate | null => {
  if (covariate === 'age') return options.age === 'band' ? 'ageBand' : null;
  return covariate === 'gender' || covariate === 'ethnicityGroup' || covariate === 'area' ? covariate : null;
};

/** The value of a categorical covariate; also the key of exact-matching strata. */
export function categoricalValue(c: Covariates, covariate: CategoricalCovariate): string {
  return covariate === 'ageBand' ? ageBand(c.ageAtIndex) : c[covariate];
}

function coding(covariate: CategoricalCovariate, all: readonly Covariates[], minLevelSize: number): CategoricalCoding {
  const counts = new Map<string, number>();
  for (const c of all)
    counts.set(categoricalValue(c, covariate), (counts.get(categoricalValue(c, covariate)) ?? 0) + 1);
  const byFrequency = (a: [string, number], b: [string, number]) =>
    b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  const sorted = [...counts.entries()].sort(byFrequency);
  const small = sorted.filter(([, n]) => n < minLevelSize);
  const kept = sorted.filter(([, n]) => n >= minLevelSize);
  const pooledSize = small.reduce((s, [, n]) => s + n, 0);
  const pooled = small.map(([level]) => level).sort();
  if (kept.length === 0) {
    // Every level is small: one pooled level (constant, so it adds no column), and no small level is named.
    return { covariate, levels: [POOLED_LEVEL], reference: POOLED_LEVEL, pooled };
  }
  const levels = kept.map(([l]) => l);
  if (pooledSize >= minLevelSize) levels.push(POOLED_LEVEL);
  return { covariate, levels, reference: levels[0]!, pooled };
}

/** The level a value is coded as: itself, `pooled`, or the reference when the pooled level was too small. */
function levelOf(code: CategoricalCoding, value: string): string {
  if (!code.pooled.includes(value)) return value;
  return code.levels.includes(POOLED_LEVEL) ? POOLED_LEVEL : code.reference;
}

const clamp = (x: number, range: readonly [number, number] | null) =>
  range ? Math.min(range[1], Math.max(range[0], x)) : x;

/**
 * Builds the propensity model's design matrix: an intercept, numeric covariates (capped), binary ones as 0/1
 * and dummy coding for categorical ones, with the most common level as the reference and small levels pooled.
 * Also the balance matrix, which keeps every level. Columns that do not vary are dropped (and named).
 */
export function buildDesign(subjects: readonly Covariates[], overrides: Partial<DesignOptions> = {}): DesignMatrix {
  const options = { ...DEFAULT_DESIGN, ...overrides };
  const codings = new Map<CategoricalCovariate, CategoricalCoding>();
  for (const covariate of options.covariates) {
    const cat = categoricalOf(covariate, options);
    if (cat) codings.set(cat, coding(cat, subjects, options.minLevelSize));
  }
  const balanceColumns: DesignColumn[] = [];
  const extractors: ((c: Covariates) => number)[] = [];
  const modelColumn: boolean[] = [];
  const add = (column: DesignColumn, extract: (c: Covariates) => number, inModel: boolean) => {
    balanceColumns.push(column);
    extractors.push(extract);
    modelColumn.push(inModel);
  };
  for (const covariate of options.covariates) {
    const cat = categoricalOf(covariate, options);
    if (cat) {
      const code = codings.get(cat)!;
      for (const level of code.levels) {
        const indicator = (c: Covariates) => (levelOf(code, categoricalValue(c, cat)) === level ? 1 : 0);
        add({ name: `${cat}=${level}`, covariate, level }, indicator, level !== code.reference);
      }
    } else if (covariate === 'age') {
      add({ name: 'ageAtIndex', covariate }, (c) => clamp(c.ageAtIndex, options.ageRange), true);
    } else if (covariate === 'priorOffences') {
      const cap = options.priorOffencesCap;
      add(
        { name: 'priorOffences', covariate },
        (c) => (cap === null ? c.priorOffences : Math.min(cap, c.priorOffences)),
        true,
      );
    } else if (covariate === 'priorSeriousViolence' || covariate === 'priorCustody') {
      add({ name: covariate, covariate }, (c) => (c[covariate] ? 1 : 0), true);
    }
  }
  const balanceRows = subjects.map((c) => extractors.map((f) => f(c)));
  const varies = balanceColumns.map((_, j) => balanceRows.some((r) => r[j] !== balanceRows[0]![j]));
  const keep = balanceColumns.map((_, j) => modelColumn[j]! && varies[j]!);
  const dropped = balanceColumns.filter((_, j) => modelColumn[j]! && !varies[j]!).map((c) => c.name);
  return {
    columns: [{ name: 'intercept', covariate: 'intercept' }, ...balanceColumns.filter((_, j) => keep[j])],
    rows: balanceRows.map((r) => [1, ...r.filter((_, j) => keep[j])]),
    balanceColumns,
    balanceRows,
    categorical: [...codings.values()],
    dropped,
  };
}
