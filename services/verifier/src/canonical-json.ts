/**
 * Canonical JSON: object keys sorted (by UTF-16 code units) at every level, no whitespace, strings and numbers as
 * ECMAScript's JSON.stringify writes them — the JSON Canonicalization Scheme of RFC 8785 for the values events
 * hold. The same value always gives the same text, so the text can be hashed and the hash recomputed by anyone.
 * Properties whose value is undefined are left out (as JSON.stringify does); non-finite numbers are refused.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no NaN or Infinity');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const entries = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`);
    return `{${entries.join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
}

/**
 * Parses text that must already be canonical JSON. Refusing anything else means one entry has one meaning for
 * every reader: no duplicate keys (which parsers resolve differently), no alternative spellings of a number.
 */
export function parseCanonicalJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (canonicalJson(value) !== text)
    throw new SyntaxError('not canonical JSON (keys sorted, no whitespace, no duplicates)');
  return value;
}
