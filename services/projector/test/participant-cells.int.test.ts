import t from 'tap';
import { DeliverySettings } from '@vru/contracts';
import { addMonths, quarterPeriodOf } from '@vru/domain';
import { applyBatch, ensureProjectionSchema, participantsProjection } from '@vru/projector';
import { Harness, PROGRAMME, PROGRAMME_2, event } from '@vru/testkit';

/**
 * The disclosure cells the participants projection keeps (people per programme, provider, month, figure, age band
 * and delivery setting) equal the people counted from the participant rows themselves: now, and at earlier positions
 * from the changes at or below them, with streams applied out of position order, every event delivered twice, and
 * erasures moving a person's cells to the unknown age band at every position. The active stock's starts and ends give
 * back who was active in each quarter.
 */
const h = await Harness.start();
t.teardown(() => h.close());

type Json = Record<string, unknown>;

const day = (month: number, d: number) => `2026-${String(month).padStart(2, '0')}-${String(d).padStart(2, '0')}`;

/** Referral, then (for most) enrolment, and for some an exit: dates across quarters and a financial year's end. */
function person(ref: string, seed: number, programmeId: string): Json[] {
  const referral = day(1 + (seed % 6), 10 + (seed % 5));
  const out: Json[] = [
    event.referred(ref, {
      programmeId,
      data: { referralDate: referral, ageAtReferral: [9, 12, 15, 19, 23, 30][seed % 6] },
    }),
  ];
  if (seed % 4 !== 0) {
    const enrolled = addMonths(referral, seed % 3);
    out.push(
      event.enrolled(ref, {
        programmeId,
        data: { startDate: enrolled, deliverySetting: DeliverySettings[seed % DeliverySettings.length] },
      }),
    );
    if (seed % 3 === 1) {
      out.push(
        event.exited(ref, {
          programmeId,
          data: { exitDate: addMonths(enrolled, seed % 4), reason: seed % 2 ? 'completed' : 'disengaged' },
        }),
      );
    }
  } else if (seed % 8 === 4) {
    out.push(event.exited(ref, { programmeId, data: { exitDate: addMonths(referral, 1), reason: 'disengaged' } }));
  }
  return out;
}

interface Row {
  stream_id: string;
  programme_id: string;
  provider_id: string;
  referral_date: string | null;
  enrolled_on: string | null;
  exit_date: string | null;
  exit_reason: string | null;
  age_band: string | null;
  delivery_setting: string | null;
}

const monthOf = (d: string) => `${d.slice(0, 7)}-01`;
const quarterOf = (d: string) => quarterPeriodOf(d).from;

/** People per cell counted from participant rows, keyed like the kept cells. */
function expected(rows: readonly Row[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) {
    const band = r.age_band ?? 'unknown';
    const setting = r.delivery_setting ?? (r.enrolled_on === null ? 'not-enrolled' : 'unknown');
    const active =
      r.enrolled_on !== null && (r.exit_date === null || quarterOf(r.exit_date) >= quarterOf(r.enrolled_on));
    const figures: [string, string | null][] = [
      ['referred', r.referral_date && monthOf(r.referral_date)],
      ['enrolled', r.enrolled_on && monthOf(r.enrolled_on)],
      ['completed', r.exit_reason === 'completed' && r.exit_date ? monthOf(r.exit_date) : null],
      ['active-from', active ? monthOf(r.enrolled_on!) : null],
      ['active-to', active && r.exit_date ? addMonths(quarterOf(r.exit_date), 3) : null],
    ];
    for (const [figure, month] of figures) {
      if (!month) continue;
      const key = [r.programme_id, r.provider_id, figure, month, band, setting].join('|');
      out.set(key, (out.get(key) ?? 0) + 1);
    }
  }
  return out;
}

const COLUMNS = `stream_id, programme_id, provider_id, referral_date::text, enrolled_on::text, exit_date::text, exit_reason, age_band, delivery_setting`;
const KEY = `concat_ws('|', programme_id, provider_id, figure, month::text, age_band, setting)`;

await t.test('cells kept as events arrive equal the people counted from the participant rows', async (t) => {
  await ensureProjectionSchema(h.sql, participantsProjection);
  const a = await h.postBatchAccepted(
    Array.from({ length: 24 }, (_, i) => person(`PC-A-${i}`, i, i % 5 === 0 ? PROGRAMME_2 : PROGRAMME)).flat(),
    h.keys.providerA,
  );
  const b = await h.postBatchAccepted(
    Array.from({ length: 13 }, (_, i) => person(`PC-B-${i}`, i + 3, PROGRAMME)).flat(),
    h.keys.providerB,
  );
  const stored = await h.storedInOrder([...a.results, ...b.results].map((r) => r.eventId));
  // Streams applied out of position order (as partitions may be), then everything again (a redelivery).
  await h.applyOutOfOrderThenAgain(participantsProjection, stored);

  // Two erasures, each applied twice: their age bands go from every position.
  for (const ref of ['PC-A-1', 'PC-A-7']) {
    const res = await h.post(`/v1/participants/${ref}/erasure`, { programmeId: PROGRAMME }, h.keys.providerA);
    t.equal(res.statusCode, 202, res.body);
  }
  const erasures = await h.sql<
    { event_id: string }[]
  >`select event_id::text from events where type = 'ParticipantErased'`;
  const erased = await h.storedInOrder(erasures.map((e) => e.event_id));
  t.equal(erased.length, 2);
  await applyBatch(h.sql, participantsProjection, erased);
  await applyBatch(h.sql, participantsProjection, [...stored, ...erased]);
  const erasedStreams = erased.map((e) => e.streamId);

  const kept = async (where = h.sql`true`) =>
    new Map(
      (
        await h.sql<{ key: string; people: number }[]>`
          select ${h.sql.unsafe(KEY)} as key, sum(change)::int as people
          from rm_participants.participant_cell_changes_versions where ${where} group by 1 having sum(change) <> 0`
      ).map((r) => [r.key, r.people]),
    );
  const current = await h.sql<Row[]>`select ${h.sql.unsafe(COLUMNS)} from rm_participants.participants`;
  t.ok(current.length === 37 && current.some((r) => r.exit_reason === 'completed'), `${current.length} participants`);
  const counts = await h.sql<{ key: string; people: number }[]>`
    select ${h.sql.unsafe(KEY)} as key, people from rm_participants.participant_cells where people <> 0`;
  t.same(new Map(counts.map((r) => [r.key, r.people])), expected(current), 'the running counts');
  t.same(await kept(), expected(current), 'the changes, summed');
  t.same(
    await h.sql`select distinct age_band from rm_participants.participant_cell_changes_versions
      where stream_id = any(${erasedStreams}::text[])`,
    [{ age_band: 'unknown' }],
    'an erased person counts under unknown at every position',
  );

  const positions = (
    await h.sql<{ p: string }[]>`
      select valid_from::text as p from rm_participants.participants_versions group by valid_from order by valid_from`
  ).map((r) => BigInt(r.p));
  t.ok(positions.length > 40, `${positions.length} positions`);
  for (const p of [positions[0]!, positions[Math.floor(positions.length / 3)]!, positions.at(-3)!, positions.at(-1)!]) {
    const at = p.toString();
    const rows = await h.sql<Row[]>`
      select ${h.sql.unsafe(COLUMNS)} from rm_participants.participants_versions
      where valid_from <= ${at}::bigint and (valid_to is null or valid_to > ${at}::bigint)`;
    t.same(await kept(h.sql`valid_from <= ${at}::bigint`), expected(rows), `the cells at position ${p}`);
  }

  // The active stock: enrolled by a quarter's end and not exited before its start.
  for (const quarter of ['2026-01-01', '2026-04-01', '2026-07-01', '2026-10-01', '2027-01-01']) {
    const q = quarterPeriodOf(quarter);
    const [fromCells] = await h.sql<{ n: number }[]>`
      select coalesce(sum(case when figure = 'active-from' then people else -people end), 0)::int as n
      from rm_participants.participant_cells
      where (figure = 'active-from' and month <= ${q.to}::date) or (figure = 'active-to' and month <= ${q.from}::date)`;
    const fromRows = current.filter(
      (r) => r.enrolled_on !== null && r.enrolled_on <= q.to && (r.exit_date === null || r.exit_date >= q.from),
    ).length;
    t.equal(fromCells!.n, fromRows, `active in the quarter from ${quarter}: ${fromRows}`);
  }
});
