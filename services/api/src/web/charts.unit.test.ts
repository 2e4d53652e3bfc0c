import t from 'tap';
import { dataQualityChart, performanceChart } from './charts.js';

/** The widths of the bars (rect marks) of a horizontal bar chart, and heights of a vertical one, in drawing order. */
const rects = (svg: string, attr: 'width' | 'height'): number[] =>
  [...svg.matchAll(/<rect [^>]*>/g)].map((m) => Number(new RegExp(`${attr}="([\\d.]+)"`).exec(m[0])?.[1] ?? NaN)).filter(Number.isFinite);

t.test('the data-quality chart draws a 0.27% rejection rate as a short bar on a percent axis', async (t) => {
  const svg = dataQualityChart([{ providerId: 'a', rate: 0.0027 }, { providerId: 'b', rate: 0.05 }]).value;
  const [small, five] = rects(svg, 'width');
  t.ok(small! > 0 && five! > 0, 'both bars are drawn');
  t.ok(Math.abs(small! / five! - 0.0027 / 0.05) < 0.01, `bars in proportion to their rates (${small} against ${five})`);
  t.match(svg, /Rejected \(%\)/);
  t.notMatch(svg, />0\.05</, 'the axis is in percent, not fractions');
  const bars = [...svg.matchAll(/<rect [^>]*>/g)]
    .map((m) => Number(/ x="([\d.]+)"/.exec(m[0])![1]) + Number(/width="([\d.]+)"/.exec(m[0])![1]));
  t.ok(bars.every((end) => end <= 960), `every bar ends inside the chart (${bars.join(', ')} of 960)`);
});

t.test('the performance chart draws one bar per actual, in proportion, and leaves withheld quarters out', async (t) => {
  const svg = performanceChart('People referred', 'count', [
    { quarter: '2026Q1', target: 20, actual: 10 }, { quarter: '2026Q2', target: 20, actual: 20 },
    { quarter: '2026Q3', target: 20, actual: null },
  ]).value;
  const heights = rects(svg, 'height');
  t.equal(heights.length, 2, 'two bars: the withheld quarter is not drawn');
  t.ok(Math.abs(heights[0]! / heights[1]! - 0.5) < 0.01, 'the bars are in proportion to the figures');
  t.match(svg, /Withheld \(small numbers\) and not drawn: 2026Q3/);
  const shares = performanceChart('Share reliably improved', 'share', [{ quarter: '2026Q1', target: 0.4, actual: 0.5 }]).value;
  t.match(shares, />100</, 'a share is drawn on a 0–100% axis');
});
