import { setImmediate as nextTurn } from 'node:timers/promises';
import type * as PlotModule from '@observablehq/plot';
import { memoized } from '@vru/domain';
import { html, trustedMarkup, type Html } from './html.js';

/**
 * Charts are drawn on the server with Observable Plot into a lightweight DOM (linkedom), so the pages need no
 * script. Each SVG is an image with a text name and description; the table beside it carries the figures.
 * Withheld (suppressed) figures are left out of the chart and named in its description.
 */
// Plot and linkedom are loaded when the dashboard is first used, not at start: they cost the API about 14 MB of
// resident memory (docs/performance.md), which a process that only ingests events never uses. Loaded as modules,
// one after the other with a turn of the event loop between them: a synchronous load held every other request for
// 150–350 ms at the first chart drawn.
let kit: { plot: typeof PlotModule; document: unknown } | undefined;
let loading: Promise<void> | undefined;

/** Loads the drawing kit once; the chart functions below need it loaded. */
export function loadDrawingKit(): Promise<void> {
  loading ??= (async () => {
    const { parseHTML } = await import('linkedom');
    await nextTurn();
    const plot = await import('@observablehq/plot');
    await nextTurn();
    // eslint-disable-next-line @typescript-eslint/no-unsafe-member-access -- linkedom declares its window with the DOM lib, which the API does not build with
    kit = { plot, document: parseHTML('<!doctype html><html><body></body></html>').document };
  })();
  return loading;
}

function drawingKit(): { plot: typeof PlotModule; document: unknown } {
  if (!kit) throw new Error('charts drawn before loadDrawingKit() finished');
  return kit;
}
/** Plot's marks and helpers, looked up in the module once a chart asks for one. */
const Plot = new Proxy({} as typeof PlotModule, {
  get: (_, name) => drawingKit().plot[name as keyof typeof PlotModule],
});

// GOV.UK colours (govuk-frontend palette), dark enough for 3:1 contrast against white.
const BLUE = '#1d70b8';
const DARK_BLUE = '#003078';
const GREY = '#b1b4b6';
const ORANGE = '#f47738';
const PALETTE = [BLUE, '#d4351c', '#00703c', '#4c2c92', ORANGE, '#28a197', '#912b88', '#505a5f'];

/** The little of the DOM used here (the project compiles without the DOM library). */
interface PlotNode {
  tagName: string;
  outerHTML: string;
  querySelector(selector: string): PlotNode | null;
  querySelectorAll(selector: string): Iterable<PlotNode>;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  removeAttribute(name: string): void;
}

/**
 * What one drawn element stands for: the figure as the report gives it (a fraction, pence, a count), so a test can compare
 * each mark with the table printed beside it. Plot carries it per element on its aria-label channel; render turns it into
 * data- attributes (data-label, data-value, data-lower, data-upper, data-series) and leaves no inner ARIA.
 */
export interface MarkFigure {
  label: string;
  value: number;
  lower?: number | null;
  upper?: number | null;
  series?: string;
}
const FIGURE_PREFIX = 'app-figure:';
const figures = <T>(describe: (d: T) => MarkFigure) => ({
  ariaLabel: (d: T) => FIGURE_PREFIX + JSON.stringify(describe(d)),
});

function render(label: string, description: string, options: PlotModule.PlotOptions): Html {
  const node = Plot.plot({
    document: drawingKit().document as never,
    style: { fontSize: '14px', fontFamily: 'arial, sans-serif', color: '#0b0c0c' },
    marginLeft: 60,
    marginBottom: 45,
    width: 960,
    ...options,
  }) as unknown as PlotNode;
  // With a legend Plot returns a figure whose first SVGs are the legend's colour swatches: the chart is the one with a viewBox.
  const svg =
    node.tagName.toLowerCase() === 'svg'
      ? node
      : [...node.querySelectorAll('svg')].find((e) => e.getAttribute('viewBox') !== null)!;
  for (const swatch of node.querySelectorAll('svg:not([viewBox])')) swatch.setAttribute('aria-hidden', 'true');
  // The SVG is one image named by its label; Plot's names on inner groups would be prohibited ARIA on generic elements.
  // Plot's names become data-mark ("bar", "x-axis tick label") and each element's figures data- attributes, for tests.
  for (const inner of node.querySelectorAll('[aria-label], [aria-description]')) {
    const name = inner.getAttribute('aria-label');
    if (name?.startsWith(FIGURE_PREFIX)) {
      const figure = JSON.parse(name.slice(FIGURE_PREFIX.length)) as MarkFigure;
      for (const [key, value] of Object.entries(figure)) {
        if (value !== null && value !== undefined) inner.setAttribute(`data-${key}`, String(value));
      }
    } else if (name) inner.setAttribute('data-mark', name);
    inner.removeAttribute('aria-label');
    inner.removeAttribute('aria-description');
  }
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${label}. ${description}`);
  svg.removeAttribute('aria-description');
  return html`<div class="app-chart">${trustedMarkup(node.outerHTML)}</div>`;
}

/** Charts drawn and kept (a few KB of markup each). */
const CHARTS_KEPT = 64;

/**
 * A chart remembered by what it draws. Drawing one costs the API's single thread several milliseconds (Plot into a
 * DOM, then markup), and a page of them tens (docs/performance.md), while its figures change only when events arrive:
 * readers of the same figures get the same chart. The chart is drawn from the key itself (its arguments as JSON), so
 * a remembered chart is exactly what drawing those figures gives, whoever asked: a reader's chart depends on nothing
 * but the figures it was given, which disclosure control has already passed for that reader.
 */
function drawnOnce<Args extends unknown[]>(draw: (...args: Args) => Html): (...args: Args) => Html {
  const byFigures = memoized((key) => draw(...(JSON.parse(key) as Args)), CHARTS_KEPT);
  return (...args) => byFigures(JSON.stringify(args));
}

/** No chart: nothing matched the filters, or every figure that did is withheld. */
const empty = (what: string, withheld = false): Html =>
  html`<p class="govuk-body app-chart-empty">${
    withheld
      ? `Every ${what} figure for these filters is withheld (small numbers), so there is no chart.`
      : `No ${what} to chart for these filters.`
  }</p>`;
const withheldNote = (names: string[]) =>
  names.length ? ` Withheld (small numbers) and not drawn: ${names.join(', ')}.` : '';

export const attendanceChart = drawnOnce(function attendanceChart(
  points: readonly { month: string; programmeId: string; rate: number | null }[],
): Html {
  const drawn = points.filter((p) => p.rate !== null).map((p) => ({ ...p, date: new Date(`${p.month}-01T00:00:00Z`) }));
  if (drawn.length === 0) return empty('attendance', points.length > 0);
  return render(
    'Attendance rate by month',
    `Line per programme, ${drawn.length} monthly points; the figures are in the table below.`,
    {
      y: { label: 'Attendance rate (%)', percent: true, domain: [0, 100], grid: true },
      x: { label: 'Month', type: 'utc' },
      color: { legend: true, range: PALETTE },
      marks: [
        Plot.lineY(drawn, { x: 'date', y: 'rate', stroke: 'programmeId', strokeWidth: 2 }),
        Plot.dot(drawn, {
          x: 'date',
          y: 'rate',
          fill: 'programmeId',
          r: 3,
          ...figures((d: (typeof drawn)[number]) => ({ label: `${d.month} ${d.programmeId}`, value: d.rate! })),
        }),
      ],
    },
  );
});

export const funnelChart = drawnOnce(function funnelChart(
  rows: readonly { programmeId: string; stages: readonly { stage: string; n: number | null }[] }[],
): Html {
  const drawn = rows.flatMap((r) =>
    r.stages.filter((s) => s.n !== null).map((s) => ({ programmeId: r.programmeId, stage: s.stage, n: s.n! })),
  );
  const withheld = rows.flatMap((r) => r.stages.filter((s) => s.n === null).map((s) => `${r.programmeId} ${s.stage}`));
  if (drawn.length === 0) return empty('engagement', withheld.length > 0);
  const order = rows[0]!.stages.map((s) => s.stage);
  return render(
    'Engagement funnel per programme',
    `Bars of people reaching each stage: ${order.join(', ')}.${withheldNote(withheld)}`,
    {
      fy: { label: null, padding: 0.25 },
      y: { domain: order, label: null },
      x: { label: 'People', grid: true },
      marginLeft: 150,
      marginRight: 170,
      marks: [
        Plot.barX(drawn, {
          fy: 'programmeId',
          y: 'stage',
          x: 'n',
          fill: BLUE,
          ...figures((d: (typeof drawn)[number]) => ({ label: `${d.programmeId} ${d.stage}`, value: d.n })),
        }),
        Plot.text(drawn, {
          fy: 'programmeId',
          y: 'stage',
          x: 'n',
          text: (d: { n: number }) => String(d.n),
          textAnchor: 'start',
          dx: 4,
        }),
        Plot.ruleX([0]),
      ],
    },
  );
});

/** Mean change (exit − baseline) with its 95% interval, one row per programme, instrument and scale. */
export const outcomeChangeChart = drawnOnce(function outcomeChangeChart(
  rows: readonly { label: string; mean: number | null; lower: number | null; upper: number | null }[],
): Html {
  const drawn = rows.filter((r) => r.mean !== null);
  const withheld = rows.filter((r) => r.mean === null).map((r) => r.label);
  if (drawn.length === 0) return empty('outcome change', withheld.length > 0);
  const intervals = drawn.filter((r) => r.lower !== null && r.upper !== null);
  return render(
    'Mean change from baseline to exit with 95% confidence intervals',
    `A dot per measure with a line for its interval; zero means no change.${withheldNote(withheld)}`,
    {
      y: { label: null, domain: drawn.map((r) => r.label) },
      x: { label: 'Mean change (exit − baseline)', grid: true },
      marginLeft: 260,
      marks: [
        Plot.ruleX([0], { stroke: GREY }),
        Plot.ruleY(intervals, { y: 'label', x1: 'lower', x2: 'upper', stroke: BLUE, strokeWidth: 2 }),
        Plot.dot(drawn, {
          y: 'label',
          x: 'mean',
          fill: DARK_BLUE,
          r: 5,
          ...figures((d: (typeof drawn)[number]) => ({
            label: d.label,
            value: d.mean!,
            lower: d.lower,
            upper: d.upper,
          })),
        }),
      ],
    },
  );
});

/** Binary reoffending rate with its Wilson interval; provisional cohorts drawn hollow and labelled. */
export const reoffendingChart = drawnOnce(function reoffendingChart(
  rows: readonly {
    programmeId: string;
    value: number | null;
    lower: number | null;
    upper: number | null;
    provisional: boolean;
  }[],
): Html {
  const drawn = rows
    .filter((r) => r.value !== null)
    .map((r) => ({ ...r, label: r.provisional ? `${r.programmeId} (provisional)` : r.programmeId }));
  const withheld = rows.filter((r) => r.value === null).map((r) => r.programmeId);
  if (drawn.length === 0) return empty('reoffending rate', withheld.length > 0);
  const provisional = drawn.filter((r) => r.provisional).length;
  return render(
    'Proven reoffending rate with Wilson 95% intervals',
    `A dot per programme with a line for its interval${provisional ? `; ${provisional} provisional (hollow dot): the follow-up is not complete` : ''}.${withheldNote(withheld)}`,
    {
      y: { label: null, domain: drawn.map((r) => r.label) },
      x: { label: 'Reoffending rate (%)', percent: true, domain: [0, 100], grid: true },
      marginLeft: 260,
      marks: [
        Plot.ruleY(drawn, { y: 'label', x1: 'lower', x2: 'upper', stroke: BLUE, strokeWidth: 2 }),
        Plot.dot(drawn, {
          y: 'label',
          x: 'value',
          r: 6,
          stroke: DARK_BLUE,
          strokeWidth: 2,
          fill: (d: { provisional: boolean }) => (d.provisional ? 'white' : DARK_BLUE),
          ...figures((d: (typeof drawn)[number]) => ({
            label: d.programmeId,
            value: d.value!,
            lower: d.lower,
            upper: d.upper,
          })),
        }),
      ],
    },
  );
});

export const spendChart = drawnOnce(function spendChart(
  rows: readonly { grantRef: string; awardedPence: number; spentPence: number }[],
): Html {
  if (rows.length === 0) return empty('spend');
  const pounds = rows.map((r) => ({ ...r, awarded: r.awardedPence / 100, spent: r.spentPence / 100 }));
  return render(
    'Spend against award per grant',
    'A grey bar for the award and a blue bar for what has been spent, per grant.',
    {
      y: { label: null, domain: pounds.map((r) => r.grantRef) },
      x: { label: 'Pounds', grid: true, tickFormat: '~s' },
      marginLeft: 170,
      marks: [
        Plot.barX(pounds, {
          y: 'grantRef',
          x: 'awarded',
          fill: GREY,
          insetTop: 2,
          insetBottom: 2,
          ...figures((d: (typeof pounds)[number]) => ({ label: d.grantRef, value: d.awardedPence, series: 'awarded' })),
        }),
        Plot.barX(pounds, {
          y: 'grantRef',
          x: 'spent',
          fill: BLUE,
          insetTop: 8,
          insetBottom: 8,
          ...figures((d: (typeof pounds)[number]) => ({ label: d.grantRef, value: d.spentPence, series: 'spent' })),
        }),
        Plot.ruleX([0]),
      ],
    },
  );
});

export const spendByQuarterChart = drawnOnce(function spendByQuarterChart(
  rows: readonly { grantRef: string; quarter: string; pence: number }[],
): Html {
  if (rows.length === 0) return empty('spend');
  const pounds = rows.map((r) => ({ ...r, pounds: r.pence / 100 }));
  return render('Spend by quarter', 'Stacked bars of spend per quarter, coloured by grant.', {
    x: { label: 'Quarter' },
    y: { label: 'Pounds', grid: true, tickFormat: '~s' },
    color: { legend: true, range: PALETTE },
    marks: [
      Plot.barY(pounds, {
        x: 'quarter',
        y: 'pounds',
        fill: 'grantRef',
        ...figures((d: (typeof pounds)[number]) => ({ label: `${d.grantRef} ${d.quarter}`, value: d.pence })),
      }),
      Plot.ruleY([0]),
    ],
  });
});

export const dataQualityChart = drawnOnce(function dataQualityChart(
  rows: readonly { providerId: string; rate: number | null }[],
): Html {
  const drawn = rows.filter((r) => r.rate !== null);
  if (drawn.length === 0) return empty('data quality');
  return render('Rejected submissions per provider', 'A bar per provider for the share of submissions refused.', {
    y: { label: null, domain: drawn.map((r) => r.providerId) },
    // At least 0–5% so that all-zero rates still draw a readable axis. With percent, the domain is in percent, not fractions.
    x: {
      label: 'Rejected (%)',
      percent: true,
      grid: true,
      domain: [0, Math.max(5, ...drawn.map((r) => r.rate! * 100))],
    },
    marginLeft: 200,
    marks: [
      Plot.barX(drawn, {
        y: 'providerId',
        x: 'rate',
        fill: ORANGE,
        ...figures((d: (typeof drawn)[number]) => ({ label: d.providerId, value: d.rate! })),
      }),
      Plot.ruleX([0]),
    ],
  });
});

/**
 * Actual against target per quarter for one indicator: a bar for the actual, a dark tick for the target. Shares are
 * drawn on a 0–100% axis from fractions (Plot's percent option), money in pounds.
 */
export const performanceChart = drawnOnce(function performanceChart(
  indicator: string,
  unit: 'count' | 'pence' | 'share',
  rows: readonly { quarter: string; target: number; actual: number | null }[],
): Html {
  if (rows.length === 0) return empty(indicator);
  const scale = unit === 'pence' ? 0.01 : 1;
  const points = rows.map((r) => ({
    ...r,
    target: r.target * scale,
    actual: r.actual === null ? null : r.actual * scale,
    figures: r,
  }));
  const drawn = points.filter((p) => p.actual !== null);
  const withheld = points.filter((p) => p.actual === null).map((p) => p.quarter);
  const label = unit === 'pence' ? 'Pounds' : unit === 'share' ? 'Share (%)' : 'Number';
  const top = Math.max(...points.map((p) => Math.max(p.target, p.actual ?? 0)));
  return render(
    `${indicator}: actual against target by quarter`,
    `A blue bar for the actual and a black tick for the target, per quarter.${withheldNote(withheld)}`,
    {
      x: { label: 'Quarter', domain: points.map((p) => p.quarter) },
      y: {
        // With percent, Plot's domain is in percent (0–100), not in the fractions of the data.
        label,
        grid: true,
        ...(unit === 'share' ? { percent: true, domain: [0, 100] } : { domain: [0, top === 0 ? 1 : top] }),
        ...(unit === 'pence' ? { tickFormat: '~s' } : {}),
      },
      height: 260,
      marks: [
        // Inset only at the sides: an inset at the top would shorten every bar by the same pixels and misstate the figures.
        Plot.barY(drawn, {
          x: 'quarter',
          y: 'actual',
          fill: BLUE,
          insetLeft: 12,
          insetRight: 12,
          ...figures((d: (typeof points)[number]) => ({
            label: d.quarter,
            value: d.figures.actual!,
            series: 'actual',
          })),
        }),
        Plot.tickY(points, {
          x: 'quarter',
          y: 'target',
          stroke: '#0b0c0c',
          strokeWidth: 3,
          ...figures((d: (typeof points)[number]) => ({ label: d.quarter, value: d.figures.target, series: 'target' })),
        }),
        Plot.ruleY([0]),
      ],
    },
  );
});

/**
 * Balance: the standardised mean difference of each covariate before matching (hollow grey) and after (blue), with
 * the conventional ±0.1 limits dashed. A dot inside the limits after matching means the groups are alike on it.
 */
export const balanceChart = drawnOnce(function balanceChart(
  rows: readonly { name: string; smdBefore: number | null; smdAfter: number | null }[],
  threshold: number,
): Html {
  const points = rows.flatMap((r) => [
    ...(r.smdBefore === null ? [] : [{ name: r.name, when: 'Before matching', smd: r.smdBefore }]),
    ...(r.smdAfter === null ? [] : [{ name: r.name, when: 'After matching', smd: r.smdAfter }]),
  ]);
  if (points.length === 0) return empty('balance');
  const outside = rows.filter((r) => r.smdAfter !== null && Math.abs(r.smdAfter) >= threshold).map((r) => r.name);
  const balanceFigures = figures((d: (typeof points)[number]) => ({
    label: d.name,
    value: d.smd,
    series: d.when === 'Before matching' ? 'before' : 'after',
  }));
  const widest = Math.max(0.25, ...points.map((p) => Math.abs(p.smd)));
  return render(
    'Balance of each characteristic before and after matching',
    'Standardised mean difference per characteristic, a hollow grey dot before matching and a blue dot after; ' +
      `the dashed lines mark ±${threshold}. ` +
      (outside.length
        ? `Still outside the limits after matching: ${outside.join(', ')}.`
        : 'After matching every characteristic is inside the limits.'),
    {
      y: { label: null, domain: rows.map((r) => r.name) },
      x: { label: 'Standardised mean difference (participants − comparisons)', domain: [-widest, widest], grid: true },
      color: { legend: true, domain: ['Before matching', 'After matching'], range: [GREY, BLUE] },
      marginLeft: 230,
      height: Math.max(200, 26 * rows.length + 80),
      marks: [
        Plot.ruleX([-threshold, threshold], { stroke: ORANGE, strokeDasharray: '4,3' }),
        Plot.ruleX([0], { stroke: '#0b0c0c' }),
        Plot.dot(
          points.filter((p) => p.when === 'Before matching'),
          { y: 'name', x: 'smd', stroke: GREY, strokeWidth: 2, r: 5, ...balanceFigures },
        ),
        Plot.dot(
          points.filter((p) => p.when === 'After matching'),
          { y: 'name', x: 'smd', fill: BLUE, r: 5, ...balanceFigures },
        ),
      ],
    },
  );
});

/** The matched difference per 100 participants with its 95% interval, one line per measure; zero is no difference. */
export const impactEstimateChart = drawnOnce(function impactEstimateChart(
  rows: readonly { label: string; difference: number; lower: number; upper: number }[],
): Html {
  if (rows.length === 0) return empty('impact estimate');
  return render(
    'Difference per 100 participants against the matched comparison group, with 95% confidence intervals',
    'A dot per measure with a line for its interval; left of zero means fewer proven reoffenders or reoffences than the comparison ' +
      'group.',
    {
      y: { label: null, domain: rows.map((r) => r.label) },
      x: { label: 'Difference per 100 participants', grid: true },
      marginLeft: 260,
      height: 160,
      marks: [
        Plot.ruleX([0], { stroke: '#0b0c0c' }),
        Plot.ruleY(rows, { y: 'label', x1: 'lower', x2: 'upper', stroke: BLUE, strokeWidth: 3 }),
        Plot.dot(rows, {
          y: 'label',
          x: 'difference',
          fill: DARK_BLUE,
          r: 6,
          ...figures((d: (typeof rows)[number]) => ({
            label: d.label,
            value: d.difference,
            lower: d.lower,
            upper: d.upper,
          })),
        }),
      ],
    },
  );
});
