import t from 'tap';
import { percentile, ratio } from './stats.js';
import { BENCH_PROGRAMME, ceilingRows, Journeys, streamIdOf } from './workload.js';

const SECRET = 'a-test-pseudonym-secret-of-32-characters';

t.test('percentiles are nearest-rank over sorted samples', async (t) => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  t.equal(percentile(sorted, 50), 50);
  t.equal(percentile(sorted, 99), 99);
  t.equal(percentile(sorted, 100), 100);
  t.equal(percentile([], 99), 0, 'no samples, no latency');
  t.equal(ratio(1, 3), 0.33);
  t.equal(ratio(5, 0), 0, 'a contender that did nothing gives no ratio rather than Infinity');
});

t.test('journeys: a new participant each time, events in the order the rules need', async (t) => {
  const journeys = new Journeys('w1');
  const a = journeys.next();
  const b = journeys.next();
  t.not(a.ref, b.ref);
  t.same(
    a.events.slice(0, 3).map((e) => e.type),
    ['ParticipantReferred', 'ConsentRecorded', 'ParticipantEnrolled'],
  );
  t.equal(a.events.length, 27);
  t.ok(a.events.every((e) => e.participantRef === a.ref && e.programmeId === BENCH_PROGRAMME));
  t.equal(new Set([...a.events, ...b.events].map((e) => e.eventId)).size, 54, 'every event has its own id');
  t.ok(journeys.take(500).length >= 500, 'whole journeys, at least as many events as asked');
});

t.test('ceiling rows: the rows our event store would write for one journey', async (t) => {
  const { ref, events } = new Journeys('w2').next();
  const rows = ceilingRows(SECRET, ref, events);
  t.same(
    rows.map((r) => r.stream_version),
    events.map((_, i) => i + 1),
    'stream versions 1..n',
  );
  t.ok(
    rows.every((r) => r.stream_id === streamIdOf(SECRET, ref)),
    'one pseudonymous stream per participant',
  );
  t.same(JSON.parse(rows[0]!.data), events[0]!.data);
  t.match(rows[0]!.request_hash, /^[0-9a-f]{64}$/);
});
