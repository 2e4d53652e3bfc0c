import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Harness, PROGRAMME, ServiceProcess } from '@vru/testkit';

// `vru import` uploads a CSV file through the running API in parts, showing progress (log lines when not a terminal).
const h = await Harness.start();
const dir = await mkdtemp(join(tmpdir(), 'vru-import-'));
t.teardown(async () => {
  await rm(dir, { recursive: true, force: true });
  await h.close();
});
await h.app.listen({ host: '127.0.0.1', port: 0 });
const address = h.app.server.address() as { port: number };

const header =
  'programmeId,participantRef,referralDate,referralSource,ageAtReferral,gender,ethnicity,postcodeDistrict,riskFactors';
const row = (ref: string, postcode = 'DE23') =>
  `${PROGRAMME},${ref},2026-01-10,school,15,male,white-british,${postcode},school-exclusion`;
const file = join(dir, 'referrals.csv');
// Line 5 has a full postcode, which the schema refuses (outward code only).
await writeFile(file, [header, row('C-1'), row('C-2'), row('C-3'), row('C-4', 'DE23 6AB'), row('C-5')].join('\n'));

const runImport = async () => {
  const cli = ServiceProcess.spawn(
    'cli',
    'services/api/dist/cli.js',
    {
      DATABASE_URL: h.config.DATABASE_URL,
      VRU_API_KEY: h.keys.providerA,
      API_URL: `http://127.0.0.1:${address.port}`,
      LOG_LEVEL: 'info',
    },
    ['import', 'ParticipantReferred', file, '--rows-per-request', '2'],
  );
  const { code } = await cli.exited;
  return { code, cli };
};

await t.test(
  'a CSV file goes through the import route in parts, with progress and refused rows by file line',
  async (t) => {
    const { code, cli } = await runImport();
    t.equal(code, 1, 'exit status 1: a row was refused');
    const lines = cli.logLines();
    const finished = lines.find((l) => l.msg === 'finished');
    t.match(
      finished,
      { task: 'import ParticipantReferred', done: 5, total: 5, percent: 100 },
      'a final progress line with counts',
    );
    t.type(finished?.perSecond, 'number', 'and the rate');
    t.match(
      cli.output,
      /^line 5: postcodeDistrict string-pattern: /m,
      'the refused row is named by its line in the whole file',
    );
    const [{ head }] = await h.sql<[{ head: string }]>`select max(position)::text as head from events`;
    t.match(
      cli.output,
      new RegExp(`5 rows: 4 accepted, 0 duplicates, 1 rejected; highest log position ${head}\n`),
      'and the position to wait for',
    );
    t.equal(await h.count('events'), 4);
  },
);

await t.test('importing the same file again stores nothing twice', async (t) => {
  const { cli } = await runImport();
  const [{ head }] = await h.sql<[{ head: string }]>`select max(position)::text as head from events`;
  t.match(
    cli.output,
    new RegExp(`5 rows: 0 accepted, 4 duplicates, 1 rejected; highest log position ${head}\n`),
    'duplicates answer where they were stored',
  );
  t.equal(await h.count('events'), 4);
});

t.end();
