import t from 'tap';
import { generateKeys, parseSignerKey, parseVerifierKey } from './checkpoint.js';
import { figuresDigest, frozenReturnStatement, signFrozenReturn, verifyFrozenReturn } from './frozen-return.js';

const pair = generateKeys('vru.test/audit-log');
const signer = parseSignerKey(pair.signerKey);
const key = parseVerifierKey(pair.verifierKey);
const figures = { report: 'quarterly-return', rows: [{ programmeId: 'p', referred: 12 }] };

function frozen() {
  const facts = {
    id: '6f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a10',
    report: 'quarterly-return',
    figuresSha256: figuresDigest(figures),
    position: '42',
    asOf: '2026-10-05',
    disclosureRules: 'vru-sdc-1',
    codeVersion: '0.1.0+abc1234',
    frozenAt: '2026-10-05T09:00:00.000Z',
  };
  return {
    ...facts,
    query: { quarter: '2026Q3' },
    role: 'commissioner',
    frozenBy: 'k1',
    figures: structuredClone(figures),
    signature: { note: signFrozenReturn(facts, signer), signedAt: '2026-10-05T09:00:01.000Z' },
  };
}

t.test('the statement names every fact of the return, one per line', async (t) => {
  const r = frozen();
  t.equal(
    frozenReturnStatement(r),
    `vru.frozen-return/v1\nid ${r.id}\nreport quarterly-return\nsha256 ${r.figuresSha256}\nposition 42\n` +
      'asOf 2026-10-05\nrules vru-sdc-1\ncode 0.1.0+abc1234\nfrozenAt 2026-10-05T09:00:00.000Z\n',
  );
});

t.test('an honest frozen return verifies with the public key', async (t) => {
  t.same(verifyFrozenReturn(frozen(), key), { ok: true, problems: [] });
});

t.test('a changed figure fails', async (t) => {
  const r = frozen();
  r.figures.rows[0]!.referred = 13;
  const v = verifyFrozenReturn(r, key);
  t.notOk(v.ok);
  t.match(v.problems[0], /figures: their SHA-256 is .* the figures were changed/);
});

t.test('a changed figure with its digest re-computed fails on the statement', async (t) => {
  const r = frozen();
  r.figures.rows[0]!.referred = 13;
  r.figuresSha256 = figuresDigest(r.figures);
  t.match(verifyFrozenReturn(r, key).problems, [/^figuresSha256: the return says/]);
});

t.test('a changed position, or a signature by another key, fails; an unsigned return does not verify', async (t) => {
  const moved = frozen();
  moved.position = '41';
  t.match(verifyFrozenReturn(moved, key).problems, [/^position: the return says 41, the signed statement 42/]);
  const other = generateKeys('vru.test/audit-log');
  t.notOk(verifyFrozenReturn(frozen(), parseVerifierKey(other.verifierKey)).ok);
  t.same(verifyFrozenReturn({ ...frozen(), signature: null }, key), {
    ok: false,
    problems: ['not signed yet: the return has no signature'],
  });
});
