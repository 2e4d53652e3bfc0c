import t from 'tap';
import { generateKeys, parseSignerKey } from './checkpoint.js';
import { canonicalJson } from './canonical-json.js';
import { verifyEvidencePack, type GrantEvidencePack } from './evidence-pack.js';
import { G1_FIGURES, grantLog, TestLog } from './testing.js';

const log = grantLog();
const honest = () => structuredClone(log.grantPack('G-1', G1_FIGURES));
const paths = (pack: unknown, key = log.key) => verifyEvidencePack(pack, key).problems.map((p) => p.path);

/** An entry of the pack with its stored event edited (the proofs left as they were). */
function editEntry(
  pack: GrantEvidencePack,
  i: number,
  edit: (event: { data: Record<string, unknown> }) => void,
): GrantEvidencePack {
  const event = JSON.parse(pack.events[i]!.entry);
  edit(event);
  pack.events[i]!.entry = canonicalJson(event);
  return pack;
}

t.test(
  'an honest pack verifies: every event proven in the signed log, the figures re-computed and equal',
  async (t) => {
    const result = verifyEvidencePack(honest(), log.key);
    t.same(result.problems, []);
    t.ok(result.ok);
    t.equal(result.eventsProven, 5);
    t.same(result.positions, ['1', '3', '5', '7', '9'], "only grant G-1's events, at their log positions");
    t.same(result.recomputed, G1_FIGURES);
    t.equal(result.head?.size, 10);
    // Verifies the same after a JSON round trip (what a download is).
    t.ok(verifyEvidencePack(JSON.parse(JSON.stringify(honest())), log.key).ok);
  },
);

t.test('figures that differ from the events are named, field by field', async (t) => {
  const pack = honest();
  pack.figures = {
    ...pack.figures,
    spentPence: 1_830_000 - 1_672_599,
    remainingPence: 4_842_599,
    spentByCategory: { staff: 1 },
  };
  const result = verifyEvidencePack(pack, log.key);
  t.notOk(result.ok);
  t.same(
    result.problems.map((p) => p.path),
    ['/figures/spentPence', '/figures/remainingPence', '/figures/spentByCategory'],
  );
  t.match(result.problems[0]!.message, /the pack says 157401, the events give 1830000/);
});

t.test('attacks on the events are detected and named', async (t) => {
  t.same(
    paths(
      editEntry(honest(), 1, (e) => {
        e.data.amountPence = 1;
      }),
    ),
    ['/events/1/inclusionProof', '/figures'],
    'a spend amount edited in the pack',
  );
  const cut = verifyEvidencePack(
    editEntry(honest(), 1, (e) => {
      e.data.amountPence = 1;
    }),
    log.key,
  );
  t.match(cut.problems[0]!.message, /^leaf 2: not in the signed log/);

  const dropped = honest();
  dropped.events.splice(2, 1);
  t.same(
    paths(dropped),
    ['/events/2/entry', '/events/3/entry', '/figures'],
    'a spend left out of the middle of the stream',
  );

  const duplicated = honest();
  duplicated.events.splice(2, 0, duplicated.events[1]!);
  t.ok(paths(duplicated).includes('/events/2/entry'), 'an event counted twice');

  const reordered = honest();
  [reordered.events[1], reordered.events[2]] = [reordered.events[2]!, reordered.events[1]!];
  t.ok(paths(reordered).includes('/events/1/entry'), 'events out of stream order');

  const moved = honest();
  moved.events[1]!.leafIndex = 3;
  t.same(paths(moved), ['/events/1/inclusionProof', '/figures'], 'an entry claimed at another position');

  const foreign = honest();
  foreign.events.push({ leafIndex: 7, entry: canonicalJson(log.entries[7]), inclusionProof: log.inclusionProof(7) });
  t.same(
    paths(foreign),
    ['/events/5/entry', '/figures'],
    "another grant's spend slipped in (proven, but not this stream)",
  );

  const beyond = honest();
  beyond.events[0]!.leafIndex = 10;
  t.same(paths(beyond), ['/events/0/leafIndex', '/figures']);

  const garbage = honest();
  garbage.events[0]!.inclusionProof = ['not base64!'];
  t.same(paths(garbage), ['/events/0/inclusionProof', '/figures']);
});

t.test('a pack re-signed with any key but the pinned one proves nothing', async (t) => {
  // The attacker rewrites the log (a spend cut to 1p), rebuilds the tree, recomputes the figures and signs with
  // a key of their own under the log's name: every proof is valid against their head, which is refused.
  const attacker = parseSignerKey(generateKeys('vru.test/audit-log').signerKey);
  const forged = grantLog(new TestLog(attacker));
  const pack = editEntry(forged.grantPack('G-1', { ...G1_FIGURES }), 0, () => {});
  t.ok(verifyEvidencePack(pack, forged.key).ok, "consistent under the attacker's own key");
  const result = verifyEvidencePack(pack, log.key);
  t.same(
    result.problems.map((p) => p.path),
    ['/checkpoint'],
  );
  t.match(result.problems[0]!.message, /not signed by the pinned key/);
  t.equal(result.eventsProven, 0, 'nothing is reported as proven');
});

t.test('proofs against another head of the same log are refused; events beyond the head are named', async (t) => {
  const pack = honest();
  pack.checkpoint = log.checkpoint(6);
  t.same(paths(pack), [
    '/events/0/inclusionProof',
    '/events/1/inclusionProof',
    '/events/2/inclusionProof',
    '/events/3/leafIndex',
    '/events/4/leafIndex',
    '/figures',
  ]);
  const older = log.grantPack('G-1', { ...G1_FIGURES }, 6);
  t.same(older.events.length, 3, 'a pack made at size 6 holds the three events below it');
  t.same(
    paths(older),
    ['/figures/spentPence', '/figures/remainingPence', '/figures/spentByCategory', '/figures/spentByQuarter'],
    'and proves them, with the figures as they were at that head',
  );
});

t.test('malformed packs are refused with the part named', async (t) => {
  t.same(paths(null), ['']);
  t.same(paths({ ...honest(), format: 'other' }), ['/format']);
  t.same(paths({ ...honest(), version: 2 }), ['/version']);
  t.same(paths({ ...honest(), subject: { kind: 'return', ref: 'x' } }), ['/subject']);
  t.same(paths({ ...honest(), events: {} }), ['/events']);
  t.same(paths({ ...honest(), checkpoint: 'hello' }), ['/checkpoint']);
  const spaced = honest();
  spaced.events[0]!.entry = JSON.stringify(JSON.parse(spaced.events[0]!.entry), null, 1);
  t.same(paths(spaced), ['/events/0/inclusionProof', '/figures'], 'an entry re-formatted is another entry');
});

t.test('sealed personal fields are verified as ciphertext, never needed in clear', async (t) => {
  const mixed = grantLog();
  const entry = canonicalJson(mixed.entries[1]);
  t.match(entry, /"\$sealed":"v1\./);
  t.ok(
    verifyEvidencePack(honest(), log.key).ok,
    'the participant events around the grant are hashed in the tree as stored',
  );
});
