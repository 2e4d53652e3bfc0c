import { EventCatalogue } from '@vru/contracts';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createSql, loadConfig, randomSecrets } from '@vru/runtime';
import { buildApp } from './app.js';

const COMMITTED = fileURLToPath(new URL('../../../contracts/openapi.json', import.meta.url));

t.test('the committed OpenAPI contract matches the running API (regenerate with scripts/openapi)', async (t) => {
  const config = { ...loadConfig(randomSecrets()), LOG_LEVEL: 'silent' as const };
  // The document is built from the route schemas alone; no query runs, so no database is needed.
  const sql = createSql(config.DATABASE_URL, { max: 1 });
  const app = await buildApp({ config, sql });
  await app.ready();
  const live = JSON.parse(JSON.stringify(app.swagger()));
  await app.close();
  await sql.end();
  const committed = JSON.parse(await readFile(COMMITTED, 'utf8'));
  t.same(live, committed, 'contracts/openapi.json is out of date: run scripts/openapi and commit it');
});

t.test('every event type and version is documented with its schema', async (t) => {
  const committed = JSON.parse(await readFile(COMMITTED, 'utf8'));
  const body = committed.paths['/v1/events'].post.requestBody.content['application/json'].schema;
  const titles = (body.anyOf as { title: string }[]).map((s) => s.title).sort();
  t.ok(
    titles.includes('SessionAttendedV1') && titles.includes('SessionAttendedV2'),
    'both versions of SessionAttended',
  );
  t.ok(titles.includes('OffenceRecordedV1') && titles.includes('SpendCorrectedV1'));
  const versions = Object.values(EventCatalogue).reduce((n, def) => n + Object.keys(def.versions).length, 0);
  t.equal(titles.length, versions, 'one schema per event type and version of the catalogue');
});
