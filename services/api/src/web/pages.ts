import { eventDefinition, EventTypes, type Role } from '@vru/contracts';
import type { verificationBody } from '../routes/audit.js';
import type { ImportResult } from '../routes/imports.js';
import { XLSX_CONTENT_TYPE } from '../xlsx.js';
import {
  attendanceChart,
  dataQualityChart,
  funnelChart,
  outcomeChangeChart,
  performanceChart,
  reoffendingChart,
  spendByQuarterChart,
  spendChart,
} from './charts.js';
import {
  dateInput,
  details,
  errorSummary,
  figureSection,
  select,
  summaryList,
  suppressionNote,
  table,
} from './components.js';
import { changeWithInterval, count, decimal, money, notApplicable, percent, rateWithInterval } from './format.js';
import { html, type Html } from './html.js';
import { cohortOf, csvHref, DEFAULT_COHORT_FROM, type Filters, REPORTS } from './data.js';
import type { Principal } from '@vru/contracts';

type Report<N extends keyof typeof REPORTS> = Awaited<ReturnType<(typeof REPORTS)[N]['run']>>;

export interface Choices {
  programmes: { value: string; text: string }[];
  providers: { value: string; text: string }[];
}

/** Every entry of computedAt carries the report's one position P: every event at or below it is counted. */
const position = (computedAt: readonly { projection: string; position: string }[]) =>
  html`<p class="govuk-body-s">Computed at log position ${computedAt[0]?.position ?? '0'}.</p>`;

export function filtersForm(action: string, principal: Principal, f: Filters, choices: Choices): Html {
  const column = (field: Html) => html`<div class="govuk-grid-column-one-quarter">${field}</div>`;
  return html`<form method="get" action="${action}" class="app-filters" novalidate>
    <fieldset class="govuk-fieldset">
      <legend class="govuk-fieldset__legend govuk-fieldset__legend--m"><h2 class="govuk-fieldset__heading">Filters</h2></legend>
      <div class="govuk-grid-row">
        ${column(select('programmeId', 'Programme', choices.programmes, f.programmeId, 'All programmes'))}
        ${principal.role === 'provider' ? '' : column(select('providerId', 'Provider', choices.providers, f.providerId, 'All providers'))}
        ${column(dateInput('from', 'From', 'For example, 2026-01-01', f.from))}
        ${column(dateInput('to', 'To', 'For example, 2026-06-30', f.to))}
      </div>
      <button type="submit" class="govuk-button" data-module="govuk-button">Apply filters</button>
    </fieldset>
  </form>`;
}

export function attendanceSection(
  byMonth: Report<'attendance-by-month'>,
  period: Report<'attendance'>,
  f: Filters,
): Html {
  return figureSection({
    id: 'attendance',
    heading: 'Attendance',
    intro: html`<p class="govuk-body">Sessions attended as a share of sessions offered (attended or missed).</p>`,
    chart: attendanceChart(
      byMonth.rows.map((r) => ({ month: r.month, programmeId: r.programmeId, rate: r.attendanceRate })),
    ),
    tables: [
      table(
        'attendance-table',
        'Attendance by programme for the period',
        [
          { head: 'Programme' },
          { head: 'Participants', numeric: true },
          { head: 'Sessions attended', numeric: true },
          { head: 'Sessions missed', numeric: true },
          { head: 'Attendance rate', numeric: true },
          // A rate is withheld (not inapplicable) when a count behind it is.
        ],
        period.rows.map((r) => [
          r.programmeId,
          count(r.participants, period.suppressed),
          count(r.sessionsAttended, period.suppressed),
          count(r.sessionsMissed, period.suppressed),
          percent(r.attendanceRate, period.suppressed && (r.sessionsAttended === null || r.sessionsMissed === null)),
        ]),
      ),
      details(
        'Attendance by month (the figures behind the chart)',
        table(
          'attendance-by-month-table',
          'Attendance by month',
          [
            { head: 'Month' },
            { head: 'Programme' },
            { head: 'Sessions attended', numeric: true },
            { head: 'Sessions missed', numeric: true },
            { head: 'Attendance rate', numeric: true },
          ],
          byMonth.rows.map((r) => [
            r.month,
            r.programmeId,
            count(r.sessionsAttended, byMonth.suppressed),
            count(r.sessionsMissed, byMonth.suppressed),
            percent(r.attendanceRate, byMonth.suppressed && (r.sessionsAttended === null || r.sessionsMissed === null)),
          ]),
        ),
      ),
      position(period.computedAt),
    ],
    csv: { href: csvHref('attendance-by-month', f), text: 'Download attendance by month' },
  });
}

const STAGES = [
  ['referrals', 'Referred'],
  ['consented', 'Consented'],
  ['enrolled', 'Enrolled'],
  ['attended', 'Attended'],
  ['completed', 'Completed'],
] as const;

export function engagementSection(r: Report<'engagement'>, f: Filters): Html {
  const s = r.suppressed;
  return figureSection({
    id: 'engagement',
    heading: 'Engagement funnel',
    intro: html`<p class="govuk-body">People referred in the period: how many gave evaluation consent and how many started; of those
      who started, how many attended a session and how many completed.</p>`,
    chart: funnelChart(
      r.rows.map((row) => ({
        programmeId: row.programmeId,
        stages: STAGES.map(([k, label]) => ({ stage: label, n: row[k] })),
      })),
    ),
    tables: [
      table(
        'engagement-table',
        'Engagement by programme',
        [
          { head: 'Programme' },
          ...STAGES.map(([, label]) => ({ head: label, numeric: true })),
          { head: 'Completion rate (95% interval)', numeric: true },
          { head: 'Median days to enrolment', numeric: true },
        ],
        r.rows.map((row) => [
          row.programmeId,
          ...STAGES.map(([k]) => count(row[k], s)),
          rateWithInterval(row.completionRate, s),
          count(row.medianDaysReferralToEnrolment, s),
        ]),
      ),
      position(r.computedAt),
    ],
    csv: { href: csvHref('engagement', f), text: 'Download the engagement figures' },
  });
}

export function outcomesSection(r: Report<'outcomes'>, f: Filters): Html {
  const s = r.suppressed;
  const label = (row: (typeof r.rows)[number]) =>
    `${row.programmeId} – ${row.instrument}${row.scale && row.scale !== row.instrument ? ` ${row.scale}` : ''}`;
  return figureSection({
    id: 'outcomes',
    heading: 'Outcome change',
    intro: html`<p class="govuk-body">Change from the first baseline to the last exit measure, for participants with both, with a 95% confidence interval.</p>`,
    chart: outcomeChangeChart(
      r.rows.map((row) => ({
        label: label(row),
        mean: row.meanChange?.mean ?? null,
        lower: row.meanChange?.lower ?? null,
        upper: row.meanChange?.upper ?? null,
      })),
    ),
    tables: [
      table(
        'outcomes-table',
        'Outcome change by programme and measure',
        [
          { head: 'Programme and measure' },
          { head: 'Pairs', numeric: true },
          { head: 'Missing pairs', numeric: true },
          { head: 'Mean baseline', numeric: true },
          { head: 'Mean exit', numeric: true },
          { head: 'Mean change (95% interval)', numeric: true },
          { head: 'Reliably improved (95% interval)', numeric: true },
        ],
        r.rows.map((row) => [
          label(row),
          count(row.pairs, s),
          count(row.missingPairs, s),
          decimal(row.meanBaseline, s),
          decimal(row.meanExit, s),
          changeWithInterval(row.meanChange, s),
          row.reliableChangeThreshold === null ? notApplicable : rateWithInterval(row.reliablyImproved, s),
        ]),
      ),
      position(r.computedAt),
    ],
    csv: { href: csvHref('outcomes', f), text: 'Download the outcome figures' },
  });
}

export function reoffendingSection(r: Report<'reoffending'>, f: Filters): Html {
  const s = r.suppressed;
  const cohort = cohortOf(f);
  const provisional = r.rows.some((row) => row.provisional);
  return figureSection({
    id: 'reoffending',
    heading: 'Proven reoffending',
    intro: html`<p class="govuk-body">Participants enrolled from ${cohort.cohortFrom} to ${cohort.cohortTo}${f.from ? '' : html` (no period chosen: from ${DEFAULT_COHORT_FROM})`}: the share with a proven reoffence within 12 months (Ministry of Justice method), with a Wilson 95% interval.</p>
      ${provisional ? html`<div class="govuk-warning-text"><span class="govuk-warning-text__icon" aria-hidden="true">!</span><strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>Provisional: some cohorts are less than 18 months past their last enrolment, so reoffences may still be proven and the rate may rise.</strong></div>` : ''}`,
    chart: reoffendingChart(
      r.rows.map((row) => ({
        programmeId: row.programmeId,
        value: row.binaryRate?.value ?? null,
        lower: row.binaryRate?.lower ?? null,
        upper: row.binaryRate?.upper ?? null,
        provisional: row.provisional,
      })),
    ),
    tables: [
      table(
        'reoffending-table',
        'Proven reoffending by programme',
        [
          { head: 'Programme' },
          { head: 'Cohort', numeric: true },
          { head: 'Reoffenders', numeric: true },
          { head: 'Reoffending rate (95% interval)', numeric: true },
          { head: 'Reoffences per person', numeric: true },
          { head: 'Status' },
        ],
        r.rows.map((row) => [
          row.programmeId,
          count(row.cohortSize, s),
          count(row.reoffenders, s),
          rateWithInterval(row.binaryRate, s),
          decimal(row.frequencyPerPerson, s),
          row.provisional
            ? html`<strong class="govuk-tag govuk-tag--yellow">Provisional</strong> final on ${row.finalOn}`
            : html`<strong class="govuk-tag govuk-tag--green">Final</strong>`,
        ]),
      ),
      position(r.computedAt),
    ],
    csv: { href: csvHref('reoffending', f), text: 'Download the reoffending figures' },
  });
}

export function spendSection(r: Report<'spend'>, f: Filters, heading = 'Spend against award'): Html {
  const s = r.suppressed;
  return figureSection({
    id: 'spend',
    heading,
    chart: spendChart(r.rows),
    tables: [
      table(
        'spend-table',
        'Spend per grant',
        [
          { head: 'Grant' },
          { head: 'Provider' },
          { head: 'Awarded', numeric: true },
          { head: 'Spent', numeric: true },
          { head: 'Remaining', numeric: true },
          { head: 'Enrolled', numeric: true },
          { head: 'Completed', numeric: true },
          { head: 'Cost per participant', numeric: true },
          { head: 'Cost per completion', numeric: true },
        ],
        r.rows.map((row) => [
          row.grantRef,
          row.providerId,
          money(row.awardedPence),
          money(row.spentPence),
          money(row.remainingPence),
          count(row.enrolled, s),
          count(row.completed, s),
          money(row.costPerEnrolledPence, s),
          money(row.costPerCompletionPence, s),
        ]),
      ),
      position(r.computedAt),
    ],
    csv: { href: csvHref('spend', f), text: 'Download the spend figures' },
  });
}

export function dataQualitySection(r: Report<'data-quality'>, f: Filters, heading = 'Data quality per provider'): Html {
  const byProvider = new Map<string, { accepted: number; rejected: number; late: number }>();
  for (const row of r.rows) {
    const t = byProvider.get(row.providerId) ?? { accepted: 0, rejected: 0, late: 0 };
    t.accepted += row.accepted;
    t.rejected += row.rejected;
    t.late += row.late;
    byProvider.set(row.providerId, t);
  }
  const totals = [...byProvider.entries()].map(([providerId, t]) => ({
    providerId,
    ...t,
    rate: t.accepted + t.rejected === 0 ? null : t.rejected / (t.accepted + t.rejected),
  }));
  return figureSection({
    id: 'data-quality',
    heading,
    chart: dataQualityChart(totals),
    tables: [
      table(
        'data-quality-providers-table',
        'Submissions by provider (the figures behind the chart)',
        [
          { head: 'Provider' },
          { head: 'Accepted', numeric: true },
          { head: 'Rejected', numeric: true },
          { head: 'Rejected share', numeric: true },
        ],
        totals.map((row) => [row.providerId, count(row.accepted), count(row.rejected), percent(row.rate)]),
      ),
      table(
        'data-quality-table',
        'Submissions by provider and month of receipt',
        [
          { head: 'Provider and month' },
          { head: 'Accepted', numeric: true },
          { head: 'Rejected', numeric: true },
          { head: 'Rejected share', numeric: true },
          { head: 'Late', numeric: true },
          { head: 'Median days to submit', numeric: true },
        ],
        r.rows.map((row) => [
          `${row.providerId} ${row.month}`,
          count(row.accepted),
          count(row.rejected),
          percent(row.rejectionRate),
          count(row.late),
          decimal(row.medianDaysLate),
        ]),
      ),
      table(
        'rejections-table',
        'Rejections by rule',
        [{ head: 'Provider' }, { head: 'Rule' }, { head: 'Rejections', numeric: true }],
        r.rejectionsByRule.map((row) => [row.providerId, row.rule, count(row.count)]),
      ),
      table(
        'missing-measures-table',
        'Participants missing a measure',
        [
          { head: 'Provider' },
          { head: 'Enrolled with evaluation consent', numeric: true },
          { head: 'Missing baseline', numeric: true },
          { head: 'Exited', numeric: true },
          { head: 'Missing exit', numeric: true },
        ],
        r.missingMeasures.map((row) => [
          row.providerId,
          count(row.enrolledWithEvaluationConsent),
          count(row.missingBaseline),
          count(row.exited),
          count(row.missingExit),
        ]),
      ),
      position(r.computedAt),
    ],
    csv: { href: csvHref('data-quality', f), text: 'Download the data-quality figures' },
  });
}

export function spendBreakdownSections(r: Report<'spend'>): Html {
  const byCategory = r.rows.flatMap((row) =>
    Object.entries(row.spentByCategory).map(([category, pence]) => [row.grantRef, category, money(pence)]),
  );
  const quarters = r.rows.flatMap((row) =>
    Object.entries(row.spentByQuarter).map(([quarter, pence]) => ({ grantRef: row.grantRef, quarter, pence })),
  );
  return html`${figureSection({
    id: 'spend-by-quarter',
    heading: 'Spend by quarter',
    chart: spendByQuarterChart(quarters),
    tables: [
      table(
        'spend-quarter-table',
        'Spend by grant and quarter',
        [{ head: 'Grant' }, { head: 'Quarter' }, { head: 'Spent', numeric: true }],
        quarters.map((q) => [q.grantRef, q.quarter, money(q.pence)]),
      ),
    ],
  })}${figureSection({
    id: 'spend-by-category',
    heading: 'Spend by budget category',
    tables: [
      table(
        'spend-category-table',
        'Spend by grant and budget category',
        [{ head: 'Grant' }, { head: 'Category' }, { head: 'Spent', numeric: true }],
        byCategory,
      ),
    ],
  })}`;
}

/** The audit verification as the funding page shows it: null when no pinned key is configured. */
export type AuditView = ReturnType<typeof verificationBody> | null;

export function auditSection(audit: AuditView, grantRefs: readonly string[] = []): Html {
  const head = audit?.latestHead ?? null;
  const drift = audit?.drift ?? null;
  const problems = audit?.problems ?? [];
  const failed = (text: string, items: readonly string[]) => html`<div class="govuk-error-summary"><div role="alert">
    <h3 class="govuk-error-summary__title">Not verified</h3><div class="govuk-error-summary__body"><p class="govuk-body">${text}</p>
    ${items.length > 0 ? html`<ul class="govuk-list govuk-error-summary__list">${items.map((m) => html`<li>${m}</li>`)}</ul>` : ''}
    </div></div></div>`;
  const verified = html`<div class="govuk-panel govuk-panel--confirmation app-audit-ok"><h3 class="govuk-panel__title">Verified</h3>
    <div class="govuk-panel__body">Every event in the audit log re-computes to its leaf, ${
      head
        ? 'every signed tree head verifies with the pinned key and matches the log'
        : 'no tree head has been signed yet'
    }, and the spend figures equal those re-computed from the log.</div></div>`;
  const onlyDrift = drift && !drift.ok && problems.every((p) => p.kind === 'spend-drift');
  const intro = !audit
    ? failed('No pinned verifier key (AUDIT_PUBLIC_KEY) is configured: the log cannot be verified.', [])
    : audit.ok
      ? verified
      : failed(
          onlyDrift
            ? 'The spend figures shown differ from the spend re-computed from the audit log.'
            : 'The audit log does not verify against the pinned key.',
          problems.slice(0, 10).map((p) => p.message),
        );
  const checked = audit
    ? html`${count(audit.leavesChecked)} events, ${count(audit.headsChecked)} signed heads${audit.full ? ' (full)' : ' (new since the last verified head)'}`
    : '–';
  const driftText = !drift
    ? '–'
    : drift.ok
      ? html`agrees (${count(drift.grantsChecked)} grants)`
      : html`DIFFERS for ${count(new Set(drift.drift.map((d) => d.grantRef)).size)} grant(s)`;
  const packHref = (ref: string) => `/app/download/evidence-pack?grantRef=${encodeURIComponent(ref)}`;
  const packs =
    grantRefs.length === 0 || !audit
      ? html``
      : html`<h3 class="govuk-heading-s">Evidence packs</h3>
    <p class="govuk-body">Each pack holds a grant's spend figures, every event behind them (no personal data) with its proof,
    and the signed tree head. Check it on your own computer with <code>scripts/verify pack</code> and the public key you were given.</p>
    <ul class="govuk-list">${grantRefs.map(
      (ref) => html`<li><a class="govuk-link" href="${packHref(ref)}" download>Evidence pack for
    grant ${ref}</a></li>`,
    )}</ul>`;
  return figureSection({
    id: 'audit',
    heading: 'Audit verification',
    intro,
    tables: [
      summaryList([
        ['Events in the log', audit ? count(audit.treeSize) : '–'],
        ['Checked in this verification', checked],
        ['Latest signed tree head', head ? html`${count(head.size)} events, signed ${head.timestamp}` : 'none yet'],
        ['Root hash', head ? html`<code class="app-hash">${head.rootHash}</code>` : '–'],
        ['Spend read model against the log', driftText],
      ]),
      packs,
    ],
  });
}

/** The event types a role may submit (a data partner: offences; a provider: its participants' events). */
export const submittableTypes = (role: Role) =>
  EventTypes.filter((t) => eventDefinition(t)!.submittedBy.includes(role));

export function uploadForm(role: Role, csrf: string, chosen: string | undefined, error?: string): Html {
  const types = submittableTypes(role);
  return html`<form method="post" action="/app/upload" enctype="multipart/form-data" novalidate>
    <input type="hidden" name="_csrf" value="${csrf}">
    <div class="govuk-form-group${error ? ' govuk-form-group--error' : ''}">
      <label class="govuk-label govuk-label--s" for="eventType">Event type</label>
      <div class="govuk-hint" id="eventType-hint">Every row of the file is one event of this type.</div>
      <select class="govuk-select" id="eventType" name="eventType" aria-describedby="eventType-hint">
        ${types.map((t) => html`<option value="${t}"${t === chosen ? html` selected` : ''}>${t}</option>`)}
      </select>
    </div>
    <div class="govuk-form-group${error ? ' govuk-form-group--error' : ''}">
      <label class="govuk-label govuk-label--s" for="file">CSV file or Excel workbook</label>
      <div class="govuk-hint" id="file-hint">A CSV file (comma-separated, UTF-8) or an Excel workbook (.xlsx, the first sheet), with the
        template's header row first.</div>
      ${error ? html`<p id="file-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> ${error}</p>` : ''}
      <input class="govuk-file-upload" id="file" name="file" type="file" accept=".csv,text/csv,.xlsx,${XLSX_CONTENT_TYPE}"
        aria-describedby="file-hint${error ? ' file-error' : ''}">
    </div>
    <button type="submit" class="govuk-button" data-module="govuk-button">Upload</button>
  </form>
  <details class="govuk-details">
    <summary class="govuk-details__summary"><span class="govuk-details__summary-text">Download a template</span></summary>
    <div class="govuk-details__text"><ul class="govuk-list">
      ${types.map(
        (t) => html`<li><a class="govuk-link" href="/app/upload/templates/${t}.xlsx" download>${t} template<span
        class="govuk-visually-hidden"> (Excel)</span></a> or <a class="govuk-link" href="/app/upload/templates/${t}.csv"
        download>as CSV<span
        class="govuk-visually-hidden"> (${t})</span></a></li>`,
      )}
    </ul></div>
  </details>`;
}

export function importResults(result: ImportResult): Html {
  const rejected = result.results.filter((r) => r.status === 'rejected');
  return html`<section aria-labelledby="result-heading">
    <h2 class="govuk-heading-m" id="result-heading">${result.rows} rows read from your ${result.eventType} file</h2>
    ${summaryList([
      ['Accepted', count(result.accepted)],
      ['Already stored (duplicates)', count(result.duplicates)],
      ['Rejected', count(result.rejected)],
    ])}
    ${
      rejected.length
        ? errorSummary(
            `${rejected.length} ${rejected.length === 1 ? 'row was' : 'rows were'} rejected: nothing from ${rejected.length === 1 ? 'it was' : 'them was'} stored`,
            rejected.slice(0, 20).map((r) => ({
              text: `Line ${r.line}: ${(r.errors ?? []).map((e) => `${e.column}${e.cell ? ` (cell ${e.cell})` : ''} – ${e.message}`).join('; ')}`,
              href: `#line-${r.line}`,
            })),
          )
        : ''
    }
    ${table(
      'import-results-table',
      'Every row and what happened to it',
      [{ head: 'Line' }, { head: 'Result' }, { head: 'Column' }, { head: 'Rule' }, { head: 'What to fix' }],
      result.results.slice(0, 1000).map((r) => {
        const e = r.errors ?? [];
        const tag =
          r.status === 'rejected'
            ? html`<strong class="govuk-tag govuk-tag--red" id="line-${r.line}">Rejected</strong>`
            : r.status === 'duplicate'
              ? html`<strong class="govuk-tag govuk-tag--grey">Duplicate</strong>`
              : html`<strong class="govuk-tag govuk-tag--green">Accepted</strong>`;
        const columns = e.map((x) => (x.cell ? `${x.column} (${x.cell})` : x.column)).join(', ');
        return [String(r.line), tag, columns, e.map((x) => x.rule).join(', '), e.map((x) => x.message).join('; ')];
      }),
    )}
    ${result.results.length > 1000 ? html`<p class="govuk-body">The first 1,000 rows are listed.</p>` : ''}
  </section>`;
}

export function signInForm(csrf: string, error?: string): Html {
  return html`<div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    ${error ? errorSummary('There is a problem', [{ text: error, href: '#apiKey' }]) : ''}
    <h1 class="govuk-heading-l">Sign in</h1>
    <p class="govuk-body">Sign in with the API key your Violence Reduction Unit gave your organisation. The key decides what you can see.</p>
    <form method="post" action="/app/sign-in" novalidate>
      <input type="hidden" name="_csrf" value="${csrf}">
      <div class="govuk-form-group${error ? ' govuk-form-group--error' : ''}">
        <label class="govuk-label govuk-label--s" for="apiKey">API key</label>
        <div class="govuk-hint" id="apiKey-hint">Starts with vru_</div>
        ${error ? html`<p id="apiKey-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> ${error}</p>` : ''}
        <input class="govuk-input${error ? ' govuk-input--error' : ''}" id="apiKey" name="apiKey" type="password" autocomplete="current-password" spellcheck="false" aria-describedby="apiKey-hint${error ? ' apiKey-error' : ''}">
      </div>
      <button type="submit" class="govuk-button" data-module="govuk-button">Sign in</button>
    </form>
  </div></div>`;
}

export { suppressionNote };

export function recentSubmissionsSection(
  rows: readonly { day: string; eventType: string | null; source: string; accepted: number; rejected: number }[],
): Html {
  return figureSection({
    id: 'recent-submissions',
    heading: 'Your recent submissions',
    intro: html`<p class="govuk-body">By day received (UTC), event type and how they came (api: your system; csv: a file upload). Duplicates are not counted.</p>`,
    tables: [
      table(
        'recent-submissions-table',
        'Submissions by day, event type and channel',
        [
          { head: 'Received' },
          { head: 'Event type' },
          { head: 'Channel' },
          { head: 'Accepted', numeric: true },
          { head: 'Rejected', numeric: true },
        ],
        rows.map((r) => [r.day, r.eventType ?? 'unknown', r.source, count(r.accepted), count(r.rejected)]),
        'nothing received yet.',
      ),
    ],
  });
}

type PerformanceRow = Report<'performance'>['rows'][number];

const INDICATOR_NAMES: Record<string, string> = {
  referrals: 'People referred',
  enrolments: 'People enrolled',
  sessionsDelivered: 'Sessions delivered',
  completions: 'Completions',
  spendPence: 'Spend against profile',
};
export const indicatorName = (indicator: string): string =>
  INDICATOR_NAMES[indicator] ??
  `Share reliably improved (${indicator.replace(/^reliablyImproved:/, '').toUpperCase()})`;
const unitOf = (indicator: string): 'count' | 'pence' | 'share' =>
  indicator === 'spendPence' ? 'pence' : indicator.startsWith('reliablyImproved:') ? 'share' : 'count';

const STATUS_TAGS = {
  green: ['govuk-tag--green', 'Green'],
  amber: ['govuk-tag--yellow', 'Amber'],
  red: ['govuk-tag--red', 'Red'],
} as const;

/** A red/amber/green status as a GOV.UK tag with its word (never colour alone); [c] when withheld. */
function statusTag(status: PerformanceRow['status'], suppressed: boolean): Html | string {
  if (status === null) return count(null, suppressed);
  const [cls, word] = STATUS_TAGS[status];
  return html`<strong class="govuk-tag ${cls}">${word}</strong>`;
}

function figure(indicator: string, value: number | null, suppressed: boolean): Html | string {
  const unit = unitOf(indicator);
  if (unit === 'pence') return money(value, suppressed);
  if (unit === 'share') return percent(value, suppressed);
  return count(value, suppressed);
}

/** Variances keep their sign: +3 or −3 (a share's in percentage points). */
function variance(indicator: string, value: number | null, suppressed: boolean): Html | string {
  if (value === null) return count(null, suppressed);
  const sign = value > 0 ? '+' : value < 0 ? '−' : '';
  const unit = unitOf(indicator);
  const abs = Math.abs(value);
  const text = unit === 'pence' ? money(abs) : unit === 'share' ? html`${decimal(abs * 100)} points` : count(abs);
  return html`${sign}${text}`;
}

/** The contracts list: each grant with targets, and the statuses of its latest quarter. */
export function contractsSection(r: Report<'performance'>): Html {
  const latest = new Map<string, PerformanceRow[]>();
  for (const row of r.rows) {
    const seen = latest.get(row.grantRef);
    if (!seen || seen[0]!.quarter < row.quarter) latest.set(row.grantRef, [row]);
    else if (seen[0]!.quarter === row.quarter) seen.push(row);
  }
  const volume = ['referrals', 'enrolments', 'sessionsDelivered', 'completions', 'spendPence'];
  return figureSection({
    id: 'contracts',
    heading: 'Contracts and their latest quarter',
    intro: html`<p class="govuk-body">Each grant with delivery targets, and its red, amber or green status against target in the
      latest quarter that has started. Open a grant for every quarter, the year to date and the forecast.</p>`,
    tables: [
      table(
        'contracts-table',
        'Grants with delivery targets',
        [
          { head: 'Grant' },
          { head: 'Provider' },
          { head: 'Programme' },
          { head: 'Quarter' },
          ...volume.map((i) => ({ head: INDICATOR_NAMES[i]! })),
        ],
        [...latest.values()].map((rows) => {
          const first = rows[0]!;
          return [
            html`<a class="govuk-link" href="/app/contracts/${encodeURIComponent(first.grantRef)}">${first.grantRef}</a>`,
            first.providerId,
            first.programmeId,
            first.quarter,
            ...volume.map((i) => statusTag(rows.find((row) => row.indicator === i)?.status ?? null, r.suppressed)),
          ];
        }),
        'No grant has delivery targets yet.',
      ),
      position(r.computedAt),
    ],
    csv: { href: csvHref('performance', {}), text: 'Download the performance figures' },
  });
}

/** One grant's contract page: per indicator, the actual-against-target chart and the table behind it. */
export function contractSections(r: Report<'performance'>, grantRef: string): Html {
  const s = r.suppressed;
  const indicators = [...new Set(r.rows.map((row) => row.indicator))];
  return html`${indicators.map((indicator) => {
    const rows = r.rows.filter((row) => row.indicator === indicator);
    const id = `indicator-${indicator.replace(/[^a-zA-Z0-9]+/g, '-')}`;
    return figureSection({
      id,
      heading: indicatorName(indicator),
      chart: performanceChart(indicatorName(indicator), unitOf(indicator), rows),
      tables: [
        table(
          `${id}-table`,
          `${indicatorName(indicator)}: actual against target by quarter`,
          [
            { head: 'Quarter' },
            { head: 'Target', numeric: true },
            { head: 'Actual', numeric: true },
            { head: 'Variance', numeric: true },
            { head: 'Status' },
            { head: 'Year to date: target', numeric: true },
            { head: 'Year to date: actual', numeric: true },
            { head: 'Year to date: status' },
            { head: 'Year target', numeric: true },
            { head: 'Forecast to year end', numeric: true },
            { head: 'Forecast: status' },
          ],
          rows.map((row) => [
            row.targetsRevised > 0 ? `${row.quarter} (targets revised)` : row.quarter,
            figure(indicator, row.target, false),
            figure(indicator, row.actual, s),
            variance(indicator, row.variance, s),
            statusTag(row.status, s),
            figure(indicator, row.yearToDateTarget, false),
            figure(indicator, row.yearToDateActual, s),
            statusTag(row.yearToDateStatus, s),
            figure(indicator, row.yearTarget, false),
            row.forecastToYearEnd === null && unitOf(indicator) === 'share'
              ? notApplicable
              : figure(indicator, row.forecastToYearEnd, s),
            row.forecastStatus === null && unitOf(indicator) === 'share'
              ? notApplicable
              : statusTag(row.forecastStatus, s),
          ]),
        ),
      ],
    });
  })}
  ${position(r.computedAt)}
  <p class="govuk-body"><a class="govuk-link" href="${csvHref('performance', { grantRef })}" download>Download this contract's figures<span
    class="govuk-visually-hidden"> (CSV)</span></a></p>`;
}
