import t from 'tap';
import type { StoredEvent } from '@vru/contracts';
import { checkAgainstStore } from './verify.js';

const stored = (over: Partial<StoredEvent> = {}): StoredEvent => ({
  position: '7',
  eventId: '6f1c2a4e-1b2c-4d3e-8f40-0123456789ab',
  streamId: 'grant-G-1',
  streamVersion: 2,
  type: 'SpendRecorded',
  schemaVersion: 1,
  providerId: 'prov-a',
  programmeId: 'mentoring-test',
  occurredAt: '2025-07-01T10:00:00.000Z',
  recordedAt: '2025-07-01T10:00:01.123Z',
  data: {
    amountPence: 250_000,
    category: 'venue',
    periodStart: '2025-07-01',
    periodEnd: '2025-09-30',
    evidenceRef: 'INV-2',
  },
  metadata: { requestId: 'req-1', keyId: 'k1', role: 'provider', source: 'api' },
  ...over,
});

t.test(
  "a message is applied only when it is the stored event, field for field; the store's copy is what is applied",
  async (t) => {
    const original = stored();
    const store = new Map([[original.eventId, original]]);
    const sameButReordered = JSON.parse(
      JSON.stringify({ ...original, data: { evidenceRef: 'INV-2', ...original.data } }),
    ) as StoredEvent;
    const { accepted, rejected } = checkAgainstStore(
      [
        sameButReordered,
        stored({ data: { ...original.data, amountPence: 4_000_000 } }),
        stored({ eventId: 'aaaaaaaa-1b2c-4d3e-8f40-0123456789ab', streamVersion: 100_000 }),
        stored({ streamVersion: 100_000 }),
        null as unknown as StoredEvent,
      ],
      store,
    );
    t.equal(accepted.length, 1);
    t.equal(accepted[0], original, "the store's copy");
    t.same(
      rejected.map((r) => r.reason),
      ['differs-from-store', 'not-in-store', 'differs-from-store', 'not-in-store'],
    );
    t.same(
      rejected[1],
      { eventId: 'aaaaaaaa-1b2c-4d3e-8f40-0123456789ab', position: '7', reason: 'not-in-store' },
      'a forged event is named',
    );
  },
);
