import { createHash } from 'node:crypto';

/**
 * The report-latency workload: many providers, programmes and financial years of realistic journeys (referral
 * with demographics, consents, enrolment, baseline and exit measures, sessions attended and missed, exit,
 * follow-up), grants with quarterly spend and delivery targets, proven offences named by provider reference,
 * and a police comparison pool per year: what the reports read, at the scale a VRU reaches in a few years.
 * Deterministic (seeded), generated lazily so that a million events never sit in memory at once.
 */
export const REPORT_PROVIDERS = 12;
export const PROGRAMMES_PER_PROVIDER = 2;
/** Referrals from the first day of FY 2023/24 to the end of October 2026. */
const FIRST_DAY = '2023-04-01';
const LAST_DAY = '2026-10-31';
const TODAY = '2026-11-20';
export const FINANCIAL_YEARS = ['2023', '2024', '2025', '2026'] as const;
export const COMPARISON_PARTNER = 'bench-police';

export type Submission = Record<string, unknown>;
export interface ReportProgramme {
  programmeId: string;
  providerId: string;
  instrument: 'swemwbs' | 'wemwbs' | 'sdq-total';
  interventionType: string;
}

export const reportProviders = (): string[] =>
  Array.from({ length: REPORT_PROVIDERS }, (_, i) => `bench-provider-${String(i + 1).padStart(2, '0')}`);

export function reportProgrammes(): ReportProgramme[] {
  const instruments = ['swemwbs', 'wemwbs', 'sdq-total'] as const;
  const types = ['mentoring', 'youth-work', 'sport-and-diversion', 'hospital-navigator'] as const;
  return reportProviders().flatMap((providerId, p) =>
    Array.from({ length: PROGRAMMES_PER_PROVIDER }, (_, k) => ({
      programmeId: `${providerId.replace('bench-provider', 'bench-prog')}-${k + 1}`,
      providerId,
      instrument: instruments[(p + k) % instruments.length]!,
      interventionType: types[(p * 2 + k) % types.length]!,
    })),
  );
}

function rng(seed: number) {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const addDays = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
const SPAN_DAYS = (Date.parse(LAST_DAY) - Date.parse(FIRST_DAY)) / 86_400_000;

/** A UUID derived from the run and a key: the same workload for the same run id, distinct across runs. */
function eventId(run: string, key: string): string {
  const h = createHash('sha256').update(`vru-bench-reports:${run}:${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Grants (one per programme and financial year) and their quarterly delivery targets: the commissioner's events. */
export function commissionerSubmissions(run: string): Submission[] {
  const out: Submission[] = [];
  for (const p of reportProgrammes()) {
    for (const fy of FINANCIAL_YEARS) {
      const grantRef = grantRefOf(p.programmeId, fy);
      const startDate = `${fy}-04-01`;
      out.push({
        eventId: eventId(run, `grant:${grantRef}`),
        type: 'GrantAwarded',
        schemaVersion: 1,
        occurredAt: `${startDate}T09:00:00Z`,
        grantRef,
        data: {
          providerId: p.providerId,
          programmeId: p.programmeId,
          amountPence: 20_000_000,
          startDate,
          endDate: `${Number(fy) + 1}-03-31`,
          targetParticipants: 400,
        },
      });
      ['Q2', 'Q3', 'Q4']
        .map((q) => `${fy}${q}`)
        .concat(`${Number(fy) + 1}Q1`)
        .forEach((quarter) =>
          out.push({
            eventId: eventId(run, `targets:${grantRef}:${quarter}`),
            type: 'DeliveryTargetsSet',
            schemaVersion: 1,
            occurredAt: `${startDate}T09:00:00Z`,
            grantRef,
            data: {
              quarter,
              referrals: 120,
              enrolments: 100,
              sessionsDelivered: 1_400,
              completions: 60,
              spendPence: 5_000_000,
              shareReliablyImproved: { [p.instrument]: 0.4 },
            },
          }),
        );
    }
  }
  return out;
}

const grantRefOf = (programmeId: string, fy: string) => `G-${programmeId.slice(-5)}-${fy}`;

/** Quarterly spend of one provider's grants, by budget line, for quarters over before TODAY. */
function spendSubmissions(run: string, providerId: string): Submission[] {
  const out: Submission[] = [];
  const lines = [
    ['staff', 0.62],
    ['venue', 0.12],
    ['materials', 0.06],
    ['participant-costs', 0.1],
    ['overheads', 0.08],
  ] as const;
  for (const p of reportProgrammes().filter((x) => x.providerId === providerId)) {
    for (const fy of FINANCIAL_YEARS) {
      const grantRef = grantRefOf(p.programmeId, fy);
      for (let q = 0; q < 4; q++) {
        const periodStart = addDays(`${fy}-04-01`, q * 91);
        const periodEnd = addDays(periodStart, 90);
        if (addDays(periodEnd, 20) > TODAY) break;
        for (const [category, share] of lines) {
          out.push({
            eventId: eventId(run, `spend:${grantRef}:${q}:${category}`),
            type: 'SpendRecorded',
            schemaVersion: 2,
            occurredAt: `${addDays(periodEnd, 20)}T10:00:00Z`,
            grantRef,
            data: {
              amountPence: Math.round(5_000_000 * share * 0.95),
              category,
              periodStart,
              periodEnd,
              evidenceRef: `INV-${q + 1}-${category.slice(0, 3).toUpperCase()}`,
            },
          });
        }
      }
    }
  }
  return out;
}

/**
 * One provider's submissions, participant by participant in order (each journey's events in order, so any cut
 * into batches is accepted), then its spend; offences of its participants go to `offences` (a data partner
 * sends them after the providers). Stops once `events` have been produced for this provider.
 */
export function* providerSubmissions(
  run: string,
  providerId: string,
  events: number,
  offences: Submission[],
): Generator<Submission> {
  const r = rng(Number.parseInt(createHash('sha256').update(`${run}:${providerId}`).digest('hex').slice(0, 8), 16));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const programmes = reportProgrammes().filter((p) => p.providerId === providerId);
  const sources = [
    'police',
    'school',
    'hospital-navigator',
    'youth-justice',
    'childrens-social-care',
    'community',
    'self',
  ] as const;
  const ethnicities = [
    'white-british',
    'white-british',
    'white-british',
    'asian-pakistani',
    'asian-indian',
    'black-caribbean',
    'black-african',
    'mixed-white-and-black-caribbean',
    'white-other',
    'prefer-not-to-say',
  ] as const;
  const districts = ['DE1', 'DE21', 'DE22', 'DE23', 'DE24', 'DE3', 'DE56', 'S40', 'NG10'] as const;
  const at = (date: string) => `${[date, TODAY].sort()[0]}T${String(9 + Math.floor(r() * 8)).padStart(2, '0')}:15:00Z`;
  let produced = 0;
  for (let n = 0; produced < events; n++) {
    const programme = programmes[n % programmes.length]!;
    const ref = `R-${String(n).padStart(6, '0')}`;
    const journey: Submission[] = [];
    const ev = (type: string, schemaVersion: number, date: string, data: Record<string, unknown>, key: string) =>
      journey.push({
        eventId: eventId(run, `${providerId}:${ref}:${key}`),
        type,
        schemaVersion,
        occurredAt: at(date),
        programmeId: programme.programmeId,
        participantRef: ref,
        data,
      });
    const referralDate = addDays(FIRST_DAY, Math.floor(r() * SPAN_DAYS));
    const age = 11 + Math.floor(r() * 14);
    ev(
      'ParticipantReferred',
      1,
      referralDate,
      {
        referralDate,
        referralSource: pick(sources),
        ...(r() < 0.5
          ? { ageAtReferral: age }
          : { birthYearMonth: `${2026 - age - 1}-${String(1 + Math.floor(r() * 12)).padStart(2, '0')}` }),
        gender: r() < 0.72 ? 'male' : r() < 0.9 ? 'female' : pick(['non-binary', 'prefer-not-to-say'] as const),
        ethnicity: pick(ethnicities),
        postcodeDistrict: pick(districts),
        riskFactors: ['school-exclusion'],
        protectiveFactors: r() < 0.5 ? ['trusted-adult'] : [],
      },
      'referral',
    );
    const consentDate = addDays(referralDate, 1 + Math.floor(r() * 4));
    ev('ConsentRecorded', 1, consentDate, { scope: 'service-delivery', recordedOn: consentDate }, 'consent-service');
    const evaluation = r() < 0.88;
    if (evaluation)
      ev('ConsentRecorded', 1, consentDate, { scope: 'evaluation', recordedOn: consentDate }, 'consent-evaluation');
    const startDate = addDays(consentDate, 2 + Math.floor(r() * 18));
    if (r() >= 0.12 && startDate <= TODAY) {
      const planned = 12 + Math.floor(r() * 12);
      ev(
        'ParticipantEnrolled',
        1,
        startDate,
        { startDate, plannedSessions: planned, deliverySetting: pick(['school', 'community'] as const) },
        'enrolment',
      );
      const { instrument } = programme;
      const base =
        instrument === 'sdq-total'
          ? 18 + Math.floor(r() * 12)
          : instrument === 'wemwbs'
            ? 36 + Math.floor(r() * 12)
            : 18 + Math.floor(r() * 6);
      if (evaluation)
        ev(
          'OutcomeMeasured',
          2,
          startDate,
          { instrument, timepoint: 'baseline', measuredOn: startDate, score: base },
          'baseline',
        );
      const dropsOut = r() < 0.25;
      const held = dropsOut ? 2 + Math.floor(r() * 6) : planned;
      let last = startDate;
      let s = 0;
      for (; s < held; s++) {
        const date = addDays(startDate, 7 * s + 1);
        if (date > TODAY) break;
        last = date;
        const sessionId = `S-${date}-${'ABC'[s % 3]}`;
        if (r() < 0.8) {
          ev(
            'SessionAttended',
            2,
            date,
            {
              sessionId,
              sessionDate: date,
              durationMinutes: 60,
              sessionType: pick(['one-to-one', 'group', 'activity'] as const),
              deliveredBy: pick(['staff', 'volunteer', 'peer-mentor'] as const),
            },
            `session-${s}`,
          );
        } else {
          ev(
            'SessionMissed',
            1,
            date,
            {
              sessionId,
              sessionDate: date,
              sessionType: 'one-to-one',
              reason: pick(['did-not-attend', 'illness', 'cancelled-by-provider'] as const),
            },
            `session-${s}`,
          );
        }
      }
      const exitDate = addDays(last, 7);
      if (s === held && exitDate <= TODAY) {
        if (evaluation) {
          const change = instrument === 'sdq-total' ? -Math.floor(r() * 8) + 1 : Math.floor(r() * 9) - 2;
          const [lo, hi] = instrument === 'swemwbs' ? [7, 35] : instrument === 'wemwbs' ? [14, 70] : [0, 40];
          ev(
            'OutcomeMeasured',
            2,
            last,
            { instrument, timepoint: 'exit', measuredOn: last, score: Math.max(lo, Math.min(hi, base + change)) },
            'exit-measure',
          );
        }
        ev(
          'ParticipantExited',
          1,
          exitDate,
          { exitDate, reason: dropsOut ? pick(['disengaged', 'moved-away', 'entered-custody'] as const) : 'completed' },
          'exit',
        );
        const followUpDate = addDays(exitDate, 91);
        if (followUpDate <= TODAY) {
          ev('ConsentRecorded', 1, exitDate, { scope: 'follow-up-contact', recordedOn: exitDate }, 'consent-follow-up');
          ev(
            'FollowUpRecorded',
            1,
            followUpDate,
            {
              monthsAfterExit: 3,
              followUpDate,
              contactMade: r() < 0.7,
              status: pick([
                'in-education-training-employment',
                'no-further-concerns',
                'further-concerns',
                'unknown',
              ] as const),
            },
            'follow-up-3',
          );
        }
      }
      if (r() < 0.18) {
        const offenceDate = addDays(startDate, 20 + Math.floor(r() * 300));
        const provenDate = addDays(offenceDate, 30 + Math.floor(r() * 120));
        if (provenDate <= TODAY) {
          const category = pick([
            'violence-against-the-person',
            'possession-of-weapon',
            'knife-or-sharp-object-enabled',
            'drugs',
            'other',
            'robbery',
          ] as const);
          offences.push({
            eventId: eventId(run, `offence:${providerId}:${ref}`),
            type: 'OffenceRecorded',
            schemaVersion: 1,
            occurredAt: `${provenDate}T12:00:00Z`,
            providerId,
            programmeId: programme.programmeId,
            participantRef: ref,
            data: {
              offenceDate,
              provenDate,
              disposal: pick(['conviction', 'youth-caution', 'caution'] as const),
              offenceCategory: category,
              seriousViolence: [
                'violence-against-the-person',
                'possession-of-weapon',
                'knife-or-sharp-object-enabled',
                'robbery',
              ].includes(category),
            },
          });
        }
      }
    }
    produced += journey.length;
    yield* journey;
  }
  yield* spendSubmissions(run, providerId);
}

/** The police's comparison pool, one per financial year: people referred for diversion who did not take it up. */
export function comparisonSubmissions(run: string, perYear: number): Submission[] {
  const r = rng(2026);
  const out: Submission[] = [];
  for (const fy of FINANCIAL_YEARS) {
    for (let i = 0; i < perYear; i++) {
      const comparisonRef = `CMP-${fy}-${String(i).padStart(5, '0')}`;
      const indexDate = addDays(`${fy}-04-01`, Math.floor(r() * 364));
      if (indexDate > TODAY) continue;
      const prior = Math.min(8, Math.floor(-Math.log(1 - r()) * 1.0));
      const rec = (type: string, date: string, data: Record<string, unknown>, key: string) =>
        out.push({
          eventId: eventId(run, `comparison:${comparisonRef}:${key}`),
          type,
          schemaVersion: 1,
          occurredAt: `${date}T11:30:00Z`,
          dataPartnerId: COMPARISON_PARTNER,
          comparisonRef,
          data,
        });
      rec(
        'ComparisonRecordSubmitted',
        indexDate,
        {
          poolId: `bench-pool-${fy}`,
          indexDate,
          indexEvent: r() < 0.6 ? 'police-referral-not-taken-up' : 'caution',
          ageAtIndex: 13 + Math.floor(r() * 10),
          gender: r() < 0.75 ? 'male' : 'female',
          ethnicity: 'white-british',
          postcodeDistrict: 'DE23',
          priorOffences: prior,
          priorSeriousViolence: prior > 0 && r() < 0.25,
          priorCustody: prior > 3 && r() < 0.2,
          definitionsVersion: 1,
        },
        'record',
      );
      if (r() < 0.3) {
        const offenceDate = addDays(indexDate, 15 + Math.floor(r() * 330));
        const provenDate = addDays(offenceDate, 20 + Math.floor(r() * 120));
        if (provenDate <= TODAY) {
          rec(
            'ComparisonOffenceRecorded',
            provenDate,
            {
              offenceDate,
              provenDate,
              disposal: 'conviction',
              offenceCategory: 'drugs',
              seriousViolence: false,
              custodial: false,
            },
            'offence',
          );
        }
      }
    }
  }
  return out;
}
