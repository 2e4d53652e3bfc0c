import type { TransactionSql } from '@vru/runtime';

/*
 * What the replay writes of the read models share (Projection.writeReplay): a check that a value reads back from
 * PostgreSQL as it is in this process, so that rows computed here compare as the database would compare them, and
 * COPY, which writes a chunk's rows several times faster than a multi-row insert from JSON (docs/performance.md).
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** A date as PostgreSQL prints it back (so it compares as text): four-digit year from 1000, a real calendar day. */
export const canonicalDate = (v: unknown): boolean => {
  const m = typeof v === 'string' ? DATE.exec(v) : null;
  if (m === null) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return y >= 1000 && mo >= 1 && mo <= 12 && d >= 1 && d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
};
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
// A lone surrogate fails PostgreSQL's JSON input (the round path's error) but would be replaced in a COPY; a NUL is
// refused by both, and separates a cell's parts here. Code units are tested first: most text has no surrogate at all,
// and that test costs a fraction of the Unicode-aware one (a replay tests every text value of a chunk).
export const isText = (v: unknown): boolean =>
  typeof v === 'string' && (!/[\0\ud800-\udfff]/.test(v) || !/[\p{Cs}\0]/u.test(v));

/** JSON with object keys sorted: jsonb's equality (key order is not kept) as a string comparison. */
export const canonicalJson = (v: unknown): string =>
  JSON.stringify(v, (_, x: unknown) =>
    isObject(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map((k) => [k, x[k]]),
        )
      : x,
  );

/** A value in COPY's text format. */
const copyValue = (v: unknown): string =>
  v === null || v === undefined
    ? '\\N'
    : // eslint-disable-next-line @typescript-eslint/no-base-to-string -- an object is JSON; the rest are scalars
      (typeof v === 'object' ? JSON.stringify(v) : String(v)).replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!);
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
export const copyLine = (values: readonly unknown[]): string => `${values.map(copyValue).join('\t')}\n`;

/**
 * Rows into a table by COPY (text format). No statement may be sent on the connection while it runs (postgres.js
 * refuses it): applyInTransaction sends its own statements of the chunk before this write's first one returns.
 */
export async function copyInto(tx: TransactionSql, table: string, columns: readonly string[], lines: string[]) {
  if (lines.length === 0) return;
  const stream = await tx.unsafe(`copy ${table} (${columns.join(', ')}) from stdin`).writable();
  const failed = new Promise<never>((_, reject) => stream.once('error', reject));
  failed.catch(() => {});
  await Promise.race([
    new Promise<void>((resolve, reject) => stream.write(lines.join(''), (e) => (e ? reject(e) : resolve()))),
    failed,
  ]);
  stream.end();
  // postgres.js never settles a COPY that PostgreSQL refuses after its end was sent (a row breaking a constraint):
  // a statement sent right behind it (once the end is out, which frees the connection) fails then, as the
  // transaction is aborted, and otherwise answers once the COPY is done, so the replay fails instead of hanging.
  await new Promise((resolve) => setImmediate(resolve));
  await Promise.race([tx`select 1`, failed]);
}
