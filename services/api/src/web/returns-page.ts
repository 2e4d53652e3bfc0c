import { rowCells, type CellValue } from '@vru/domain';
import type { Restatement } from '@vru/contracts';
import { summaryList, table } from './components.js';
import { html, type Html } from './html.js';

/**
 * The Returns pages: frozen returns with their restatement summary, and one page per return showing every figure as
 * frozen, as it is now, and what moved it. Figures come from the same functions as GET /v1/returns and its
 * restatement; the frozen figures passed disclosure control when they were frozen.
 */

interface ReturnSummary {
  id: string;
  report: string;
  query: Record<string, string>;
  role: string;
  position: string;
  asOf: string;
  frozenAt: string;
  signed: boolean;
}

const SUPPRESSED = html`<abbr class="app-suppressed" title="withheld: a small number">[c]</abbr>`;
const ABSENT = html`<span aria-hidden="true">–</span><span class="govuk-visually-hidden">not in this version</span>`;

const queryText = (q: Record<string, string>) =>
  Object.entries(q)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
const shown = (v: CellValue | undefined): Html | string =>
  v === undefined ? ABSENT : v === null ? SUPPRESSED : String(v);
const changedText = (r: Restatement) =>
  r.changed.length === 0 ? 'No figure has changed' : `${r.changed.length} of ${r.cellsCompared} figures changed`;

/** What moved a figure, in words: "late submissions: derby-youth-sport 6; erasures (all providers): [c]". */
function movedText(moved: Restatement['changed'][number]['movedBy']): Html | string {
  if (moved.length === 0) return 'No event recorded since the freeze touches it';
  const names: Record<string, string> = {
    'late-submission': 'late submissions',
    correction: 'corrections',
    'consent-withdrawal': 'consent withdrawals',
    erasure: 'erasures',
    other: 'other events',
  };
  return html`${moved.map((m, i) => html`${i > 0 ? '; ' : ''}${names[m.class] ?? m.class}: ${m.providerId ?? 'all providers'} ${m.events === null ? SUPPRESSED : String(m.events)}`)}`;
}

export function returnsListSection(
  returns: readonly ReturnSummary[],
  restated: ReadonlyMap<string, Restatement>,
): Html {
  return html`<p class="govuk-body">A frozen return keeps a report's figures exactly as they were when a commissioner froze it for
    submission, signed with the audit key. The restatement compares it with the same report now and counts the events that moved
    each figure since: late submissions, corrections, consent withdrawals and erasures.</p>
  ${table(
    'returns-table',
    'Frozen returns, newest first',
    [
      { head: 'Return' },
      { head: 'Report' },
      { head: 'Query' },
      { head: 'Frozen at' },
      { head: 'Frozen by' },
      { head: 'Log position', numeric: true },
      { head: 'Signed' },
      { head: 'Restatement' },
    ],
    returns.map((r) => [
      html`<a class="govuk-link" href="/app/returns/${r.id}">${r.id.slice(0, 8)}<span class="govuk-visually-hidden"> (return ${r.id})</span></a>`,
      r.report,
      queryText(r.query),
      r.frozenAt.replace('T', ' ').slice(0, 16),
      r.role,
      r.position,
      r.signed ? 'Yes' : 'Not yet',
      restated.has(r.id) ? changedText(restated.get(r.id)!) : 'Open the return to see it',
    ]),
    'No return has been frozen yet. A commissioner freezes one with POST /v1/returns.',
  )}`;
}

export function returnSections(
  r: ReturnSummary & {
    figuresSha256: string;
    disclosureRules: string;
    codeVersion: string;
    frozenBy: string;
    figures: unknown;
    signature: { signedAt: string } | null;
  },
  restatement: Restatement,
  rowKey: string,
): Html {
  const frozenRows = (r.figures as { rows?: Record<string, unknown>[] }).rows ?? [];
  const changed = new Map(restatement.changed.map((c) => [`${c.row}\u0000${c.cell}`, c]));
  const rows = frozenRows.map((row) => String(row[rowKey]));
  const added = [...new Set(restatement.changed.filter((c) => c.frozen === undefined).map((c) => c.row))].filter(
    (row) => !rows.includes(row),
  );
  return html`${summaryList([
    ['Report', r.report],
    ['Query', queryText(r.query)],
    ['Frozen at', r.frozenAt],
    ['Frozen by', `${r.role} (key ${r.frozenBy})`],
    ['Log position', r.position],
    ['Rules as of', r.asOf],
    ['Disclosure control', r.disclosureRules],
    ['Code version', r.codeVersion],
    ['SHA-256 of the figures', html`<span class="app-hash">${r.figuresSha256}</span>`],
    [
      'Signature',
      r.signature
        ? `Signed with the audit key at ${r.signature.signedAt}`
        : 'Not signed yet (the relay signs within seconds)',
    ],
    ['Restatement', `${changedText(restatement)} (now at log position ${restatement.position})`],
  ])}
  <p class="govuk-body">Anyone can check the signature offline: save the answer of <code>GET /v1/returns/${r.id}</code> (a commissioner,
    funder or admin key) and run <code>scripts/verify return</code> with the published audit key.</p>
  ${[...rows, ...added].map((row, i) => {
    const frozen = frozenRows.find((x) => String(x[rowKey]) === row);
    const frozenCells = frozen ? rowCells(frozen, [rowKey]) : new Map<string, CellValue>();
    const cells = [...frozenCells.keys()];
    const extra = restatement.changed.filter((c) => c.row === row && !cells.includes(c.cell)).map((c) => c.cell);
    return html`<section class="govuk-!-margin-bottom-9" aria-labelledby="return-row-${i}-heading">
      <h2 class="govuk-heading-m" id="return-row-${i}-heading">${row}</h2>
      ${table(
        `return-row-${i}`,
        `${row}: each figure as frozen and now`,
        [
          { head: 'Figure' },
          { head: 'As frozen', numeric: true },
          { head: 'Now', numeric: true },
          { head: 'What moved it' },
        ],
        [...cells, ...extra].map((cell) => {
          const c = changed.get(`${row}\u0000${cell}`);
          const was = frozenCells.get(cell);
          return [cell, shown(c ? c.frozen : was), shown(c ? c.now : was), c ? movedText(c.movedBy) : 'Unchanged'];
        }),
      )}
    </section>`;
  })}`;
}
