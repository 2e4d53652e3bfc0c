import { Writable } from 'node:stream';
import t from 'tap';
import { pino } from 'pino';
import { loggerOptions } from './log.js';

t.test('personal data and secrets never reach the logs', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const log = pino(loggerOptions('info', 'test'), sink);
  log.info(
    {
      req: { headers: { authorization: 'Bearer vru_0123456789abcdef_secret', cookie: 'session=abc' } },
      participantRef: 'Jane-Doe-2009',
      body: { participantRef: 'Jane-Doe-2009', data: { postcodeDistrict: 'DE23' } },
      event: { participantRef: 'Jane-Doe-2009', data: { ethnicity: 'white-british' } },
    },
    'request',
  );
  const out = lines.join('');
  t.notMatch(out, /Jane-Doe/, 'participantRef redacted at every level we log');
  t.notMatch(out, /vru_0123456789abcdef_secret/, 'authorization header redacted');
  t.notMatch(out, /session=abc/, 'cookies redacted');
  t.notMatch(out, /white-british|DE23/, 'event data redacted');
  t.match(out, /\[redacted\]/);
});

t.test('request URLs are logged with the participant reference masked', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const log = pino(loggerOptions('info', 'test'), sink);
  log.info(
    {
      req: {
        method: 'POST',
        url: '/v1/participants/Jane-Doe-2009/erasure',
        id: 'r1',
        headers: { authorization: 'Bearer x' },
      },
    },
    'incoming request',
  );
  const out = JSON.parse(lines.join('')) as { req: Record<string, unknown> };
  t.same(out.req, { method: 'POST', url: '/v1/participants/[redacted]/erasure', id: 'r1' });
});
