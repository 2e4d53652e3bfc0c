import { randomUUID } from 'node:crypto';
import t from 'tap';
import {
  EVENT_COLUMNS,
  EVENT_COLUMNS_TIMES_AS_TEXT,
  isoTimeSql,
  storedEventsById,
  toStoredEvent,
  type EventEntryRow,
  type EventRow,
} from '@vru/event-store';
import { StoredEvents } from '@vru/projector';
import { Harness, event, journey } from '@vru/testkit';

/**
 * The store's copies shared by one process's projections: what they answer is what the store holds, a copy read for one
 * projection is the same (frozen) object for the others, nothing wanted is lost to the capacity, and an id the store
 * does not hold is asked again later rather than remembered as absent.
 */
const h = await Harness.start();
t.teardown(() => h.close());

const posted = await h.postBatchAccepted(
  journey(`shared-${randomUUID()}`, { attended: 3, missed: 1 }),
  h.keys.providerA,
);
const ids = posted.results.map((r) => r.eventId);

t.test('concurrent reads answer what the store holds, with one shared, frozen copy of each event', async (t) => {
  const shared = new StoredEvents(h.sql);
  const [a, b] = await Promise.all([shared.byId(ids), shared.byId([...ids].reverse())]);
  const direct = await storedEventsById(h.sql, ids);
  t.equal(a.size, ids.length);
  t.same(Object.fromEntries(a), Object.fromEntries(direct), 'the same events as a read of the store');
  for (const id of ids) {
    t.equal(a.get(id), b.get(id), 'the second read got the first read’s copy');
    t.ok(Object.isFrozen(a.get(id)) && Object.isFrozen(a.get(id)!.data), 'the copy cannot be changed by a projection');
  }
  const later = await shared.byId(ids.slice(0, 2));
  t.equal(later.get(ids[0]!), a.get(ids[0]!), 'a later batch gets the kept copy');
});

t.test('a read of more ids than the capacity still answers every one', async (t) => {
  const small = new StoredEvents(h.sql, 2);
  const all = await small.byId(ids);
  t.same([...all.keys()].sort(), [...ids].sort());
});

t.test('an id the store does not hold is not remembered: once stored, it is found', async (t) => {
  const shared = new StoredEvents(h.sql);
  const eventId = randomUUID();
  t.equal((await shared.byId([eventId, 'not-a-uuid', null])).size, 0, 'nothing for ids the store does not hold');
  await h.postBatchAccepted([event.referred(`late-${randomUUID()}`, { eventId })], h.keys.providerA);
  const found = await shared.byId([eventId]);
  t.equal(found.get(eventId)?.eventId, eventId);
});

t.test(
  'rows read with their timestamps as text (as a replay reads them) are the same events as read through a Date',
  async (t) => {
    const viaDate = await h.sql<EventRow[]>`select ${h.sql.unsafe(EVENT_COLUMNS)} from events order by position`;
    const asText = await h.sql<EventEntryRow[]>`
    select ${h.sql.unsafe(EVENT_COLUMNS_TIMES_AS_TEXT)} from events order by position`;
    t.ok(viaDate.length >= ids.length);
    t.same(asText.map(toStoredEvent), viaDate.map(toStoredEvent));
    // Microseconds that would round up (across a year's end too), before 1970, a leap day, an offset that is not whole
    // hours; read by a session whose time zone is not UTC.
    await h.sql.begin(async (tx) => {
      await tx`set local time zone 'Asia/Kolkata'`;
      for (const time of [
        '2026-03-29 00:59:59.999999+00',
        '1969-12-31 23:59:59.9995+00',
        '1999-12-31 23:59:59.9999+00',
        '2024-02-29 23:30:00.123456-05:30',
        '2026-10-25 01:30:00.5+01',
      ]) {
        const [row] = await tx<{ date: Date; text: string }[]>`
        select x as date, ${tx.unsafe(isoTimeSql('x', 'milliseconds'))} as text from (select ${time}::timestamptz as x) v`;
        t.equal(row!.text, row!.date.toISOString(), time);
      }
    });
  },
);
