import { createHash } from 'node:crypto';

/**
 * The Merkle tree of RFC 9162 (section 2.1) over the log's entries in order, with SHA-256.
 *
 * A leaf is SHA-256(0x00 ‖ entry) and an inner node SHA-256(0x01 ‖ left ‖ right): the two prefixes stop a leaf
 * from passing for a node. The tree of n leaves splits at k, the largest power of two below n, into a perfect
 * tree of the first k leaves on the left and the tree of the rest on the right.
 *
 * Sizes and indexes are plain numbers (exact up to 2^53); no 32-bit bitwise operator touches them.
 */

export type Hash = Uint8Array;
export const HASH_BYTES = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

export function sha256(...parts: Uint8Array[]): Hash {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export const leafHash = (entry: Uint8Array): Hash => sha256(LEAF_PREFIX, entry);
export const nodeHash = (left: Hash, right: Hash): Hash => sha256(NODE_PREFIX, left, right);
/** MTH({}) = SHA-256 of nothing. */
export const emptyRoot = (): Hash => sha256();

export function hashEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function assertTreeSize(n: number, what = 'tree size'): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`${what} must be a whole number from 0 to 2^53 - 1 (got ${n})`);
}

/** The largest power of two strictly below n (n ≥ 2): where RFC 9162 splits a tree of n leaves. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** A perfect subtree: the 2^level leaves from index · 2^level. Level 0 is a leaf. */
export interface NodeId {
  level: number;
  index: number;
}

/** Leaves covered by a node: [begin, end). */
export const nodeRange = ({ level, index }: NodeId): [number, number] => [index * 2 ** level, (index + 1) * 2 ** level];

/**
 * The perfect subtrees that make up the leaves [begin, end), left to right, each as large as its alignment
 * allows. For [0, n) they are the subtrees of the set bits of n, largest first: the tree's "frontier".
 */
export function perfectSubtrees(begin: number, end: number): NodeId[] {
  const out: NodeId[] = [];
  let at = begin;
  while (at < end) {
    let level = 0;
    while (at % 2 ** (level + 1) === 0 && at + 2 ** (level + 1) <= end) level++;
    out.push({ level, index: at / 2 ** level });
    at += 2 ** level;
  }
  return out;
}

/**
 * The hash of a range of leaves from the hashes of its perfect subtrees (perfectSubtrees order), folded from the
 * right. For every range a proof contains (a left child, or the right part of a split), this is its MTH.
 */
export function foldRange(hashes: readonly Hash[]): Hash {
  if (hashes.length === 0) return emptyRoot();
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i]!, acc);
  return acc;
}

/** MTH(D[n]) by the RFC's recursive definition over leaf hashes: the reference the faster paths are tested against. */
export function rootOfLeaves(leaves: readonly Hash[]): Hash {
  if (leaves.length === 0) return emptyRoot();
  if (leaves.length === 1) return leaves[0]!;
  const k = splitPoint(leaves.length);
  return nodeHash(rootOfLeaves(leaves.slice(0, k)), rootOfLeaves(leaves.slice(k)));
}

// ------------------------------------------------------------------------------------------ frontier

/**
 * The compact range [0, size): the hashes of the perfect subtrees of perfectSubtrees(0, size), largest first.
 * It is all a log needs to keep to compute the root of size + k from k new leaves.
 */
export interface Frontier {
  size: number;
  hashes: Hash[];
}

export interface StoredNode extends NodeId {
  hash: Hash;
}

export const emptyFrontier = (): Frontier => ({ size: 0, hashes: [] });

/**
 * Appends leaves to a frontier. Returns the new frontier and every perfect subtree completed on the way (the
 * leaves themselves included): storing those, keyed by (level, index), is what lets proofs be served without
 * rehashing the log. Costs O(k + log n) hashes: each leaf merges with the subtrees its index's trailing one bits
 * name.
 */
export function extendFrontier(
  frontier: Frontier,
  leaves: readonly Hash[],
): { frontier: Frontier; created: StoredNode[] } {
  const hashes = [...frontier.hashes];
  const created: StoredNode[] = [];
  let size = frontier.size;
  for (const leaf of leaves) {
    let hash = leaf;
    let level = 0;
    let index = size;
    created.push({ level, index, hash });
    for (let carry = size; carry % 2 === 1; carry = Math.floor(carry / 2)) {
      hash = nodeHash(hashes.pop()!, hash);
      level += 1;
      index = Math.floor(index / 2);
      created.push({ level, index, hash });
    }
    hashes.push(hash);
    size += 1;
  }
  assertTreeSize(size);
  return { frontier: { size, hashes }, created };
}

export const frontierRoot = (frontier: Frontier): Hash => foldRange(frontier.hashes);

/** The frontier of size n read from stored perfect subtrees (the nodes perfectSubtrees(0, n) names). */
export function frontierFrom(size: number, lookup: (node: NodeId) => Hash): Frontier {
  return { size, hashes: perfectSubtrees(0, size).map(lookup) };
}

// ------------------------------------------------------------------------------------------ in-memory tree

/**
 * Every perfect subtree of a log held in memory, by level and index: the same shape as the table of stored
 * subtree hashes a service keeps, so proofs are planned and assembled the same way against either.
 */
export class MemoryTree {
  private readonly levels: Hash[][] = [];
  private frontier: Frontier = emptyFrontier();

  get size(): number {
    return this.frontier.size;
  }

  appendLeafHashes(leaves: readonly Hash[]): void {
    const { frontier, created } = extendFrontier(this.frontier, leaves);
    for (const node of created) (this.levels[node.level] ??= [])[node.index] = node.hash;
    this.frontier = frontier;
  }

  appendEntries(entries: readonly Uint8Array[]): void {
    this.appendLeafHashes(entries.map(leafHash));
  }

  /** A stored perfect subtree; throws for one that is not complete yet. */
  node = (id: NodeId): Hash => {
    const hash = this.levels[id.level]?.[id.index];
    if (!hash)
      throw new RangeError(`no complete subtree at level ${id.level}, index ${id.index} in a tree of ${this.size}`);
    return hash;
  };

  /** The root of the tree as it was at any size up to the current one. */
  root(size = this.size): Hash {
    assertTreeSize(size);
    if (size > this.size) throw new RangeError(`tree size ${size} is beyond the log (${this.size})`);
    return foldRange(perfectSubtrees(0, size).map(this.node));
  }
}
