import {
  assertTreeSize,
  foldRange,
  HASH_BYTES,
  hashEquals,
  nodeHash,
  perfectSubtrees,
  splitPoint,
  type Hash,
  type NodeId,
} from './merkle.js';

/**
 * Inclusion and consistency proofs of RFC 9162 (sections 2.1.3 and 2.1.4).
 *
 * Generation is split in two so that a proof can be served from stored subtree hashes without rehashing the log:
 * a plan (pure index arithmetic) names the ranges of leaves whose hashes the proof holds and the perfect subtrees
 * that make them up; the caller fetches those subtrees (from memory or in one query) and the plan assembles the
 * proof. Every range in a proof is a perfect subtree or the right part of a split, so its hash is the fold of at
 * most log2(n) stored subtrees, and a proof touches O(log n) of them.
 */

export type LeafRange = [begin: number, end: number];

export interface ProofPlan {
  /** The ranges whose hashes the proof lists, in proof order (nearest the leaf first). */
  readonly ranges: readonly LeafRange[];
  /** The stored perfect subtrees the proof is assembled from, without repeats. */
  readonly nodes: readonly NodeId[];
  /** The proof, given the hash of each of `nodes` (same order). */
  build(hashes: readonly Hash[]): Hash[];
}

function planFromRanges(ranges: LeafRange[]): ProofPlan {
  const key = (n: NodeId) => `${n.level}:${n.index}`;
  const pieces = ranges.map(([begin, end]) => perfectSubtrees(begin, end));
  const nodes = [...new Map(pieces.flat().map((n) => [key(n), n])).values()];
  return {
    ranges,
    nodes,
    build(hashes) {
      if (hashes.length !== nodes.length)
        throw new RangeError(`expected ${nodes.length} subtree hashes, got ${hashes.length}`);
      const byKey = new Map(nodes.map((n, i) => [key(n), hashes[i]!]));
      return pieces.map((p) => foldRange(p.map((n) => byKey.get(key(n))!)));
    },
  };
}

/** PATH(index, D[size]): the audit path of the leaf at `index` (0-based) in the tree of `size` leaves. */
export function planInclusionProof(index: number, size: number): ProofPlan {
  assertTreeSize(size);
  assertTreeSize(index, 'leaf index');
  if (index >= size) throw new RangeError(`leaf index ${index} is not in a tree of ${size}`);
  const topDown: LeafRange[] = [];
  let [lo, hi] = [0, size];
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      topDown.push([lo + k, hi]);
      hi = lo + k;
    } else {
      topDown.push([lo, lo + k]);
      lo += k;
    }
  }
  return planFromRanges(topDown.reverse());
}

/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true): that the tree of m leaves is a prefix of the tree of n. */
export function planConsistencyProof(m: number, n: number): ProofPlan {
  assertTreeSize(m, 'first size');
  assertTreeSize(n, 'second size');
  if (m === 0) throw new RangeError('a consistency proof from the empty tree proves nothing');
  if (m > n) throw new RangeError(`first size ${m} is beyond second size ${n}`);
  const topDown: LeafRange[] = [];
  let [lo, hi, mm, whole] = [0, n, m, true];
  for (;;) {
    if (mm === hi - lo) {
      // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}
      if (!whole) topDown.push([lo, hi]);
      break;
    }
    const k = splitPoint(hi - lo);
    if (mm <= k) {
      topDown.push([lo + k, hi]);
      hi = lo + k;
    } else {
      topDown.push([lo, lo + k]);
      lo += k;
      mm -= k;
      whole = false;
    }
  }
  return planFromRanges(topDown.reverse());
}

// ------------------------------------------------------------------------------------------ verification

/**
 * A failed consistency check says which root the proof missed: missing only the first root while reaching the
 * second means the log's own proof shows its first entries differ from the ones the first head covered.
 */
export type ProofFailure = 'malformed' | 'root-mismatch' | 'first-root-mismatch' | 'second-root-mismatch';
export type ProofResult = { ok: true } | { ok: false; code: ProofFailure; reason: string };
const fail = (reason: string, code: ProofFailure = 'malformed'): ProofResult => ({ ok: false, code, reason });

const wellFormed = (hashes: readonly Hash[]) => hashes.every((h) => h.length === HASH_BYTES);
const isOdd = (x: number) => x % 2 === 1;
const half = (x: number) => Math.floor(x / 2);

/**
 * RFC 9162 section 2.1.3.2: recomputes the root from the leaf hash and its audit path and compares it with the
 * root of the signed head. The proof must have exactly the length the index and size call for.
 */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Hash,
  proof: readonly Hash[],
  root: Hash,
): ProofResult {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0) {
    return fail('leaf index and tree size must be whole numbers');
  }
  if (index >= size) return fail(`leaf index ${index} is not in a tree of ${size}`);
  if (leaf.length !== HASH_BYTES || root.length !== HASH_BYTES || !wellFormed(proof))
    return fail('every hash must be 32 bytes');
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return fail('the proof is longer than the path from the leaf to the root');
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return fail('the proof is shorter than the path from the leaf to the root');
  return hashEquals(r, root)
    ? { ok: true }
    : fail('the proof does not lead to the root of the signed head', 'root-mismatch');
}

/**
 * RFC 9162 section 2.1.4.2: that the tree of `first` leaves with root `firstRoot` is a prefix of the tree of
 * `second` leaves with root `secondRoot`. Equal sizes need an empty proof and equal roots; the empty tree proves
 * nothing (there is no root a client would have pinned).
 */
export function verifyConsistency(
  first: number,
  second: number,
  proof: readonly Hash[],
  firstRoot: Hash,
  secondRoot: Hash,
): ProofResult {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0)
    return fail('tree sizes must be whole numbers');
  if (first > second) return fail(`the second tree (${second}) is smaller than the first (${first})`);
  if (first === 0) return fail('a consistency proof from the empty tree proves nothing');
  if (firstRoot.length !== HASH_BYTES || secondRoot.length !== HASH_BYTES || !wellFormed(proof))
    return fail('every hash must be 32 bytes');
  if (first === second) {
    if (proof.length > 0) return fail('equal sizes need an empty proof');
    if (!hashEquals(firstRoot, secondRoot))
      return fail('the two heads have the same size but different roots', 'first-root-mismatch');
    return { ok: true };
  }
  if (proof.length === 0) return fail('the proof is empty');
  // If first is an exact power of two, the first tree is a subtree of the second and its root starts the path.
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return fail('the proof is longer than the second tree allows');
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return fail('the proof is shorter than the second tree needs');
  if (!hashEquals(sr, secondRoot)) return fail('the proof does not lead to the second root', 'second-root-mismatch');
  if (!hashEquals(fr, firstRoot)) {
    return fail(
      'the second tree does not begin with the first: the proof gives another first root',
      'first-root-mismatch',
    );
  }
  return { ok: true };
}

function isPowerOfTwo(x: number): boolean {
  let v = x;
  while (v > 1 && v % 2 === 0) v /= 2;
  return v === 1;
}
