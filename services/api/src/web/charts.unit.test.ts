import t from 'tap';
import { parseHTML } from 'linkedom';
import {
  attendanceChart,
  balanceChart,
  dataQualityChart,
  funnelChart,
  impactEstimateChart,
  outcomeChangeChart,
  performanceChart,
  reoffendingChart,
  spendByQuarterChart,
  spendChart,
  loadDrawingKit,
} from './charts.js';

await loadDrawingKit();

/** The widths of the bars (rect marks) of a horizontal bar chart, and heights of a vertical one, in drawing order. */
const rects = (svg: string, attr: 'width' | 'height'): number[] =>
  [...svg.matchAll(/<rect [^>]*>/g)]
    .map((m) => Number(new RegExp(`${attr}="([\\d.]+)"`).exec(m[0])?.[1] ?? NaN))
    .filter(Number.isFinite);

interface Element {
  tagName: string;
  textContent: string | null;
  parentElement: Element | null;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): Iterable<Element>;
  querySelector(selector: string): Element | null;
}

const SI: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, m: 1e-3 };
/** A tick label as a number: "0.5", "−2", "20k", "1.5M"; NaN for anything else (a month, a name). */
function tickNumber(text: string): number {
  const m = /^([−-]?[\d.]+)([kMGm]?)$/.exec(text.trim().replace(/,/g, ''));
  return m ? Number(m[1]!.replace('−', '-')) * (m[2] ? SI[m[2]]! : 1) : NaN;
}

/** The sum of the translations along one dimension of an element and the groups it is drawn in. */
function offset(el: Element | null, dim: 'x' | 'y'): number {
  let total = 0;
  for (let e = el; e && e.tagName.toLowerCase() !== 'svg'; e = e.parentElement) {
    const m = /translate\(([-\d.e]+),\s*([-\d.e]+)\)/.exec(e.getAttribute('transform') ?? '');
    if (m) total += Number(dim === 'x' ? m[1] : m[2]);
  }
  return total;
}

/**
 * Reads every mark that carries a figure against the chart's own value axis, as a person would: the axis ticks give
 * pixels per unit, the axis label the unit ("%" for a share, "Pounds" for pence), and each bar's length, dot's or
 * tick's position must read the figure. Returns the disagreements (empty when the chart tells the truth) and the count.
 */
function readAgainstAxis(svgMarkup: string, dim: 'x' | 'y'): { marks: number; wrong: string[] } {
  const { document } = parseHTML(`<!doctype html><html><body>${svgMarkup}</body></html>`);
  const svg = document.querySelector('svg[role="img"]') as unknown as Element;
  const ticks = [...svg.querySelectorAll(`[data-mark="${dim}-axis tick label"] text`)]
    .map((text) => ({ at: offset(text, dim), value: tickNumber(text.textContent ?? '') }))
    .filter((tick) => Number.isFinite(tick.value));
  if (ticks.length < 2) return { marks: 0, wrong: [`fewer than two numeric ${dim}-axis ticks`] };
  const first = ticks[0]!;
  const last = ticks[ticks.length - 1]!;
  const pixelsPerUnit = (last.at - first.at) / (last.value - first.value);
  const read = (at: number) => first.value + (at - first.at) / pixelsPerUnit;
  const axisLabel = svg.querySelector(`[data-mark="${dim}-axis label"]`)?.textContent ?? '';
  const toAxisUnits = axisLabel.includes('%') ? 100 : axisLabel.includes('Pounds') ? 0.01 : 1;
  const size = Number(svg.getAttribute(dim === 'x' ? 'width' : 'height'));
  const wrong: string[] = [];
  let marks = 0;
  for (const el of svg.querySelectorAll('[data-value]')) {
    marks += 1;
    const expected = Number(el.getAttribute('data-value')) * toAxisUnits;
    const name = `${el.getAttribute('data-label')}${el.getAttribute('data-series') ? ` ${el.getAttribute('data-series')}` : ''}`;
    const tag = el.tagName.toLowerCase();
    const base = offset(el.parentElement, dim);
    let drawn: number;
    if (tag === 'rect') {
      const start = base + Number(el.getAttribute(dim));
      const end = start + Number(el.getAttribute(dim === 'x' ? 'width' : 'height'));
      if (start < 0 || end > size)
        wrong.push(`${name}: the bar runs outside the chart (${start} to ${end} of ${size})`);
      drawn = Math.abs(read(end) - read(start));
    } else if (tag === 'circle') {
      drawn = read(base + Number(el.getAttribute(`c${dim}`)));
    } else if (tag === 'line') {
      drawn = read(base + Number(el.getAttribute(`${dim}1`)));
    } else {
      wrong.push(`${name}: a ${tag} is not a mark this check reads`);
      continue;
    }
    if (Math.abs(drawn - expected) * Math.abs(pixelsPerUnit) > 0.5) {
      wrong.push(`${name}: drawn at ${drawn} on the axis, the figure is ${expected}`);
    }
  }
  return { marks, wrong };
}

t.test("every chart draws each figure at its value on its own axis, in the axis's unit", async (t) => {
  const cases: [string, string, 'x' | 'y', number][] = [
    [
      'data quality (shares on a percent axis)',
      dataQualityChart([
        { providerId: 'a', rate: 0.0027 },
        { providerId: 'b', rate: 0.05 },
        { providerId: 'c', rate: null },
      ]).value,
      'x',
      2,
    ],
    [
      'attendance',
      attendanceChart([
        { month: '2026-01', programmeId: 'p', rate: 0.8 },
        { month: '2026-02', programmeId: 'p', rate: 0.455 },
        { month: '2026-03', programmeId: 'p', rate: null },
      ]).value,
      'y',
      2,
    ],
    [
      'funnel (faceted bars)',
      funnelChart([
        {
          programmeId: 'p',
          stages: [
            { stage: 'Referred', n: 40 },
            { stage: 'Enrolled', n: 12 },
          ],
        },
        {
          programmeId: 'q',
          stages: [
            { stage: 'Referred', n: 7 },
            { stage: 'Enrolled', n: null },
          ],
        },
      ]).value,
      'x',
      3,
    ],
    [
      'outcome change',
      outcomeChangeChart([
        { label: 'p – SWEMWBS', mean: 2.5, lower: 0.8, upper: 4.2 },
        { label: 'q – SWEMWBS', mean: -1.25, lower: null, upper: null },
      ]).value,
      'x',
      2,
    ],
    [
      'reoffending (shares on a percent axis)',
      reoffendingChart([
        { programmeId: 'p', value: 0.3, lower: 0.2, upper: 0.4, provisional: false },
        { programmeId: 'q', value: 0.125, lower: 0.05, upper: 0.3, provisional: true },
      ]).value,
      'x',
      2,
    ],
    [
      'spend (pence on a pounds axis)',
      spendChart([
        { grantRef: 'G1', awardedPence: 12_000_000, spentPence: 4_567_800 },
        { grantRef: 'G2', awardedPence: 5_000_000, spentPence: 0 },
      ]).value,
      'x',
      4,
    ],
    [
      'spend by quarter (stacked)',
      spendByQuarterChart([
        { grantRef: 'G1', quarter: '2026Q1', pence: 1_000_000 },
        { grantRef: 'G2', quarter: '2026Q1', pence: 250_000 },
        { grantRef: 'G1', quarter: '2026Q2', pence: 730_000 },
      ]).value,
      'y',
      3,
    ],
    [
      'performance, counts',
      performanceChart('People referred', 'count', [
        { quarter: '2026Q1', target: 20, actual: 13 },
        { quarter: '2026Q2', target: 25, actual: 31 },
      ]).value,
      'y',
      4,
    ],
    [
      'performance, shares',
      performanceChart('Share reliably improved', 'share', [{ quarter: '2026Q1', target: 0.4, actual: 0.27 }]).value,
      'y',
      2,
    ],
    [
      'performance, money',
      performanceChart('Spend', 'pence', [{ quarter: '2026Q1', target: 2_500_000, actual: 1_999_900 }]).value,
      'y',
      2,
    ],
    [
      'balance',
      balanceChart(
        [
          { name: 'age', smdBefore: 0.42, smdAfter: 0.03 },
          { name: 'gender', smdBefore: -0.2, smdAfter: null },
        ],
        0.1,
      ).value,
      'x',
      3,
    ],
    [
      'impact estimate',
      impactEstimateChart([{ label: 'Share who reoffended', difference: -8.5, lower: -15, upper: -2 }]).value,
      'x',
      1,
    ],
  ];
  for (const [what, svg, dim, expectedMarks] of cases) {
    const { marks, wrong } = readAgainstAxis(svg, dim);
    t.equal(marks, expectedMarks, `${what}: a mark for every figure, none for a withheld one`);
    t.same(wrong, [], `${what}: every mark reads its figure on the axis`);
  }
});

t.test('the axis check fails a chart whose axis states another unit than its marks are drawn in', async (t) => {
  const svg = dataQualityChart([
    { providerId: 'a', rate: 0.0027 },
    { providerId: 'b', rate: 0.05 },
  ]).value;
  t.same(readAgainstAxis(svg, 'x').wrong, [], 'as drawn: percent axis, percent marks');
  // The same bars under an axis that claims fractions: a person would read 0.27 as a share of 27%.
  const claimsFractions = readAgainstAxis(svg.replace('Rejected (%)', 'Rejected (share)'), 'x').wrong;
  t.equal(claimsFractions.length, 2, `both bars disagree with the axis (${claimsFractions.join('; ')})`);
  // A bar twice as long as its figure.
  const stretched = svg.replace(
    /(<rect [^>]*data-label="a"[^>]*width=")([\d.]+)/,
    (_, head: string, width: string) => `${head}${Number(width) * 2}`,
  );
  t.match(readAgainstAxis(stretched, 'x').wrong, [/^a: drawn at 0\.5\d* on the axis, the figure is 0\.27/]);
});

t.test('the data-quality chart draws a 0.27% rejection rate as a short bar on a percent axis', async (t) => {
  const svg = dataQualityChart([
    { providerId: 'a', rate: 0.0027 },
    { providerId: 'b', rate: 0.05 },
  ]).value;
  const [small, five] = rects(svg, 'width');
  t.ok(small! > 0 && five! > 0, 'both bars are drawn');
  t.ok(Math.abs(small! / five! - 0.0027 / 0.05) < 0.01, `bars in proportion to their rates (${small} against ${five})`);
  t.match(svg, /Rejected \(%\)/);
  t.notMatch(svg, />0\.05</, 'the axis is in percent, not fractions');
  const bars = [...svg.matchAll(/<rect [^>]*>/g)].map(
    (m) => Number(/ x="([\d.]+)"/.exec(m[0])![1]) + Number(/width="([\d.]+)"/.exec(m[0])![1]),
  );
  t.ok(
    bars.every((end) => end <= 960),
    `every bar ends inside the chart (${bars.join(', ')} of 960)`,
  );
});

t.test('the performance chart draws one bar per actual, in proportion, and leaves withheld quarters out', async (t) => {
  const svg = performanceChart('People referred', 'count', [
    { quarter: '2026Q1', target: 20, actual: 10 },
    { quarter: '2026Q2', target: 20, actual: 20 },
    { quarter: '2026Q3', target: 20, actual: null },
  ]).value;
  const heights = rects(svg, 'height');
  t.equal(heights.length, 2, 'two bars: the withheld quarter is not drawn');
  t.ok(Math.abs(heights[0]! / heights[1]! - 0.5) < 0.01, 'the bars are in proportion to the figures');
  t.match(svg, /Withheld \(small numbers\) and not drawn: 2026Q3/);
  const shares = performanceChart('Share reliably improved', 'share', [
    { quarter: '2026Q1', target: 0.4, actual: 0.5 },
  ]).value;
  t.match(shares, />100</, 'a share is drawn on a 0–100% axis');
});

t.test('each mark carries its figure as data attributes and the image has no inner ARIA', async (t) => {
  const svg = reoffendingChart([{ programmeId: 'p', value: 0.3, lower: 0.2, upper: 0.4, provisional: true }]).value;
  t.match(svg, /<circle [^>]*data-label="p"/, 'labelled by the programme, as the table\'s row is, not "(provisional)"');
  t.match(svg, /data-value="0.3"/);
  t.match(svg, /data-lower="0.2"/);
  t.match(svg, /data-upper="0.4"/);
  t.equal([...svg.matchAll(/aria-label=/g)].length, 1, 'only the SVG itself is named');
  t.notMatch(svg, /app-figure:/);
});

t.test('a chart with a legend names the chart as the image, not a legend swatch, and hides the swatches', async (t) => {
  const svg = spendByQuarterChart([
    { grantRef: 'G1', quarter: '2026Q1', pence: 100 },
    { grantRef: 'G2', quarter: '2026Q1', pence: 200 },
  ]).value;
  const images = [...svg.matchAll(/<svg [^>]*>/g)].map((m) => m[0]);
  t.equal(images.filter((tag) => tag.includes('role="img"')).length, 1, 'one image');
  t.ok(images.find((tag) => tag.includes('role="img"'))!.includes('viewBox'), 'the image is the chart');
  t.ok(
    images.filter((tag) => !tag.includes('viewBox')).every((tag) => tag.includes('aria-hidden="true"')),
    'swatches are hidden',
  );
});

t.test('a chart is remembered by the figures it draws, and by nothing else', async (t) => {
  const rows = [
    { providerId: 'prov-kept-a', rate: 0.1 },
    { providerId: 'prov-kept-b', rate: 0.02 },
  ];
  const first = dataQualityChart(rows);
  t.equal(
    dataQualityChart(rows.map((r) => ({ ...r }))),
    first,
    'the same figures in new objects: the chart drawn before',
  );
  const changed = dataQualityChart([rows[0]!, { providerId: 'prov-kept-b', rate: 0.03 }]);
  t.not(changed.value, first.value, 'one figure changed: another chart');
  t.match(changed.value, 'data-value="0.03"');
  t.notMatch(changed.value, 'data-value="0.02"');
  const renamed = dataQualityChart([rows[0]!, { providerId: 'prov-kept-c', rate: 0.02 }]);
  t.match(renamed.value, 'data-label="prov-kept-c"', 'the same figures under another name: drawn with that name');
  t.notMatch(renamed.value, 'prov-kept-b');

  // Drawn from the figures as they were when asked for: a caller changing its rows afterwards changes nothing kept.
  const held = [{ providerId: 'prov-kept-d', rate: 0.2 }];
  const drawn = dataQualityChart(held);
  held[0]!.rate = 0.4;
  t.equal(dataQualityChart([{ providerId: 'prov-kept-d', rate: 0.2 }]), drawn);
  t.match(drawn.value, 'data-value="0.2"');
  t.match(dataQualityChart(held).value, 'data-value="0.4"');

  // Charts of several arguments are told apart by each of them.
  const quarters = [{ quarter: '2025-Q1', target: 10, actual: 8 }];
  t.not(performanceChart('People', 'count', quarters).value, performanceChart('Sessions', 'count', quarters).value);
});
