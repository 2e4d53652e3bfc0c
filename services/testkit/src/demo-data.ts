import { createHash } from 'node:crypto';
import { matchToken } from '@vru/contracts';

/**
 * A realistic, deterministic demo data set: three providers, four programmes, three grants, ~100 participants
 * through every event type, late submissions, and a few submissions that the API must refuse.
 */
export const DEMO_PROVIDERS = [
  { providerId: 'safe-spaces-trust', name: 'Safe Spaces Trust' },
  { providerId: 'derby-youth-sport', name: 'Derby Youth Sport CIC' },
  { providerId: 'em-hospital-navigators', name: 'East Midlands Hospital Navigators' },
] as const;

export const DEMO_PROGRAMMES = [
  {
    programmeId: 'mentoring-derby',
    name: 'One-to-one mentoring (Derby)',
    interventionType: 'mentoring',
    startsOn: '2025-04-01',
    providerId: 'safe-spaces-trust',
    instrument: 'swemwbs',
  },
  {
    programmeId: 'detached-youth-work',
    name: 'Detached youth work (Normanton and Arboretum)',
    interventionType: 'youth-work',
    startsOn: '2025-09-01',
    providerId: 'safe-spaces-trust',
    instrument: 'sdq-total',
  },
  {
    programmeId: 'sport-diversion',
    name: 'Friday night sport and diversion',
    interventionType: 'sport-and-diversion',
    startsOn: '2025-06-01',
    providerId: 'derby-youth-sport',
    instrument: 'wemwbs',
  },
  {
    programmeId: 'navigators-rdh',
    name: 'Hospital navigators (Royal Derby A&E)',
    interventionType: 'hospital-navigator',
    startsOn: '2025-04-01',
    providerId: 'em-hospital-navigators',
    instrument: 'swemwbs',
  },
] as const;

export const DEMO_GRANTS = [
  {
    grantRef: 'VRU-2025-MENT-01',
    providerId: 'safe-spaces-trust',
    programmeId: 'mentoring-derby',
    amountPence: 12_000_000,
    startDate: '2025-04-01',
    endDate: '2026-03-31',
    targetParticipants: 40,
  },
  {
    grantRef: 'VRU-2025-SPORT-01',
    providerId: 'derby-youth-sport',
    programmeId: 'sport-diversion',
    amountPence: 8_000_000,
    startDate: '2025-06-01',
    endDate: '2026-05-31',
    targetParticipants: 30,
  },
  {
    grantRef: 'VRU-2025-NAV-01',
    providerId: 'em-hospital-navigators',
    programmeId: 'navigators-rdh',
    amountPence: 15_000_000,
    startDate: '2025-04-01',
    endDate: '2027-03-31',
    targetParticipants: 50,
  },
] as const;

export interface DemoSubmission {
  as: 'provider' | 'commissioner' | 'data-partner';
  providerId?: string;
  body: Record<string, unknown>;
  /** Expected to be refused (a realistic mistake). */
  bad?: boolean;
}

const TODAY = '2026-11-20';

/** Deterministic pseudo-random numbers (mulberry32): the same demo every time. */
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

/** A stable UUID per demo event, so loading the demo twice stores nothing twice. */
function demoEventId(key: string): string {
  const h = createHash('sha256').update(`vru-demo:${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function demoSubmissions(): DemoSubmission[] {
  const r = rng(2026);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: DemoSubmission[] = [];
  const at = (date: string, lateDays = 0) =>
    `${[addDays(date, lateDays), TODAY].sort()[0]}T${String(9 + Math.floor(r() * 8)).padStart(2, '0')}:15:00Z`;

  for (const g of DEMO_GRANTS) {
    out.push({
      as: 'commissioner',
      body: {
        eventId: demoEventId(`grant:${g.grantRef}`),
        type: 'GrantAwarded',
        schemaVersion: 1,
        occurredAt: at(g.startDate),
        grantRef: g.grantRef,
        data: {
          providerId: g.providerId,
          programmeId: g.programmeId,
          amountPence: g.amountPence,
          startDate: g.startDate,
          endDate: g.endDate,
          targetParticipants: g.targetParticipants,
        },
      },
    });
  }

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
    'other-arab',
    'prefer-not-to-say',
  ] as const;
  const districts = ['DE1', 'DE21', 'DE22', 'DE23', 'DE24', 'DE3', 'DE56', 'S40', 'NG10'] as const;
  const risks = [
    'school-exclusion',
    'previous-knife-carrying',
    'exploitation-concern',
    'substance-misuse',
    'victim-of-violence',
    'gang-association',
    'previous-offending',
  ] as const;

  for (const programme of DEMO_PROGRAMMES) {
    const count = programme.programmeId === 'navigators-rdh' ? 30 : 24;
    for (let i = 0; i < count; i++) {
      const ref = `${programme.programmeId.slice(0, 3).toUpperCase()}-${String(1000 + i)}`;
      const provider = programme.providerId;
      const ev = (
        type: string,
        schemaVersion: number,
        occurredAt: string,
        data: Record<string, unknown>,
        key: string,
      ): DemoSubmission => ({
        as: 'provider',
        providerId: provider,
        body: {
          eventId: demoEventId(`${provider}:${ref}:${key}`),
          type,
          schemaVersion,
          occurredAt,
          programmeId: programme.programmeId,
          participantRef: ref,
          data,
        },
      });
      const span = Math.max(30, (Date.parse('2026-09-30') - Date.parse(programme.startsOn)) / 86_400_000);
      const referralDate = addDays(programme.startsOn, Math.floor(r() * span));
      const age = 11 + Math.floor(r() * 14);
      out.push(
        ev(
          'ParticipantReferred',
          1,
          at(referralDate, Math.floor(r() * 3)),
          {
            referralDate,
            referralSource: programme.programmeId === 'navigators-rdh' ? 'hospital-navigator' : pick(sources),
            ...(r() < 0.5
              ? { ageAtReferral: age }
              : { birthYearMonth: `${2026 - age - 1}-${String(1 + Math.floor(r() * 12)).padStart(2, '0')}` }),
            gender: r() < 0.72 ? 'male' : r() < 0.9 ? 'female' : pick(['non-binary', 'prefer-not-to-say'] as const),
            ethnicity: pick(ethnicities),
            postcodeDistrict: pick(districts),
            riskFactors: [...new Set([pick(risks), pick(risks)])],
            protectiveFactors: r() < 0.5 ? ['trusted-adult'] : [],
          },
          'referral',
        ),
      );
      const consentDate = addDays(referralDate, 1 + Math.floor(r() * 4));
      if (consentDate > TODAY) continue;
      out.push(
        ev(
          'ConsentRecorded',
          1,
          at(consentDate),
          { scope: 'service-delivery', recordedOn: consentDate },
          'consent-service',
        ),
      );
      const evaluation = r() < 0.88;
      if (evaluation)
        out.push(
          ev(
            'ConsentRecorded',
            1,
            at(consentDate),
            { scope: 'evaluation', recordedOn: consentDate },
            'consent-evaluation',
          ),
        );
      if (r() < 0.12) continue; // referred but never started
      const startDate = addDays(consentDate, 2 + Math.floor(r() * 18));
      if (startDate > TODAY) continue;
      const planned = 8 + Math.floor(r() * 5);
      out.push(
        ev(
          'ParticipantEnrolled',
          1,
          at(startDate),
          {
            startDate,
            plannedSessions: planned,
            deliverySetting:
              programme.programmeId === 'navigators-rdh'
                ? 'hospital'
                : programme.programmeId === 'detached-youth-work'
                  ? 'community'
                  : pick(['school', 'community'] as const),
          },
          'enrolment',
        ),
      );
      const instrument = programme.instrument;
      const base =
        instrument === 'sdq-total'
          ? 18 + Math.floor(r() * 12)
          : instrument === 'wemwbs'
            ? 36 + Math.floor(r() * 12)
            : 18 + Math.floor(r() * 6);
      if (evaluation)
        out.push(
          ev(
            'OutcomeMeasured',
            2,
            at(startDate),
            { instrument, timepoint: 'baseline', measuredOn: startDate, score: base },
            'baseline',
          ),
        );
      const attendP = 0.55 + r() * 0.4;
      const dropsOut = r() < 0.25;
      const sessionsHeld = dropsOut ? 2 + Math.floor(r() * 4) : planned;
      let lastSession = startDate;
      for (let s = 0; s < sessionsHeld; s++) {
        const date = addDays(startDate, 7 * s + 1);
        if (date > TODAY) break;
        lastSession = date;
        // Opaque: the session (a date and a slot), never the participant's reference inside it.
        const sessionId = `S-${date}-${'ABC'[s % 3]}`;
        const late = r() < 0.15 ? 20 + Math.floor(r() * 40) : Math.floor(r() * 3);
        if (r() < attendP) {
          // Older provider systems still post version 1 of SessionAttended; it is upcast on read.
          out.push(
            r() < 0.2
              ? ev(
                  'SessionAttended',
                  1,
                  at(date, late),
                  {
                    sessionId,
                    sessionDate: date,
                    durationMinutes: 45 + 15 * Math.floor(r() * 4),
                    sessionType: 'group',
                  },
                  `session-${s}`,
                )
              : ev(
                  'SessionAttended',
                  2,
                  at(date, late),
                  {
                    sessionId,
                    sessionDate: date,
                    durationMinutes: 60,
                    sessionType: pick(['one-to-one', 'group', 'activity'] as const),
                    deliveredBy: pick(['staff', 'staff', 'volunteer', 'peer-mentor'] as const),
                  },
                  `session-${s}`,
                ),
          );
        } else {
          out.push(
            ev(
              'SessionMissed',
              1,
              at(date, late),
              {
                sessionId,
                sessionDate: date,
                sessionType: 'one-to-one',
                reason: pick(['did-not-attend', 'illness', 'did-not-attend', 'cancelled-by-provider'] as const),
              },
              `session-${s}`,
            ),
          );
        }
      }
      if (evaluation && r() < 0.08) {
        const withdrawnOn = addDays(startDate, 10);
        if (withdrawnOn <= TODAY)
          out.push(
            ev('ConsentWithdrawn', 1, at(withdrawnOn), { scope: 'evaluation', withdrawnOn }, 'withdraw-evaluation'),
          );
        continue;
      }
      const exitDate = addDays(lastSession, 7);
      if (exitDate > TODAY || (!dropsOut && sessionsHeld < planned)) continue;
      const completed = !dropsOut;
      if (evaluation && (completed || r() < 0.4)) {
        const change = instrument === 'sdq-total' ? -Math.floor(r() * 8) + 1 : Math.floor(r() * 9) - 2;
        const score = Math.max(
          instrument === 'swemwbs' ? 7 : instrument === 'wemwbs' ? 14 : 0,
          Math.min(instrument === 'swemwbs' ? 35 : instrument === 'wemwbs' ? 70 : 40, base + change),
        );
        out.push(
          ev(
            'OutcomeMeasured',
            2,
            at(lastSession),
            { instrument, timepoint: 'exit', measuredOn: lastSession, score },
            'exit-measure',
          ),
        );
      }
      out.push(
        ev(
          'ParticipantExited',
          1,
          at(exitDate, 2),
          {
            exitDate,
            reason: completed
              ? 'completed'
              : pick(['disengaged', 'disengaged', 'moved-away', 'entered-custody'] as const),
          },
          'exit',
        ),
      );
      const followUpDate = addDays(exitDate, 91);
      if (followUpDate <= TODAY) {
        out.push(
          ev(
            'ConsentRecorded',
            1,
            at(exitDate),
            { scope: 'follow-up-contact', recordedOn: exitDate },
            'consent-follow-up',
          ),
        );
        out.push(
          ev(
            'FollowUpRecorded',
            1,
            at(followUpDate),
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
          ),
        );
      }
      // Proven offences, from police / youth justice records, for some participants.
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
          // The provider records the person's match token; the police match their record by the same token.
          const token = demoMatchToken(provider, ref);
          out.push(ev('MatchTokenRecorded', 1, at(provenDate), { matchToken: token }, 'match-token'));
          out.push({
            as: 'data-partner',
            body: {
              eventId: demoEventId(`offence:${provider}:${ref}`),
              type: 'OffenceRecorded',
              schemaVersion: 1,
              occurredAt: at(provenDate, 5),
              matchToken: token,
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
            },
          });
        }
      }
    }
  }

  // Quarterly spend in arrears, by budget line, with one correction.
  const categories = [
    ['staff', 0.62],
    ['venue', 0.12],
    ['materials', 0.06],
    ['participant-costs', 0.1],
    ['overheads', 0.08],
  ] as const;
  for (const g of DEMO_GRANTS) {
    for (let q = 0; q < 8; q++) {
      const periodStart = addDays(g.startDate, q * 91);
      const periodEnd = addDays(periodStart, 90);
      if (periodEnd > g.endDate || addDays(periodEnd, 20) > TODAY) break;
      for (const [category, share] of categories) {
        const grantDays = (Date.parse(g.endDate) - Date.parse(g.startDate)) / 86_400_000 + 1;
        const amountPence = Math.round(g.amountPence * (91 / grantDays) * share * (0.85 + r() * 0.12));
        out.push({
          as: 'provider',
          providerId: g.providerId,
          body: {
            eventId: demoEventId(`spend:${g.grantRef}:${q}:${category}`),
            type: 'SpendRecorded',
            schemaVersion: 2,
            occurredAt: at(periodEnd, 20),
            grantRef: g.grantRef,
            data: {
              amountPence,
              category,
              periodStart,
              periodEnd,
              evidenceRef: `INV-${g.grantRef.slice(-7)}-${q + 1}-${category.slice(0, 3).toUpperCase()}`,
            },
          },
        });
      }
    }
  }
  const first = DEMO_GRANTS[0];
  out.push({
    as: 'provider',
    providerId: first.providerId,
    body: {
      eventId: demoEventId('correction:1'),
      type: 'SpendCorrected',
      schemaVersion: 1,
      occurredAt: at('2025-08-10'),
      grantRef: first.grantRef,
      data: {
        correctsEventId: demoEventId(`spend:${first.grantRef}:0:venue`),
        amountPence: 120_000,
        category: 'venue',
        reason: 'Venue invoice credited after a cancelled booking',
      },
    },
  });

  // Realistic mistakes the API must refuse: a session before enrolment, a full postcode, spend beyond the award.
  out.push({
    as: 'provider',
    providerId: 'safe-spaces-trust',
    bad: true,
    body: {
      eventId: demoEventId('bad:1'),
      type: 'SessionAttended',
      schemaVersion: 2,
      occurredAt: '2026-10-01T10:00:00Z',
      programmeId: 'mentoring-derby',
      participantRef: 'MEN-9999',
      data: {
        sessionId: 'X1',
        sessionDate: '2026-09-30',
        durationMinutes: 60,
        sessionType: 'one-to-one',
        deliveredBy: 'staff',
      },
    },
  });
  out.push({
    as: 'provider',
    providerId: 'derby-youth-sport',
    bad: true,
    body: {
      eventId: demoEventId('bad:2'),
      type: 'ParticipantReferred',
      schemaVersion: 1,
      occurredAt: '2026-10-01T10:00:00Z',
      programmeId: 'sport-diversion',
      participantRef: 'SPO-9998',
      data: {
        referralDate: '2026-09-30',
        referralSource: 'school',
        ageAtReferral: 14,
        gender: 'male',
        ethnicity: 'white-british',
        postcodeDistrict: 'DE23 6AB',
        riskFactors: [],
      },
    },
  });
  out.push({
    as: 'provider',
    providerId: 'em-hospital-navigators',
    bad: true,
    body: {
      eventId: demoEventId('bad:3'),
      type: 'SpendRecorded',
      schemaVersion: 2,
      occurredAt: '2026-10-01T10:00:00Z',
      grantRef: 'VRU-2025-NAV-01',
      data: {
        amountPence: 90_000_000,
        category: 'staff',
        periodStart: '2026-07-01',
        periodEnd: '2026-09-30',
        evidenceRef: 'INV-OOPS',
      },
    },
  });
  out.push(...evaluationCohorts());
  // Targets last: they are scaled from all the activity above.
  out.push(...demoTargets(out));
  return out;
}

/**
 * What the impact page evaluates: for two programmes, a 2025 Q2–Q3 intake large enough to estimate (the Justice
 * Data Lab's minimum is 60 matched participants), and a police comparison pool for the same period and area.
 * Participants have more prior offences and serious violence than the pool (they were referred for a reason);
 * reoffending rises with both, and mentoring takes about 12 points off it, the navigators about 5 (too few people
 * to tell: the page shows an inconclusive result and says why). A generator of its own, so the rest of the demo
 * stays as it was.
 */
export const DEMO_COMPARISON_PARTNER = 'derbyshire-police';
export const DEMO_COMPARISON_POOL = 'derby-2025-under-25s';
/** The cohort the page asks for: the financial year 2025/26, an aligned period under disclosure control (docs/metrics.md). */
export const DEMO_EVALUATION_COHORT = { cohortFrom: '2025-04-01', cohortTo: '2026-03-31' } as const;

function evaluationCohorts(): DemoSubmission[] {
  const r = rng(20_25);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: DemoSubmission[] = [];
  const at = (date: string) => `${date}T${String(9 + Math.floor(r() * 8)).padStart(2, '0')}:30:00Z`;
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
  ] as const;
  const districts = ['DE1', 'DE21', 'DE22', 'DE23', 'DE24', 'DE3'] as const;
  const cohortDays =
    (Date.parse(DEMO_EVALUATION_COHORT.cohortTo) - Date.parse(DEMO_EVALUATION_COHORT.cohortFrom)) / 86_400_000;
  const indexDay = () => addDays(DEMO_EVALUATION_COHORT.cohortFrom, Math.floor(r() * (cohortDays + 1)));
  const priorCount = (mean: number) => Math.min(8, Math.floor(-Math.log(1 - r()) * mean));
  const reoffends = (prior: number, seriousViolence: boolean, effect: number) =>
    r() < Math.max(0.02, 0.2 + 0.06 * Math.min(prior, 4) + (seriousViolence ? 0.1 : 0) - effect);
  const category = (seriousViolence: boolean) =>
    seriousViolence
      ? pick(['violence-against-the-person', 'knife-or-sharp-object-enabled', 'robbery'] as const)
      : pick(['drugs', 'other'] as const);

  const cohorts = [
    {
      programmeId: 'mentoring-derby',
      providerId: 'safe-spaces-trust',
      size: 150,
      effect: 0.15,
      setting: 'community',
      source: 'youth-justice',
    },
    {
      programmeId: 'navigators-rdh',
      providerId: 'em-hospital-navigators',
      size: 100,
      effect: 0.08,
      setting: 'hospital',
      source: 'hospital-navigator',
    },
  ] as const;
  for (const c of cohorts) {
    for (let i = 0; i < c.size; i++) {
      const ref = `${c.programmeId.slice(0, 3).toUpperCase()}-E${2000 + i}`;
      // A week after referral, and the programmes start on the cohort's first day.
      const startDate = addDays(DEMO_EVALUATION_COHORT.cohortFrom, 7 + Math.floor(r() * (cohortDays - 6)));
      const referralDate = addDays(startDate, -7);
      const ev = (type: string, occurredOn: string, data: Record<string, unknown>, key: string): DemoSubmission => ({
        as: 'provider',
        providerId: c.providerId,
        body: {
          eventId: demoEventId(`eval:${c.providerId}:${ref}:${key}`),
          type,
          schemaVersion: 1,
          occurredAt: at(occurredOn),
          programmeId: c.programmeId,
          participantRef: ref,
          data,
        },
      });
      out.push(
        ev(
          'ParticipantReferred',
          referralDate,
          {
            referralDate,
            referralSource: c.source,
            ageAtReferral: 13 + Math.floor(r() * 9),
            gender: r() < 0.78 ? 'male' : 'female',
            ethnicity: pick(ethnicities),
            postcodeDistrict: pick(districts),
            riskFactors: ['previous-offending'],
          },
          'referral',
        ),
        ev('ConsentRecorded', referralDate, { scope: 'service-delivery', recordedOn: referralDate }, 'consent-service'),
        ev('ConsentRecorded', referralDate, { scope: 'evaluation', recordedOn: referralDate }, 'consent-evaluation'),
        ev(
          'ParticipantEnrolled',
          startDate,
          { startDate, plannedSessions: 12, deliverySetting: c.setting },
          'enrolment',
        ),
      );
      const exitDate = addDays(startDate, 84);
      out.push(ev('ParticipantExited', exitDate, { exitDate, reason: r() < 0.7 ? 'completed' : 'disengaged' }, 'exit'));
      // Police records, linked by match token: offences in the two years before the start, and any within the follow-up year.
      const prior = priorCount(2.2);
      const priorViolence = prior > 0 && r() < 0.35;
      const offences: { offenceDate: string; provenDate: string; seriousViolence: boolean; custodial: boolean }[] = [];
      for (let k = 0; k < prior; k++) {
        const offenceDate = addDays(startDate, -60 - Math.floor(r() * 600));
        offences.push({
          offenceDate,
          provenDate: addDays(offenceDate, 20 + Math.floor(r() * 35)),
          seriousViolence: k === 0 && priorViolence,
          custodial: k === 0 && prior > 3 && r() < 0.2,
        });
      }
      if (reoffends(prior, priorViolence, c.effect)) {
        const offenceDate = addDays(startDate, 15 + Math.floor(r() * 330));
        offences.push({
          offenceDate,
          provenDate: addDays(offenceDate, 20 + Math.floor(r() * 120)),
          seriousViolence: r() < 0.3,
          custodial: false,
        });
      }
      const proven = offences.filter((o) => o.provenDate <= TODAY);
      if (proven.length === 0) continue;
      const token = demoMatchToken(c.providerId, ref);
      out.push(ev('MatchTokenRecorded', referralDate, { matchToken: token }, 'match-token'));
      proven.forEach((o, k) =>
        out.push({
          as: 'data-partner',
          body: {
            eventId: demoEventId(`eval-offence:${c.providerId}:${ref}:${k}`),
            type: 'OffenceRecorded',
            schemaVersion: 2,
            occurredAt: at(o.provenDate),
            matchToken: token,
            data: {
              ...o,
              disposal: pick(['conviction', 'youth-caution'] as const),
              offenceCategory: category(o.seriousViolence),
            },
          },
        }),
      );
    }
  }

  // The police's comparison pool: young people referred for diversion who did not take it up, or cautioned, in the same period.
  for (let i = 0; i < 900; i++) {
    const comparisonRef = `DP-${String(40_000 + i * 7)}`;
    const indexDate = indexDay();
    const prior = priorCount(1.0);
    const priorViolence = prior > 0 && r() < 0.25;
    const rec = (type: string, occurredOn: string, data: Record<string, unknown>, key: string): DemoSubmission => ({
      as: 'data-partner',
      body: {
        eventId: demoEventId(`comparison:${comparisonRef}:${key}`),
        type,
        schemaVersion: 1,
        occurredAt: at(occurredOn),
        dataPartnerId: DEMO_COMPARISON_PARTNER,
        comparisonRef,
        data,
      },
    });
    out.push(
      rec(
        'ComparisonRecordSubmitted',
        indexDate,
        {
          poolId: DEMO_COMPARISON_POOL,
          indexDate,
          indexEvent: pick(['police-referral-not-taken-up', 'police-referral-not-taken-up', 'caution'] as const),
          ageAtIndex: 13 + Math.floor(r() * 10),
          gender: r() < 0.75 ? 'male' : 'female',
          ethnicity: pick(ethnicities),
          postcodeDistrict: pick(districts),
          priorOffences: prior,
          priorSeriousViolence: priorViolence,
          priorCustody: prior > 3 && r() < 0.2,
          definitionsVersion: 1,
        },
        'record',
      ),
    );
    if (reoffends(prior, priorViolence, 0)) {
      const offenceDate = addDays(indexDate, 15 + Math.floor(r() * 330));
      const provenDate = addDays(offenceDate, 20 + Math.floor(r() * 120));
      if (provenDate > TODAY) continue;
      const seriousViolence = r() < 0.3;
      out.push(
        rec(
          'ComparisonOffenceRecorded',
          provenDate,
          {
            offenceDate,
            provenDate,
            disposal: pick(['conviction', 'youth-caution', 'caution'] as const),
            offenceCategory: category(seriousViolence),
            seriousViolence,
            custodial: false,
          },
          'offence',
        ),
      );
    }
  }
  return out;
}

const quarterOf = (date: string) => `${date.slice(0, 4)}Q${Math.floor((Number(date.slice(5, 7)) - 1) / 3) + 1}`;
const nextQuarter = (q: string) =>
  q.endsWith('4') ? `${Number(q.slice(0, 4)) + 1}Q1` : `${q.slice(0, 5)}${Number(q.slice(5)) + 1}`;

/**
 * Delivery targets for every quarter of each demo grant, set by the commissioner: the demo's own activity scaled
 * so that some quarters are met (target 90% of the actual), some amber (the actual about 90% of target) and some
 * missed (target 150% of the actual). Quarters not yet reached get the mean of the earlier targets.
 */
function demoTargets(submissions: readonly DemoSubmission[]): DemoSubmission[] {
  const out: DemoSubmission[] = [];
  const FACTORS = [0.9, 1.1, 1.5, 1, 0.8, 1.3];
  for (const g of DEMO_GRANTS) {
    const actual = new Map<
      string,
      { referrals: number; enrolments: number; sessionsDelivered: number; completions: number; spendPence: number }
    >();
    const add = (
      date: string,
      key: 'referrals' | 'enrolments' | 'sessionsDelivered' | 'completions' | 'spendPence',
      n = 1,
    ) => {
      if (date < g.startDate || date > g.endDate) return;
      const q = quarterOf(date);
      const a = actual.get(q) ?? { referrals: 0, enrolments: 0, sessionsDelivered: 0, completions: 0, spendPence: 0 };
      a[key] += n;
      actual.set(q, a);
    };
    for (const { body } of submissions) {
      const d = body.data as Record<string, unknown>;
      if (body.grantRef === g.grantRef && body.type === 'SpendRecorded')
        add(String(d.periodStart), 'spendPence', Number(d.amountPence));
      if (body.programmeId !== g.programmeId) continue;
      if (body.type === 'ParticipantReferred') add(String(d.referralDate), 'referrals');
      if (body.type === 'ParticipantEnrolled') add(String(d.startDate), 'enrolments');
      if (body.type === 'SessionAttended') add(String(d.sessionDate), 'sessionsDelivered');
      if (body.type === 'ParticipantExited' && d.reason === 'completed') add(String(d.exitDate), 'completions');
    }
    let quarters = 0;
    for (let q = quarterOf(g.startDate); q <= quarterOf(g.endDate); q = nextQuarter(q)) quarters += 1;
    const set: Record<string, number>[] = [];
    let i = 0;
    for (let q = quarterOf(g.startDate); q <= quarterOf(g.endDate); q = nextQuarter(q), i += 1) {
      const a = actual.get(q);
      const factor = FACTORS[i % FACTORS.length]!;
      const mean = (k: string) =>
        set.length === 0 ? 2 : Math.round(set.reduce((sum, t) => sum + t[k]!, 0) / set.length);
      const target = (k: 'referrals' | 'enrolments' | 'sessionsDelivered' | 'completions') =>
        a ? Math.max(1, Math.round(a[k] * factor)) : mean(k);
      // Spend is profiled evenly over the quarters, so over- and underspend show as the spending varies.
      const spendPence = Math.floor(g.amountPence / quarters);
      const targets = {
        referrals: target('referrals'),
        enrolments: target('enrolments'),
        sessionsDelivered: target('sessionsDelivered'),
        completions: target('completions'),
      };
      set.push(targets);
      const programme = DEMO_PROGRAMMES.find((p) => p.programmeId === g.programmeId)!;
      out.push({
        as: 'commissioner',
        body: {
          eventId: demoEventId(`targets:${g.grantRef}:${q}`),
          type: 'DeliveryTargetsSet',
          schemaVersion: 1,
          occurredAt: `${g.startDate}T09:00:00Z`,
          grantRef: g.grantRef,
          data: { quarter: q, ...targets, spendPence, shareReliablyImproved: { [programme.instrument]: 0.4 } },
        },
      });
    }
  }
  return out;
}

/** The matching key the demo's providers and police share (docs/matching.md); never the service's. */
export const DEMO_MATCHING_KEY = 'demo-only-matching-key-shared-by-providers-and-police';

/** A synthetic person behind a demo participant: names of letters only, since normalisation drops digits. */
export function demoMatchToken(provider: string, ref: string): string {
  const letters = (s: string) =>
    s
      .toLowerCase()
      .replace(/\d/g, (d) => 'abcdefghij'[Number(d)]!)
      .replace(/[^a-z]/g, '');
  return matchToken(DEMO_MATCHING_KEY, {
    familyName: letters(ref),
    givenName: letters(provider),
    dateOfBirth: '2009-06-15',
  });
}

/** The return the demo freezes once its data set is loaded (what scripts/up shows on the Returns page). */
export const DEMO_FROZEN_RETURN = { report: 'quarterly-return', query: { quarter: '2026Q3' } } as const;

/**
 * What arrives after the demo's return is frozen, so that its restatement shows movement: ten hospital-navigator
 * referrals of August 2026 submitted late (with consent, enrolment and a session each), and a correction that
 * cancels one of the navigators grant's spend lines of the quarter starting 30 June 2026.
 */
export function demoAfterFreeze(): DemoSubmission[] {
  const provider = 'em-hospital-navigators';
  const out: DemoSubmission[] = [];
  for (let i = 0; i < 10; i++) {
    const ref = `NAV-${2000 + i}`;
    const referralDate = addDays('2026-08-03', i * 2);
    const startDate = addDays(referralDate, 5);
    const ev = (
      type: string,
      schemaVersion: number,
      date: string,
      data: Record<string, unknown>,
      key: string,
    ): DemoSubmission => ({
      as: 'provider',
      providerId: provider,
      body: {
        eventId: demoEventId(`late:${provider}:${ref}:${key}`),
        type,
        schemaVersion,
        occurredAt: `${date}T10:15:00Z`,
        programmeId: 'navigators-rdh',
        participantRef: ref,
        data,
      },
    });
    out.push(
      ev(
        'ParticipantReferred',
        1,
        referralDate,
        {
          referralDate,
          referralSource: 'hospital-navigator',
          ageAtReferral: 15 + (i % 6),
          gender: i % 3 === 0 ? 'female' : 'male',
          ethnicity: 'white-british',
          postcodeDistrict: 'DE23',
          riskFactors: ['victim-of-violence'],
        },
        'referral',
      ),
      ev(
        'ConsentRecorded',
        1,
        referralDate,
        { scope: 'service-delivery', recordedOn: referralDate },
        'consent-service',
      ),
      ev(
        'ParticipantEnrolled',
        1,
        startDate,
        { startDate, plannedSessions: 8, deliverySetting: 'hospital' },
        'enrolment',
      ),
      ev(
        'SessionAttended',
        2,
        addDays(startDate, 1),
        {
          sessionId: `S-${addDays(startDate, 1)}-L`,
          sessionDate: addDays(startDate, 1),
          durationMinutes: 60,
          sessionType: 'one-to-one',
          deliveredBy: 'staff',
        },
        'session-0',
      ),
    );
  }
  out.push({
    as: 'provider',
    providerId: provider,
    body: {
      eventId: demoEventId('correction:after-freeze'),
      type: 'SpendCorrected',
      schemaVersion: 1,
      occurredAt: '2026-11-18T10:00:00Z',
      grantRef: 'VRU-2025-NAV-01',
      data: {
        correctsEventId: demoEventId('spend:VRU-2025-NAV-01:5:venue'),
        amountPence: 0,
        category: 'venue',
        reason: 'Venue invoice raised in error',
      },
    },
  });
  return out;
}

/** The order the demo is loaded in: grants first, then each provider's good submissions, then data partners' offences. */
export function demoPhases(all: readonly DemoSubmission[]): DemoSubmission[][] {
  return [
    all.filter((s) => s.as === 'commissioner'),
    ...DEMO_PROVIDERS.map((p) => all.filter((s) => s.as === 'provider' && s.providerId === p.providerId && !s.bad)),
    all.filter((s) => s.as === 'data-partner'),
  ];
}
