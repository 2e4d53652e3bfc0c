/**
 * scripts/audit-bench [N]: the audit log's costs on a log of N synthetic events (default 100,000) in a database of
 * its own: appending leaves, a full and an incremental verification, proof sizes and the time to serve them, and
 * the projector's per-event check against the store. Prints one JSON object; the database is dropped at the end.
 */
import { randomUUID } from 'node:crypto';
import {
  appendPending,
  consistencyProof,
  EVENT_COLUMNS,
  inclusionProof,
  storedEventsById,
  toStoredEvent,
  TreeHeadSigner,
  treeSize,
  verifyLog,
  type EventRow,
} from '@vru/event-store';
import type { StoredEvent } from '@vru/contracts';
import { checkAgainstStore } from '@vru/projector';
import { createSql, loadConfig, type Sql } from '@vru/runtime';
import { createTestDatabase } from '@vru/testkit/test-database';
import { generateKeys, parseSignerKey, parseVerifierKey } from '@vru/verifier';

const N = Number(process.argv[2] ?? 100_000);
const NEW = 1_000;
const say = (line: string) => process.stderr.write(`${line}\n`);
const ms = (start: number) => Math.round((performance.now() - start) * 10) / 10;

async function insertEvents(sql: Sql, count: number, offset: number): Promise<void> {
  // Settled events (recorded a minute ago), 20 per stream, a body of the size a session event has.
  await sql`
    insert into events (event_id, stream_id, stream_version, type, schema_version, provider_id, programme_id, occurred_at, recorded_at,
                        data, metadata, request_hash)
    select gen_random_uuid(), 'participant-bench-' || ((${offset}::int + g) / 20), ((${offset}::int + g) % 20) + 1, 'SessionAttended', 2,
           'prov-a', 'mentoring-bench', now() - interval '1 day', now() - interval '1 minute',
           jsonb_build_object('sessionId', 's-' || g, 'sessionDate', '2026-02-01', 'durationMinutes', 60, 'sessionType', 'one-to-one',
                              'deliveredBy', 'staff'),
           jsonb_build_object('requestId', 'bench-' || g, 'keyId', 'k1', 'role', 'provider', 'source', 'api'), 'h'
    from generate_series(0, ${count - 1}::int) g`;
}

async function appendAll(sql: Sql): Promise<number> {
  let appended = 0;
  for (let r = await appendPending(sql, 10_000); r.appended > 0; r = await appendPending(sql, 10_000))
    appended += r.appended;
  return appended;
}

const base = loadConfig();
const dbName = `vru_audit_bench_${randomUUID().slice(0, 8)}`;
// A copy of the test suite's migrated template: creating and migrating a database was most of a small run's time.
const url = await createTestDatabase(base.DATABASE_URL, dbName);
const sql = createSql(url, { max: 4, applicationName: 'vru-audit-bench' });
try {
  const pair = generateKeys('bench.vru/audit-log');
  const key = parseVerifierKey(pair.verifierKey);
  const signer = new TreeHeadSigner(sql, parseSignerKey(pair.signerKey), key);

  say(`inserting ${N} events`);
  for (let done = 0; done < N; done += 50_000) await insertEvents(sql, Math.min(50_000, N - done), done);
  await sql`vacuum analyze events`;

  let started = performance.now();
  const appended = await appendAll(sql);
  const appendMs = ms(started);
  say(`appended ${appended} leaves in ${appendMs} ms`);
  started = performance.now();
  await signer.signNext();
  const firstSignMs = ms(started);

  started = performance.now();
  const full = await verifyLog(sql, key);
  const fullMs = ms(started);
  if (!full.ok) throw new Error(`full verification failed: ${JSON.stringify(full.problems.slice(0, 3))}`);
  say(`full verification of ${full.leavesChecked} leaves in ${fullMs} ms`);

  started = performance.now();
  const nothingNew = await verifyLog(sql, key, full.state);
  const nothingNewMs = ms(started);
  if (!nothingNew.ok)
    throw new Error(`verification with nothing new failed: ${JSON.stringify(nothingNew.problems.slice(0, 3))}`);

  await insertEvents(sql, NEW, N);
  await appendAll(sql);
  started = performance.now();
  const signed = await signer.signNext();
  const signMs = ms(started);
  started = performance.now();
  const incremental = await verifyLog(sql, key, full.state);
  const incrementalMs = ms(started);
  if (!incremental.ok || signed.status !== 'signed') throw new Error('incremental verification or signing failed');
  say(`incremental verification of ${incremental.leavesChecked} new leaves in ${incrementalMs} ms`);

  const size = await treeSize(sql);
  const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
    const s = performance.now();
    const out = await run();
    return [out, ms(s)];
  };
  const [inclusionFirst, inclusionMs] = await timed(() => inclusionProof(sql, 0, size));
  const [inclusionLast] = await timed(() => inclusionProof(sql, size - 1, size));
  const [consistencyHalf, consistencyMs] = await timed(() => consistencyProof(sql, Math.floor(size / 2), size));
  const [consistencyRecent] = await timed(() => consistencyProof(sql, N, size));

  // The projector's check: look the batch's events up in the store and compare each message with its stored form.
  const rows = await sql<EventRow[]>`select ${sql.unsafe(EVENT_COLUMNS)} from events order by position desc limit 500`;
  const messages = rows.map((r) => JSON.parse(JSON.stringify(toStoredEvent(r))) as StoredEvent);
  const rounds = 20;
  started = performance.now();
  for (let i = 0; i < rounds; i++) {
    const { accepted } = checkAgainstStore(
      messages,
      await storedEventsById(
        sql,
        messages.map((m) => m.eventId),
      ),
    );
    if (accepted.length !== messages.length) throw new Error('the check refused genuine events');
  }
  const checkUs = Math.round(((performance.now() - started) * 1000) / (rounds * messages.length));
  started = performance.now();
  for (let i = 0; i < rounds; i++) checkAgainstStore(messages, new Map(messages.map((m) => [m.eventId, m])));
  const compareUs = Math.round((((performance.now() - started) * 1000) / (rounds * messages.length)) * 10) / 10;

  const bytes = (hashes: unknown[]) => hashes.length * 32;
  process.stdout.write(
    `${JSON.stringify(
      {
        events: size,
        appendMs,
        appendLeavesPerSecond: Math.round(appended / (appendMs / 1000)),
        firstSignMs,
        signAfter1000Ms: signMs,
        verifyFullMs: fullMs,
        verifyFullLeaves: full.leavesChecked,
        verifyIncrementalMs: incrementalMs,
        verifyIncrementalLeaves: incremental.leavesChecked,
        verifyNothingNewMs: nothingNewMs,
        inclusionProof: {
          hashes: inclusionFirst.length,
          bytes: bytes(inclusionFirst),
          lastLeafHashes: inclusionLast.length,
          serveMs: inclusionMs,
        },
        consistencyProof: {
          halfToNow: { hashes: consistencyHalf.length, bytes: bytes(consistencyHalf), serveMs: consistencyMs },
          [`${N}ToNow`]: { hashes: consistencyRecent.length, bytes: bytes(consistencyRecent) },
        },
        projectorCheckPerEventUs: checkUs,
        projectorComparePerEventUs: compareUs,
        projectorCheckBatch: messages.length,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await sql.end({ timeout: 5 });
  const admin = createSql(base.DATABASE_URL.replace(/\/[^/]*$/, '/postgres'), { max: 1 });
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`).catch(() => {});
  await admin.end({ timeout: 5 });
}
