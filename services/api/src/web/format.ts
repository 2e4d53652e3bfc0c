import { html, type Html } from './html.js';

/**
 * How figures read on the pages. A figure withheld by small-number suppression shows as [c] (the GSS marker for
 * confidential), never as 0 or blank; a figure that does not apply (no denominator) shows as a dash.
 */
export const SUPPRESSED_NOTE =
  '[c] withheld under disclosure control (rules vru-sdc-1): a population of fewer than 10 people, a count of 1 to 4, ' +
  'or a figure that could be worked out from other published figures, so no individual can be identified.';

const whole = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-GB', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

const suppressedMark = html`<abbr class="app-suppressed" title="withheld: a small number">[c]</abbr>`;
export const notApplicable = html`<span aria-hidden="true">–</span><span class="govuk-visually-hidden">not applicable</span>`;

/** A figure, or [c] when the report withheld it (suppressed reports only), or a dash when it does not apply. */
function orMissing(
  value: number | null | undefined,
  suppressed: boolean,
  show: (v: number) => string | Html,
): string | Html {
  if (value === null || value === undefined) return suppressed ? suppressedMark : notApplicable;
  return show(value);
}

export const count = (n: number | null | undefined, suppressed = false) =>
  orMissing(n, suppressed, (v) => whole.format(v));
export const decimal = (n: number | null | undefined, suppressed = false) =>
  orMissing(n, suppressed, (v) => twoDecimals.format(v));
export const percent = (p: number | null | undefined, suppressed = false) =>
  orMissing(p, suppressed, (v) => `${oneDecimal.format(v * 100)}%`);
export const money = (pence: number | null | undefined, suppressed = false) =>
  orMissing(pence, suppressed, (v) => `£${twoDecimals.format(v / 100)}`);

/** A rate with its 95% interval: "45.0% (30.1% to 60.3%)". */
export function rateWithInterval(
  r: { value: number; lower: number; upper: number } | null,
  suppressed: boolean,
): string | Html {
  if (r === null) return suppressed ? suppressedMark : notApplicable;
  return `${oneDecimal.format(r.value * 100)}% (${oneDecimal.format(r.lower * 100)}% to ${oneDecimal.format(r.upper * 100)}%)`;
}

/** A mean change with its 95% interval: "+2.50 (0.80 to 4.20)". */
export function changeWithInterval(
  c: { mean: number; lower: number | null; upper: number | null } | null,
  suppressed: boolean,
): string | Html {
  if (c === null) return suppressed ? suppressedMark : notApplicable;
  const sign = c.mean > 0 ? '+' : '';
  const ci =
    c.lower === null || c.upper === null
      ? ' (no interval: too few pairs)'
      : ` (${twoDecimals.format(c.lower)} to ${twoDecimals.format(c.upper)})`;
  return `${sign}${twoDecimals.format(c.mean)}${ci}`;
}
