import t from 'tap';
import { compareWithRebuild, ensureProjectionSchema, submissionsProjection } from '@vru/projector';
import { Harness, PROGRAMME, PROGRAMME_2, event } from '@vru/testkit';

/**
 * A replay writes the submissions read model by its own path (rows by COPY, counts computed in the rebuild process):
 * every row, running count and stream position it writes equals what live batches wrote for the same log, applied out
 * of stream order and then again. The log has events of several types from two providers and two programmes, received
 * the same day, a day late, on either side of the lateness threshold and weeks late.
 */
const h = await Harness.start();
t.teardown(() => h.close());

type Json = Record<string, unknown>;

const DATES = ['2026-03-05', '2026-03-30', '2026-04-02', '2026-05-15', '2026-06-30', '2026-07-01'];
/** How long before it was sent each event occurred: on time, late, and on either side of the lateness threshold. */
const HOURS_BEFORE = [0, 30, 6 * 24 + 23, 7 * 24 + 1, 40 * 24];

const occurredAt = (seed: number) => new Date(Date.now() - HOURS_BEFORE[seed % HOURS_BEFORE.length]! * 3_600_000);

function person(ref: string, seed: number): Json[] {
  const programmeId = seed % 4 === 3 ? PROGRAMME_2 : PROGRAMME;
  const out: Json[] = [
    event.referred(ref, { programmeId }),
    event.consent(ref, 'evaluation', { programmeId }),
    event.enrolled(ref, { programmeId }),
  ];
  for (let i = 0; i < 1 + (seed % 5); i++) {
    const date = DATES[(seed * 7 + i * 3) % DATES.length]!;
    out.push(
      (seed + i) % 3 === 0
        ? event.missed(ref, `s-${i}`, date, { programmeId })
        : event.attended(ref, `s-${i}`, date, { programmeId }),
    );
  }
  return out.map((e, i) => ({ ...e, occurredAt: occurredAt(seed + i).toISOString() }));
}

await t.test('a replay writes the same submissions read model as live batches', async (t) => {
  await ensureProjectionSchema(h.sql, submissionsProjection);
  const ids: string[] = [];
  for (const [key, prefix] of [
    [h.keys.providerA, 'SR-A'],
    [h.keys.providerB, 'SR-B'],
  ] as const) {
    const answer = await h.postBatchAccepted(
      Array.from({ length: 24 }, (_, i) => person(`${prefix}-${i}`, i)).flat(),
      key,
    );
    ids.push(...answer.results.map((r) => r.eventId));
  }
  const stored = await h.storedInOrder(ids);
  await h.applyOutOfOrderThenAgain(submissionsProjection, stored);

  const [counts] = await h.sql<{ rows: number; buckets: number; late: number; onTime: number }[]>`
    select (select count(*)::int from rm_submissions.submissions) as rows,
      (select count(distinct lag_days)::int from rm_submissions.submission_counts) as buckets,
      (select sum(late)::int from rm_submissions.submission_counts) as late,
      (select sum(accepted - late)::int from rm_submissions.submission_counts) as "onTime"`;
  t.ok(
    counts!.rows > 250 && counts!.buckets >= 4 && counts!.late > 0 && counts!.onTime > 0,
    JSON.stringify(counts),
  );
  t.same(await compareWithRebuild(h.sql, submissionsProjection, h.vault), [], 'no table differs');
});
