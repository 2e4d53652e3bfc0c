import t from 'tap';
import { loadDemo } from './demo-stack.js';
import { Harness } from './index.js';

/** The demo (as scripts/up loads it) freezes the 2026Q3 quarterly return, then late data and a correction move it. */
const h = await Harness.start();
t.teardown(() => h.close());
await h.startRelay();
await h.startProjectors();
const { keys, returnId } = await loadDemo(h, { frozenReturn: true });

await t.test("the demo's frozen return is signed, and its restatement shows what moved after the freeze", async (t) => {
  const frozen = (await h.getReport(`/v1/returns/${returnId!}`, keys.funder)).body;
  t.match(frozen, {
    report: 'quarterly-return',
    query: { quarter: '2026Q3' },
    signature: { note: /^vru\.frozen-return\/v1\n/ },
  });
  const r = (await h.getReport(`/v1/returns/${returnId!}/restatement`, keys.commissioner)).body;
  const navigators = r.changed.filter((c: { row: string }) => c.row === 'navigators-rdh');
  t.ok(
    navigators.some((c: { cell: string }) => !c.cell.startsWith('grants.')),
    'a people figure of the navigators moved',
  );
  t.match(
    navigators.find((c: { cell: string }) => c.cell === 'grants.VRU-2025-NAV-01.spentToQuarterEndPence'),
    {
      movedBy: [
        { class: 'correction', providerId: 'em-hospital-navigators', events: null },
        { class: 'consent-withdrawal' },
        { class: 'erasure' },
      ],
    },
    'the spend correction',
  );
  t.ok(
    navigators.some((c: { movedBy: { class: string; providerId: string; events: number | null }[] }) =>
      c.movedBy.some(
        (m) => m.class === 'late-submission' && m.providerId === 'em-hospital-navigators' && m.events === 40,
      ),
    ),
    'the late submissions, counted',
  );
  t.same(
    r.changed.filter((c: { row: string }) => c.row !== 'navigators-rdh'),
    [],
    'nothing else moved',
  );
});
