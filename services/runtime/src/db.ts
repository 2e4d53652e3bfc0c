import postgres from 'postgres';

export type Sql = postgres.Sql<{ bigint: bigint }>;
/** A connection inside a transaction: `sql.begin`'s, or the reserved one of `pipelinedTransaction`. */
export type TransactionSql = postgres.TransactionSql<{ bigint: bigint }> | postgres.ReservedSql<{ bigint: bigint }>;

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

/**
 * A transaction in two round trips fewer than `sql.begin`, which awaits `BEGIN` and `COMMIT` each on its own: on a
 * reserved connection, `BEGIN` goes out with the first statements and `COMMIT` with the last (postgres.js pipelines
 * what is sent on one connection without awaiting; the server runs it in order). `fn` sends its statements on `tx`,
 * awaiting what it must decide on, and calls `commit()` right after sending its last statement, before awaiting that
 * statement's result. `commit()` resolves once the transaction committed. If `fn` throws, or returns without
 * committing, the transaction is rolled back. Every statement's result must be awaited by `fn` (an unawaited
 * failure would otherwise go unseen: the server then answers `COMMIT` with `ROLLBACK`, which `commit()` refuses).
 */
export async function pipelinedTransaction<T>(
  sql: Sql,
  fn: (tx: TransactionSql, commit: () => Promise<void>) => Promise<T>,
): Promise<T> {
  const tx = await sql.reserve();
  const begun = tx`begin`.execute();
  // Awaited by commit(); a failure before then must not be an unhandled rejection.
  begun.catch(() => undefined);
  let committed: Promise<void> | undefined;
  const commit = (): Promise<void> => {
    committed ??= Promise.all([begun, tx`commit`.execute()]).then(([, result]) => {
      // A failed statement aborts the transaction, and PostgreSQL answers COMMIT with ROLLBACK, not with an error.
      if (result.command !== 'COMMIT') throw new Error(`transaction ended in ${result.command}, not COMMIT`);
    });
    return committed;
  };
  try {
    const result = await fn(tx, commit);
    if (!committed) throw new Error('pipelinedTransaction: fn returned without committing');
    await committed;
    tx.release();
    return result;
  } catch (err) {
    committed?.catch(() => undefined); // fn's error is the one to report
    // Returned to the pool only once it is known to be usable: a connection that closed meanwhile is already back in
    // postgres.js' closed set, and releasing it would hand a dead connection to the next query.
    if (
      await tx`rollback`.then(
        () => true,
        () => false,
      )
    )
      tx.release();
    throw err;
  }
}
