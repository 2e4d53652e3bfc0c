import {
  auditSignedTreeSize,
  auditSignerAlarm,
  auditSignerRefusals,
  auditTreeSize,
  type Logger,
  type Sql,
} from '@vru/runtime';
import {
  canonicalJson,
  CheckpointError,
  extendFrontier,
  frontierRoot,
  hashEquals,
  leafHash,
  openCheckpoint,
  perfectSubtrees,
  planConsistencyProof,
  planInclusionProof,
  signCheckpoint,
  utf8,
  verifyConsistency,
  type Frontier,
  type Hash,
  type NodeId,
  type SignerKey,
  type StoredNode,
  type TreeHead,
  type VerifierKey,
} from '@vru/verifier';
import { isoTimeSql, toStoredEvent, type EventEntryRow } from './event-row.js';
import { repeatEvery } from './repeat.js';

/**
 * The audit log: an RFC 9162 Merkle tree over the event log (infra/migrations/008_merkle_log.sql, docs/audit.md).
 *
 * One appender (the relay, under AUDIT_LOG_LOCK) adds settled events as leaves and stores every perfect subtree it
 * completes, so appending costs O(k + log n) hashes and a proof O(log n) look-ups. A signer signs tree heads with
 * the log's key, and only heads that extend the last one it signed. Verification re-computes leaves from the
 * events as stored and checks heads with the pinned public key, never with one read from the database.
 */

export const AUDIT_LOG_LOCK = 7_406_003;
/** Events younger than this are not appended yet: their transaction's neighbours may still be committing. */
export const SETTLE_SECONDS = 2;
/** A missing position followed by an event younger than this may still commit; older gaps are rolled-back ids. */
export const GAP_GRACE_SECONDS = 10;
/** How far below the highest logged position the appender looks for an event that committed late. */
export const LATE_COMMIT_WINDOW = 10_000;

/** The stored form of an event, as the log hashes it. Timestamps are ISO 8601 UTC with microseconds. */
export type AuditEventRow = EventEntryRow;

/** The entry a leaf hashes: the event's stored form as canonical JSON (sealed fields stay ciphertext). */
export const storedEntry = (row: AuditEventRow): string => canonicalJson(toStoredEvent(row));

export const entryLeafHash = (row: AuditEventRow): Hash => leafHash(utf8(storedEntry(row)));

const TS = (column: string) => isoTimeSql(column, 'microseconds');
/** Event columns as hashed, with timestamps rendered in SQL so no precision is lost in a JS Date. */
export const ENTRY_COLUMNS = `e.position, e.event_id, e.stream_id, e.stream_version, e.type, e.schema_version, e.provider_id,
  e.programme_id, ${TS('e.occurred_at')} as occurred_at, ${TS('e.recorded_at')} as recorded_at, e.data, e.metadata`;

const bytes = (b: Uint8Array | Buffer): Hash => new Uint8Array(b);

// ------------------------------------------------------------------------------------------ stored tree

export async function treeSize(sql: Sql): Promise<number> {
  const [row] = await sql<
    { size: string }[]
  >`select coalesce(max(leaf_index) + 1, 0)::text as size from audit_log_leaves`;
  return Number(row!.size);
}

/** A stored perfect subtree the tree needs is not there: rows were removed or added around the appender. */
export class MissingSubtreeError extends Error {}

/** Stored perfect subtrees in one query, in the order asked; throws MissingSubtreeError when one is missing. */
export async function loadNodes(sql: Sql, ids: readonly NodeId[]): Promise<Hash[]> {
  if (ids.length === 0) return [];
  const rows = await sql<{ level: number; index: string; hash: Buffer }[]>`
    select level, index::text, hash from audit_log_nodes
    where (level, index) in (select * from unnest(${ids.map((n) => n.level)}::smallint[], ${ids.map((n) => n.index)}::bigint[]))`;
  const byKey = new Map(rows.map((r) => [`${r.level}:${r.index}`, bytes(r.hash)]));
  return ids.map((n) => {
    const hash = byKey.get(`${n.level}:${n.index}`);
    if (!hash)
      throw new MissingSubtreeError(`the audit log has no stored subtree at level ${n.level}, index ${n.index}`);
    return hash;
  });
}

export async function loadFrontier(sql: Sql, size: number): Promise<Frontier> {
  return { size, hashes: await loadNodes(sql, perfectSubtrees(0, size)) };
}

/** The root of the stored tree at any size up to the current one: O(log n) stored subtrees. */
export async function rootAt(sql: Sql, size: number): Promise<Hash> {
  return frontierRoot(await loadFrontier(sql, size));
}

export async function inclusionProof(sql: Sql, leafIndex: number, size: number): Promise<Hash[]> {
  const plan = planInclusionProof(leafIndex, size);
  return plan.build(await loadNodes(sql, plan.nodes));
}

export async function consistencyProof(sql: Sql, from: number, to: number): Promise<Hash[]> {
  const plan = planConsistencyProof(from, to);
  return plan.build(await loadNodes(sql, plan.nodes));
}

export interface AppendResult {
  appended: number;
  size: number;
}

type PendingRow = AuditEventRow & { position: bigint; age: number };

/**
 * Appends up to `limit` settled events as leaves, under one advisory lock (one appender at a time). New events are
 * taken in position order: the appender stops at the first event younger than SETTLE_SECONDS and at the first gap
 * followed by an event younger than GAP_GRACE_SECONDS (an older gap is a rolled-back identity value). An event that
 * commits below the highest logged position anyway (a slow transaction) is found in LATE_COMMIT_WINDOW and
 * appended as the next leaf: the leaf order is the order the log saw events, the entry keeps its position.
 */
export async function appendPending(sql: Sql, limit = 1000): Promise<AppendResult> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${AUDIT_LOG_LOCK})`;
    const [state] = await tx<{ size: string; max_position: string | null }[]>`
      select coalesce(max(leaf_index) + 1, 0)::text as size, max(position)::text as max_position from audit_log_leaves`;
    const size = Number(state!.size);
    const maxPosition = BigInt(state!.max_position ?? '0');
    const age = `extract(epoch from clock_timestamp() - e.recorded_at)::float8 as age`;
    const [late, fresh] = await Promise.all([
      maxPosition > 0n
        ? tx.unsafe<PendingRow[]>(
            // Counted first, from the two indexes: a late commit is rare, and looking each event of the window up
            // among the leaves costs tens of thousands of index probes whenever there is none.
            `select ${ENTRY_COLUMNS}, ${age} from events e
           where (select count(*) from events w where w.position > $1 and w.position < $2)
                   <> (select count(*) from audit_log_leaves w where w.position > $1 and w.position < $2)
             and e.position > $1 and e.position < $2 and e.recorded_at < clock_timestamp() - make_interval(secs => $3)
             and not exists (select 1 from audit_log_leaves l where l.position = e.position)
           order by e.position limit $4`,
            [(maxPosition - BigInt(LATE_COMMIT_WINDOW)).toString(), maxPosition.toString(), SETTLE_SECONDS, limit],
          )
        : Promise.resolve([] as PendingRow[]),
      tx.unsafe<PendingRow[]>(
        `select ${ENTRY_COLUMNS}, ${age} from events e where e.position > $1 order by e.position limit $2`,
        [maxPosition.toString(), limit],
      ),
    ]);
    const rows: PendingRow[] = [...late];
    let expected = maxPosition + 1n;
    for (const row of fresh) {
      if (rows.length >= limit || row.age < SETTLE_SECONDS) break;
      if (row.position !== expected && row.age < GAP_GRACE_SECONDS) break;
      rows.push(row);
      expected = row.position + 1n;
    }
    if (rows.length === 0) return { appended: 0, size };
    const frontier = await loadFrontier(tx as unknown as Sql, size);
    const { created } = extendFrontier(frontier, rows.map(entryLeafHash));
    await insertTree(
      tx as unknown as Sql,
      size,
      rows.map((r) => r.position.toString()),
      created,
    );
    return { appended: rows.length, size: size + rows.length };
  });
}

async function insertTree(sql: Sql, firstLeaf: number, positions: string[], created: StoredNode[]): Promise<void> {
  await Promise.all([
    sql`
      insert into audit_log_leaves (leaf_index, position)
      select * from unnest(${positions.map((_, i) => String(firstLeaf + i))}::bigint[], ${positions}::bigint[])`,
    sql`
      insert into audit_log_nodes (level, index, hash)
      select level, index, decode(hash, 'hex')
      from unnest(${created.map((n) => n.level)}::smallint[], ${created.map((n) => String(n.index))}::bigint[],
                  ${created.map((n) => Buffer.from(n.hash).toString('hex'))}::text[]) as x(level, index, hash)`,
  ]);
}

// ------------------------------------------------------------------------------------------ signed tree heads

export interface StoredHead {
  id: string;
  head: TreeHead;
  checkpoint: string;
}

/** Stored heads after `afterId`, oldest first, as stored (not verified). */
async function storedHeads(
  sql: Sql,
  afterId = '0',
  limit = 10_000,
): Promise<{ id: string; tree_size: string; checkpoint: string }[]> {
  return sql<{ id: string; tree_size: string; checkpoint: string }[]>`
    select id::text, tree_size::text, checkpoint from audit_tree_heads where id > ${afterId}::bigint order by id limit ${limit}`;
}

/**
 * The latest stored head that the pinned key signed; heads signed by any other key are skipped, however many an
 * attacker inserted after it.
 */
export async function latestSignedHead(sql: Sql, key: VerifierKey): Promise<StoredHead | null> {
  for (let before: string | null = null; ;) {
    const rows: { id: string; checkpoint: string }[] = await sql<{ id: string; checkpoint: string }[]>`
      select id::text, checkpoint from audit_tree_heads ${before ? sql`where id < ${before}::bigint` : sql``} order by id desc limit 100`;
    for (const row of rows) {
      try {
        return { id: row.id, head: openCheckpoint(row.checkpoint, key), checkpoint: row.checkpoint };
      } catch (err) {
        if (!(err instanceof CheckpointError)) throw err;
      }
    }
    if (rows.length < 100) return null;
    before = rows.at(-1)!.id;
  }
}

export type SignOutcome =
  | { status: 'signed'; head: TreeHead; checkpoint: string }
  | { status: 'unchanged'; size: number }
  /** The tree does not extend the last head this signer signed: nothing is signed, and it is an alarm. */
  | { status: 'refused'; lastSigned: TreeHead; size: number; reason: string };

/**
 * Signs tree heads, each only after proving (RFC 9162 consistency proof from the stored subtrees) that the tree
 * extends the last head it signed. The last head is kept in memory and, at start, is the latest stored head the
 * pinned key verifies: a head in the table signed by another key counts for nothing.
 */
export class TreeHeadSigner {
  private lastSigned: TreeHead | null = null;
  private started = false;

  constructor(
    private readonly sql: Sql,
    private readonly signer: SignerKey,
    private readonly key: VerifierKey,
  ) {
    if (signer.verifierKey !== key.text) {
      throw new CheckpointError('the signing key does not match the pinned public key AUDIT_PUBLIC_KEY');
    }
  }

  get last(): TreeHead | null {
    return this.lastSigned;
  }

  /** Signs the tree at `size` (default: all of it) if it extends the last signed head; refuses otherwise. */
  async signNext(now = Date.now(), size?: number): Promise<SignOutcome> {
    if (!this.started) {
      this.lastSigned = (await latestSignedHead(this.sql, this.key))?.head ?? null;
      this.started = true;
    }
    const current = size ?? (await treeSize(this.sql));
    const last = this.lastSigned;
    if (last && current < last.size) {
      return {
        status: 'refused',
        lastSigned: last,
        size: current,
        reason: `the log has ${current} leaves, the last signed head ${last.size}: leaves ${current + 1} to ${last.size} are gone`,
      };
    }
    if (current === 0) return { status: 'unchanged', size: current };
    if (current === last?.size) {
      if (!hashEquals(await rootAt(this.sql, current), last.rootHash)) {
        const reason = `the tree of ${current} leaves no longer has the root signed`;
        return { status: 'refused', lastSigned: last, size: current, reason };
      }
      return { status: 'unchanged', size: current };
    }
    const root = await rootAt(this.sql, current);
    if (last) {
      const checked = verifyConsistency(
        last.size,
        current,
        await consistencyProof(this.sql, last.size, current),
        last.rootHash,
        root,
      );
      if (!checked.ok) {
        return {
          status: 'refused',
          lastSigned: last,
          size: current,
          reason: `the tree of ${current} leaves does not extend the signed head of ${last.size}: ${checked.reason}`,
        };
      }
    }
    const timestamp = Math.max(now, (last?.timestamp ?? 0) + 1);
    const head: TreeHead = { origin: this.signer.name, size: current, rootHash: root, timestamp };
    const checkpoint = signCheckpoint(head, this.signer);
    await this.sql`
      insert into audit_tree_heads (tree_size, root_hash, signed_at, checkpoint)
      values (${current}, ${Buffer.from(root)}, ${new Date(timestamp)}, ${checkpoint})`;
    this.lastSigned = head;
    return { status: 'signed', head, checkpoint };
  }
}

// ------------------------------------------------------------------------------------------ verification

export type LogProblemKind =
  'event-changed' | 'event-missing' | 'head-not-signed' | 'head-root-mismatch' | 'truncated' | 'tree-mismatch';

export interface LogProblem {
  kind: LogProblemKind;
  message: string;
  leafIndex?: number;
  position?: string;
  headId?: string;
  headSize?: number;
}

/** What a verifier has checked so far: the next run only checks what came after it. */
export interface VerifiedState {
  size: number;
  /** Frontier re-computed from the events themselves (not from stored subtrees). */
  frontier: Frontier;
  headId: string;
}

export interface LogVerification {
  ok: boolean;
  full: boolean;
  treeSize: number;
  leavesChecked: number;
  headsChecked: number;
  latestHead: (TreeHead & { id: string; checkpoint: string }) | null;
  problems: LogProblem[];
  /** The state to pass to the next run (unchanged when a problem was found, so it is found again). */
  state: VerifiedState;
}

export const initialVerifiedState = (): VerifiedState => ({ size: 0, frontier: { size: 0, hashes: [] }, headId: '0' });

const MAX_PROBLEMS = 50;

/**
 * Verifies the log against the pinned key, starting from `from` (what an earlier run verified; the initial state
 * for a full check): each new leaf is re-computed from its event as stored now and compared with the stored leaf,
 * the tree is re-folded from those leaves, and every new stored head must be signed by the pinned key and have the
 * root of the re-computed tree at its size. The stored subtrees the proofs are served from must give the same
 * roots. A head larger than the log is a truncation. Work is proportional to the leaves and heads new since `from`,
 * plus O(log n) look-ups to check that the stored tree still has the verified root at `from`'s size.
 */
export async function verifyLog(
  sql: Sql,
  key: VerifierKey,
  from: VerifiedState = initialVerifiedState(),
  batch = 5000,
): Promise<LogVerification> {
  const full = from.size === 0 && from.headId === '0';
  const problems: LogProblem[] = [];
  const problem = (p: LogProblem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  // A stored tree with a subtree missing (a leaf row added or a node removed by hand) has no root: reported as a
  // mismatch, like a wrong root, rather than failing the verification.
  const storedRoot = async (treeAt: number): Promise<Hash | null> => {
    try {
      return await rootAt(sql, treeAt);
    } catch (err) {
      if (err instanceof MissingSubtreeError) return null;
      throw err;
    }
  };
  const storedRootMatches = async (treeAt: number, expected: Hash): Promise<boolean> => {
    const root = await storedRoot(treeAt);
    return root !== null && hashEquals(root, expected);
  };
  const size = await treeSize(sql);
  if (size < from.size) {
    const message = `the log has ${size} leaves; ${from.size} were verified before: leaves ${size + 1} to ${from.size} are gone`;
    problem({ kind: 'truncated', message });
  } else if (from.size > 0 && !(await storedRootMatches(from.size, frontierRoot(from.frontier)))) {
    problem({
      kind: 'tree-mismatch',
      message: `the stored tree at ${from.size} leaves no longer has the root verified before`,
    });
  }

  // New heads, grouped by size so each is checked when the re-folded tree reaches it.
  const heads: { id: string; head: TreeHead; checkpoint: string }[] = [];
  let lastHeadId = from.headId;
  let headsChecked = 0;
  for (let after = from.headId; ;) {
    const rows = await storedHeads(sql, after);
    for (const row of rows) {
      headsChecked += 1;
      lastHeadId = row.id;
      try {
        heads.push({ id: row.id, head: openCheckpoint(row.checkpoint, key), checkpoint: row.checkpoint });
      } catch (err) {
        if (!(err instanceof CheckpointError)) throw err;
        problem({
          kind: 'head-not-signed',
          headId: row.id,
          headSize: Number(row.tree_size),
          message: `stored head ${row.id} (size ${row.tree_size}) is not signed by the pinned key: ${err.message}`,
        });
      }
    }
    if (rows.length === 0) break;
    after = rows.at(-1)!.id;
  }
  const pending = [...heads].sort((a, b) => a.head.size - b.head.size);
  let nextHead = 0;
  const checkHeadsAt = async (treeAt: number, root: () => Hash) => {
    while (nextHead < pending.length && pending[nextHead]!.head.size <= treeAt) {
      const { id, head } = pending[nextHead++]!;
      // A head below what an earlier run verified is compared with the stored tree (its leaves were verified then).
      const expected = head.size === treeAt ? root() : head.size < from.size ? await storedRoot(head.size) : null;
      if (head.size === 0) continue;
      if (!expected || !hashEquals(expected, head.rootHash)) {
        problem({
          kind: 'head-root-mismatch',
          headId: id,
          headSize: head.size,
          message: `signed head ${id} (size ${head.size}) does not match the log: the first ${head.size} leaves were changed`,
        });
      }
    }
  };
  await checkHeadsAt(from.size, () => frontierRoot(from.frontier));

  let frontier = from.frontier;
  let leavesChecked = 0;
  for (let at = from.size; at < size;) {
    const rows = await sql.unsafe<
      (AuditEventRow & { leaf_index: string; leaf_position: string; present: boolean; hash: Buffer | null })[]
    >(
      `select l.leaf_index::text, l.position::text as leaf_position, e.position is not null as present, n.hash, ${ENTRY_COLUMNS}
       from audit_log_leaves l
       left join events e on e.position = l.position
       left join audit_log_nodes n on n.level = 0 and n.index = l.leaf_index
       where l.leaf_index >= $1 and l.leaf_index < $2 order by l.leaf_index`,
      [at, Math.min(size, at + batch)],
    );
    if (rows.length === 0) break;
    for (const row of rows) {
      const index = Number(row.leaf_index);
      if (index !== frontier.size) {
        problem({
          kind: 'tree-mismatch',
          leafIndex: frontier.size,
          message: `leaf ${frontier.size} is missing from the log`,
        });
        at = size;
        break;
      }
      let leaf: Hash;
      if (!row.present) {
        problem({
          kind: 'event-missing',
          leafIndex: index,
          position: row.leaf_position,
          message: `the event at position ${row.leaf_position} (leaf ${index}) is gone`,
        });
        leaf = row.hash ? bytes(row.hash) : new Uint8Array(32);
      } else {
        leaf = entryLeafHash(row);
        if (!row.hash || !hashEquals(leaf, bytes(row.hash))) {
          problem({
            kind: 'event-changed',
            leafIndex: index,
            position: row.leaf_position,
            message: `the event at position ${row.leaf_position} (leaf ${index}) is not the event the log recorded`,
          });
        }
      }
      frontier = extendFrontier(frontier, [leaf]).frontier;
      leavesChecked += 1;
      if (nextHead < pending.length && pending[nextHead]!.head.size === frontier.size) {
        const f = frontier;
        await checkHeadsAt(f.size, () => frontierRoot(f));
      }
    }
    at += rows.length;
  }
  for (; nextHead < pending.length; nextHead++) {
    const { id, head } = pending[nextHead]!;
    problem({
      kind: 'truncated',
      headId: id,
      headSize: head.size,
      message: `signed head ${id} covers ${head.size} leaves, the log has ${size}: leaves ${size + 1} to ${head.size} are gone`,
    });
  }
  if (size > 0 && frontier.size === size && !(await storedRootMatches(size, frontierRoot(frontier)))) {
    problem({
      kind: 'tree-mismatch',
      message: `the stored tree's root at ${size} leaves is not the root of the events as stored`,
    });
  }
  const latest = await latestSignedHead(sql, key);
  const ok = problems.length === 0;
  return {
    ok,
    full,
    treeSize: size,
    leavesChecked,
    headsChecked,
    latestHead: latest ? { ...latest.head, id: latest.id, checkpoint: latest.checkpoint } : null,
    problems,
    state: ok ? { size: frontier.size, frontier, headId: lastHeadId } : from,
  };
}

// ------------------------------------------------------------------------------------------ background appender

export interface AuditLogOptions {
  sql: Sql;
  logger: Logger;
  signer: TreeHeadSigner;
  intervalMs?: number;
  /** How often a head is signed when the tree has grown. */
  signEveryMs?: number;
}

/**
 * Appends settled events every intervalMs and signs a head when the tree has grown (at most once per signEveryMs).
 * A refusal to sign is the alarm: logged as an error and held in /metrics (vru_audit_signer_alarm) until a head
 * is signed again.
 */
export function startAuditLog(options: AuditLogOptions): { stop(): Promise<void> } {
  const { sql, logger, signer, intervalMs = 1000, signEveryMs = 60_000 } = options;
  let lastSigned = 0;

  const tick = async (stopping: () => boolean) => {
    try {
      let result: AppendResult;
      do result = await appendPending(sql, 1000);
      while (result.appended === 1000 && !stopping());
      auditTreeSize.set(result.size);
      if (Date.now() - lastSigned >= signEveryMs) {
        const outcome = await signer.signNext();
        lastSigned = Date.now();
        if (outcome.status === 'refused') {
          logger.error(
            { lastSignedSize: outcome.lastSigned.size, size: outcome.size, reason: outcome.reason },
            'AUDIT ALARM: refusing to sign a tree head that does not extend the last signed head',
          );
          auditSignerAlarm.set(1);
          auditSignerRefusals.inc();
        } else if (outcome.status === 'signed') {
          auditSignerAlarm.set(0);
          auditSignedTreeSize.set(outcome.head.size);
        }
      }
    } catch (err) {
      const { message, code } = err as Error & { code?: string };
      logger.error({ err: { message, code } }, 'audit log append failed; retrying');
    }
  };
  return repeatEvery(intervalMs, tick);
}
