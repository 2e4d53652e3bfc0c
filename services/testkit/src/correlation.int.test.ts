import { randomUUID } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import t from 'tap';
import { projectionByName } from '@vru/projector';
import { Harness, capturingLogger, journey, topicReader } from './index.js';

const h = await Harness.start();
t.teardown(() => h.close());

const REQUEST_ID = `corr-${randomUUID()}`;
const TRACE_ID = randomUUID().replaceAll('-', '');
const [referral, consent] = journey('P-corr', { attended: 0, missed: 0 });

await t.test('the request id goes into the stored metadata and the x-request-id answer header', async (t) => {
  const res = await h.post('/v1/events', referral, h.keys.providerA, { 'x-request-id': REQUEST_ID });
  t.equal(res.statusCode, 202);
  t.equal(res.headers['x-request-id'], REQUEST_ID);
  const traced = await h.post('/v1/events', consent, h.keys.providerA, {
    traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`,
  });
  t.equal(
    traced.headers['x-request-id'],
    TRACE_ID,
    "a W3C traceparent's trace id is used when there is no x-request-id",
  );
  const odd = await h.post('/v1/events', { not: 'an event' }, h.keys.providerA, { 'x-request-id': 'x y<script>' });
  t.not(odd.headers['x-request-id'], 'x y<script>', 'a malformed request id is replaced, never echoed');
  const rows = await h.sql<{ event_id: string; request_id: string }[]>`
    select event_id::text, metadata->>'requestId' as request_id from events order by position`;
  t.same(rows, [
    { event_id: referral!.eventId, request_id: REQUEST_ID },
    { event_id: consent!.eventId, request_id: TRACE_ID },
  ]);
});

await t.test('the relay puts it in the Kafka message headers', async (t) => {
  await h.startRelay();
  await h.relay!.drained();
  const consumer = topicReader(h, 'headers');
  await consumer.connect();
  await consumer.subscribe({ topic: h.config.KAFKA_TOPIC, fromBeginning: true });
  const seen: KafkaMessage[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message) });
  await h.waitFor('both messages', async () => (seen.length >= 2 ? true : undefined));
  await consumer.disconnect();
  const byEvent = new Map(seen.map((m) => [m.headers!['event-id']!.toString(), m]));
  const first = byEvent.get(referral!.eventId as string)!;
  t.equal(first.headers!['correlation-id']!.toString(), REQUEST_ID);
  t.equal(first.headers!['event-type']!.toString(), 'ParticipantReferred');
  t.equal(first.headers!['schema-version']!.toString(), '1');
  t.equal(JSON.parse(first.value!.toString()).metadata.requestId, REQUEST_ID, "and in the value's metadata");
  t.equal(byEvent.get(consent!.eventId as string)!.headers!['correlation-id']!.toString(), TRACE_ID);
});

await t.test('the projector logs each event with its correlation id', async (t) => {
  const capture = capturingLogger('debug', 'projector');
  await h.startProjectors([projectionByName('participants')!], capture.logger);
  const projected = await h.waitFor('projector log lines', async () => {
    const lines = capture.lines().filter((l) => l.msg === 'event projected');
    return lines.length >= 2 ? lines : undefined;
  });
  const referralLine = projected.find((l) => l.eventId === referral!.eventId)!;
  t.equal(referralLine.correlationId, REQUEST_ID);
  t.same(referralLine.projections, ['participants'], 'the projections it was applied to');
  t.equal(projected.find((l) => l.eventId === consent!.eventId)!.correlationId, TRACE_ID);
  t.notOk(
    capture.lines().some((l) => JSON.stringify(l).includes('P-corr')),
    'no participantRef in the logs',
  );
});

t.end();
