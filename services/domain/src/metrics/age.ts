/**
 * Age from what a referral records: an age in whole years at referral, or a year and month of birth (never a
 * date of birth). Pure: the date it is wanted at is given.
 */

export const AGE_BANDS = ['under-10', '10-13', '14-17', '18-21', '22-25', '26+'] as const;
export type AgeBand = (typeof AGE_BANDS)[number];

export function ageBand(age: number): AgeBand {
  if (age < 10) return 'under-10';
  if (age <= 13) return '10-13';
  if (age <= 17) return '14-17';
  if (age <= 21) return '18-21';
  if (age <= 25) return '22-25';
  return '26+';
}

export interface RecordedAge {
  ageAtReferral?: number;
  birthYearMonth?: string;
  referralDate: string;
}

const monthIndex = (yearMonth: string): number => {
  const [y, m] = yearMonth.split('-').map(Number) as [number, number];
  return y * 12 + (m - 1);
};

/**
 * Age in whole years on `date` (on or after the referral). From a birth month the birthday month counts as
 * reached (no day is stored), so the age can be a year high during the birthday month. From an age at referral,
 * whole years elapsed since the referral month are added, so it can be a year low until the next birthday.
 * Null when neither is recorded (or the personal fields were erased).
 */
export function ageOn(recorded: RecordedAge, date: string): number | null {
  if (typeof recorded.ageAtReferral === 'number') {
    const elapsedMonths = monthIndex(date.slice(0, 7)) - monthIndex(recorded.referralDate.slice(0, 7));
    return recorded.ageAtReferral + Math.max(0, Math.floor(elapsedMonths / 12));
  }
  if (!recorded.birthYearMonth) return null;
  return Math.floor((monthIndex(date.slice(0, 7)) - monthIndex(recorded.birthYearMonth)) / 12);
}

/** Age in whole years at referral. */
export const ageAtReferral = (recorded: RecordedAge): number | null => ageOn(recorded, recorded.referralDate);
