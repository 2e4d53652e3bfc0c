import t from 'tap';
import { csrfToken, csrfValid, newSessionId } from './session.js';

t.test('a CSRF token is bound to its session and secret', async (t) => {
  const secret = 's'.repeat(40);
  const sid = newSessionId();
  const token = csrfToken(secret, sid);
  t.ok(csrfValid(secret, sid, token));
  t.notOk(csrfValid(secret, newSessionId(), token), 'another session');
  t.notOk(csrfValid('t'.repeat(40), sid, token), 'another secret');
  t.notOk(csrfValid(secret, null, token), 'no session');
  t.notOk(csrfValid(secret, sid, undefined), 'no token');
  t.notOk(csrfValid(secret, sid, `${token}x`), 'a longer token');
});
