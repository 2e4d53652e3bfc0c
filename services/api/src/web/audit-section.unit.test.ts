import t from 'tap';
import { auditSection, type AuditView } from './pages.js';

const verified: NonNullable<AuditView> = {
  ok: true,
  full: false,
  treeSize: 1200,
  leavesChecked: 40,
  headsChecked: 1,
  latestHead: {
    id: '7',
    size: 1200,
    rootHash: `${'A'.repeat(43)}=`,
    timestamp: '2026-03-01T10:00:00.000Z',
    checkpoint: 'note',
  },
  problems: [],
  drift: { ok: true, checkedAt: '2026-03-01T10:00:01.000Z', grantsChecked: 2, drift: [] },
};

t.test('the funding page says "Verified" only when the log and the figures verify', async (t) => {
  const ok = auditSection(verified, ['G-1', 'G<2>']).value;
  t.match(ok, />Verified</);
  t.notMatch(ok, /Not verified/);
  t.match(ok, /40 events, 1 signed heads \(new since the last verified head\)/);
  t.match(ok, /href="\/app\/download\/evidence-pack\?grantRef=G-1"/, 'a pack download per grant');
  t.match(ok, /grantRef=G%3C2%3E/, 'grant references are encoded in links');
  t.notMatch(ok, /G<2>/, 'and escaped in text');

  const drift = auditSection({
    ...verified,
    ok: false,
    problems: [
      {
        kind: 'spend-drift',
        grantRef: 'G-1',
        message: 'grant G-1: spentPence is 1 in the read model, 2002600 in the log',
      },
    ],
    drift: {
      ...verified.drift!,
      ok: false,
      drift: [{ grantRef: 'G-1', field: 'spentPence', log: 2_002_600, readModel: 1 }],
    },
  }).value;
  t.notMatch(drift, />Verified</);
  t.match(drift, /Not verified/);
  t.match(drift, /differ from the spend re-computed from the audit log/);
  t.match(drift, /DIFFERS for 1 grant/);

  const rewritten = auditSection({
    ...verified,
    ok: false,
    latestHead: null,
    problems: [
      {
        kind: 'head-not-signed',
        headId: '9',
        headSize: 12,
        message: 'stored head 9 (size 12) is not signed by the <pinned> key',
      },
    ],
  }).value;
  t.match(rewritten, /does not verify against the pinned key/);
  t.match(
    rewritten,
    /stored head 9 \(size 12\) is not signed by the &lt;pinned&gt; key/,
    'problems are listed, escaped',
  );

  const noKey = auditSection(null, ['G-1']).value;
  t.match(noKey, /No pinned verifier key \(AUDIT_PUBLIC_KEY\)/);
  t.notMatch(noKey, /evidence-pack/, 'no pack links without a key to check them against');
});
