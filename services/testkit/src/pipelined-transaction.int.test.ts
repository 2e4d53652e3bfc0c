import { randomUUID } from 'node:crypto';
import t from 'tap';
import { createSql, pipelinedTransaction } from '@vru/runtime';
import { createTestDatabase, dropTestDatabase } from './test-database.js';

// The append's transaction: BEGIN sent with the first statements and COMMIT with the last, on a reserved connection.
// What it must keep of an ordinary transaction: all or nothing, and a connection that goes back to the pool clean.
const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `vru_test_pipelined_${randomUUID().slice(0, 8)}`;
const url = await createTestDatabase(server, name);
// One connection: every transaction below reuses the connection the one before it released.
const sql = createSql(url, { max: 1, applicationName: 'vru-test' });
t.teardown(async () => {
  await sql.end();
  await dropTestDatabase(server, name);
});
await sql`create table pipelined (id int primary key)`;
const stored = async () => (await sql<{ id: number }[]>`select id from pipelined order by id`).map((r) => r.id);
/** A savepoint is refused outside a transaction block (25P01): the pool's connection is not left in one. */
const outsideTransaction = () =>
  sql`savepoint probe`.then(
    () => false,
    (err: unknown) => (err as { code?: string }).code === '25P01',
  );

t.test('statements sent with the commit are committed, and the result is the work’s', async (t) => {
  const result = await pipelinedTransaction(sql, async (tx, commit) => {
    const inserted = tx`insert into pipelined values (1), (2) returning id`.execute();
    const [rows] = await Promise.all([inserted, commit()]);
    return rows.length;
  });
  t.equal(result, 2);
  t.same(await stored(), [1, 2]);
  // The connection is back in the pool outside any transaction.
  t.equal(await outsideTransaction(), true);
});

t.test('work that does not commit is committed after it returns', async (t) => {
  await pipelinedTransaction(sql, async (tx) => {
    await tx`insert into pipelined values (3)`;
  });
  t.same(await stored(), [1, 2, 3]);
});

t.test('a statement that fails before the commit it was sent with: nothing stored, the commit rejects', async (t) => {
  let commitOutcome = 'not sent';
  await t.rejects(
    pipelinedTransaction(sql, async (tx, commit) => {
      const first = tx`insert into pipelined values (4)`.execute();
      const duplicate = tx`insert into pipelined values (1)`.execute();
      const committed = commit().then(
        () => (commitOutcome = 'committed'),
        () => (commitOutcome = 'rejected'),
      );
      await Promise.all([first, duplicate, committed]);
    }),
    { code: '23505' },
  );
  t.equal(commitOutcome, 'rejected');
  t.same(await stored(), [1, 2, 3], 'the first insert went with the rest');
  t.equal(await outsideTransaction(), true);
});

t.test('work that throws before committing rolls back what it wrote', async (t) => {
  await t.rejects(
    pipelinedTransaction(sql, async (tx) => {
      await tx`insert into pipelined values (5)`;
      throw new Error('decided against it');
    }),
    { message: 'decided against it' },
  );
  t.same(await stored(), [1, 2, 3]);
  // The next transaction on the same connection starts clean and commits.
  await pipelinedTransaction(sql, async (tx, commit) => {
    await Promise.all([tx`insert into pipelined values (6)`.execute(), commit()]);
  });
  t.same(await stored(), [1, 2, 3, 6]);
});

t.test('statements run in one transaction: a concurrent reader sees none of them until the commit', async (t) => {
  const reader = createSql(url, { max: 1, applicationName: 'vru-test' });
  t.teardown(() => reader.end());
  let seenBeforeCommit: number | undefined;
  await pipelinedTransaction(sql, async (tx, commit) => {
    await tx`insert into pipelined values (7)`;
    await tx`insert into pipelined values (8)`;
    seenBeforeCommit = (await reader<{ n: number }[]>`select count(*)::int as n from pipelined where id >= 7`)[0]!.n;
    await commit();
  });
  t.equal(seenBeforeCommit, 0);
  t.same(await stored(), [1, 2, 3, 6, 7, 8]);
});
