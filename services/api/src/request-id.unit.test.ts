import t from 'tap';
import { requestIdFrom } from './app.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

t.test("the caller's x-request-id is used when well formed", async (t) => {
  t.equal(requestIdFrom({ 'x-request-id': 'batch-2026-09-14.1' }), 'batch-2026-09-14.1');
  t.equal(requestIdFrom({ 'x-request-id': 'req-12345', traceparent: TRACE }), 'req-12345', 'it wins over traceparent');
});

t.test('otherwise the trace id of a valid W3C traceparent', async (t) => {
  t.equal(requestIdFrom({ traceparent: TRACE }), '4bf92f3577b34da6a3ce929d0e0e4736');
  t.equal(
    requestIdFrom({ 'x-request-id': 'short', traceparent: TRACE }),
    '4bf92f3577b34da6a3ce929d0e0e4736',
    'a malformed x-request-id is ignored',
  );
});

t.test('otherwise a new UUID: nothing malformed is taken', async (t) => {
  t.match(requestIdFrom({}), UUID);
  t.match(requestIdFrom({ 'x-request-id': 'has spaces and <tags>' }), UUID);
  t.match(requestIdFrom({ 'x-request-id': 'x'.repeat(65) }), UUID, 'too long');
  t.match(requestIdFrom({ 'x-request-id': ['req-12345', 'req-67890'] }), UUID, 'repeated header');
  t.match(
    requestIdFrom({ traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }),
    UUID,
    'all-zero trace id is invalid',
  );
  t.match(
    requestIdFrom({ traceparent: '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01' }),
    UUID,
    'upper case is not W3C',
  );
  t.match(requestIdFrom({ traceparent: 'garbage' }), UUID);
});
