import { readFileSync } from 'node:fs';
import t from 'tap';
import { fromBase64, toHex, utf8 } from './encoding.js';
import {
  emptyFrontier,
  emptyRoot,
  extendFrontier,
  foldRange,
  frontierFrom,
  frontierRoot,
  leafHash,
  MemoryTree,
  nodeHash,
  nodeRange,
  perfectSubtrees,
  rootOfLeaves,
  splitPoint,
  type Hash,
} from './merkle.js';
import { planConsistencyProof, planInclusionProof, verifyConsistency, verifyInclusion } from './proofs.js';

const testdata = (name: string) => JSON.parse(readFileSync(new URL(`../testdata/${name}`, import.meta.url), 'utf8'));
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

interface TreeVectors {
  leafInputs: string[];
  nodeHashes: string[][];
  rootHashes: string[];
}
const tree: TreeVectors = testdata('rfc6962-tree.json');

t.test(
  'the Certificate Transparency tree of eight leaves: leaf hashes, every complete subtree, every root',
  async (t) => {
    const leaves = tree.leafInputs.map((input) => leafHash(hex(input)));
    t.same(leaves.map(toHex), tree.nodeHashes[0], 'leaf hashes SHA-256(0x00 ‖ entry)');
    t.equal(toHex(emptyRoot()), tree.rootHashes[0], 'the empty tree');
    const memory = new MemoryTree();
    memory.appendEntries(tree.leafInputs.map(hex));
    for (let n = 0; n <= 8; n++) {
      t.equal(toHex(rootOfLeaves(leaves.slice(0, n))), tree.rootHashes[n], `MTH of ${n} leaves (recursive definition)`);
      t.equal(toHex(memory.root(n)), tree.rootHashes[n], `root of ${n} from stored subtrees`);
      const { frontier } = extendFrontier(emptyFrontier(), leaves.slice(0, n));
      t.equal(toHex(frontierRoot(frontier)), tree.rootHashes[n], `root of ${n} from the frontier`);
    }
    tree.nodeHashes.forEach((level, l) =>
      level.forEach((hash, index) => {
        t.equal(toHex(memory.node({ level: l, index })), hash, `node ${l}/${index}`);
      }),
    );
  },
);

interface Probe {
  file: string;
  desc: string;
  proof: string[] | null;
  wantErr: boolean;
}
interface InclusionProbe extends Probe {
  leafIdx: number;
  treeSize: number;
  root: string | null;
  leafHash: string | null;
}
interface ConsistencyProbe extends Probe {
  size1: number;
  size2: number;
  root1: string | null;
  root2: string | null;
}
const probes: { inclusion: InclusionProbe[]; consistency: ConsistencyProbe[] } = testdata('rfc6962-proof-probes.json');
// The probes' "don't care" values are short strings: any bytes they hold, decoded leniently as their authors did.
const b64 = (s: string | null) => fromBase64(s ?? '') ?? new Uint8Array(Buffer.from(s ?? '', 'base64'));

t.test('every inclusion probe of the transparency-dev test vectors', async (t) => {
  t.equal(probes.inclusion.length, 98);
  for (const p of probes.inclusion) {
    const result = verifyInclusion(p.leafIdx, p.treeSize, b64(p.leafHash), (p.proof ?? []).map(b64), b64(p.root));
    t.equal(result.ok, !p.wantErr, `${p.file}: ${p.desc}`);
  }
});

// One deliberate difference: equal sizes with equal 12-byte "roots" pass there (only equality is compared); here
// a root that is not a SHA-256 hash is refused before anything else.
const STRICTER = new Set(['consistency/additional/sizes-are-equal-one-and-proof-is-empty.json']);

t.test('every consistency probe of the transparency-dev test vectors', async (t) => {
  t.equal(probes.consistency.length, 98);
  for (const p of probes.consistency) {
    const result = verifyConsistency(p.size1, p.size2, (p.proof ?? []).map(b64), b64(p.root1), b64(p.root2));
    t.equal(result.ok, !p.wantErr && !STRICTER.has(p.file), `${p.file}: ${p.desc}`);
  }
  const root = b64(probes.consistency.find((p) => STRICTER.has(p.file))!.root1);
  t.equal(root.length, 12, "that probe's root is not a hash");
  const real = leafHash(utf8('x'));
  t.ok(verifyConsistency(1, 1, [], real, real).ok, 'equal sizes, equal roots, empty proof: consistent');
});

// ------------------------------------------------------------------------------------------ reference proofs

/** PATH(m, D[n]) exactly as RFC 9162 section 2.1.3.1 defines it, over leaf hashes. */
function referencePath(m: number, leaves: Hash[]): Hash[] {
  if (leaves.length <= 1) return [];
  const k = splitPoint(leaves.length);
  return m < k
    ? [...referencePath(m, leaves.slice(0, k)), rootOfLeaves(leaves.slice(k))]
    : [...referencePath(m - k, leaves.slice(k)), rootOfLeaves(leaves.slice(0, k))];
}

/** SUBPROOF(m, D[n], b) of RFC 9162 section 2.1.4.1. */
function referenceSubproof(m: number, leaves: Hash[], whole: boolean): Hash[] {
  if (m === leaves.length) return whole ? [] : [rootOfLeaves(leaves)];
  const k = splitPoint(leaves.length);
  return m <= k
    ? [...referenceSubproof(m, leaves.slice(0, k), whole), rootOfLeaves(leaves.slice(k))]
    : [...referenceSubproof(m - k, leaves.slice(k), false), rootOfLeaves(leaves.slice(0, k))];
}

const entries = (n: number, salt = '') => Array.from({ length: n }, (_, i) => utf8(`{"position":"${i + 1}"${salt}}`));
const flipBit = (h: Hash, bit: number): Hash => {
  const out = new Uint8Array(h);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
};
const build = (memory: MemoryTree, plan: ReturnType<typeof planInclusionProof>) =>
  plan.build(plan.nodes.map(memory.node));

const N = 40;
const memory = new MemoryTree();
memory.appendEntries(entries(N));
const leaves = entries(N).map(leafHash);

t.test(
  `inclusion proofs for every leaf of every size 1..${N}: from stored subtrees, as the RFC defines, verified`,
  async (t) => {
    let checked = 0;
    for (let n = 1; n <= N; n++) {
      const root = memory.root(n);
      for (let i = 0; i < n; i++) {
        const proof = build(memory, planInclusionProof(i, n));
        const reference = referencePath(i, leaves.slice(0, n));
        if (proof.map(toHex).join() !== reference.map(toHex).join())
          t.fail(`proof for leaf ${i} of ${n} differs from PATH`);
        if (!verifyInclusion(i, n, leaves[i]!, proof, root).ok) t.fail(`proof for leaf ${i} of ${n} does not verify`);
        checked += 1;
      }
    }
    t.equal(checked, (N * (N + 1)) / 2, 'all of them');
  },
);

t.test(
  'tampered inclusion proofs fail: a flipped bit anywhere, another leaf, another index, another size, cut or padded',
  async (t) => {
    const failures: string[] = [];
    const mustFail = (what: string, ok: boolean) => {
      if (ok) failures.push(what);
    };
    for (let n = 1; n <= N; n++) {
      const root = memory.root(n);
      for (let i = 0; i < n; i++) {
        const proof = build(memory, planInclusionProof(i, n));
        proof.forEach((_, j) => {
          const flipped = proof.map((p, k) => (k === j ? flipBit(p, (i + j) % 256) : p));
          mustFail(`${i}/${n} bit flipped in proof[${j}]`, verifyInclusion(i, n, leaves[i]!, flipped, root).ok);
        });
        mustFail(`${i}/${n} flipped leaf`, verifyInclusion(i, n, flipBit(leaves[i]!, 7), proof, root).ok);
        mustFail(`${i}/${n} flipped root`, verifyInclusion(i, n, leaves[i]!, proof, flipBit(root, 0)).ok);
        if (n > 1) mustFail(`${i}/${n} another leaf`, verifyInclusion(i, n, leaves[(i + 1) % n]!, proof, root).ok);
        if (n > 1) mustFail(`${i}/${n} another index`, verifyInclusion((i + 1) % n, n, leaves[i]!, proof, root).ok);
        // A proof for the same leaf in a tree of another size, against this tree's root.
        if (i < n - 1) {
          const forSmaller = build(memory, planInclusionProof(i, n - 1));
          mustFail(`${i}/${n} proof for size ${n - 1}`, verifyInclusion(i, n, leaves[i]!, forSmaller, root).ok);
        }
        if (proof.length > 0)
          mustFail(`${i}/${n} truncated`, verifyInclusion(i, n, leaves[i]!, proof.slice(0, -1), root).ok);
        mustFail(`${i}/${n} padded`, verifyInclusion(i, n, leaves[i]!, [...proof, root], root).ok);
        mustFail(`${i}/${n} beyond the tree`, verifyInclusion(n, n, leaves[i]!, proof, root).ok);
      }
    }
    t.same(failures, [], 'every tampered proof is refused');
  },
);

t.test(
  `consistency proofs between every pair of sizes 1 ≤ m ≤ n ≤ ${N}: as the RFC defines, verified; tampering fails`,
  async (t) => {
    const failures: string[] = [];
    let checked = 0;
    for (let n = 1; n <= N; n++) {
      for (let m = 1; m <= n; m++) {
        const plan = planConsistencyProof(m, n);
        const proof = plan.build(plan.nodes.map(memory.node));
        const reference = referenceSubproof(m, leaves.slice(0, n), true);
        if (proof.map(toHex).join() !== reference.map(toHex).join()) failures.push(`${m}→${n} differs from PROOF`);
        const [r1, r2] = [memory.root(m), memory.root(n)];
        if (!verifyConsistency(m, n, proof, r1, r2).ok) failures.push(`${m}→${n} does not verify`);
        proof.forEach((_, j) => {
          const flipped = proof.map((p, k) => (k === j ? flipBit(p, j) : p));
          if (verifyConsistency(m, n, flipped, r1, r2).ok) failures.push(`${m}→${n} bit flipped in proof[${j}]`);
        });
        if (verifyConsistency(m, n, proof, flipBit(r1, 3), r2).ok) failures.push(`${m}→${n} first root flipped`);
        if (verifyConsistency(m, n, proof, r1, flipBit(r2, 3)).ok) failures.push(`${m}→${n} second root flipped`);
        if (m < n && verifyConsistency(n, m, proof, r2, r1).ok)
          failures.push(`${m}→${n} sizes swapped (a truncated log)`);
        if (m < n && proof.length > 0 && verifyConsistency(m, n, proof.slice(0, -1), r1, r2).ok)
          failures.push(`${m}→${n} truncated proof`);
        if (m < n - 1 && verifyConsistency(m, n - 1, proof, r1, memory.root(n - 1)).ok) {
          failures.push(`${m}→${n} proof used for size ${n - 1}`);
        }
        checked += 1;
      }
    }
    t.same(failures, [], 'every proof matches the RFC and verifies; every tampered one fails');
    t.equal(checked, (N * (N + 1)) / 2);
  },
);

t.test('a rewritten entry breaks consistency with every head that covered it, and only those', async (t) => {
  const failures: string[] = [];
  const n = 23;
  for (let changed = 0; changed < n; changed++) {
    const forged = entries(n);
    forged[changed] = utf8(`{"position":"${changed + 1}","amountPence":1}`);
    const rewritten = new MemoryTree();
    rewritten.appendEntries(forged);
    for (let m = 1; m <= n; m++) {
      const plan = planConsistencyProof(m, n);
      const proof = plan.build(plan.nodes.map(rewritten.node));
      const result = verifyConsistency(m, n, proof, memory.root(m), rewritten.root(n));
      if (result.ok !== m <= changed)
        failures.push(`entry ${changed} changed, head of ${m}: ${result.ok ? 'accepted' : 'refused'}`);
    }
  }
  t.same(failures, []);
});

t.test('the frontier grows by chunks to the same root and stores every complete subtree exactly once', async (t) => {
  let frontier = emptyFrontier();
  const stored = new Map<string, Hash>();
  const chunks = [1, 2, 3, 5, 8, 13, 1, 4, 3];
  let at = 0;
  for (const size of chunks) {
    const { frontier: next, created } = extendFrontier(frontier, leaves.slice(at, at + size));
    for (const node of created) {
      const key = `${node.level}/${node.index}`;
      if (stored.has(key)) t.fail(`node ${key} created twice`);
      stored.set(key, node.hash);
    }
    frontier = next;
    at += size;
    t.equal(toHex(frontierRoot(frontier)), toHex(memory.root(at)), `root after ${at} leaves`);
    t.equal(frontier.hashes.length, perfectSubtrees(0, at).length, 'one hash per set bit of the size');
    const fromStore = frontierFrom(at, (id) => stored.get(`${id.level}/${id.index}`)!);
    t.same(
      fromStore.hashes.map(toHex),
      frontier.hashes.map(toHex),
      'the frontier can be read back from the stored subtrees',
    );
  }
  // n leaves have 2n - popcount(n) complete subtrees.
  t.equal(stored.size, 2 * at - at.toString(2).replaceAll('0', '').length);
});

t.test('index arithmetic stays exact far beyond 32 bits', async (t) => {
  // A log whose every entry is the same: a complete subtree's hash then depends only on its level, so proofs for
  // sizes near 2^52 can be built and verified without storing anything.
  const byLevel: Hash[] = [leafHash(utf8('same'))];
  for (let l = 1; l <= 53; l++) byLevel.push(nodeHash(byLevel[l - 1]!, byLevel[l - 1]!));
  const rootOf = (n: number) => foldRange(perfectSubtrees(0, n).map(({ level }) => byLevel[level]!));
  const cases = [
    [2 ** 33 + 7, 2 ** 34 + 3],
    [2 ** 51 - 1, 2 ** 52 - 5],
    [5, 2 ** 40 + 1],
    [2 ** 45 + 2 ** 20, 2 ** 45 + 2 ** 20 + 1],
  ] as const;
  for (const [index, size] of cases) {
    const plan = planInclusionProof(index, size);
    const covered = plan.ranges.reduce((sum, [b, e]) => sum + (e - b), 1);
    t.equal(covered, size, `the ranges of the proof for ${index}/${size} cover the tree with the leaf`);
    const proof = plan.build(plan.nodes.map(({ level }) => byLevel[level]!));
    t.ok(verifyInclusion(index, size, byLevel[0]!, proof, rootOf(size)).ok, `leaf ${index} of ${size}`);
    t.ok(proof.length <= 53);
    const consistency = planConsistencyProof(index + 1, size);
    const consistencyProof = consistency.build(consistency.nodes.map(({ level }) => byLevel[level]!));
    t.ok(
      verifyConsistency(index + 1, size, consistencyProof, rootOf(index + 1), rootOf(size)).ok,
      `consistency ${index + 1} → ${size}`,
    );
  }
  t.same(nodeRange({ level: 40, index: 3 }), [3 * 2 ** 40, 4 * 2 ** 40]);
  t.throws(() => planInclusionProof(2 ** 53, 2 ** 53 + 1), RangeError, 'beyond 2^53 is refused, never rounded');
});

t.test('proof plans touch O(log n) stored subtrees', async (t) => {
  for (const n of [1_000_000, 1_048_576, 1_048_577, 123_456_789]) {
    const inclusion = planInclusionProof(n - 1, n);
    const consistency = planConsistencyProof(Math.floor(n / 3), n);
    t.ok(
      inclusion.nodes.length <= 2 * Math.ceil(Math.log2(n)),
      `inclusion in ${n}: ${inclusion.nodes.length} subtrees`,
    );
    t.ok(
      consistency.nodes.length <= 2 * Math.ceil(Math.log2(n)),
      `consistency in ${n}: ${consistency.nodes.length} subtrees`,
    );
  }
});
