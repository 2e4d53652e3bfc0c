import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  FreezeReturnBody,
  FrozenReturn,
  FrozenReturnList,
  ProblemDetails,
  Restatement,
  ReturnIdParams,
  type FreezableReport,
  type Principal,
  type QuarterlyReturnQuery,
  type Role,
} from '@vru/contracts';
import { compareRows, movements, type EventTally } from '@vru/domain';
import { frozenReturnFacts, type FrozenReturnRow } from '@vru/event-store';
import type { Sql } from '@vru/runtime';
import { canonicalJson, figuresDigest } from '@vru/verifier';
import { HttpProblem } from '../problem.js';
import { reportFilters } from '../report-snapshot.js';
import { quarterlyReturnReport } from '../reports/index.js';

/**
 * Frozen returns (docs/metrics.md, "Frozen returns and restatements"). A commissioner or an admin freezes a report
 * for submission: its figures exactly as that role saw them (after disclosure control), with the position and
 * date they were read at, the disclosure rules and the code version. The API stores the row and never signs: the
 * relay signs it with the audit key (docs/audit.md). A restatement computes the same report now, for the same role,
 * and names what moved each figure that changed.
 *
 * Roles: commissioner and admin freeze; commissioner, funder and admin read. A provider reads no returns: a return
 * holds every provider's figures under disclosure control, and a provider's own figures it reads live, unsuppressed.
 */
export const RETURN_ROLES = {
  freeze: ['commissioner', 'admin'],
  read: ['commissioner', 'funder', 'admin'],
} as const satisfies Record<string, readonly Role[]>;

interface ReportFigures {
  /** Every event at or below it had reached each read model the report read (its consistent position). */
  position: string;
  computedAt: { projection: string; position: string }[];
  disclosure: { rules: string; applied: boolean };
  asOf: string;
  rows: Record<string, unknown>[];
}

/** The reports that can be frozen: how each is computed, which field names a row, and the period it covers. */
const FREEZABLE: Record<
  FreezableReport,
  {
    compute(sql: Sql, principal: Principal, query: Record<string, string>): Promise<ReportFigures>;
    rowKey: string;
    period(figures: Record<string, unknown>): { from: string; to: string };
  }
> = {
  'quarterly-return': {
    compute: (sql, principal, query) => quarterlyReturnReport(sql, principal, query as QuarterlyReturnQuery),
    rowKey: 'programmeId',
    period: (f) => ({ from: String(f.quarterStart), to: String(f.quarterEnd) }),
  },
};

/** The field that names a row of a frozen report (for the pages). */
export const returnRowKey = (report: string): string => FREEZABLE[report as FreezableReport].rowKey;

const apiPackage = createRequire(import.meta.url)('../../package.json') as { version: string };

/** The API's package version and the git commit it was built from (CODE_COMMIT, set by the image build). */
export const codeVersion = (commit: string | undefined): string => `${apiPackage.version}+${commit ?? 'unknown'}`;

interface StoredReturn extends FrozenReturnRow {
  query: string;
  role: string;
  positions: string;
  frozen_by: string;
  statement: string | null;
  signed_at: Date | null;
}

const RETURN_COLUMNS = (sql: Sql) => sql`
  r.id::text, r.report, r.query, r.role, r.figures, r.figures_sha256, r.position::text, r.positions, r.as_of::text,
  r.disclosure_rules, r.code_version, r.frozen_by, r.frozen_at, s.statement, s.signed_at`;

function summaryOf(r: StoredReturn) {
  const facts = frozenReturnFacts(r);
  return {
    id: facts.id,
    report: r.report as FreezableReport,
    query: JSON.parse(r.query) as Record<string, string>,
    role: r.role,
    figuresSha256: facts.figuresSha256,
    position: facts.position,
    asOf: facts.asOf,
    disclosureRules: facts.disclosureRules,
    codeVersion: facts.codeVersion,
    frozenBy: r.frozen_by,
    frozenAt: facts.frozenAt,
  };
}

/** A frozen return as stored: the figures parsed from their canonical text, so they serialise to the same bytes. */
export function frozenOf(r: StoredReturn) {
  return {
    ...summaryOf(r),
    figures: JSON.parse(r.figures) as unknown,
    signature: r.statement && r.signed_at ? { note: r.statement, signedAt: r.signed_at.toISOString() } : null,
  };
}

export async function loadReturn(sql: Sql, id: string): Promise<StoredReturn> {
  const [row] = await sql<StoredReturn[]>`
    select ${RETURN_COLUMNS(sql)} from frozen_returns r left join frozen_return_signatures s on s.return_id = r.id where r.id = ${id}`;
  if (!row) throw new HttpProblem(404, 'not-found', 'Not found', undefined, 'No frozen return with this id');
  return row;
}

export async function listReturns(sql: Sql) {
  const rows = await sql<StoredReturn[]>`
    select ${RETURN_COLUMNS(sql)} from frozen_returns r left join frozen_return_signatures s on s.return_id = r.id
    order by r.frozen_at desc, r.id`;
  return rows.map((r) => ({ ...summaryOf(r), signed: r.statement !== null }));
}

export async function freezeReturn(sql: Sql, principal: Principal, body: FreezeReturnBody, commit: string | undefined) {
  const report = await FREEZABLE[body.report].compute(sql, principal, body.query);
  // The roles that freeze always pass disclosure control; a return never holds a provider's unsuppressed figures.
  if (!report.disclosure.applied)
    throw new HttpProblem(
      403,
      'forbidden',
      'Not allowed',
      undefined,
      'Only figures under disclosure control can be frozen',
    );
  const frozenAt = new Date();
  const id = randomUUID();
  await sql`
    insert into frozen_returns (id, report, query, role, figures, figures_sha256, position, positions, as_of, disclosure_rules, code_version, frozen_by, frozen_at)
    values (${id}, ${body.report}, ${canonicalJson(body.query)}, ${principal.role}, ${canonicalJson(report)}, ${figuresDigest(report)},
            ${report.position}, ${canonicalJson(report.computedAt)}, ${report.asOf}::date,
            ${report.disclosure.rules}, ${codeVersion(commit)}, ${principal.keyId}, ${frozenAt})`;
  return frozenOf(await loadReturn(sql, id));
}

/**
 * The same report now, for the role that froze it, compared cell by cell with the frozen figures; for each changed
 * cell, the events recorded since the freeze that touch its population (the row's participants, or its grants for
 * spend cells), by class and provider, under disclosure control.
 */
export async function restatement(sql: Sql, principal: Principal, id: string) {
  const stored = await loadReturn(sql, id);
  const spec = FREEZABLE[stored.report as FreezableReport];
  const frozen = JSON.parse(stored.figures) as ReportFigures & Record<string, unknown>;
  // Now, whatever position the return was frozen at: a query's asAt fixed the frozen figures, not the restatement's.
  const now = await spec.compute(
    sql,
    { keyId: principal.keyId, role: stored.role as Role, providerId: null },
    reportFilters(JSON.parse(stored.query) as Record<string, string>),
  );
  const { compared, changed } = compareRows(frozen.rows, now.rows, spec.rowKey);
  const period = spec.period(frozen);
  const query = JSON.parse(stored.query) as Record<string, string>;
  const rows = [...new Set(changed.map((c) => c.row))];
  const tallies =
    rows.length === 0
      ? []
      : await sql<(EventTally & { programmeId: string; kind: string })[]>`
    select e.programme_id as "programmeId", e.provider_id as "providerId", s.kind, e.type,
           coalesce(e.data->>'referralDate', e.data->>'startDate', e.data->>'sessionDate', e.data->>'exitDate', e.data->>'periodStart',
                    e.data->>'recordedOn', e.data->>'measuredOn', e.data->>'followUpDate', e.data->>'withdrawnOn', e.data->>'requestedOn',
                    to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD')) between ${period.from} and ${period.to} as "datedInPeriod",
           count(*)::int as events
    from events e join streams s on s.stream_id = e.stream_id
    where e.position > ${stored.position} and e.position <= ${now.position}
      and e.programme_id = any(${rows}::text[])
      ${query.providerId ? sql`and e.provider_id = ${query.providerId}` : sql``}
    group by 1, 2, 3, 4, 5`;
  const kindOf = (cell: string) => (cell.startsWith('grants.') ? 'grant' : 'participant');
  return {
    returnId: stored.id,
    report: stored.report as FreezableReport,
    frozenPosition: stored.position,
    frozenAt: stored.frozen_at.toISOString(),
    position: now.position,
    computedAt: now.computedAt as Restatement['computedAt'],
    disclosure: now.disclosure,
    cellsCompared: compared,
    changed: changed.map((c) => ({
      ...c,
      movedBy: movements(
        tallies.filter((t) => t.programmeId === c.row && t.kind === kindOf(c.cell)),
        now.disclosure.applied,
      ),
    })),
  };
}

const errors = {
  400: ProblemDetails,
  401: ProblemDetails,
  403: ProblemDetails,
  409: ProblemDetails,
  404: ProblemDetails,
  422: ProblemDetails,
  503: ProblemDetails,
};

export const returnRoutes: FastifyPluginAsyncTypebox<{ sql: Sql; codeCommit: string | undefined }> = async (
  app,
  { sql, codeCommit },
) => {
  app.post(
    '/v1/returns',
    {
      config: { roles: RETURN_ROLES.freeze },
      schema: {
        tags: ['returns'],
        operationId: 'freezeReturn',
        summary: 'Freeze a report for submission',
        description:
          'Computes the report for the query as the caller sees it (under disclosure control) and stores it for good with the position ' +
          'and date it was read at, the disclosure rules and the code version. The relay signs it with the audit key within seconds ' +
          '(`signature` is null until then). Commissioners and admins only.',
        body: FreezeReturnBody,
        response: { 201: FrozenReturn, ...errors },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await freezeReturn(sql, request.principal, request.body, codeCommit)),
  );

  app.get(
    '/v1/returns',
    {
      config: { roles: RETURN_ROLES.read },
      schema: {
        tags: ['returns'],
        operationId: 'listReturns',
        summary: 'Frozen returns, newest first',
        response: { 200: FrozenReturnList, 401: ProblemDetails, 403: ProblemDetails, 503: ProblemDetails },
      },
    },
    async () => ({ returns: await listReturns(sql) }),
  );

  app.get(
    '/v1/returns/:id',
    {
      config: { roles: RETURN_ROLES.read },
      schema: {
        tags: ['returns'],
        operationId: 'getReturn',
        summary: 'A frozen return exactly as it was frozen, with its signature once signed',
        description:
          'The figures never change after freezing, whatever arrives later. Check it offline with `vru-verify return` and AUDIT_PUBLIC_KEY.',
        params: ReturnIdParams,
        response: { 200: FrozenReturn, ...errors },
      },
    },
    async (request) => frozenOf(await loadReturn(sql, request.params.id)),
  );

  app.get(
    '/v1/returns/:id/restatement',
    {
      config: { roles: RETURN_ROLES.read },
      schema: {
        tags: ['returns'],
        operationId: 'returnRestatement',
        summary: 'The frozen return compared with the same report now',
        description:
          'The report recomputed now for the role that froze it, compared cell by cell with the frozen figures. For each figure that ' +
          'changed: its frozen and current value and the events recorded since the freeze that touch its population, counted by class ' +
          '(late submission, correction, consent withdrawal, erasure, other) and provider, under disclosure control (docs/metrics.md).',
        params: ReturnIdParams,
        response: { 200: Restatement, ...errors },
      },
    },
    async (request) => restatement(sql, request.principal, request.params.id),
  );
};
