import t from 'tap';
import { DeliverySettings } from '@vru/contracts';
import { addMonths } from '@vru/domain';
import { compareWithRebuild, ensureProjectionSchema, participantsProjection } from '@vru/projector';
import { Harness, PROGRAMME, event } from '@vru/testkit';

/**
 * A replay writes the participants read model by its own path (each chunk's versions computed in the rebuild process,
 * not a statement per round and the versioning trigger): every version, closed version, cell change, running count
 * and stream position it writes equals what live batches wrote for the same log, with patches that change nothing
 * (later sessions than the first or on its day, a follow-up recorded again as it was, a second baseline measure), follow-ups merged and recorded again, consents withdrawn and given again,
 * exits in the enrolment's quarter and later ones, and erasures in the middle of the log with events after them.
 */
const h = await Harness.start();
t.teardown(() => h.close());

type Json = Record<string, unknown>;
const day = (month: number, d: number) => `2025-${String(month).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
const followUp = (ref: string, monthsAfterExit: number, followUpDate: string, status: string): Json => ({
  ...event.exited(ref),
  type: 'FollowUpRecorded',
  schemaVersion: 1,
  data: { monthsAfterExit, followUpDate, contactMade: status !== 'unknown', status },
});

const measure = (ref: string, timepoint: string, measuredOn: string): Json => ({
  ...event.exited(ref),
  type: 'OutcomeMeasured',
  schemaVersion: 2,
  data: { instrument: 'swemwbs', timepoint, measuredOn, score: 20 },
});

/** A journey whose shape depends on the seed: every kind of patch, some of them changing nothing. */
function journeyOf(ref: string, seed: number): Json[] {
  const referral = day(1 + (seed % 9), 1 + (seed % 20));
  const out: Json[] = [
    event.referred(ref, { data: { referralDate: referral, ageAtReferral: [10, 13, 16, 19, 22, 24][seed % 6] } }),
    event.consent(ref, 'evaluation', { data: { recordedOn: referral } }),
  ];
  if (seed % 3 !== 2) out.push(event.consent(ref, 'follow-up-contact', { data: { recordedOn: referral } }));
  if (seed % 5 === 2) {
    out.push(event.withdrawn(ref, 'evaluation', { data: { withdrawnOn: addMonths(referral, 1) } }));
    if (seed % 2 === 0) out.push(event.consent(ref, 'evaluation', { data: { recordedOn: addMonths(referral, 2) } }));
  }
  if (seed % 6 === 5) return out;
  const enrolled = addMonths(referral, seed % 2);
  out.push(
    event.enrolled(ref, {
      data: { startDate: enrolled, deliverySetting: DeliverySettings[seed % DeliverySettings.length] },
    }),
  );
  // Outcome measures: a baseline (taken twice for some: the second changes nothing), an exit measure below.
  if (seed % 2 === 0)
    for (let i = 0; i < 1 + (seed % 4) / 2; i++) out.push(measure(ref, 'baseline', addMonths(enrolled, 0)));
  // Sessions out of date order: the earliest wins, the later ones and one on the same day change nothing. Some are
  // stored at their first version, which a replay reads whatever their date.
  for (const [i, months] of [1, 0, 2, 0].entries()) {
    const attended = (seed + i) % 4 === 1 ? event.attendedV1 : event.attended;
    out.push(attended(ref, `${ref}-s${i}`, addMonths(enrolled, months)));
  }
  if (seed % 3 !== 2) {
    const exit = addMonths(enrolled, seed % 5);
    out.push(event.exited(ref, { data: { exitDate: exit, reason: seed % 2 ? 'completed' : 'disengaged' } }));
    if (seed % 3 === 0 && seed % 5 !== 2) out.push(measure(ref, 'exit', exit));
    out.push(followUp(ref, 3, addMonths(exit, 3), 'no-further-concerns'));
    if (seed % 2 === 0) out.push(followUp(ref, 3, addMonths(exit, 3), 'further-concerns'));
    out.push(followUp(ref, 6, addMonths(exit, 6), 'unknown'));
    // Recorded again as it was: no new version.
    if (seed % 4 === 0) out.push(followUp(ref, 6, addMonths(exit, 6), 'unknown'));
  }
  return out;
}

/** Posts a batch, fails naming the rules of any event refused, and returns the event ids. */
async function postAccepted(events: Json[], key: string): Promise<string[]> {
  const res = await h.post('/v1/events/batch', { events }, key);
  const answer = res.json<{ results: { eventId: string; status: string; problem?: { code: string } }[] }>();
  const refused = answer.results.filter((r) => r.status === 'rejected').map((r) => r.problem?.code);
  if (refused.length > 0) throw new Error(`refused: ${JSON.stringify(refused)}`);
  return answer.results.map((r) => r.eventId);
}

await t.test('a replay writes the same participants read model as live batches', async (t) => {
  await ensureProjectionSchema(h.sql, participantsProjection);
  const first = await postAccepted(
    Array.from({ length: 30 }, (_, i) => journeyOf(`PR-${i}`, i)).flat(),
    h.keys.providerA,
  );
  // Erasures in the middle of the log, then more events of other people (and of one erased person's programme).
  for (const ref of ['PR-1', 'PR-8']) {
    const res = await h.post(`/v1/participants/${ref}/erasure`, { programmeId: PROGRAMME }, h.keys.providerA);
    t.equal(res.statusCode, 202, res.body);
  }
  const second = await postAccepted(
    Array.from({ length: 12 }, (_, i) => journeyOf(`PR-B-${i}`, i + 30)).flat(),
    h.keys.providerB,
  );
  // And later events of people from before the erasures.
  const third = await postAccepted(
    ['PR-0', 'PR-2', 'PR-3'].map((ref) => event.withdrawn(ref, 'evaluation')),
    h.keys.providerA,
  );
  const erasures = await h.sql<{ event_id: string }[]>`
    select event_id::text from events where type = 'ParticipantErased' order by position`;
  const stored = await h.storedInOrder([...first, ...erasures.map((e) => e.event_id), ...second, ...third]);
  t.equal(erasures.length, 2);
  // Streams applied out of position order (as partitions may be), then everything again (a redelivery).
  await h.applyOutOfOrderThenAgain(participantsProjection, stored);

  const [counts] = await h.sql<{ closed: number; sessions: number; changes: number; erased: number }[]>`
    select (select count(*)::int from rm_participants.participants_closed) as closed,
      (select count(*)::int from rm_participants.participants where first_session_date is not null) as sessions,
      (select count(*)::int from rm_participants.participant_cell_changes_versions) as changes,
      (select count(*)::int from rm_participants.participants_versions
       where stream_id in (select stream_id from events where type = 'ParticipantErased') and age_band is null) as erased`;
  t.ok(counts!.closed > 200 && counts!.changes > 100 && counts!.erased >= 2, JSON.stringify(counts));
  t.same(await compareWithRebuild(h.sql, participantsProjection, h.vault), [], 'no table differs');
  // The same log over chunks of 7 events: each chunk reads back the current rows the ones before it wrote.
  t.same(await compareWithRebuild(h.sql, participantsProjection, h.vault, 7), [], 'no table differs, chunk by chunk');
});
