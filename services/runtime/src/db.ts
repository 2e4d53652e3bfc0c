import postgres from 'postgres';

export type Sql = postgres.Sql<{ bigint: bigint }>;
export type TransactionSql = postgres.TransactionSql<{ bigint: bigint }>;

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
