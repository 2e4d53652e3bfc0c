import t from 'tap';
import { matchToken, normaliseIdentifiers, normaliseName } from './matching.js';

const KEY = 'a-matching-key-of-at-least-thirty-two-chars';

t.test('names are normalised so both sides agree on the same person', async (t) => {
  t.equal(normaliseName("O'Brien-Smith"), 'obriensmith');
  t.equal(normaliseName('  Zoë  '), 'zoe');
  t.equal(normaliseName('ŁUKASZ'), 'ukasz', 'letters without a decomposition are dropped, the same on both sides');
  t.equal(
    normaliseIdentifiers({ familyName: 'Núñez', givenName: 'José María', dateOfBirth: '2010-04-02' }),
    'nunez|josemaria|2010-04-02',
  );
});

t.test('the token is a keyed hash: stable, key-dependent, and different for a different date of birth', async (t) => {
  const a = matchToken(KEY, { familyName: "O'Brien", givenName: 'Zoë', dateOfBirth: '2010-04-02' });
  t.match(a, /^[0-9a-f]{64}$/);
  t.equal(a, matchToken(KEY, { familyName: 'OBRIEN', givenName: 'zoe', dateOfBirth: '2010-04-02' }));
  t.not(a, matchToken(`${KEY}-other`, { familyName: "O'Brien", givenName: 'Zoë', dateOfBirth: '2010-04-02' }));
  t.not(a, matchToken(KEY, { familyName: "O'Brien", givenName: 'Zoë', dateOfBirth: '2010-04-03' }));
});

t.test('bad input is refused rather than hashed', async (t) => {
  t.throws(() => matchToken('short', { familyName: 'a', givenName: 'b', dateOfBirth: '2010-04-02' }), /32 characters/);
  t.throws(() => matchToken(KEY, { familyName: '123', givenName: 'b', dateOfBirth: '2010-04-02' }), /letters/);
  t.throws(() => matchToken(KEY, { familyName: 'a', givenName: 'b', dateOfBirth: '02/04/2010' }), /YYYY-MM-DD/);
});
