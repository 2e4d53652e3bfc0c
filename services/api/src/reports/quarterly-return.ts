import { DeliverySettings, type Principal, type QuarterlyReturnQuery } from '@vru/contracts';
import { quarterBounds } from '@vru/domain';
import { attendanceReadModel, participantsReadModel, spendReadModel } from '@vru/projector';
import type { Sql } from '@vru/runtime';
import { disclosureScope } from '../disclosure.js';
import { emptyIfNoReadModel } from './read-model.js';
import { ParticipantFigures, readParticipantCells, type ParticipantFigure } from './participant-cells.js';
import { readSessionCells, scopeCell, sessionCellCounts } from './session-cells.js';
import { atConsistentPosition, reportFilters, type ReportSnapshot } from '../report-snapshot.js';

const { grants: grantsTable, spend: spendTable } = spendReadModel.tables;
const { participants: participantsTable } = participantsReadModel.tables;
const { sessions: sessionsTable } = attendanceReadModel.tables;

/**
 * The quarterly return a VRU sends the Home Office: per programme, people reached (referred; active) by age band
 * and delivery setting, sessions delivered, completions, and spend against each grant. Definitions: docs/metrics.md.
 */

export const QUARTER_AGE_BANDS = ['under-10', '10-13', '14-17', '18-21', '22-25', '26+', 'unknown'] as const;

/** Counts by a key, every listed key present (0 when none), any other value after them. */
export function breakdown<T>(
  people: readonly T[],
  key: (p: T) => string,
  keys: readonly string[],
): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
  for (const p of people) out[key(p)] = (out[key(p)] ?? 0) + 1;
  return out;
}

interface Person {
  stream_id: string;
  programme_id: string;
  provider_id: string;
  age_band: string | null;
  delivery_setting: string | null;
  referral_date: string | null;
  enrolled_on: string | null;
  exit_date: string | null;
  exit_reason: string | null;
}

/**
 * The quarterly return. Under disclosure control every people count is a population of its own (referred,
 * active, newly enrolled, completions; attenders behind sessions delivered), judged against the other quarters
 * and months of its financial year (flows) or the other providers and breakdown cells (the active stock).
 */
export const quarterlyReturnReport = (sql: Sql, principal: Principal, q: QuarterlyReturnQuery) =>
  atConsistentPosition(sql, principal, ['participants', 'attendance', 'spend'], q, (tx, at) =>
    quarterlyReturnAt(tx, at, principal, q),
  );

async function quarterlyReturnAt(sql: Sql, at: ReportSnapshot, principal: Principal, q: QuarterlyReturnQuery) {
  const { start, end } = quarterBounds(q.quarter);
  const dc = disclosureScope(principal, q.providerId, { from: start, to: end, required: true });
  const window = dc.window(start, end) as { from: string; to: string };
  const { computedAt, position, asOf } = at;
  const programmeFilter = (column = 'programme_id') =>
    q.programmeId ? sql`and ${sql(column)} = ${q.programmeId}` : sql``;
  const providerFilter = (column = 'provider_id') => (dc.provider ? sql`and ${sql(column)} = ${dc.provider}` : sql``);
  const siblingProviderFilter = () => (dc.sqlProvider ? sql`and provider_id = ${dc.sqlProvider}` : sql``);
  const period = dc.period;
  const [people, sessions, cells, participantCells, grants] = await Promise.all([
    // Under the layer, people per cell are counts the projector keeps (readParticipantCells); a provider's own
    // figures read its participants.
    period
      ? []
      : sql<Person[]>`
      select stream_id, programme_id, provider_id, age_band, delivery_setting, referral_date::text, enrolled_on::text, exit_date::text, exit_reason
      from ${sql(participantsTable)}
      where ((referral_date between ${window.from}::date and ${window.to}::date)
          or (enrolled_on <= ${window.to}::date and (exit_date is null or exit_date >= ${window.from}::date)))
        ${programmeFilter()} ${siblingProviderFilter()}`.catch(emptyIfNoReadModel),
    // Under the layer, attenders per cell are counts the projector keeps (readSessionCells); a provider's own
    // figures read its sessions.
    period
      ? []
      : sql<{ programme_id: string; provider_id: string; stream_id: string; month: string; attended: number }[]>`
      select programme_id, provider_id, stream_id, to_char(date_trunc('month', session_date), 'YYYY-MM-DD') as month, count(*)::int as attended
      from ${sql(sessionsTable)}
      where attended and session_date between ${window.from}::date and ${window.to}::date ${programmeFilter()} ${siblingProviderFilter()}
      group by 1, 2, 3, 4`.catch(emptyIfNoReadModel),
    period ? readSessionCells(sql, q.programmeId, window) : [],
    period ? readParticipantCells(sql, q.programmeId, { from: start, to: end }) : [],
    sql<
      {
        grant_ref: string;
        provider_id: string;
        programme_id: string;
        amount_pence: string;
        in_quarter: string;
        to_end: string;
      }[]
    >`
      select g.grant_ref, g.provider_id, g.programme_id, g.amount_pence::text,
             coalesce(sum(s.amount_pence) filter (where s.period_start between ${start}::date and ${end}::date), 0)::text as in_quarter,
             coalesce(sum(s.amount_pence) filter (where s.period_start <= ${end}::date), 0)::text as to_end
      from ${sql(grantsTable)} g left join ${sql(spendTable)} s on s.grant_ref = g.grant_ref
      where true ${programmeFilter('g.programme_id')} ${providerFilter('g.provider_id')}
      group by g.grant_ref, g.provider_id, g.programme_id, g.amount_pence, g.start_date, g.end_date
      having (g.start_date <= ${end}::date and g.end_date >= ${start}::date)
          or count(*) filter (where s.period_start between ${start}::date and ${end}::date) > 0
      order by g.grant_ref`.catch(emptyIfNoReadModel),
  ]);
  const inQuarter = (d: string | null) => d !== null && d >= start && d <= end;
  const inScope = (p: { provider_id: string }) => !dc.provider || p.provider_id === dc.provider;
  const isActive = (p: Person) =>
    p.enrolled_on !== null && p.enrolled_on <= end && (p.exit_date === null || p.exit_date >= start);
  const programmes = [
    ...new Set([
      ...people.filter((p) => inScope(p) && (inQuarter(p.referral_date) || isActive(p))).map((p) => p.programme_id),
      ...sessions.filter((s) => inScope(s) && inQuarter(s.month)).map((s) => s.programme_id),
      ...(period ? cells.filter((c) => c.attenders > 0 && scopeCell(dc, [c], period)).map((c) => c.programme_id) : []),
      ...participantCells
        .filter((c) => (c.figure === 'referred' || c.figure === 'active') && c.age_band !== null && c.quarter === start)
        .filter((c) => c.people > 0 && inScope(c))
        .map((c) => c.programme_id),
      ...grants.map((g) => g.programme_id),
    ]),
  ].sort();
  const band = (p: Person) => p.age_band ?? 'unknown';
  const setting = (p: Person) => p.delivery_setting ?? (p.enrolled_on === null ? 'not-enrolled' : 'unknown');
  /** A flow (people with a date in the quarter): its count, or null when the layer withholds it. */
  const flow = (all: readonly Person[], date: (p: Person) => string | null): number | null => {
    const cells = all
      .filter((p) => date(p) !== null)
      .map((p) => ({ id: p.stream_id, key: dc.key(p.provider_id, null), date: date(p) }));
    return dc.published(cells, null) ? all.filter((p) => inScope(p) && inQuarter(date(p))).length : null;
  };
  /**
   * A breakdown of `list` (the quarter's people of one figure) by `key`, every listed key present. `dated`: the
   * cells are flows of the financial year, judged against the other quarters too; otherwise (the active stock)
   * against the other keys and providers only.
   */
  const record = (
    list: readonly Person[],
    key: (p: Person) => string,
    keys: readonly string[],
    date: ((p: Person) => string | null) | null,
  ) => {
    const mine = list.filter(inScope).filter((p) => !date || inQuarter(date(p)));
    if (!dc.applied) return breakdown(mine, key, keys);
    const cells = list.map((p) => ({
      id: p.stream_id,
      key: dc.key(p.provider_id, key(p)),
      date: date ? date(p) : null,
    }));
    return Object.fromEntries(
      [...keys, 'unknown']
        .filter((k, i, all) => all.indexOf(k) === i)
        .map((k) => [
          k,
          dc.published(cells, k, date ? dc.period : null) ? mine.filter((p) => key(p) === k).length : null,
        ]),
    );
  };
  /** The people figures of a programme from its participants (a provider's own figures). */
  const fromPeople = (programmeId: string) => {
    const all = people.filter((p) => p.programme_id === programmeId);
    const referredAll = all.filter(
      (p) => p.referral_date !== null && p.referral_date >= window.from && p.referral_date <= window.to,
    );
    const activeAll = all.filter(isActive);
    const activeCells = activeAll.map((p) => ({ id: p.stream_id, key: dc.key(p.provider_id, null), date: null }));
    return {
      referred: flow(all, (p) => p.referral_date),
      referredByAgeBand: record(referredAll, band, QUARTER_AGE_BANDS, (p) => p.referral_date),
      referredByDeliverySetting: record(
        referredAll,
        setting,
        [...DeliverySettings, 'not-enrolled'],
        (p) => p.referral_date,
      ),
      active: dc.published(activeCells, null, null) ? activeAll.filter(inScope).length : null,
      activeByAgeBand: record(activeAll, band, QUARTER_AGE_BANDS, null),
      activeByDeliverySetting: record(activeAll, setting, DeliverySettings, null),
      newlyEnrolled: flow(all, (p) => p.enrolled_on),
      completions: flow(all, (p) => (p.exit_reason === 'completed' ? p.exit_date : null)),
    };
  };
  /** The same figures under the layer, from the programme's participant cells (judged as `flow` and `record` are). */
  const fromCells = (programmeId: string) => {
    const f = new ParticipantFigures(
      dc,
      participantCells.filter((c) => c.programme_id === programmeId),
      { from: start, to: end },
    );
    const total = (figure: ParticipantFigure) =>
      dc.publishedCells(f.counts(figure, null), null, figure === 'active' ? null : period)
        ? f.scope(figure, null, null)
        : null;
    const groups = (figure: ParticipantFigure, by: 'age_band' | 'setting', keys: readonly string[]) => {
      const counts = f.counts(figure, by);
      return Object.fromEntries(
        [...keys, 'unknown']
          .filter((k, i, all) => all.indexOf(k) === i)
          .map((k) => [
            k,
            dc.publishedCells(counts, k, figure === 'active' ? null : period) ? f.scope(figure, by, k) : null,
          ]),
      );
    };
    return {
      referred: total('referred'),
      referredByAgeBand: groups('referred', 'age_band', QUARTER_AGE_BANDS),
      referredByDeliverySetting: groups('referred', 'setting', [...DeliverySettings, 'not-enrolled']),
      active: total('active'),
      activeByAgeBand: groups('active', 'age_band', QUARTER_AGE_BANDS),
      activeByDeliverySetting: groups('active', 'setting', DeliverySettings),
      newlyEnrolled: total('enrolled'),
      completions: total('completed'),
    };
  };
  return {
    report: 'quarterly-return' as const,
    filters: reportFilters(q),
    quarterStart: start,
    quarterEnd: end,
    asOf,
    position,
    computedAt,
    suppressed: dc.applied,
    disclosure: dc.stamp,
    rows: programmes.map((programmeId) => {
      const figures = period ? fromCells(programmeId) : fromPeople(programmeId);
      const sessionsDelivered = (): number | null => {
        if (period) {
          const mine = cells.filter((c) => c.programme_id === programmeId);
          const attended = scopeCell(dc, mine, period)?.attended ?? 0;
          return dc.publishedCells(sessionCellCounts(dc, mine, 'attenders'), null) ? dc.count(attended) : null;
        }
        const attenders = sessions.filter((s) => s.programme_id === programmeId);
        const attenderCells = attenders.map((s) => ({
          id: s.stream_id,
          key: dc.key(s.provider_id, null),
          date: s.month,
        }));
        const attended = attenders.filter((s) => inScope(s) && inQuarter(s.month)).reduce((n, s) => n + s.attended, 0);
        return dc.published(attenderCells, null) ? dc.count(attended) : null;
      };
      return {
        programmeId,
        referred: figures.referred,
        referredByAgeBand: figures.referredByAgeBand,
        referredByDeliverySetting: figures.referredByDeliverySetting,
        active: figures.active,
        activeByAgeBand: figures.activeByAgeBand,
        activeByDeliverySetting: figures.activeByDeliverySetting,
        newlyEnrolled: figures.newlyEnrolled,
        sessionsDelivered: sessionsDelivered(),
        completions: figures.completions,
        grants: Object.fromEntries(
          grants
            .filter((g) => g.programme_id === programmeId)
            .map((g) => [
              g.grant_ref,
              {
                providerId: g.provider_id,
                awardedPence: Number(g.amount_pence),
                spentInQuarterPence: Number(g.in_quarter),
                spentToQuarterEndPence: Number(g.to_end),
                remainingAtQuarterEndPence: Number(g.amount_pence) - Number(g.to_end),
              },
            ]),
        ),
      };
    }),
  };
}
