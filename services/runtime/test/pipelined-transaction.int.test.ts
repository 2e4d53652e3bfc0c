import t from 'tap';
import { createSql, pipelinedTransaction } from '@vru/runtime';
import { Harness } from '@vru/testkit';

const h = await Harness.start();
// One connection in the pool: a transaction that did not hand its connection back would hang the next query.
const sql = createSql(h.config.DATABASE_URL, { max: 1, applicationName: 'vru-test' });
t.teardown(async () => {
  await sql.end();
  await h.close();
});
await sql`create table pipelined (id int primary key)`;
const ids = async () => (await sql<{ id: number }[]>`select id from pipelined order by id`).map((r) => r.id);

t.test('statements sent with COMMIT are committed with the ones before them', async (t) => {
  const result = await pipelinedTransaction(sql, async (tx, commit) => {
    await tx`insert into pipelined values (1)`;
    const [rows] = await Promise.all([
      tx<{ id: number }[]>`insert into pipelined values (2) returning id`.execute(),
      commit(),
    ]);
    return rows.map((r) => r.id);
  });
  t.same(result, [2]);
  t.same(await ids(), [1, 2]);
});

t.test(
  'a statement that fails beside COMMIT: its error, nothing stored, the connection back in the pool',
  async (t) => {
    const err = (await pipelinedTransaction(sql, async (tx, commit) => {
      await tx`insert into pipelined values (3)`;
      await Promise.all([tx`insert into pipelined values (1)`.execute(), commit()]);
    }).catch((e: unknown) => e)) as { code?: string };
    t.equal(err.code, '23505', 'the unique violation, not the ROLLBACK that answered COMMIT');
    t.same(await ids(), [1, 2]);
  },
);

t.test('an error before COMMIT rolls back', async (t) => {
  await t.rejects(
    pipelinedTransaction(sql, async (tx) => {
      await tx`insert into pipelined values (4)`;
      throw new Error('refused');
    }),
    { message: 'refused' },
  );
  t.same(await ids(), [1, 2]);
});

t.test('returning without COMMIT rolls back', async (t) => {
  await t.rejects(
    pipelinedTransaction(sql, async (tx) => {
      await tx`insert into pipelined values (5)`;
    }),
    /without committing/,
  );
  t.same(await ids(), [1, 2]);
});
