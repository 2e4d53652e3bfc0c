import t from 'tap';
import type { PersonalDataVault } from '@vru/event-store';
import {
  applyBatch,
  compareWithRebuild,
  ensureProjectionSchema,
  projections,
  rebuildProjections,
} from '@vru/projector';
import { Harness, event } from '@vru/testkit';

/**
 * A rebuild replays the log through its head as it was when the replay began, so what providers append meanwhile lies
 * above that head. The swap applies whatever of it has committed by then; the live consumer then delivers it again
 * (at least once). Together they leave every read model as a fresh replay of the whole log does: nothing lost, nothing
 * counted twice.
 */
const h = await Harness.start();
t.teardown(() => h.close());

type Json = Record<string, unknown>;

function people(prefix: string, n: number): Json[] {
  return Array.from({ length: n }, (_, i) => {
    const ref = `${prefix}-${i}`;
    return [
      event.referred(ref),
      event.consent(ref, 'evaluation'),
      event.enrolled(ref),
      event.attended(ref, 's-1', '2026-02-02'),
      i % 2 === 0 ? event.missed(ref, 's-2', '2026-02-09') : event.attended(ref, 's-2', '2026-02-09'),
      ...(i % 3 === 0 ? [event.exited(ref)] : []),
    ];
  }).flat();
}

await t.test('events appended while a rebuild replays reach every read model once', async (t) => {
  for (const projection of projections) await ensureProjectionSchema(h.sql, projection);
  const first = await h.postBatchAccepted(people('RB', 12), h.keys.providerA);
  const stored = await h.storedInOrder(first.results.map((r) => r.eventId));
  for (const projection of projections) await applyBatch(h.sql, projection, [...stored]);
  const [{ head } = { head: '0' }] = await h.sql<{ head: string }[]>`select max(position)::text as head from events`;

  // The replay decodes its first chunk only once these events have committed: after the replay took the log's head,
  // before the swap.
  let appending: ReturnType<typeof h.postBatchAccepted> | undefined;
  const vault: PersonalDataVault = Object.create(h.vault) as PersonalDataVault;
  vault.open = async (...args) => {
    await (appending ??= h.postBatchAccepted(people('RC', 8), h.keys.providerB));
    return h.vault.open(...args);
  };
  await rebuildProjections(h.sql, projections, h.logger, { vault });
  t.ok(appending, 'events were appended during the rebuild');
  const later = await h.storedInOrder((await appending!).results.map((r) => r.eventId));
  t.ok(
    later.every((e) => BigInt(e.position) > BigInt(head)),
    `all ${later.length} appended events lie above the head the replay read through (${head})`,
  );
  const [{ n: events } = { n: 0 }] = await h.sql<{ n: number }[]>`select count(*)::int as n from events`;
  const sessions = later.filter((e) => e.type === 'SessionAttended' || e.type === 'SessionMissed').length;

  for (const redelivered of [false, true]) {
    // The live consumer's delivery of the appended events, after the swap applied them.
    if (redelivered) for (const projection of projections) await applyBatch(h.sql, projection, [...later]);
    const when = redelivered ? 'after the live consumer delivered them again' : 'after the swap';
    t.equal(
      await h.count(
        `rm_attendance.sessions where stream_id in (select stream_id from events where position > ${head})`,
      ),
      sessions,
      `each appended session is stored once ${when}`,
    );
    for (const projection of projections) {
      const [checkpoint] = await h.sql.unsafe<{ events_applied: number; consistent: string }[]>(
        `select events_applied::int, consistent_position::text as consistent from rm_${projection.name}.checkpoint`,
      );
      t.same(
        checkpoint,
        { events_applied: events, consistent: later.at(-1)!.position },
        `${projection.name}: every event applied once, through the last ${when}`,
      );
      t.same(
        await compareWithRebuild(h.sql, projection, h.vault),
        [],
        `${projection.name}: the same rows as a fresh replay ${when}`,
      );
    }
  }
});
