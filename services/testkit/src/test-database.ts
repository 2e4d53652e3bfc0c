import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createSql, migrate, MIGRATIONS_DIR } from '@vru/runtime';

/** Any one key: it only serialises the building of templates between processes. */
const TEMPLATE_LOCK = 7_406_002;

/** The same server, another database. */
function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * The name of a database holding exactly the migrations in MIGRATIONS_DIR, built once per set of migration files
 * (the name carries their digest, so a branch with other migrations builds its own) and kept for the next run.
 * Copying it (`create database ... template`) takes a fraction of what applying every migration again does.
 */
async function migratedTemplate(serverUrl: string): Promise<string> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  const digest = createHash('sha256');
  for (const file of files)
    digest
      .update(file)
      .update('\0')
      .update(await readFile(MIGRATIONS_DIR + file))
      .update('\0');
  const name = `vru_test_template_${digest.digest('hex').slice(0, 16)}`;
  const admin = createSql(withDatabase(serverUrl, 'postgres'), { max: 1, applicationName: 'vru-test' });
  try {
    const exists = async () => (await admin`select 1 from pg_database where datname = ${name}`).length > 0;
    if (await exists()) return name;
    await admin`select pg_advisory_lock(${TEMPLATE_LOCK})`;
    try {
      if (await exists()) return name;
      // Built under a name of its own and renamed once complete, so a run that dies half-way leaves no template.
      const building = `vru_test_building_${randomUUID().slice(0, 8)}`;
      await admin.unsafe(`create database ${quoted(building)}`);
      const sql = createSql(withDatabase(serverUrl, building), { max: 1, applicationName: 'vru-test' });
      try {
        await migrate(sql);
      } finally {
        await sql.end();
      }
      await admin.unsafe(`alter database ${quoted(building)} rename to ${quoted(name)}`);
      return name;
    } finally {
      await admin`select pg_advisory_unlock(${TEMPLATE_LOCK})`;
    }
  } finally {
    await admin.end();
  }
}

/** Creates database `name` on the server of `serverUrl`, already migrated; returns its URL. */
export async function createTestDatabase(serverUrl: string, name: string): Promise<string> {
  const template = await migratedTemplate(serverUrl);
  const admin = createSql(withDatabase(serverUrl, 'postgres'), { max: 1, applicationName: 'vru-test' });
  try {
    await admin.unsafe(`create database ${quoted(name)} template ${quoted(template)}`);
  } finally {
    await admin.end();
  }
  return withDatabase(serverUrl, name);
}

/** Drops a test database, closing whatever is still connected to it. */
export async function dropTestDatabase(serverUrl: string, name: string): Promise<void> {
  const admin = createSql(withDatabase(serverUrl, 'postgres'), { max: 1, applicationName: 'vru-test' });
  try {
    await admin.unsafe(`drop database if exists ${quoted(name)} with (force)`).catch(() => {});
  } finally {
    await admin.end();
  }
}
