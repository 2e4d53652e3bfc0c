import { mkdir } from 'node:fs/promises';
import { launchChromium } from './browser.js';
import { loadDemo } from './demo-stack.js';
import { Harness } from './harness.js';

/** scripts/screenshots: the demo data set in a fresh stack, then each page as its role sees it. */
const outDir = process.argv[2] ?? 'docs/screenshots';
await mkdir(outDir, { recursive: true });
const h = await Harness.start();
await h.startRelay();
await h.startProjectors();
const { keys } = await loadDemo(h);
// Append and sign the audit log, as the relay does on its timer, so the funder page shows a signed head.
await h.appendAndSign();
await h.app.listen({ host: '127.0.0.1', port: 0 });
const address = h.app.server.address();
const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
const browser = await launchChromium();

const shots: { file: string; key: string | null; path: string; upload?: string }[] = [
  { file: 'sign-in.png', key: null, path: '/app/sign-in' },
  { file: 'commissioner-overview.png', key: keys.commissioner, path: '/app/overview' },
  {
    file: 'commissioner-overview-filtered.png',
    key: keys.commissioner,
    path: '/app/overview?programmeId=mentoring-derby&from=2025-04-01&to=2026-03-31',
  },
  { file: 'funder-funding.png', key: keys.funder, path: '/app/funding' },
  {
    file: 'commissioner-impact.png',
    key: keys.commissioner,
    path: '/app/impact?programmeId=mentoring-derby&from=2025-04-01&to=2026-03-31',
  },
  { file: 'provider-overview.png', key: keys.providers['safe-spaces-trust']!, path: '/app/overview' },
  { file: 'commissioner-contracts.png', key: keys.commissioner, path: '/app/contracts' },
  { file: 'provider-contract.png', key: keys.providers['safe-spaces-trust']!, path: '/app/contracts/VRU-2025-MENT-01' },
  { file: 'provider-upload.png', key: keys.providers['safe-spaces-trust']!, path: '/app/upload' },
  {
    file: 'provider-upload-results.png',
    key: keys.providers['safe-spaces-trust']!,
    path: '/app/upload',
    upload: [
      'participantRef,programmeId,referralDate,referralSource,ageAtReferral,gender,ethnicity,postcodeDistrict,riskFactors',
      'SHOT-1,mentoring-derby,2026-10-01,school,15,male,white-british,DE23,school-exclusion',
      'SHOT-2,mentoring-derby,2026-10-41,school,15,female,white-british,DE1,',
      'SHOT-3,mentoring-derby,2026-10-02,police,16,female,mixed-other,DE22 1AB,',
    ].join('\r\n'),
  },
  { file: 'data-partner-upload.png', key: keys.dataPartner, path: '/app/upload' },
];
try {
  for (const shot of shots) {
    const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    if (shot.key) {
      await page.goto('/app/sign-in');
      await page.getByLabel('API key').fill(shot.key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForLoadState('load');
    }
    await page.goto(shot.path);
    if (shot.upload) {
      await page.getByLabel('Event type', { exact: true }).selectOption('ParticipantReferred');
      await page
        .getByLabel('CSV file')
        .setInputFiles({ name: 'referrals.csv', mimeType: 'text/csv', buffer: Buffer.from(shot.upload) });
      await page.getByRole('button', { name: 'Upload' }).click();
      await page.waitForLoadState('load');
    }
    await page.screenshot({ path: `${outDir}/${shot.file}`, fullPage: true });
    process.stdout.write(`screenshot ${outDir}/${shot.file}\n`);
    await context.close();
  }
} finally {
  await browser.close();
  await h.close();
}
