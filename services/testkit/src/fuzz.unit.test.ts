import { createHash } from 'node:crypto';
import t from 'tap';
import { checkSubmission, EventTypes } from '@vru/contracts';
import { createRng, generateCases, validEvent, type FuzzCase, type FuzzContext } from './fuzz.js';

const ctx: FuzzContext = {
  seed: 42,
  count: 400,
  bodyLimit: 64 * 1024,
  programmeId: 'mentoring-test',
  participantRef: 'FUZZ-1',
  grantRef: 'G-FUZZ',
  providerId: 'prov-a',
};
const fingerprint = (cases: FuzzCase[]) => {
  const hash = createHash('sha256');
  for (const c of cases)
    hash.update(JSON.stringify([c.kind, c.method, c.path, c.contentType, c.key, c.field])).update(c.body ?? '');
  return hash.digest('hex');
};

t.test('the same seed gives the same cases, byte for byte; another seed gives others', async (t) => {
  t.equal(fingerprint(generateCases(ctx)), fingerprint(generateCases(ctx)));
  t.not(fingerprint(generateCases({ ...ctx, seed: 43 })), fingerprint(generateCases(ctx)));
  const rng = createRng(7);
  const again = createRng(7);
  t.same(
    Array.from({ length: 20 }, () => rng.next()),
    Array.from({ length: 20 }, () => again.next()),
  );
});

t.test('the fixtures the mutations start from are valid, so each mutation is what makes a case invalid', async (t) => {
  const rng = createRng(1);
  for (const type of EventTypes) t.ok(checkSubmission(validEvent(rng, type, ctx)).ok, type);
});

t.test('every class is drawn, and no single event body is one the contract would accept', async (t) => {
  const cases = generateCases(ctx);
  t.equal(cases.length, ctx.count);
  const kinds = new Set(cases.map((c) => c.kind));
  for (const kind of [
    'mutated-event',
    'mutated-batch',
    'mutated-csv',
    'invalid-utf8',
    'deep-nesting',
    'prototype-pollution',
    'invalid-csv',
    'hostile-query',
    'huge-string',
  ]) {
    t.ok(kinds.has(kind), kind);
  }
  for (const c of cases.filter(
    (c) => c.path === '/v1/events' && c.key !== 'none' && c.key !== 'garbage' && c.contentType === 'application/json',
  )) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(c.body!.toString('utf8'));
    } catch {
      continue;
    }
    t.notOk(checkSubmission(parsed).ok, `case ${c.index} (${c.description}) would be accepted`);
  }
});
