import { html, type Html, type HtmlValue } from './html.js';
import { SUPPRESSED_NOTE } from './format.js';

export interface Column {
  head: string;
  numeric?: boolean;
}

/** A GOV.UK table with a caption, column headers and the first cell of each row as its row header. */
export function table(
  id: string,
  caption: string,
  columns: readonly Column[],
  rows: readonly HtmlValue[][],
  empty = 'No rows for these filters.',
): Html {
  if (rows.length === 0) return html`<p class="govuk-body" id="${id}">${caption}: ${empty}</p>`;
  const numeric = (i: number) => (columns[i]?.numeric ? ' govuk-table__cell--numeric' : '');
  // The wrapper scrolls on narrow screens: focusable and named so keyboard users can scroll it too.
  return html`<div class="app-table-scroll" role="region" aria-label="${caption}" tabindex="0"><table class="govuk-table" id="${id}">
    <caption class="govuk-table__caption govuk-table__caption--s">${caption}</caption>
    <thead class="govuk-table__head"><tr class="govuk-table__row">${columns.map((c) => html`<th scope="col" class="govuk-table__header${c.numeric ? ' govuk-table__header--numeric' : ''}">${c.head}</th>`)}</tr></thead>
    <tbody class="govuk-table__body">${rows.map(
      (cells) =>
        html`<tr class="govuk-table__row">${cells.map((cell, i) =>
          i === 0
            ? html`<th scope="row" class="govuk-table__header">${cell}</th>`
            : html`<td class="govuk-table__cell${numeric(i)}">${cell}</td>`,
        )}</tr>`,
    )}</tbody>
  </table></div>`;
}

/** The workbook of a report download link (/app/download/name.csv?… → name.xlsx?…). */
const excelHref = (csvHref: string): string | null =>
  csvHref.startsWith('/app/download/') ? csvHref.replace(/\.csv(\?|$)/, '.xlsx$1') : null;

/** One figure on a page: heading, chart, the table behind it and its CSV download. */
export function figureSection(opts: {
  id: string;
  heading: string;
  intro?: HtmlValue;
  chart?: Html;
  tables: Html[];
  csv?: { href: string; text: string };
}): Html {
  return html`<section class="govuk-!-margin-bottom-9" aria-labelledby="${opts.id}-heading">
    <h2 class="govuk-heading-m" id="${opts.id}-heading">${opts.heading}</h2>
    ${opts.intro ?? ''}
    ${opts.chart ?? ''}
    ${opts.tables}
    ${
      opts.csv
        ? html`<p class="govuk-body"><a class="govuk-link" href="${opts.csv.href}" download>${opts.csv.text}<span
      class="govuk-visually-hidden"> (CSV)</span></a>${
        excelHref(opts.csv.href)
          ? html` or <a class="govuk-link"
      href="${excelHref(opts.csv.href)}" download>as an Excel workbook<span
      class="govuk-visually-hidden"> (${opts.csv.text})</span></a>`
          : ''
      }</p>`
        : ''
    }
  </section>`;
}

export function errorSummary(title: string, errors: readonly { text: string; href?: string }[]): Html {
  return html`<div class="govuk-error-summary" data-module="govuk-error-summary">
    <div role="alert">
      <h2 class="govuk-error-summary__title">${title}</h2>
      <div class="govuk-error-summary__body"><ul class="govuk-list govuk-error-summary__list">
        ${errors.map((e) => html`<li>${e.href ? html`<a href="${e.href}">${e.text}</a>` : e.text}</li>`)}
      </ul></div>
    </div>
  </div>`;
}

export const suppressionNote = (suppressed: boolean): Html =>
  suppressed
    ? html`<div class="govuk-inset-text">${SUPPRESSED_NOTE} Figures for your own organisation are never withheld from you.</div>`
    : html``;

export function select(
  id: string,
  label: string,
  options: readonly { value: string; text: string }[],
  selected: string | undefined,
  anyText: string,
): Html {
  return html`<div class="govuk-form-group">
    <label class="govuk-label" for="${id}">${label}</label>
    <select class="govuk-select app-select--full" id="${id}" name="${id}">
      <option value="">${anyText}</option>
      ${options.map((o) => html`<option value="${o.value}"${o.value === selected ? html` selected` : ''}>${o.text}</option>`)}
    </select>
  </div>`;
}

export function dateInput(id: string, label: string, hint: string, value: string | undefined): Html {
  return html`<div class="govuk-form-group">
    <label class="govuk-label" for="${id}">${label}</label>
    <div class="govuk-hint" id="${id}-hint">${hint}</div>
    <input class="govuk-input govuk-input--width-10" id="${id}" name="${id}" type="date" value="${value ?? ''}" aria-describedby="${id}-hint">
  </div>`;
}

export function summaryList(rows: readonly [string, HtmlValue][]): Html {
  return html`<dl class="govuk-summary-list">${rows.map(([k, v]) => html`<div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">${k}</dt><dd class="govuk-summary-list__value">${v}</dd></div>`)}</dl>`;
}

export function details(summary: string, content: HtmlValue): Html {
  return html`<details class="govuk-details"><summary class="govuk-details__summary"><span class="govuk-details__summary-text">${summary}</span></summary><div class="govuk-details__text">${content}</div></details>`;
}
