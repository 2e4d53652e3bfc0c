import t, { type Test } from 'tap';
import type { Browser, BrowserContext, Page } from '@vru/testkit/browser';
import { launchChromium, seriousAxeViolations } from '@vru/testkit/browser';
import { loadDemo } from '@vru/testkit/demo-stack';
import { readXlsx } from '@vru/api';
import { Harness } from '@vru/testkit';

/** The dashboard in real headless Chromium against the API listening on a free port, with the demo data set loaded. */
const h = await Harness.start();
t.teardown(() => h.close());
await h.startRelay();
await h.startProjectors();
const { keys } = await loadDemo(h);
await h.app.listen({ host: '127.0.0.1', port: 0 });
const address = h.app.server.address();
const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
const browser: Browser = await launchChromium();
t.teardown(() => browser.close());

const PROVIDER = 'safe-spaces-trust';
const OTHER_PROVIDER = 'derby-youth-sport';

/** A fresh browser context (no cookies), signed in with the key through the form. */
async function signIn(key: string): Promise<{ context: BrowserContext; page: Page }> {
  // axe is injected as a script, which the pages' content security policy (script-src 'none') would block.
  const context = await browser.newContext({ bypassCSP: true, baseURL: base });
  const page = await context.newPage();
  await page.goto('/app/overview');
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState('load');
  return { context, page };
}

async function checkAccessible(t: Test, page: Page, what: string) {
  const violations = await seriousAxeViolations(page);
  t.same(
    violations.map(
      (v) =>
        `${v.id}: ${v.help} (${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(', ')})`,
    ),
    [],
    `${what}: no serious or critical axe violations`,
  );
}

/** A table's body rows as text cells, keyed by their row header. */
async function tableRows(page: Page, id: string): Promise<Map<string, string[]>> {
  const rows = await page
    .locator(`#${id} tbody tr`)
    .evaluateAll((trs) =>
      trs.map((tr) => [...tr.children].map((c) => (c.textContent ?? '').trim().replace(/\s+/g, ' '))),
    );
  return new Map(rows.map((cells) => [cells[0]!, cells.slice(1)]));
}

/** A table's body rows as text cells, the row header first; none when the table is not on the page. */
async function tableCells(page: Page, id: string): Promise<string[][]> {
  return page
    .locator(`#${id} tbody tr`)
    .evaluateAll((trs) =>
      trs.map((tr) => [...tr.children].map((c) => (c.textContent ?? '').trim().replace(/\s+/g, ' '))),
    );
}

interface ChartMark {
  label: string;
  value: number;
  lower: number | null;
  upper: number | null;
  series: string | null;
}
/** The marks of a section's chart that carry a figure (data-label, data-value, …), as the SVG in the page states them. */
async function chartMarks(page: Page, sectionId: string): Promise<ChartMark[]> {
  return page
    .locator(`section[aria-labelledby="${sectionId}-heading"] svg[role="img"] [data-value]`)
    .evaluateAll((els) =>
      els.map((e) => {
        const number = (name: string) => (e.getAttribute(name) === null ? null : Number(e.getAttribute(name)));
        return {
          label: e.getAttribute('data-label') ?? '',
          value: number('data-value')!,
          lower: number('data-lower'),
          upper: number('data-upper'),
          series: e.getAttribute('data-series'),
        };
      }),
    );
}

// The page's formats (web/format.ts), written out again so that the test does not trust the code it checks.
const whole = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-GB', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const asShare = (x: number) => `${oneDecimal.format(x * 100)}%`;
const asMoney = (pence: number) => `£${twoDecimals.format(pence / 100)}`;
/** A table cell with a figure in it: not withheld ([c]) and not a dash (does not apply). */
const hasFigure = (cell: string | undefined): cell is string =>
  cell !== undefined && cell !== '[c]' && !cell.startsWith('–');

/**
 * A chart agrees with the table behind it: the same labels, and each mark's figure printed as the table prints it. A
 * withheld ([c]) or inapplicable figure in the table must have no mark. Returns how many marks were compared.
 */
function sameFigures(
  t: Test,
  what: string,
  marks: readonly ChartMark[],
  show: (m: ChartMark) => [string, string],
  table: readonly [string, string | undefined][],
): number {
  const drawn = marks.map(show).sort(([a], [b]) => a.localeCompare(b));
  const printed = table
    .filter((row): row is [string, string] => hasFigure(row[1]))
    .sort(([a], [b]) => a.localeCompare(b));
  t.same(
    drawn,
    printed,
    `${what}: ${drawn.length} marks, each a figure of the table, label by label and value by value; nothing withheld drawn`,
  );
  return drawn.length;
}

/** Every chart on the overview (a commissioner's, a provider's) against its table; returns the marks compared and the figures withheld. */
async function overviewChartsAgree(t: Test, page: Page): Promise<{ compared: number; withheld: number }> {
  let compared = 0;
  const attendance = await tableCells(page, 'attendance-by-month-table');
  compared += sameFigures(
    t,
    'attendance',
    await chartMarks(page, 'attendance'),
    (m) => [m.label, asShare(m.value)],
    attendance.map(([month, programme, , , rate]) => [`${month} ${programme}`, rate]),
  );
  const stages = ['Referred', 'Consented', 'Enrolled', 'Attended', 'Completed'];
  const engagement = await tableCells(page, 'engagement-table');
  compared += sameFigures(
    t,
    'engagement funnel',
    await chartMarks(page, 'engagement'),
    (m) => [m.label, whole.format(m.value)],
    engagement.flatMap(([programme, ...cells]) =>
      stages.map((stage, i): [string, string | undefined] => [`${programme} ${stage}`, cells[i]]),
    ),
  );
  const change = (m: ChartMark) =>
    `${m.value > 0 ? '+' : ''}${twoDecimals.format(m.value)}${
      m.lower === null || m.upper === null
        ? ' (no interval: too few pairs)'
        : ` (${twoDecimals.format(m.lower)} to ${twoDecimals.format(m.upper)})`
    }`;
  compared += sameFigures(
    t,
    'outcome change',
    await chartMarks(page, 'outcomes'),
    (m) => [m.label, change(m)],
    (await tableCells(page, 'outcomes-table')).map((cells) => [cells[0]!, cells[5]]),
  );
  const reoffending = await tableCells(page, 'reoffending-table');
  compared += sameFigures(
    t,
    'proven reoffending',
    await chartMarks(page, 'reoffending'),
    (m) => [m.label, `${asShare(m.value)} (${asShare(m.lower!)} to ${asShare(m.upper!)})`],
    reoffending.map((cells) => [cells[0]!, cells[3]]),
  );
  compared += await spendChartAgrees(t, page);
  compared += sameFigures(
    t,
    'data quality',
    await chartMarks(page, 'data-quality'),
    (m) => [m.label, asShare(m.value)],
    (await tableCells(page, 'data-quality-providers-table')).map((cells) => [cells[0]!, cells[3]]),
  );
  const withheld = [...attendance, ...engagement, ...reoffending].flat().filter((cell) => cell === '[c]').length;
  return { compared, withheld };
}

async function spendChartAgrees(t: Test, page: Page): Promise<number> {
  return sameFigures(
    t,
    'spend against award',
    await chartMarks(page, 'spend'),
    (m) => [`${m.label} ${m.series}`, asMoney(m.value)],
    (await tableCells(page, 'spend-table')).flatMap(([grant, , awarded, spent]): [string, string | undefined][] => [
      [`${grant} awarded`, awarded],
      [`${grant} spent`, spent],
    ]),
  );
}

/** Every indicator chart of a contract page against its table: the actual's bar and the target's tick per quarter. */
async function contractChartsAgree(t: Test, page: Page): Promise<number> {
  const ids = await page
    .locator('section[aria-labelledby^="indicator-"]')
    .evaluateAll((sections) =>
      sections.map((section) => section.getAttribute('aria-labelledby')!.replace(/-heading$/, '')),
    );
  let compared = 0;
  for (const id of ids) {
    const format =
      id === 'indicator-spendPence'
        ? asMoney
        : id.startsWith('indicator-reliablyImproved')
          ? asShare
          : (x: number) => whole.format(x);
    const rows = await tableCells(page, `${id}-table`);
    compared += sameFigures(
      t,
      id,
      await chartMarks(page, id),
      (m) => [`${m.label} ${m.series}`, format(m.value)],
      rows.flatMap(([quarter, target, actual]): [string, string | undefined][] => {
        const q = quarter!.replace(/ \(targets revised\)$/, '');
        return [
          [`${q} target`, target],
          [`${q} actual`, actual],
        ];
      }),
    );
  }
  t.ok(ids.length >= 5, `every indicator has its chart and table (${ids.length})`);
  return compared;
}

/** The impact page's estimate and balance charts against their tables. */
async function impactChartsAgree(t: Test, page: Page): Promise<number> {
  const signed = (x: number) => `${x > 0 ? '+' : ''}${x.toFixed(1)}`;
  const estimate = sameFigures(
    t,
    'impact estimate',
    await chartMarks(page, 'impact-estimate'),
    (m) => [m.label, `${signed(m.value)} (${signed(m.lower!)} to ${signed(m.upper!)})`],
    (await tableCells(page, 'impact-estimate-table')).map((cells) => [cells[0]!, cells[3]]),
  );
  // The chart draws the characteristics; the propensity score's row is a summary printed below them, not drawn.
  const balance = sameFigures(
    t,
    'balance',
    await chartMarks(page, 'impact-balance'),
    (m) => [`${m.label} ${m.series}`, twoDecimals.format(m.value)],
    (await tableCells(page, 'impact-balance-table'))
      .filter(([name]) => name !== 'Propensity score (logit)')
      .flatMap(([name, before, after]): [string, string | undefined][] => [
        [`${name} before`, before],
        [`${name} after`, after],
      ]),
  );
  return estimate + balance;
}

const n = (x: number) => x.toLocaleString('en-GB');
/** A dash, with words for screen readers, is a figure that does not apply (no denominator). */
const pct = (x: number | null) => (x === null ? '–not applicable' : `${(x * 100).toFixed(1)}%`);

await t.test('without a session every page sends you to sign in; a wrong key is refused with a message', async (t) => {
  const context = await browser.newContext({ bypassCSP: true, baseURL: base });
  const page = await context.newPage();
  await page.goto('/app/funding');
  t.match(new URL(page.url()).pathname, '/app/sign-in');
  await checkAccessible(t, page, 'sign-in page');
  await page.getByLabel('API key').fill('vru_0000000000000000_notarealkeynotarealkeynotarealkeynotareal00');
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/app/sign-in') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  t.equal(res.status(), 401);
  t.match(await page.locator('.govuk-error-summary').innerText(), /The API key is not valid/);
  await checkAccessible(t, page, 'sign-in page with an error');
  const cookies = await context.cookies();
  t.notOk(
    cookies.some((c) => c.name === 'vru_session'),
    'no session for a bad key',
  );
  await context.close();
});

await t.test(
  'commissioner: overview with every chart and table; a filter shows the same numbers as the JSON reports',
  async (t) => {
    const { context, page } = await signIn(keys.commissioner);
    t.match(new URL(page.url()).pathname, '/app/overview');
    const session = (await context.cookies()).find((c) => c.name === 'vru_session');
    t.ok(session, 'a session cookie is set');
    t.match(session, { httpOnly: true, sameSite: 'Strict', path: '/app' });
    const secretPart = keys.commissioner.slice('vru_0123456789abcdef_'.length);
    t.notOk(session!.value.includes(secretPart), "the cookie does not hold the key's secret");
    for (const heading of [
      'Attendance',
      'Engagement funnel',
      'Outcome change',
      'Proven reoffending',
      'Spend against award',
      'Data quality per provider',
    ]) {
      t.ok(await page.getByRole('heading', { level: 2, name: heading }).isVisible(), `${heading} section`);
    }
    // A chart whose every figure is withheld by disclosure control is a sentence saying so, not an empty drawing.
    const drawn = await page.locator('svg[role="img"]').count();
    const notDrawn = await page.locator('.app-chart-empty').count();
    t.ok(
      drawn >= 2 && drawn + notDrawn >= 6,
      `charts are SVG images with a name (${drawn} drawn, ${notDrawn} withheld or empty)`,
    );
    await checkAccessible(t, page, 'commissioner overview');
    const unfiltered = await overviewChartsAgree(t, page);
    t.ok(unfiltered.compared > 0, `the charts' marks agree with the tables (${unfiltered.compared} marks)`);
    t.ok(unfiltered.withheld > 0, `withheld figures are in the tables and not drawn (${unfiltered.withheld})`);
    // Reoffending over small cohorts is withheld for commissioners: shown as [c], never as 0. With no period chosen the
    // page shows the last financial year that has ended (figures across providers are for whole periods only).
    const today = new Date();
    const fyStart = today.getUTCFullYear() - (today.getUTCMonth() < 3 ? 1 : 0) - 1;
    const reoffending = (
      await h.getReport(
        `/v1/reports/reoffending?cohortFrom=${fyStart}-04-01&cohortTo=${fyStart + 1}-03-31`,
        keys.commissioner,
      )
    ).body;
    const shownReoffending = await tableRows(page, 'reoffending-table');
    t.ok(
      reoffending.rows.some((r: { reoffenders: number | null }) => r.reoffenders === null),
      'the demo has withheld reoffending figures',
    );
    for (const r of reoffending.rows) {
      const cells = shownReoffending.get(r.programmeId)!;
      t.equal(cells[1], r.reoffenders === null ? '[c]' : n(r.reoffenders), `reoffenders of ${r.programmeId}`);
      t.match(cells[4], r.provisional ? /^Provisional/ : /^Final/, `status of ${r.programmeId}`);
    }

    await page.getByLabel('Provider', { exact: true }).selectOption(PROVIDER);
    await page.getByLabel('From', { exact: true }).fill('2025-04-01');
    await page.getByLabel('To', { exact: true }).fill('2026-03-31');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForLoadState('load');
    const query = `providerId=${PROVIDER}&from=2025-04-01&to=2026-03-31`;
    t.match(page.url(), query);

    const attendance = (await h.getReport(`/v1/reports/attendance?${query}`, keys.commissioner)).body;
    t.ok(attendance.rows.length > 0, 'the filter selects attendance');
    const shownAttendance = await tableRows(page, 'attendance-table');
    t.same(
      [...shownAttendance.keys()],
      attendance.rows.map((r: { programmeId: string }) => r.programmeId),
    );
    for (const r of attendance.rows) {
      const c = (x: number | null) => (x === null ? '[c]' : n(x));
      const rate =
        r.attendanceRate === null && (r.sessionsAttended === null || r.sessionsMissed === null)
          ? '[c]'
          : pct(r.attendanceRate);
      t.same(
        shownAttendance.get(r.programmeId),
        [c(r.participants), c(r.sessionsAttended), c(r.sessionsMissed), rate],
        `attendance of ${r.programmeId}`,
      );
    }
    const engagement = (await h.getReport(`/v1/reports/engagement?${query}`, keys.commissioner)).body;
    const shownEngagement = await tableRows(page, 'engagement-table');
    for (const r of engagement.rows) {
      const cells = shownEngagement.get(r.programmeId)!;
      t.same(
        cells.slice(0, 5),
        [r.referrals, r.consented, r.enrolled, r.attended, r.completed].map((x: number | null) =>
          x === null ? '[c]' : n(x),
        ),
        `engagement of ${r.programmeId}, suppressed figures as [c]`,
      );
    }
    const spend = (await h.getReport(`/v1/reports/spend?${query}`, keys.commissioner)).body;
    const shownSpend = await tableRows(page, 'spend-table');
    for (const r of spend.rows)
      t.equal(
        shownSpend.get(r.grantRef)?.[2],
        `£${(r.spentPence / 100).toLocaleString('en-GB', { minimumFractionDigits: 2 })}`,
        `spend of ${r.grantRef}`,
      );

    const csvLink = page.getByRole('link', { name: /^Download the engagement figures/ });
    const csv = await context.request.get((await csvLink.getAttribute('href')) ?? '');
    t.equal(csv.status(), 200);
    t.match(csv.headers()['content-type'], /^text\/csv/);
    const api = await h.getReport(`/v1/reports/engagement?${query}`, keys.commissioner, { accept: 'text/csv' });
    t.equal(await csv.text(), api.body, "the CSV download is the JSON route's CSV");
    const filtered = await overviewChartsAgree(t, page);
    t.ok(filtered.compared > 0, `filtered: the charts' marks agree with the tables (${filtered.compared} marks)`);
    await checkAccessible(t, page, 'filtered overview');
    await context.close();
  },
);

await t.test('funder: spend by grant, category and quarter, cost per participant, and the audit status', async (t) => {
  const { context, page } = await signIn(keys.funder);
  t.match(new URL(page.url()).pathname, '/app/funding');
  const spend = (await h.getReport('/v1/reports/spend', keys.funder)).body;
  const shown = await tableRows(page, 'spend-table');
  t.equal(shown.size, spend.rows.length);
  for (const r of spend.rows) {
    t.equal(
      shown.get(r.grantRef)?.[1],
      `£${(r.awardedPence / 100).toLocaleString('en-GB', { minimumFractionDigits: 2 })}`,
      `award of ${r.grantRef}`,
    );
  }
  t.ok((await tableRows(page, 'spend-quarter-table')).size > 0, 'spend by quarter');
  const spendMarks = await spendChartAgrees(t, page);
  t.equal(spendMarks, 2 * spend.rows.length, 'an award and a spend bar per grant');
  const quarterMarks = sameFigures(
    t,
    'spend by quarter',
    await chartMarks(page, 'spend-by-quarter'),
    (m) => [m.label, asMoney(m.value)],
    (await tableCells(page, 'spend-quarter-table')).map(([grant, quarter, spent]) => [`${grant} ${quarter}`, spent]),
  );
  t.ok(quarterMarks > 0, `spend by quarter: ${quarterMarks} bars agree with the table`);
  t.ok((await tableRows(page, 'spend-category-table')).size > 0, 'spend by category');
  t.ok(await page.getByRole('heading', { name: 'Audit verification' }).isVisible());
  t.match(await page.locator('#audit-heading + *').innerText(), /Verified|Not verified/);
  await checkAccessible(t, page, 'funder page');
  const overview = await page.goto('/app/overview');
  t.equal(overview?.status(), 403, "a funder cannot open the overview (its reports are not a funder's)");
  await checkAccessible(t, page, 'error page');
  await context.close();
});

await t.test("provider: own figures only, another provider's are refused", async (t) => {
  const { context, page } = await signIn(keys.providers[PROVIDER]!);
  t.match(new URL(page.url()).pathname, '/app/overview');
  t.equal(await page.getByLabel('Provider', { exact: true }).count(), 0, 'no provider filter for a provider');
  const spend = await tableRows(page, 'spend-table');
  t.ok(
    [...spend.values()].every((cells) => cells[0] === PROVIDER),
    'only its own grants',
  );
  t.equal(await page.locator('.app-suppressed').count(), 0, 'its own figures are never suppressed');
  const own = await overviewChartsAgree(t, page);
  t.ok(own.compared > 0, `the charts' marks agree with the tables (${own.compared} marks)`);
  t.equal(own.withheld, 0, 'nothing of its own is withheld');
  await checkAccessible(t, page, 'provider overview');
  const other = await page.goto(`/app/overview?providerId=${OTHER_PROVIDER}`);
  t.equal(other?.status(), 403, "another provider's overview is refused");
  const download = await context.request.get(`/app/download/engagement.csv?providerId=${OTHER_PROVIDER}`);
  t.equal(download.status(), 403, 'and its CSV');
  const funding = await page.goto('/app/funding');
  t.equal(funding?.status(), 403, 'the funder page is not for providers');
  await context.close();
});

await t.test(
  'provider upload: template, a file with a bad row shows the line and the reason; data quality below',
  async (t) => {
    const { context, page } = await signIn(keys.providers[PROVIDER]!);
    await page.goto('/app/upload');
    await checkAccessible(t, page, 'upload page');
    const template = await context.request.get('/app/upload/templates/ParticipantReferred.csv');
    t.equal(template.status(), 200);
    t.match(await template.text(), /^eventId,occurredAt,programmeId,participantRef,/);
    const csv = [
      'participantRef,programmeId,referralDate,referralSource,ageAtReferral,gender,ethnicity,postcodeDistrict,riskFactors',
      'WEB-1,mentoring-derby,2026-10-01,school,15,male,white-british,DE23,school-exclusion',
      'WEB-2,mentoring-derby,2026-10-41,school,15,female,white-british,DE1,',
      'WEB-3,mentoring-derby,2026-10-02,police,16,female,mixed-other,DE22,',
    ].join('\r\n');
    await page.getByLabel('Event type', { exact: true }).selectOption('ParticipantReferred');
    await page
      .getByLabel('CSV file')
      .setInputFiles({ name: 'referrals.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForLoadState('load');
    const summary = await page.locator('.govuk-error-summary').innerText();
    t.match(summary, /1 row was rejected/);
    t.match(summary, /Line 3: referralDate/);
    const results = await tableRows(page, 'import-results-table');
    t.same(
      [...results.entries()].map(([line, cells]) => [line, cells[0], cells[1]]),
      [
        ['2', 'Accepted', ''],
        ['3', 'Rejected', 'referralDate'],
        ['4', 'Accepted', ''],
      ],
    );
    await checkAccessible(t, page, 'upload results');

    await page.getByLabel('Event type', { exact: true }).selectOption('ParticipantReferred');
    await page
      .getByLabel('CSV file')
      .setInputFiles({ name: 'referrals.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForLoadState('load');
    const again = await tableRows(page, 'import-results-table');
    t.same(
      [...again.values()].map((cells) => cells[0]),
      ['Duplicate', 'Rejected', 'Duplicate'],
      'the same file again stores nothing twice',
    );
    t.ok(await page.getByRole('heading', { name: 'Your data quality' }).isVisible());
    const rejectedShare = sameFigures(
      t,
      'data quality',
      await chartMarks(page, 'data-quality'),
      (m) => [m.label, asShare(m.value)],
      (await tableCells(page, 'data-quality-providers-table')).map((cells) => [cells[0]!, cells[3]]),
    );
    t.equal(rejectedShare, 1, 'its rejected share is drawn as a bar and agrees with the table');
    const today = new Date().toISOString().slice(0, 10);
    const recent = await page
      .locator('#recent-submissions-table tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => (c.textContent ?? '').trim())));
    t.ok(
      recent.some((cells) => cells.join('|') === `${today}|ParticipantReferred|csv|2|2`),
      'the uploads appear in recent submissions: 2 stored, the bad row refused twice',
    );
    await context.close();
  },
);

await t.test(
  'provider upload of an Excel workbook: the .xlsx template, filled in, goes through the page',
  async (t) => {
    const { context, page } = await signIn(keys.providers[PROVIDER]!);
    await page.goto('/app/upload');
    const template = await context.request.get('/app/upload/templates/ParticipantReferred.xlsx');
    t.equal(template.status(), 200);
    t.match(template.headers()['content-type'], 'spreadsheetml');
    await page.getByLabel('Event type', { exact: true }).selectOption('ParticipantReferred');
    await page.getByLabel('CSV file or Excel workbook').setInputFiles({
      name: 'referrals.xlsx',
      mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      buffer: await template.body(),
    });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForLoadState('load');
    const results = await tableRows(page, 'import-results-table');
    t.same(
      [...results.entries()].map(([line, cells]) => [line, cells[0]]),
      [['2', 'Accepted']],
      "the template's example row is stored from sheet row 2",
    );
    await checkAccessible(t, page, 'upload results for a workbook');
    await context.close();
  },
);

await t.test('data partner and admin sign in to the pages their role allows', async (t) => {
  const partner = await signIn(keys.dataPartner);
  t.match(new URL(partner.page.url()).pathname, '/app/upload');
  t.same(await partner.page.getByLabel('Event type', { exact: true }).locator('option').allInnerTexts(), [
    'OffenceRecorded',
    'ComparisonRecordSubmitted',
    'ComparisonOffenceRecorded',
    'ComparisonRecordErased',
  ]);
  await checkAccessible(t, partner.page, 'data partner upload page');
  t.equal((await partner.page.goto('/app/overview'))?.status(), 403);
  t.equal((await partner.page.goto('/app/impact'))?.status(), 403, 'data partners do not open the impact page');
  await partner.context.close();
  const admin = await signIn(keys.admin);
  t.match(new URL(admin.page.url()).pathname, '/app/overview');
  t.equal((await admin.page.goto('/app/funding'))?.status(), 200);
  t.equal(
    (await admin.page.goto('/app/impact?programmeId=mentoring-derby&from=2025-04-01&to=2026-03-31'))?.status(),
    200,
  );
  t.match(
    await admin.page.locator('#impact-estimate-table').innerText(),
    /Share who reoffended/,
    'the demo fills the impact page',
  );
  t.ok((await impactChartsAgree(t, admin.page)) > 0, 'the impact charts agree with their tables');
  await checkAccessible(t, admin.page, 'impact page');
  await admin.context.close();
});

await t.test(
  'contract pages: a provider sees its own contract, each chart agrees with the table and the JSON report',
  async (t) => {
    const { context, page } = await signIn(keys.providers[PROVIDER]!);
    await page.goto('/app/contracts');
    const contracts = await tableRows(page, 'contracts-table');
    t.same([...contracts.keys()], ['VRU-2025-MENT-01'], 'only its own grant');
    await checkAccessible(t, page, 'provider contracts');
    await page.getByRole('link', { name: 'VRU-2025-MENT-01' }).click();
    await page.waitForLoadState('load');
    t.match(new URL(page.url()).pathname, '/app/contracts/VRU-2025-MENT-01');
    const json = (await h.getReport('/v1/reports/performance?grantRef=VRU-2025-MENT-01', keys.providers[PROVIDER]!))
      .body;
    const referrals = json.rows.filter((r: { indicator: string }) => r.indicator === 'referrals');
    t.ok(referrals.length >= 4, 'every quarter of the grant has targets');
    const shown = await tableRows(page, 'indicator-referrals-table');
    t.same(
      [...shown.entries()].map(([quarter, cells]) => [
        quarter.replace(/ \(targets revised\)$/, ''),
        cells[0],
        cells[1],
      ]),
      referrals.map((r: { quarter: string; target: number; actual: number }) => [r.quarter, n(r.target), n(r.actual)]),
      'the table is the JSON report',
    );
    const statuses = new Set(json.rows.map((r: { status: string | null }) => r.status));
    t.ok(
      statuses.has('green') && (statuses.has('red') || statuses.has('amber')),
      'the demo has targets met and missed',
    );
    // The chart draws one bar per quarter with an actual, as tall as the figure: compare the marks with the table.
    const section = page.locator('section', { has: page.locator('#indicator-referrals-heading') });
    const bars = await section.locator('svg[role="img"] g[fill] rect').count();
    t.equal(
      bars,
      referrals.filter((r: { actual: number | null }) => r.actual !== null).length,
      'a bar for every actual in the table',
    );
    t.ok((await contractChartsAgree(t, page)) > 0, 'every indicator chart agrees with its table');
    await checkAccessible(t, page, 'provider contract page');
    const other = await page.goto('/app/contracts/VRU-2025-SPORT-01');
    t.equal(other?.status(), 404, "another provider's contract is not there");
    const csv = await context.request.get('/app/download/performance.csv?grantRef=VRU-2025-MENT-01');
    t.equal(csv.status(), 200);
    t.equal(
      (await csv.text()).trim().split('\r\n').length,
      1 + json.rows.length,
      "the CSV download has the report's rows",
    );
    const workbook = await context.request.get('/app/download/performance.xlsx?grantRef=VRU-2025-MENT-01');
    t.equal(workbook.status(), 200, 'and as an Excel workbook');
    t.equal((await readXlsx(await workbook.body()))?.rows.length, json.rows.length, 'with the same rows');
    await context.close();
  },
);

await t.test('contract pages: a commissioner sees every contract with small numbers withheld', async (t) => {
  const { context, page } = await signIn(keys.commissioner);
  await page.goto('/app/contracts');
  const contracts = await tableRows(page, 'contracts-table');
  t.same([...contracts.keys()].sort(), ['VRU-2025-MENT-01', 'VRU-2025-NAV-01', 'VRU-2025-SPORT-01']);
  await page.goto('/app/contracts/VRU-2025-NAV-01');
  t.ok(await page.getByRole('heading', { level: 2, name: 'People referred' }).isVisible());
  const json = (await h.getReport('/v1/reports/performance?grantRef=VRU-2025-NAV-01', keys.commissioner)).body;
  const withheld = json.rows.filter(
    (r: { actual: number | null; indicator: string }) => r.actual === null && !r.indicator.startsWith('reliably'),
  ).length;
  t.equal(json.suppressed, true);
  if (withheld > 0) t.ok((await page.locator('.app-suppressed').count()) >= withheld, 'withheld figures show as [c]');
  t.ok(
    (await contractChartsAgree(t, page)) > 0,
    'every indicator chart agrees with its table, withheld actuals undrawn',
  );
  await checkAccessible(t, page, 'commissioner contract page');
  await context.close();
});

await t.test('forms need their CSRF token; signing out ends the session', async (t) => {
  const { context, page } = await signIn(keys.commissioner);
  const forged = await context.request.post('/app/sign-out', { form: { _csrf: 'forged' } });
  t.equal(forged.status(), 403, "a sign-out without the page's token is refused");
  await page.goto('/app/overview');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForLoadState('load');
  t.match(new URL(page.url()).pathname, '/app/sign-in');
  await page.goto('/app/overview');
  t.match(new URL(page.url()).pathname, '/app/sign-in', 'the session is gone');
  await context.close();
});

t.end();
