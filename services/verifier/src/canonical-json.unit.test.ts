import t from 'tap';
import { canonicalJson, parseCanonicalJson } from './canonical-json.js';

t.test('canonical JSON: sorted keys at every level, no whitespace, one text per value', async (t) => {
  t.equal(
    canonicalJson({ b: 1, a: [3, { d: null, c: 'x' }], é: true, A: 0.5 }),
    '{"A":0.5,"a":[3,{"c":"x","d":null}],"b":1,"é":true}',
  );
  t.equal(canonicalJson({ b: 1, a: 2 }), canonicalJson({ a: 2, b: 1 }), 'key order never matters');
  t.equal(
    canonicalJson({ a: undefined, b: [undefined] }),
    '{"b":[null]}',
    'as JSON.stringify: undefined properties dropped',
  );
  t.equal(canonicalJson('line\n"quoted"\u2028'), JSON.stringify('line\n"quoted"\u2028'));
  t.equal(canonicalJson(1e21), '1e+21', 'numbers as ECMAScript writes them (RFC 8785)');
  // RFC 8785 sorts by UTF-16 code units: a surrogate pair (0xD834…) sorts before U+FB33.
  t.equal(canonicalJson({ '\ufb33': 1, '\ud834\udd1e': 2, '\u20ac': 3 }), '{"\u20ac":3,"\ud834\udd1e":2,"\ufb33":1}');
  for (const bad of [Number.NaN, Infinity, 10n, () => 1, Symbol('s')])
    t.throws(() => canonicalJson({ x: bad }), TypeError);
});

t.test('parseCanonicalJson refuses any other spelling of the same value', async (t) => {
  t.same(parseCanonicalJson('{"a":1,"b":[true]}'), { a: 1, b: [true] });
  for (const text of [
    '{"b":1,"a":2}',
    '{"a": 1}',
    '{"a":1,"a":2}',
    '{"a":1.0}',
    '{"a":1e2}',
    ' {"a":1}',
    '{"a":"\\u0041"}',
  ]) {
    t.throws(() => parseCanonicalJson(text), SyntaxError, text);
  }
});
