import type { Principal } from '@vru/contracts';
import type { ImpactReport } from '@vru/contracts';
import { balanceChart, impactEstimateChart } from './charts.js';
import { dateInput, details, figureSection, select, summaryList, suppressionNote, table } from './components.js';
import { count, decimal, notApplicable } from './format.js';
import { html, type Html } from './html.js';
import { csvHref, type Filters } from './data.js';
import type { Choices } from './pages.js';

/** The impact page: one programme's cohort against a matched comparison group (docs/evaluation.md). */

/** A GOV.UK warning: the icon, a hidden "Warning" for screen readers, and the text. */
const warning = (
  text: string,
) => html`<div class="govuk-warning-text"><span class="govuk-warning-text__icon" aria-hidden="true">!</span>
  <strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>${text}</strong></div>`;

const signed = (x: number, digits = 1) => `${x > 0 ? '+' : ''}${x.toFixed(digits)}`;
const MEASURES = { binary: 'Proven reoffenders', frequency: 'Proven reoffences' } as const;
/** The row names of the estimate table, which the chart's marks carry too, so each dot is named as its row. */
const ROW_NAMES = { binary: 'Share who reoffended', frequency: 'Reoffences per person' } as const;

export function impactForm(f: Filters, choices: Choices): Html {
  const column = (field: Html) => html`<div class="govuk-grid-column-one-third">${field}</div>`;
  return html`<form method="get" action="/app/impact" class="app-filters" novalidate>
    <fieldset class="govuk-fieldset">
      <legend class="govuk-fieldset__legend govuk-fieldset__legend--m">
        <h2 class="govuk-fieldset__heading">Programme and cohort</h2>
      </legend>
      <div class="govuk-grid-row">
        ${column(select('programmeId', 'Programme', choices.programmes, f.programmeId, 'Choose a programme'))}
        ${column(dateInput('from', 'Cohort from (first day of a quarter)', 'For example, 2025-01-01', f.from))}
        ${column(dateInput('to', 'Cohort to (last day of a quarter)', 'For example, 2025-06-30', f.to))}
      </div>
      <button type="submit" class="govuk-button" data-module="govuk-button">Evaluate</button>
    </fieldset>
  </form>`;
}

function estimateSection(r: ImpactReport, f: Filters): Html {
  const e = r.estimate;
  if (e.status !== 'estimated') {
    return figureSection({
      id: 'impact-estimate',
      heading: 'The estimate',
      intro: html`<div class="govuk-inset-text">${e.wording}</div>
        <p class="govuk-body">An estimate needs at least ${e.minimum} matched participants; this cohort has
          ${count(e.matchedParticipants, true)}.</p>`,
      tables: [],
    });
  }
  const measures = (['binary', 'frequency'] as const).map((k) => ({ key: k, m: e[k] }));
  return figureSection({
    id: 'impact-estimate',
    heading: 'The estimate',
    intro: html`${measures.map(({ key, m }) => html`<div class="govuk-inset-text"><strong>${MEASURES[key]}:</strong> ${m.wording}</div>`)}`,
    chart: impactEstimateChart(measures.map(({ key, m }) => ({ label: ROW_NAMES[key], ...m.per100 }))),
    tables: [
      table(
        'impact-estimate-table',
        'One-year proven reoffending: matched participants against their matched comparisons',
        [
          { head: 'Measure' },
          { head: 'Participants', numeric: true },
          { head: 'Matched comparisons', numeric: true },
          { head: 'Difference per 100 (95% interval)', numeric: true },
          { head: 'p-value', numeric: true },
          { head: 'Before matching: difference per 100', numeric: true },
        ],
        measures.map(({ key, m }) => [
          ROW_NAMES[key],
          key === 'binary' ? percentOrWithheld(m.matched.participants) : decimal(m.matched.participants, true),
          key === 'binary' ? percentOrWithheld(m.matched.comparison) : decimal(m.matched.comparison, true),
          `${signed(m.per100.difference)} (${signed(m.per100.lower)} to ${signed(m.per100.upper)})`,
          m.matched.pValue < 0.001 ? '< 0.001' : m.matched.pValue.toFixed(3),
          m.unadjusted ? signed(100 * m.unadjusted.difference) : notApplicable,
        ]),
      ),
    ],
    csv: { href: csvHref('impact', f), text: 'Download the estimate' },
  });
}

const percentOrWithheld = (p: number | null) => (p === null ? count(null, true) : `${(p * 100).toFixed(1)}%`);

function balanceSection(r: ImpactReport): Html {
  const b = r.balance;
  if (!b) return html``;
  return figureSection({
    id: 'impact-balance',
    heading: 'Are the groups alike?',
    intro: html`<p class="govuk-body">Each characteristic's standardised difference between participants and the comparison group,
      before and after
      matching. Within ±${b.threshold} the groups are conventionally taken as alike on it.</p>
      ${
        b.balanced
          ? html`<p class="govuk-body"><strong class="govuk-tag govuk-tag--green">Balanced</strong> after matching, on every
          characteristic.</p>`
          : warning(`Not balanced on: ${b.failing.join(', ')}. The estimate may be biased by these differences.`)
      }`,
    chart: balanceChart(b.covariates, b.threshold),
    tables: [
      details(
        'Balance table (the figures behind the chart)',
        table(
          'impact-balance-table',
          'Standardised mean differences',
          [
            { head: 'Characteristic' },
            { head: 'Before matching', numeric: true },
            { head: 'After matching', numeric: true },
            { head: 'Balanced' },
          ],
          [
            ...b.covariates.map((c) => [c.name, decimal(c.smdBefore), decimal(c.smdAfter), c.balanced ? 'Yes' : 'No']),
            ['Propensity score (logit)', decimal(b.propensityLogit.smdBefore), decimal(b.propensityLogit.smdAfter), ''],
          ],
        ),
      ),
    ],
  });
}

function matchingSection(r: ImpactReport): Html {
  const m = r.matching;
  return figureSection({
    id: 'impact-matching',
    heading: 'Who is compared',
    tables: [
      summaryList([
        ['Participants in the cohort', count(r.population.participants, true)],
        ['Comparison records in the pool', count(r.population.comparisons, true)],
        ['Left out: evaluation consent withdrawn', count(r.population.excludedWithdrawnConsent, true)],
        ['Left out: personal data erased', count(r.population.excludedErased, true)],
        ['Matched participants', m ? count(m.matched, true) : notApplicable],
        ['Participants with nobody similar enough (not in the estimate)', m ? count(m.unmatched, true) : notApplicable],
        ['Comparisons used', m ? count(m.comparisonsUsed, true) : notApplicable],
        [
          'Matching',
          m
            ? `up to ${m.ratio} per participant, with replacement, within ${m.caliperSd ?? '–'} standard deviations of the ` +
              'propensity logit' +
              (m.exact.length ? `, exactly on ${m.exact.join(', ')}` : '')
            : notApplicable,
        ],
      ]),
    ],
  });
}

export function impactSections(r: ImpactReport, f: Filters): Html {
  return html`
    ${suppressionNote(true)}
    ${
      r.provisional
        ? warning(
            `Provisional: the follow-up year and waiting period end on ${r.finalOn ?? 'a later date'} for the last ` +
              'person; the figures can still change.',
          )
        : ''
    }
    ${r.warnings.filter((w) => w.code !== 'provisional').map((w) => warning(w.message))}
    ${estimateSection(r, f)}
    ${balanceSection(r)}
    ${matchingSection(r)}
    <p class="govuk-body-s">Computed at log position ${r.position},
      as of ${r.asOf}.</p>
    ${details(
      'How this is worked out',
      html`<p class="govuk-body">Each participant is paired with the most similar people in a pool of
      pseudonymous records a police or probation data partner shares (same gender; similar age, ethnic group, area and offending history,
      summed up in a propensity score). The result compares one-year proven reoffending of the matched participants with their matches.
      It assumes the groups do not differ in ways the records do not show; it is evidence, not proof.</p>`,
    )}`;
}

export const impactIntro = (
  principal: Principal,
) => html`<p class="govuk-body">Did it work? Participants' one-year proven
  reoffending against similar people who did not take part, the way the Justice Data Lab compares them. Figures are withheld where they
  would describe fewer than 5
  people${principal.role === 'admin' ? ', for administrators too' : ''}.</p>`;
