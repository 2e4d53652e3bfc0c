import postgres from 'postgres';

export type Sql = postgres.Sql<{ bigint: bigint }>;
/**
 * Statements inside a transaction: one `sql.begin` opened, or the connection `pipelinedTransaction` holds. A function
 * that takes one runs its statements in its caller's transaction.
 */
export type TransactionSql = postgres.ISql<{ bigint: bigint }>;

/**
 * One pool per process. bigint columns (log positions) come back as BigInt, never as lossy numbers;
 * they leave the service as strings.
 */
export function createSql(url: string, options: { max?: number; applicationName?: string } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connect_timeout: 5,
    // postgres.js' default waits up to 20 s before reconnecting, counted over every failed attempt of the pool, so a
    // request arriving once PostgreSQL is back could wait that long for a connection; at most a second here (ten
    // connections at most, so at most ten attempts a second against a server that is down).
    backoff: reconnectDelaySeconds,
    idle_timeout: 60,
    connection: { application_name: options.applicationName ?? 'vru' },
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (x: bigint | number | string) => x.toString(),
        parse: (x: string) => BigInt(x),
      },
    },
  });
}

/** Seconds before a closed connection reconnects, after `attempts` failed ones: 50 ms doubling to 1 s, jittered. */
export function reconnectDelaySeconds(attempts: number): number {
  return (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** attempts, 1);
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  // A statement written to a connection the server has just closed (a pipelined transaction's next statements).
  'EPIPE',
  'ETIMEDOUT',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

/** True when an error means PostgreSQL could not be reached (→ 503), not that the query was wrong. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return typeof code === 'string' && UNAVAILABLE_CODES.has(code);
}

/** Sends COMMIT, pipelined behind the statements already sent; resolves once PostgreSQL has committed. */
export type Commit = () => Promise<void>;

/**
 * A transaction that costs no round trip of its own: BEGIN travels with the first statements, and `work` may send
 * COMMIT with its last ones (`commit`), so a lock those take is released when the commit's WAL flush ends, not a round
 * trip to this process later. Commits after `work` if it did not; rolls back if it throws first. A COMMIT that ends an
 * aborted transaction (PostgreSQL answers ROLLBACK) rejects. Once `commit` has resolved, the work is stored, whatever
 * `work` does after it: callers commit with their last statement.
 */
export async function pipelinedTransaction<T>(
  sql: Sql,
  work: (tx: TransactionSql, commit: Commit) => Promise<T>,
): Promise<T> {
  const connection = await sql.reserve();
  let committing: Promise<void> | undefined;
  const commit: Commit = () =>
    (committing ??= connection`commit`.execute().then((r) => {
      if (r.command !== 'COMMIT') throw Object.assign(new Error('transaction rolled back'), { code: '25P02' });
    }));
  // Awaited below; a failed BEGIN fails the statements behind it too, which is what `work` sees first.
  const begun = connection`begin`.execute();
  begun.catch(() => {});
  try {
    const result = await work(connection, commit);
    await begun;
    await commit();
    connection.release();
    return result;
  } catch (err) {
    if (committing) await committing.catch(() => {});
    else await connection`rollback`.catch(() => {});
    // A connection that failed is closed, and the pool reconnects it when next needed; released, it would go back
    // to the pool as if open and fail the next statement sent on it.
    if (!isDatabaseUnavailable(err)) connection.release();
    throw err;
  }
}
