import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { Logger, Sql } from '@vru/runtime';
import { canonicalJson, sha256Hex } from './canonical-json.js';

/**
 * Tamper-evident audit ledger: one global hash chain over the event log in position order (see
 * infra/migrations/003_audit_chain.sql and docs/audit.md), plus Ed25519-signed checkpoints of its head.
 */

export const GENESIS_HASH = '0'.repeat(64);
export const AUDIT_CHAIN_LOCK = 7_406_003;
/** Events younger than this are not chained yet: their transaction's neighbours may still be committing. */
export const SETTLE_SECONDS = 2;
/** A missing position followed by an event younger than this may still commit; older gaps are rolled-back ids. */
export const GAP_GRACE_SECONDS = 10;

/** The chained content of one event. Timestamps are ISO 8601 UTC with PostgreSQL's full microsecond precision. */
export interface AuditEventRow {
  position: bigint | string;
  event_id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  provider_id: string;
  programme_id: string | null;
  occurred_at: string | Date;
  recorded_at: string | Date;
  data: unknown;
  metadata: unknown;
}

const iso = (v: string | Date): string => (v instanceof Date ? v.toISOString() : v);

/** hash_n = sha256(prev_hash || canonical JSON of event n). Deterministic: key order and whitespace never matter. */
export function eventHash(prevHash: string, row: AuditEventRow): string {
  const content = canonicalJson({
    position: row.position.toString(),
    eventId: row.event_id,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    type: row.type,
    schemaVersion: row.schema_version,
    providerId: row.provider_id,
    programmeId: row.programme_id,
    occurredAt: iso(row.occurred_at),
    recordedAt: iso(row.recorded_at),
    data: row.data,
    metadata: row.metadata,
  });
  return sha256Hex(prevHash + content);
}

const TS = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
/** Event columns as hashed, with timestamps rendered in SQL so no precision is lost in a JS Date. */
const HASHED_COLUMNS = `e.position, e.event_id, e.stream_id, e.stream_version, e.type, e.schema_version, e.provider_id,
  e.programme_id, ${TS('e.occurred_at')} as occurred_at, ${TS('e.recorded_at')} as recorded_at, e.data, e.metadata`;

export interface ChainResult {
  chained: number;
  headPosition: string | null;
  headHash: string;
}

/**
 * Links up to `limit` settled events after the chain head, in position order, under one advisory lock (one
 * chainer at a time). Positions are identity values and can commit out of order: a transaction may still hold
 * position 41 while 42 is already visible. So the chainer stops at the first event younger than SETTLE_SECONDS,
 * and at the first gap (a missing position) followed by an event younger than GAP_GRACE_SECONDS; an older gap
 * is an identity value of a rolled-back transaction and is skipped. This assumes append transactions finish
 * within seconds (they do: one statement batch each); a later commit below the head shows up in verifyChain
 * as `unchainedBelowHead`.
 */
export async function chainPending(sql: Sql, limit = 1000): Promise<ChainResult> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`;
    const [head] = await tx<{ position: bigint; hash: string }[]>`select position, hash from audit_chain order by position desc limit 1`;
    let prevHash = head?.hash ?? GENESIS_HASH;
    let expected = head ? head.position + 1n : 1n;
    const rows = await tx.unsafe<(AuditEventRow & { position: bigint; age: number })[]>(
      `select ${HASHED_COLUMNS}, extract(epoch from clock_timestamp() - e.recorded_at)::float8 as age
       from events e where e.position > $1 order by e.position limit $2`,
      [head ? head.position.toString() : '0', limit],
    );
    const links: { position: string; prev: string; hash: string }[] = [];
    for (const row of rows) {
      if (row.age < SETTLE_SECONDS) break;
      if (row.position !== expected && row.age < GAP_GRACE_SECONDS) break;
      const hash = eventHash(prevHash, row);
      links.push({ position: row.position.toString(), prev: prevHash, hash });
      prevHash = hash;
      expected = row.position + 1n;
    }
    if (links.length > 0) {
      await tx`
        insert into audit_chain (position, prev_hash, hash)
        select * from unnest(${links.map((l) => l.position)}::bigint[], ${links.map((l) => l.prev)}::text[], ${links.map((l) => l.hash)}::text[])`;
    }
    const last = links.at(-1);
    return {
      chained: links.length,
      headPosition: last?.position ?? head?.position.toString() ?? null,
      headHash: prevHash,
    };
  });
}

export type BrokenReason = 'hash-mismatch' | 'missing-event' | 'reordered';

export interface ChainVerification {
  ok: boolean;
  checked: number;
  headPosition: string | null;
  headHash: string;
  /** Events that committed below the head after it moved past them (never chained); not a break by itself. */
  unchainedBelowHead: number;
  firstBroken?: { position: string; reason: BrokenReason };
}

/**
 * Recomputes every link from the events table in position order. For each link: its event must exist
 * (missing-event), its prev_hash must be the previous link's hash (otherwise a link was removed — reported as
 * missing-event at the first position of the gap — or links were reordered), and its hash must equal the
 * hash recomputed from the event as stored now (hash-mismatch: the event was altered).
 */
export async function verifyChain(sql: Sql, batch = 5000): Promise<ChainVerification> {
  let prevHash = GENESIS_HASH;
  let prevPosition = 0n;
  let checked = 0;
  let firstBroken: ChainVerification['firstBroken'];
  for (;;) {
    const rows = await sql.unsafe<(Omit<AuditEventRow, 'position'> & { position: bigint; chain_position: bigint; prev_hash: string; hash: string; present: boolean })[]>(
      `select c.position as chain_position, c.prev_hash, c.hash, e.position is not null as present, ${HASHED_COLUMNS}
       from audit_chain c left join events e on e.position = c.position
       where c.position > $1 order by c.position limit $2`,
      [prevPosition.toString(), batch],
    );
    for (const row of rows) {
      const position = row.chain_position;
      if (!firstBroken) {
        if (row.prev_hash !== prevHash) {
          firstBroken = position > prevPosition + 1n
            ? { position: (prevPosition + 1n).toString(), reason: 'missing-event' }
            : { position: position.toString(), reason: 'reordered' };
        } else if (!row.present) {
          firstBroken = { position: position.toString(), reason: 'missing-event' };
        } else if (eventHash(row.prev_hash, { ...row, position }) !== row.hash) {
          firstBroken = { position: position.toString(), reason: 'hash-mismatch' };
        }
      }
      checked += 1;
      prevHash = row.hash;
      prevPosition = position;
    }
    if (rows.length < batch) break;
  }
  const [{ n }] = await sql<[{ n: number }]>`
    select count(*)::int as n from events e
    where e.position < ${prevPosition.toString()}::bigint and not exists (select 1 from audit_chain c where c.position = e.position)`;
  return {
    ok: firstBroken === undefined,
    checked,
    headPosition: checked === 0 ? null : prevPosition.toString(),
    headHash: prevHash,
    unchainedBelowHead: n,
    ...(firstBroken ? { firstBroken } : {}),
  };
}

// ------------------------------------------------------------------------------------------ checkpoints

export interface Checkpoint {
  id?: string;
  position: string;
  headHash: string;
  /** Ed25519 signature of `${position}:${headHash}`, base64. */
  signature: string;
  /** SPKI PEM of the signing key. */
  publicKey: string;
  signedAt?: string;
}

export const checkpointMessage = (position: string, headHash: string): string => `${position}:${headHash}`;

/** A fresh Ed25519 key (PKCS#8 PEM), for when AUDIT_SIGNING_KEY is not configured. */
export function generateSigningKey(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Signs a head (no database): the pure part of signCheckpoint. */
export function signHead(position: string, headHash: string, privateKeyPem: string): Checkpoint {
  const key = createPrivateKey(privateKeyPem);
  const signature = sign(null, Buffer.from(checkpointMessage(position, headHash)), key).toString('base64');
  const publicKey = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  return { position, headHash, signature, publicKey };
}

/** Signs the current chain head and stores the checkpoint; null while nothing is chained. */
export async function signCheckpoint(sql: Sql, privateKeyPem: string): Promise<Checkpoint | null> {
  const [head] = await sql<{ position: bigint; hash: string }[]>`select position, hash from audit_chain order by position desc limit 1`;
  if (!head) return null;
  const cp = signHead(head.position.toString(), head.hash, privateKeyPem);
  const [row] = await sql<{ id: bigint; signed_at: Date }[]>`
    insert into audit_checkpoints (position, head_hash, signature, public_key)
    values (${cp.position}::bigint, ${cp.headHash}, ${cp.signature}, ${cp.publicKey}) returning id, signed_at`;
  return { id: row!.id.toString(), ...cp, signedAt: row!.signed_at.toISOString() };
}

export async function latestCheckpoint(sql: Sql): Promise<Checkpoint | null> {
  const [row] = await sql<{ id: bigint; position: bigint; head_hash: string; signature: string; public_key: string; signed_at: Date }[]>`
    select id, position, head_hash, signature, public_key, signed_at from audit_checkpoints order by id desc limit 1`;
  return row
    ? { id: row.id.toString(), position: row.position.toString(), headHash: row.head_hash, signature: row.signature, publicKey: row.public_key, signedAt: row.signed_at.toISOString() }
    : null;
}

/**
 * Checks a checkpoint with nothing but its own content: the signature over `${position}:${headHash}` against
 * the public key it names. (Whether that key is the operator's is for the holder to compare out of band.)
 */
export function verifyCheckpointOffline(checkpoint: string | Checkpoint): { ok: boolean; reason?: string } {
  let cp: Partial<Checkpoint>;
  try {
    cp = typeof checkpoint === 'string' ? JSON.parse(checkpoint) : checkpoint;
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof cp.position !== 'string' || !/^\d+$/.test(cp.position) || typeof cp.headHash !== 'string' || !/^[0-9a-f]{64}$/.test(cp.headHash)
    || typeof cp.signature !== 'string' || typeof cp.publicKey !== 'string') {
    return { ok: false, reason: 'malformed checkpoint: needs position, headHash, signature, publicKey' };
  }
  try {
    const key = createPublicKey(cp.publicKey);
    if (key.asymmetricKeyType !== 'ed25519') return { ok: false, reason: 'public key is not Ed25519' };
    const good = verify(null, Buffer.from(checkpointMessage(cp.position, cp.headHash)), key, Buffer.from(cp.signature, 'base64'));
    return good ? { ok: true } : { ok: false, reason: 'signature does not match' };
  } catch (err) {
    return { ok: false, reason: `unusable key or signature: ${(err as Error).message}` };
  }
}

export interface AuditReport extends ChainVerification {
  checkpoint: (Checkpoint & { signatureValid: boolean; matchesChain: boolean }) | null;
}

/** verifyChain plus the latest checkpoint: its signature, and whether the chain still has that hash at that position. */
export async function verifyAudit(sql: Sql): Promise<AuditReport> {
  const [chain, cp] = await Promise.all([verifyChain(sql), latestCheckpoint(sql)]);
  if (!cp) return { ...chain, checkpoint: null };
  const [link] = await sql<{ hash: string }[]>`select hash from audit_chain where position = ${cp.position}::bigint`;
  const signatureValid = verifyCheckpointOffline(cp).ok;
  const matchesChain = link?.hash === cp.headHash;
  return { ...chain, ok: chain.ok && signatureValid && matchesChain, checkpoint: { ...cp, signatureValid, matchesChain } };
}

// ------------------------------------------------------------------------------------------ background chainer

export interface AuditChainerOptions {
  sql: Sql;
  logger: Logger;
  intervalMs?: number;
  /** Ed25519 private key (PEM): checkpoints must verify against one published key, so there is no fallback. */
  signingKeyPem: string;
  /** How often the head is signed when it has moved. */
  checkpointEveryMs?: number;
}

/** Chains settled events every intervalMs and signs a checkpoint when the head has moved. */
export function startAuditChainer(options: AuditChainerOptions): { stop(): Promise<void> } {
  const { sql, logger, intervalMs = 1000, checkpointEveryMs = 60_000 } = options;
  const signingKey = options.signingKeyPem.replace(/\\n/g, '\n'); // env files carry PEM newlines as \n
  let stopped = false;
  let signedHead: string | null = null;
  let lastSigned = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const tick = async () => {
    try {
      let result: ChainResult;
      do result = await chainPending(sql, 1000);
      while (result.chained === 1000 && !stopped);
      if (result.headPosition && result.headHash !== signedHead && Date.now() - lastSigned >= checkpointEveryMs) {
        await signCheckpoint(sql, signingKey);
        signedHead = result.headHash;
        lastSigned = Date.now();
      }
    } catch (err) {
      logger.error({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, 'audit chainer failed; retrying');
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().then(schedule);
    }, intervalMs);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
