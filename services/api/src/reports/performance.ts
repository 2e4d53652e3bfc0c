import { TargetInstruments, type PerformanceQuery, type Principal } from '@vru/contracts';
import {
  calendarQuarterOf,
  CountedCells,
  financialYearOf,
  grantYearOf,
  monthOf,
  noActuals,
  quarterBounds,
  quarterPerformance,
  quartersOfYear,
  RELIABLE_CHANGE,
  type CellCounts,
  type IndicatorPerformance,
  type Member,
  type Period,
  type QuarterActuals,
} from '@vru/domain';
import { attendanceReadModel, outcomesReadModel, participantsReadModel, spendReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { disclosureScope, type Disclosure } from '../disclosure.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';
import { groupRows } from './group-rows.js';
import { readParticipantFlows, type ParticipantFlow } from './participant-cells.js';
import { emptyIfNoReadModel } from './read-model.js';
import { readSessionCells, type SessionCell } from './session-cells.js';

const { grants: grantsTable, spend: spendTable, deliveryTargets: deliveryTargetsTable } = spendReadModel.tables;
const { participants: participantsTable } = participantsReadModel.tables;
const { sessions: sessionsTable } = attendanceReadModel.tables;
const { outcomes: outcomesTable } = outcomesReadModel.tables;

/**
 * Contract performance: per grant and quarter with targets, actual against target for each indicator, year to date
 * and the forecast to year end (services/domain metrics/performance.ts). Actuals count the participants, sessions and
 * spend of the grant's provider and programme dated within the grant period. Definitions: docs/metrics.md.
 * Disclosure control is the shared layer's (vru-sdc-1): each people count of a grant's quarter is a population of
 * one provider's cell, judged against the other providers and the other quarters of its financial year.
 */

interface GrantRow {
  grant_ref: string;
  provider_id: string;
  programme_id: string;
  start_date: string;
  end_date: string;
}
interface TargetRow {
  grant_ref: string;
  quarter: string;
  referrals: number;
  enrolments: number;
  sessions_delivered: number;
  completions: number;
  spend_pence: string;
  outcome_targets: Record<string, number>;
  revisions: number;
}
interface PersonRow {
  stream_id: string;
  provider_id: string;
  programme_id: string;
  referral_date: string | null;
  enrolled_on: string | null;
  exit_date: string | null;
  exit_reason: string | null;
}
interface AttendanceRow {
  stream_id: string;
  provider_id: string;
  programme_id: string;
  session_date: string;
}

export type PeopleIndicator = 'referrals' | 'enrolments' | 'sessionsDelivered' | 'completions';

const within = (d: string | null, g: GrantRow): d is string => d !== null && d >= g.start_date && d <= g.end_date;

export const performanceReport = (sql: Sql, principal: Principal, q: PerformanceQuery) =>
  atConsistentPosition(sql, principal, ['spend', 'participants', 'attendance', 'outcomes'], q, (tx, at) =>
    performanceAt(tx, at, principal, q),
  );

async function performanceAt(sql: Sql, at: ReportSnapshot, principal: Principal, q: PerformanceQuery) {
  // A calendar quarter is an aligned period of the layer; without one, each grant's quarters are its fixed population.
  const asked = q.quarter ? quarterBounds(q.quarter) : null;
  const dc = disclosureScope(principal, q.providerId, { from: asked?.start, to: asked?.end, required: false });
  const { computedAt, position, asOf } = at;
  // With a quarter, only the grants with targets for it answer rows: the others are not read at all.
  const grants = await sql<GrantRow[]>`
    select grant_ref, provider_id, programme_id, start_date::text, end_date::text from ${sql(grantsTable)} g
    where true
      ${q.quarter ? sql`and exists (select 1 from ${sql(deliveryTargetsTable)} t where t.grant_ref = g.grant_ref and t.quarter = ${q.quarter})` : sql``}
      ${q.grantRef ? sql`and grant_ref = ${q.grantRef}` : sql``}
      ${q.programmeId ? sql`and programme_id = ${q.programmeId}` : sql``}
      ${dc.provider ? sql`and provider_id = ${dc.provider}` : sql``}
    order by grant_ref`.catch(emptyIfNoReadModel);
  const header = {
    report: 'performance' as const,
    filters: reportFilters(q),
    asOf,
    position,
    computedAt,
    suppressed: dc.applied,
    disclosure: dc.stamp,
  };
  if (grants.length === 0) return { ...header, rows: [] };
  const refs = grants.map((g) => g.grant_ref);
  const providers = [...new Set(grants.map((g) => g.provider_id))];
  const programmes = [...new Set(grants.map((g) => g.programme_id))];
  // Under the layer every provider of the programmes is read: their cells are the siblings of each grant's.
  const providerFilter = () => (dc.applied ? sql`` : sql`and provider_id = any(${providers}::text[])`);
  // Every date a figure or a disclosure check of these grants looks at: the grant periods, widened to whole
  // financial years (the sibling periods of each quarter). Rows dated only outside it count nowhere.
  const from = grants.map((g) => financialYearOf(g.start_date).from).sort()[0]!;
  const to = grants
    .map((g) => financialYearOf(g.end_date).to)
    .sort()
    .at(-1)!;
  // Under the layer, when every grant runs whole months, the people counts are the cells the projectors keep: a
  // grant's actuals are its provider's months within its dates, and its disclosure cells their quarters and years.
  const monthly = grants.every(wholeMonths);
  const counted = dc.applied && monthly;
  const programme = programmes.length === 1 ? programmes[0] : undefined;
  const [targets, people, attendances, spend, outcomes, flows, sessionCells] = await Promise.all([
    sql<TargetRow[]>`
      select grant_ref, quarter, referrals, enrolments, sessions_delivered, completions, spend_pence::text, outcome_targets, revisions
      from ${sql(deliveryTargetsTable)} where grant_ref = any(${refs}::text[])`.catch(emptyIfNoReadModel),
    counted
      ? []
      : sql<PersonRow[]>`
      select stream_id, provider_id, programme_id, referral_date::text, enrolled_on::text, exit_date::text, exit_reason
      from ${sql(participantsTable)}
      where programme_id = any(${programmes}::text[]) ${providerFilter()}
        and (referral_date between ${from}::date and ${to}::date or enrolled_on between ${from}::date and ${to}::date
          or exit_date between ${from}::date and ${to}::date)`.catch(emptyIfNoReadModel),
    counted
      ? []
      : sql<AttendanceRow[]>`
      select stream_id, provider_id, programme_id, session_date::text from ${sql(sessionsTable)}
      where attended and programme_id = any(${programmes}::text[]) ${providerFilter()}
        and session_date between ${from}::date and ${to}::date`.catch(emptyIfNoReadModel),
    sql<{ grant_ref: string; period_start: string; amount_pence: string }[]>`
      select grant_ref, period_start::text, amount_pence::text from ${sql(spendTable)}
      where grant_ref = any(${refs}::text[])`.catch(emptyIfNoReadModel),
    // Outcome actuals follow the outcomes report: evaluation consent in force today, first baseline and last exit.
    // Pairs and those reliably improved (the domain's rule, reliablyImprovedSql) are counted per cell, instrument and
    // day of exit, or month when every grant runs whole months (a month is then within a grant or outside it).
    sql<OutcomeCount[]>`
      select o.provider_id, o.programme_id, o.instrument,
        ${monthly ? sql`date_trunc('month', o.exit_on)::date::text` : sql`o.exit_on::text`} as exit_on,
        count(*)::int as pairs, count(*) filter (where ${reliablyImprovedSql(sql)})::int as improved
      from ${sql(outcomesTable)} o
      where o.provider_id = any(${providers}::text[]) and o.programme_id = any(${programmes}::text[])
        and o.instrument = any(${[...TargetInstruments]}::text[]) and o.baseline_score is not null and o.exit_score is not null
        and o.exit_on between ${from}::date and ${to}::date
        -- A semi-join (a participant is one row at any position): through the as-at views a join's estimate was a
        -- hundred times too high, and the planner sorted every participant to merge them.
        and exists (
          select from ${sql(participantsTable)} p where p.stream_id = o.stream_id and p.evaluation_consent_from is not null
            and (p.evaluation_consent_withdrawn_on is null or p.evaluation_consent_withdrawn_on > ${asOf}::date))
      group by 1, 2, 3, 4`.catch(emptyIfNoReadModel),
    counted ? readParticipantFlows(sql, programme, from, to) : [],
    counted ? readSessionCells(sql, programme, { from, to }) : [],
  ]);

  // Rows indexed once by programme and by provider and programme: a scan of every row per grant was the hot spot.
  const peopleOf = groupRows(people, (p) => p.programme_id);
  const attendancesOf = groupRows(attendances, (s) => s.programme_id);
  const cellKey = (r: { provider_id: string; programme_id: string }) => `${r.provider_id}\u0000${r.programme_id}`;
  const peopleIn = groupRows(people, cellKey);
  const attendancesIn = groupRows(attendances, cellKey);
  const outcomesIn = groupRows(outcomes, cellKey);
  const flowsIn = groupRows(flows, cellKey);
  const sessionCellsIn = groupRows(sessionCells, cellKey);
  const targetsOf = groupRows(targets, (t) => t.grant_ref);
  const spendOf = groupRows(spend, (s) => s.grant_ref);
  const cellsByProgramme = new Map<string, Record<PeopleIndicator, readonly Member[] | CellCounts>>();
  const rows = grants.flatMap((g) => {
    const mine = targetsOf.get(g.grant_ref) ?? [];
    if (mine.length === 0) return [];
    const actuals = new Map<string, QuarterActuals>();
    const at = (date: string) => {
      const quarter = calendarQuarterOf(date);
      let a = actuals.get(quarter);
      if (!a) actuals.set(quarter, (a = noActuals()));
      return a;
    };
    for (const f of flowsIn.get(cellKey(g)) ?? []) {
      if (f.people > 0 && within(f.month, g)) at(f.month)[FLOW_INDICATOR[f.figure]] += f.people;
    }
    for (const c of sessionCellsIn.get(cellKey(g)) ?? [])
      if (c.period_level === 'month' && c.attended > 0 && within(c.period_from, g))
        at(c.period_from).sessionsDelivered += c.attended;
    for (const p of peopleIn.get(cellKey(g)) ?? []) {
      if (within(p.referral_date, g)) at(p.referral_date).referrals += 1;
      if (within(p.enrolled_on, g)) at(p.enrolled_on).enrolments += 1;
      if (p.exit_reason === 'completed' && within(p.exit_date, g)) at(p.exit_date).completions += 1;
    }
    for (const s of attendancesIn.get(cellKey(g)) ?? [])
      if (within(s.session_date, g)) at(s.session_date).sessionsDelivered += 1;
    for (const s of spendOf.get(g.grant_ref) ?? []) at(s.period_start).spendPence += Number(s.amount_pence);
    for (const o of outcomesIn.get(cellKey(g)) ?? []) {
      if (!within(o.exit_on, g)) continue;
      const figures = at(o.exit_on).outcomes as Record<string, { pairs: number; improved: number }>;
      const f = (figures[o.instrument] ??= { pairs: 0, improved: 0 });
      f.pairs += o.pairs;
      f.improved += o.improved;
    }
    const targetMap = new Map(
      mine.map((t) => [
        t.quarter,
        {
          referrals: t.referrals,
          enrolments: t.enrolments,
          sessionsDelivered: t.sessions_delivered,
          completions: t.completions,
          spendPence: Number(t.spend_pence),
          outcomeTargets: Object.entries(t.outcome_targets).map(([instrument, share]) => ({
            instrument,
            shareReliablyImproved: share,
          })),
        },
      ]),
    );
    let cells = cellsByProgramme.get(g.programme_id);
    if (!cells)
      cellsByProgramme.set(
        g.programme_id,
        (cells = counted
          ? countedCellsOf(
              flows.filter((f) => f.programme_id === g.programme_id),
              sessionCells.filter((c) => c.programme_id === g.programme_id),
            )
          : cellsOf(peopleOf.get(g.programme_id) ?? [], attendancesOf.get(g.programme_id) ?? [])),
      );
    const shown = quarterShown(dc, g.provider_id, cells, actuals);
    const started = (quarter: string) => quarterBounds(quarter).start <= asOf;
    const quarters = mine
      .map((t) => t.quarter)
      .filter((quarter) => (q.quarter ? quarter === q.quarter : started(quarter)))
      .sort();
    return quarters.flatMap((quarter) => {
      const figures = quarterPerformance({
        grantStart: g.start_date,
        grantEnd: g.end_date,
        quarter,
        targets: targetMap,
        actuals,
        asOf,
      });
      const year = grantYearOf(g.start_date, g.end_date, quarter);
      const toDate = quartersOfYear(g.start_date, g.end_date, year).filter((x) => x <= quarter);
      const disclosed = dc.applied
        ? figures.map((f) => disclosePerformance(dc, f, quarter, toDate, shown, actuals))
        : figures;
      const revisions = mine.find((t) => t.quarter === quarter)!.revisions;
      const ids = { grantRef: g.grant_ref, providerId: g.provider_id, programmeId: g.programme_id, quarter };
      return disclosed.map((f) => ({ ...ids, ...f, targetsRevised: revisions }));
    });
  });
  return { ...header, rows };
}

/**
 * The population cells of each people count of one programme, every provider's: the people referred, enrolled and
 * completed by the date of each, and the attenders behind sessions delivered by session date.
 */
function cellsOf(
  people: readonly PersonRow[],
  attendances: readonly AttendanceRow[],
): Record<PeopleIndicator, Member[]> {
  const dated = (date: (p: PersonRow) => string | null): Member[] =>
    people.filter((p) => date(p) !== null).map((p) => ({ id: p.stream_id, key: p.provider_id, date: date(p) }));
  return {
    referrals: dated((p) => p.referral_date),
    enrolments: dated((p) => p.enrolled_on),
    completions: dated((p) => (p.exit_reason === 'completed' ? p.exit_date : null)),
    sessionsDelivered: attendances.map((s) => ({ id: s.stream_id, key: s.provider_id, date: s.session_date })),
  };
}

interface OutcomeCount {
  provider_id: string;
  programme_id: string;
  instrument: string;
  exit_on: string;
  pairs: number;
  improved: number;
}

/**
 * The domain's `reliablyImproved` for a row of outcomes `o` in SQL: the change (exit − baseline, in the improving
 * direction) at least the instrument's reliable-change points. Scores are float8, whose rounding is JavaScript's, but
 * PostgreSQL raises an error where JavaScript's difference overflows to an infinity and orders NaN above every number:
 * a NaN score is improved in neither; beyond ±1e300 (where a difference is 0 or far above any threshold) the order
 * of the two scores decides, as the infinite difference does in JavaScript.
 */
export const reliablyImprovedSql = (sql: Sql) => {
  const rules = Object.entries(RELIABLE_CHANGE);
  const when = (rule: (typeof rules)[number][1], near: boolean) => {
    const [gain, loss] = rule.improvement === 'increase' ? ['exit', 'baseline'] : ['baseline', 'exit'];
    return near
      ? sql`${sql(`o.${gain}_score`)} - ${sql(`o.${loss}_score`)} >= ${rule.points}::float8`
      : sql`${sql(`o.${gain}_score`)} > ${sql(`o.${loss}_score`)}`;
  };
  const byInstrument = (near: boolean) =>
    sql`case o.instrument ${rules.map(([instrument, rule]) => sql`when ${instrument} then ${when(rule, near)} `)} else false end`;
  return sql`(case when o.exit_score = 'NaN'::float8 or o.baseline_score = 'NaN'::float8 then false
    when abs(o.exit_score) < 1e300 and abs(o.baseline_score) < 1e300 then ${byInstrument(true)}
    else ${byInstrument(false)} end)`;
};

const FLOW_INDICATOR = { referred: 'referrals', enrolled: 'enrolments', completed: 'completions' } as const;

/** A grant from the first day of a month to the last day of a month: its actuals are sums of whole months. */
const wholeMonths = (g: GrantRow): boolean =>
  monthOf(g.start_date).from === g.start_date && monthOf(g.end_date).to === g.end_date;

/**
 * cellsOf from the cells the projectors keep: people referred, enrolled and completed per provider and quarter and
 * financial year (they add up across months: one date a person), and the attenders behind sessions delivered.
 */
function countedCellsOf(
  flows: readonly ParticipantFlow[],
  sessions: readonly SessionCell[],
): Record<PeopleIndicator, CellCounts> {
  const rows: Record<PeopleIndicator, Map<string, { key: string; period: Period; people: number }>> = {
    referrals: new Map(),
    enrolments: new Map(),
    completions: new Map(),
    sessionsDelivered: new Map(),
  };
  const add = (indicator: PeopleIndicator, key: string, period: Period, people: number) => {
    const at = `${key}\u0000${period.from}\u0000${period.to}`;
    const row = rows[indicator].get(at);
    if (row) row.people += people;
    else rows[indicator].set(at, { key, period, people });
  };
  for (const f of flows) {
    const bounds = quarterBounds(calendarQuarterOf(f.month));
    add(FLOW_INDICATOR[f.figure], f.provider_id, { from: bounds.start, to: bounds.end }, f.people);
    add(FLOW_INDICATOR[f.figure], f.provider_id, financialYearOf(f.month), f.people);
  }
  for (const c of sessions) {
    if (c.provider_id === '' || c.period_level === 'month') continue;
    const period = c.period_level === 'quarter' ? quarterBounds(calendarQuarterOf(c.period_from)) : null;
    add(
      'sessionsDelivered',
      c.provider_id,
      period ? { from: period.start, to: period.end } : financialYearOf(c.period_from),
      c.attenders,
    );
  }
  return {
    referrals: new CountedCells(rows.referrals.values()),
    enrolments: new CountedCells(rows.enrolments.values()),
    completions: new CountedCells(rows.completions.values()),
    sessionsDelivered: new CountedCells(rows.sessionsDelivered.values()),
  };
}

/**
 * Whether the layer publishes one indicator's actual for one quarter of the grant. People counts: the grant's
 * provider's cell for the quarter is a published population (at least MIN_POPULATION, every sibling cell of the
 * other providers and quarters of its financial year 0 or at least MIN_POPULATION), and the count inside the grant
 * is not 1–4. Shares: at least MIN_POPULATION pairs and an improved count that is not 1–4. Spend is money.
 */
export function quarterShown(
  dc: Disclosure,
  providerId: string,
  cells: Record<PeopleIndicator, readonly Member[] | CellCounts>,
  actuals: ReadonlyMap<string, QuarterActuals>,
) {
  const memo = new Map<string, boolean>();
  return (indicator: string, quarter: string): boolean => {
    const id = `${indicator}\u0000${quarter}`;
    const known = memo.get(id);
    if (known !== undefined) return known;
    const a = actuals.get(quarter) ?? noActuals();
    let shown: boolean;
    if (indicator === 'spendPence') {
      shown = true;
    } else if (indicator.startsWith(SHARE)) {
      const f = a.outcomes[indicator.slice(SHARE.length)] ?? { pairs: 0, improved: 0 };
      shown = dc.population(f.pairs) !== null && dc.count(f.improved) !== null;
    } else {
      const people = indicator as PeopleIndicator;
      const bounds = quarterBounds(quarter);
      shown =
        dc.publishedKey(cells[people], providerId, { from: bounds.start, to: bounds.end, level: 'quarter' }) &&
        dc.count(a[people]) !== null;
    }
    memo.set(id, shown);
    return shown;
  };
}

const SHARE = 'reliablyImproved:';

/**
 * One indicator's figures under the layer. A withheld quarter withholds its actual and what gives it back from the
 * published target (variance, percentage, status). Year-to-date figures are running sums over the grant year, so the
 * difference of two gives a quarter back, and the forecast is a known multiple of one: they are published only while
 * every quarter of the year so far is (for shares, every quarter with pairs), and the year's share only over at least
 * MIN_POPULATION pairs with an improved count that is not 1–4.
 */
export function disclosePerformance(
  dc: Disclosure,
  f: IndicatorPerformance,
  quarter: string,
  toDate: readonly string[],
  shown: (indicator: string, quarter: string) => boolean,
  actuals: ReadonlyMap<string, QuarterActuals>,
): IndicatorPerformance {
  if (f.indicator === 'spendPence') return f;
  const withholdQuarter = { actual: null, variance: null, percentOfTarget: null, status: null };
  const withholdYear = {
    yearToDateActual: null,
    yearToDateVariance: null,
    yearToDateStatus: null,
    forecastToYearEnd: null,
    forecastStatus: null,
  };
  let yearShown: boolean;
  let pairs = f.pairs;
  if (f.indicator.startsWith(SHARE)) {
    const of = (x: string) => actuals.get(x)?.outcomes[f.indicator.slice(SHARE.length)] ?? { pairs: 0, improved: 0 };
    const ytd = toDate
      .map(of)
      .reduce((s, x) => ({ pairs: s.pairs + x.pairs, improved: s.improved + x.improved }), { pairs: 0, improved: 0 });
    yearShown =
      toDate.every((x) => of(x).pairs === 0 || shown(f.indicator, x)) &&
      dc.population(ytd.pairs) !== null &&
      dc.count(ytd.improved) !== null;
    pairs = f.pairs === null ? null : dc.population(f.pairs);
  } else {
    yearShown = toDate.every((x) => shown(f.indicator, x));
  }
  return { ...f, ...(shown(f.indicator, quarter) ? {} : withholdQuarter), pairs, ...(yearShown ? {} : withholdYear) };
}
