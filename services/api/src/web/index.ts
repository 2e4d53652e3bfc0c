import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import { Type } from 'typebox';
import {
  csvTemplate,
  EventTypes,
  GrantRef,
  ReportQuery,
  SUBMITTING_ROLES,
  type EventType,
  type Role,
} from '@vru/contracts';
import type { Principal } from '@vru/contracts';
import { isDatabaseUnavailable, type Config, type Sql } from '@vru/runtime';
import type { ApiKeyVerifier } from '../api-keys.js';
import type { Ingest } from '../ingest/ingest.js';
import { DISCLOSURE_HEADER, disclosureHeader, toCsv } from '../csv.js';
import { HttpProblem } from '../problem.js';
import { MAX_CSV_BYTES, type UploadGate } from '../csv-upload.js';
import { importFile, inUploadTurn, type ImportResult } from '../routes/imports.js';
import { XLSX_CONTENT_TYPE } from '../xlsx.js';
import { reportWorkbook, xlsxTemplate } from '../xlsx-workbooks.js';
import { recentSubmissions } from '../reports/index.js';
import { errorSummary, summaryList, suppressionNote } from './components.js';
import { impactForm, impactIntro, impactSections } from './impact-page.js';
import { returnsListSection, returnSections } from './returns-page.js';
import { frozenOf, listReturns, loadReturn, restatement, RETURN_ROLES, returnRowKey } from '../routes/returns.js';
import { mayRead, REPORT_NAMES, REPORTS, withDefaultPeriod, type Filters, type ReportName } from './data.js';
import { html, type Html } from './html.js';
import { APP_CSS, NAV, page, type PageContext } from './layout.js';
import { EvidenceNotReady, grantEvidencePack, type AuditMonitor } from '../audit/monitor.js';
import { verificationBody } from '../routes/audit.js';
import {
  attendanceSection,
  auditSection,
  contractSections,
  contractsSection,
  dataQualitySection,
  engagementSection,
  filtersForm,
  importResults,
  outcomesSection,
  recentSubmissionsSection,
  reoffendingSection,
  signInForm,
  spendBreakdownSections,
  spendSection,
  submittableTypes,
  uploadForm,
  type Choices,
} from './pages.js';
import { loadDrawingKit } from './charts.js';
import {
  csrfToken,
  csrfValid,
  endSession,
  readSession,
  readSignInSid,
  signInSid,
  startSession,
  type Session,
} from './session.js';

/**
 * The dashboard: server-rendered GOV.UK pages under /app for commissioners, funders, providers and data partners.
 * Pages need no script; figures come from the report functions behind the JSON routes, scoped the same way.
 */
export interface WebDeps {
  config: Config;
  sql: Sql;
  ingest: Ingest;
  uploads: UploadGate;
  verifier: ApiKeyVerifier;
  auditMonitor: AuditMonitor;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed on a dashboard page; a page without it is open (sign-in, assets). */
    pageRoles?: readonly Role[];
  }
  interface FastifyRequest {
    webSession: Session | null;
    webPrincipal: Principal | null;
  }
}

const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "script-src 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

const SIGN_IN_ATTEMPTS_PER_MINUTE = 30;

const govukDist = `${dirname(createRequire(import.meta.url).resolve('govuk-frontend/package.json'))}/dist/govuk`;

/** The first page a role lands on after signing in. */
function homeOf(role: Role): string {
  return NAV.find((n) => n.roles.includes(role))?.href ?? '/app/sign-in';
}

function ctx(request: FastifyRequest, secret: string): PageContext {
  return {
    principal: request.webPrincipal,
    csrf: request.webSession ? csrfToken(secret, request.webSession.sid) : null,
    path: request.url.split('?')[0]!,
  };
}

const sendPage = (reply: FastifyReply, body: Html, status = 200) =>
  reply.code(status).type('text/html; charset=utf-8').send(body.value);

/** An empty filter field in a GET form means "any": drop it before the query schema sees it. */
function dropEmpty(request: FastifyRequest): void {
  const q = request.query as Record<string, unknown>;
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the query is a map of field names; dropping a key is the point
  for (const k of Object.keys(q)) if (q[k] === '') delete q[k];
}

export async function webRoutes(app: FastifyInstance, deps: WebDeps): Promise<void> {
  const { config, sql } = deps;
  const secret = config.SESSION_SECRET;
  const secure = config.NODE_ENV === 'production';

  // Pages are not part of the API contract: keep them out of the OpenAPI document.
  app.addHook('onRoute', (route) => {
    route.schema = { ...(route.schema ?? {}), hide: true };
  });
  await app.register(cookie, { secret });
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  // One byte past the size limit reaches the importers, which refuse such a file (413) before storing any row; the rest
  // is cut off unread. The size is theirs to judge, so the plugin does not throw on it.
  await app.register(multipart, {
    limits: { fileSize: MAX_CSV_BYTES + 1, files: 1, fields: 4, parts: 5 },
    throwFileSizeLimit: false,
  });
  // govuk-frontend's compiled CSS, JS and images; its GDS Transport font is for GOV.UK domains only, so not served.
  await app.register(fastifyStatic, {
    root: govukDist,
    prefix: '/app/govuk/',
    decorateReply: false,
    index: false,
    allowedPath: (path) => !path.startsWith('/assets/fonts'),
  });

  app.decorateRequest('webSession', null);
  app.decorateRequest('webPrincipal', null);

  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/app/govuk/') || request.url === '/app/app.css') return;
    // From a visitor's first page (the sign-in form), so the charts find it loaded.
    await loadDrawingKit();
    const signedIn = await readSession(sql, request);
    const principal = signedIn?.principal ?? null;
    if (signedIn) {
      request.webSession = signedIn.session;
      request.webPrincipal = signedIn.principal;
      request.log = request.log.child({ keyId: signedIn.principal.keyId, role: signedIn.principal.role });
    }
    const roles = request.routeOptions.config.pageRoles;
    if (!roles) return;
    if (!principal) return reply.redirect('/app/sign-in', 303);
    if (!roles.includes(principal.role))
      throw new HttpProblem(
        403,
        'forbidden',
        'You cannot open this page',
        undefined,
        `This page is for: ${roles.join(', ')}`,
      );
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', CSP);
    if (!String(reply.getHeader('content-type') ?? '').startsWith('text/css'))
      reply.header('cache-control', 'no-store');
    return payload;
  });

  // Failures are pages too: the same statuses as the API's problems, the detail in words, 5xx text never shown.
  app.setErrorHandler(
    (
      error: FastifyError & {
        validation?: { instancePath: string; message?: string; params: Record<string, unknown> }[];
      },
      request,
      reply,
    ) => {
      let status = 500;
      let title = 'Sorry, there is a problem with the service';
      let items: { text: string }[] = [{ text: 'Try again later.' }];
      if (error instanceof HttpProblem) {
        status = error.statusCode;
        title = error.title;
        items = error.errors?.length
          ? error.errors.map((e) => ({ text: `${e.field}: ${e.message}` }))
          : [{ text: error.detail ?? error.title }];
      } else if (error.validation) {
        status = 400;
        title = 'Some filters are not valid';
        items = error.validation.map((v) => {
          const named = v.params.additionalProperty ?? v.params.missingProperty;
          return {
            text: `${v.instancePath.slice(1) || (typeof named === 'string' ? named : 'filter')}: ${v.message ?? 'not valid'}`,
          };
        });
      } else if (isDatabaseUnavailable(error)) {
        status = 503;
        items = [{ text: 'A service we depend on is unavailable. Try again in a few seconds.' }];
      } else if ((error.statusCode ?? 500) < 500) {
        status = error.statusCode!;
        title = status === 413 ? 'The file is too large' : 'The request could not be read';
        items = [{ text: error.message }];
      } else {
        request.log.error({ err: error }, 'page failed');
      }
      return sendPage(
        reply,
        page(
          ctx(request, secret),
          title,
          html`${errorSummary(title, items)}<p class="govuk-body"><a class="govuk-link" href="/app">Back to the dashboard</a></p>`,
        ),
        status,
      );
    },
  );

  app.get('/app/app.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(APP_CSS),
  );

  app.get('/app', async (request, reply) =>
    reply.redirect(request.webPrincipal ? homeOf(request.webPrincipal.role) : '/app/sign-in', 303),
  );

  app.get('/app/sign-in', async (request, reply) => {
    if (request.webPrincipal) return reply.redirect(homeOf(request.webPrincipal.role), 303);
    const sid = signInSid(request, reply, secure);
    return sendPage(reply, page(ctx(request, secret), 'Sign in', signInForm(csrfToken(secret, sid))));
  });

  // Keys are 256-bit random, so this is politeness rather than protection: a script guessing keys is slowed down.
  // By client address alone, whatever the headers say (an Authorization header must not open a fresh bucket).
  const signInAttempts = app.createRateLimit({
    max: SIGN_IN_ATTEMPTS_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (request) => `sign-in:${request.ip}`,
  });
  app.post(
    '/app/sign-in',
    {
      onRequest: async (request) => {
        const attempt = await signInAttempts(request);
        if (!attempt.isAllowed && attempt.isExceeded) {
          throw new HttpProblem(
            429,
            'rate-limited',
            'Too many sign-in attempts',
            undefined,
            `Limit of ${SIGN_IN_ATTEMPTS_PER_MINUTE} a minute from one address; try again in a minute`,
          );
        }
      },
      schema: {
        body: Type.Object({
          apiKey: Type.Optional(Type.String({ maxLength: 200 })),
          _csrf: Type.Optional(Type.String({ maxLength: 200 })),
        }),
      },
    },
    async (request, reply) => {
      const body = request.body as { apiKey?: string; _csrf?: string };
      if (!csrfValid(secret, readSignInSid(request), body._csrf)) {
        throw new HttpProblem(
          403,
          'csrf-failed',
          'The form has expired',
          undefined,
          'Open the sign-in page again and resubmit.',
        );
      }
      const principal = body.apiKey ? await deps.verifier.verify(body.apiKey.trim()) : null;
      if (!principal) {
        const sid = signInSid(request, reply, secure);
        return sendPage(
          reply,
          page(
            ctx(request, secret),
            'Error: Sign in',
            signInForm(csrfToken(secret, sid), body.apiKey ? 'The API key is not valid' : 'Enter your API key'),
          ),
          401,
        );
      }
      await startSession(sql, reply, principal.keyId, config.SESSION_TTL_MINUTES, secure);
      request.log.info({ keyId: principal.keyId, role: principal.role }, 'dashboard sign-in');
      return reply.redirect(homeOf(principal.role), 303);
    },
  );

  app.post('/app/sign-out', async (request, reply) => {
    const body = (request.body ?? {}) as { _csrf?: string };
    if (!csrfValid(secret, request.webSession?.sid ?? null, body._csrf))
      throw new HttpProblem(403, 'csrf-failed', 'The form has expired', undefined, 'Reload the page and try again.');
    await endSession(sql, reply, request.webSession);
    return reply.redirect('/app/sign-in', 303);
  });

  const choices = async (principal: Principal): Promise<Choices> => {
    const [programmes, providers] = await Promise.all([
      sql<{ programme_id: string; name: string }[]>`select programme_id, name from programmes order by name`,
      sql<{ provider_id: string; name: string }[]>`select provider_id, name from providers order by name`,
    ]);
    return {
      programmes: programmes.map((p) => ({ value: p.programme_id, text: p.name })),
      providers: providers
        .filter((p) => principal.providerId === null || p.provider_id === principal.providerId)
        .map((p) => ({ value: p.provider_id, text: p.name })),
    };
  };

  const filterRoute = { querystring: ReportQuery };

  app.get(
    '/app/overview',
    {
      config: { pageRoles: ['commissioner', 'admin', 'provider'] },
      schema: filterRoute,
      preValidation: async (request) => dropEmpty(request),
    },
    async (request, reply) => {
      const principal = request.webPrincipal!;
      const f = withDefaultPeriod(principal, request.query as Filters);
      // Each section is drawn as soon as its reports answer, while the database still counts the slower ones: the
      // drawing then overlaps the queries rather than waiting for the last of them.
      const engagement = REPORTS.engagement.run(sql, principal, f);
      const [attendance, engagementHtml, outcomes, reoffending, spend, quality, suppressed, options] =
        await Promise.all([
          Promise.all([
            REPORTS['attendance-by-month'].run(sql, principal, f),
            REPORTS.attendance.run(sql, principal, f),
          ]).then(([byMonth, totals]) => attendanceSection(byMonth, totals, f)),
          engagement.then((r) => engagementSection(r, f)),
          REPORTS.outcomes.run(sql, principal, f).then((r) => outcomesSection(r, f)),
          REPORTS.reoffending.run(sql, principal, f).then((r) => reoffendingSection(r, f)),
          REPORTS.spend.run(sql, principal, f).then((r) => spendSection(r, f)),
          REPORTS['data-quality'].run(sql, principal, f).then((r) => dataQualitySection(r, f)),
          engagement.then((r) => suppressionNote(r.suppressed)),
          choices(principal),
        ]);
      const own = principal.role === 'provider';
      return sendPage(
        reply,
        page(
          ctx(request, secret),
          'Overview',
          html`
      <h1 class="govuk-heading-l">${own ? `Your programmes (${principal.providerId})` : 'Programme overview'}</h1>
      ${filtersForm('/app/overview', principal, f, options)}
      ${suppressed}
      ${attendance}
      ${engagementHtml}
      ${outcomes}
      ${reoffending}
      ${spend}
      ${quality}`,
        ),
      );
    },
  );

  app.get(
    '/app/funding',
    {
      config: { pageRoles: ['funder', 'commissioner', 'admin'] },
      schema: filterRoute,
      preValidation: async (request) => dropEmpty(request),
    },
    async (request, reply) => {
      const principal = request.webPrincipal!;
      const f = request.query as Filters;
      const monitor = deps.auditMonitor;
      const audit = monitor.key
        ? Promise.all([monitor.verify(), monitor.driftCheck()]).then(([result, drift]) =>
            verificationBody(result, drift),
          )
        : Promise.resolve(null);
      const [spend, auditView, options] = await Promise.all([
        REPORTS.spend.run(sql, principal, f),
        audit,
        choices(principal),
      ]);
      return sendPage(
        reply,
        page(
          ctx(request, secret),
          'Funding',
          html`
      <h1 class="govuk-heading-l">Funding and audit</h1>
      ${filtersForm('/app/funding', principal, f, options)}
      ${suppressionNote(spend.suppressed)}
      ${spendSection(spend, f, 'Spend against award, and cost per participant')}
      ${spendBreakdownSections(spend)}
      ${auditSection(
        auditView,
        spend.rows.map((r) => r.grantRef),
      )}`,
        ),
      );
    },
  );

  const impactRoute = {
    config: { pageRoles: REPORTS.impact.roles },
    schema: filterRoute,
    preValidation: async (request: FastifyRequest) => dropEmpty(request),
  };
  app.get('/app/impact', impactRoute, async (request, reply) => {
    const principal = request.webPrincipal!;
    const f = request.query as Filters;
    const chosen = Boolean(f.programmeId && f.from && f.to);
    const [report, options] = await Promise.all([
      chosen ? REPORTS.impact.run(sql, principal, f) : null,
      choices(principal),
    ]);
    return sendPage(
      reply,
      page(
        ctx(request, secret),
        'Impact',
        html`
      <h1 class="govuk-heading-l">Impact on proven reoffending${f.programmeId ? `: ${f.programmeId}` : ''}</h1>
      ${impactIntro(principal)}
      ${impactForm(f, options)}
      ${report ? impactSections(report, f) : html`<p class="govuk-body">Choose a programme and a cohort of whole quarters.</p>`}`,
      ),
    );
  });

  const contractRoles = REPORTS.performance.roles;
  app.get('/app/contracts', { config: { pageRoles: contractRoles } }, async (request, reply) => {
    const principal = request.webPrincipal!;
    const performance = await REPORTS.performance.run(sql, principal, {});
    return sendPage(
      reply,
      page(
        ctx(request, secret),
        'Contracts',
        html`
      <h1 class="govuk-heading-l">${principal.role === 'provider' ? `Your contracts (${principal.providerId})` : 'Contracts'}</h1>
      ${suppressionNote(performance.suppressed)}
      ${contractsSection(performance)}`,
      ),
    );
  });

  app.get(
    '/app/contracts/:grantRef',
    {
      config: { pageRoles: contractRoles },
      schema: { params: Type.Object({ grantRef: GrantRef }) },
    },
    async (request, reply) => {
      const principal = request.webPrincipal!;
      const { grantRef } = request.params as { grantRef: string };
      const performance = await REPORTS.performance.run(sql, principal, { grantRef });
      // Another provider's grant is not in a provider's scope: it is as absent as one that does not exist.
      if (performance.rows.length === 0) {
        throw new HttpProblem(
          404,
          'not-found',
          'No contract figures for this grant',
          undefined,
          'The grant has no delivery targets you can see.',
        );
      }
      const first = performance.rows[0]!;
      return sendPage(
        reply,
        page(
          ctx(request, secret),
          `Contract ${grantRef}`,
          html`
      <h1 class="govuk-heading-l">Contract ${grantRef}</h1>
      ${summaryList([
        ['Provider', first.providerId],
        ['Programme', first.programmeId],
      ])}
      <p class="govuk-body">Actual against the delivery targets agreed for each quarter. Red, amber and green follow the thresholds in the
        metrics definitions: counts are green at 95% of target or more and amber from 80%; spend is green within 10% of its profile
        and amber
        within 25%; an outcome share is green at or above target and amber up to 10 points below.</p>
      ${suppressionNote(performance.suppressed)}
      ${contractSections(performance, grantRef)}`,
        ),
      );
    },
  );

  // Restating a return recomputes its report: the list restates the newest few, each return's page its own.
  const RESTATED_ON_LIST = 10;
  app.get('/app/returns', { config: { pageRoles: RETURN_ROLES.read } }, async (request, reply) => {
    const principal = request.webPrincipal!;
    const returns = await listReturns(sql);
    const restated = new Map(
      await Promise.all(
        returns.slice(0, RESTATED_ON_LIST).map(async (r) => [r.id, await restatement(sql, principal, r.id)] as const),
      ),
    );
    return sendPage(
      reply,
      page(
        ctx(request, secret),
        'Returns',
        html`
      <h1 class="govuk-heading-l">Frozen returns</h1>
      ${returnsListSection(returns, restated)}`,
      ),
    );
  });

  app.get(
    '/app/returns/:id',
    {
      config: { pageRoles: RETURN_ROLES.read },
      schema: { params: Type.Object({ id: Type.String({ format: 'uuid' }) }) },
    },
    async (request, reply) => {
      const principal = request.webPrincipal!;
      const { id } = request.params as { id: string };
      const frozen = frozenOf(await loadReturn(sql, id));
      const restated = await restatement(sql, principal, id);
      return sendPage(
        reply,
        page(
          ctx(request, secret),
          `Return ${id.slice(0, 8)}`,
          html`
      <h1 class="govuk-heading-l">Frozen return: ${frozen.report}, ${Object.values(frozen.query).join(', ')}</h1>
      ${returnSections({ ...frozen, signed: frozen.signature !== null }, restated, returnRowKey(frozen.report))}`,
        ),
      );
    },
  );

  const uploadPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    outcome: { result?: ImportResult; problem?: HttpProblem; chosen?: string } = {},
  ) => {
    const principal = request.webPrincipal!;
    const own = principal.role === 'provider' && principal.providerId !== null;
    const [quality, recent] = own
      ? await Promise.all([
          REPORTS['data-quality'].run(sql, principal, {}),
          recentSubmissions(sql, principal.providerId!),
        ])
      : [null, null];
    const c = ctx(request, secret);
    const problem = outcome.problem;
    const status = problem ? problem.statusCode : 200;
    return sendPage(
      reply,
      page(
        c,
        outcome.result || problem ? 'Upload results' : 'Upload a file',
        html`
      ${problem ? errorSummary(problem.title, problem.errors?.length ? problem.errors.map((e) => ({ text: `${e.field}: ${e.message}` })) : [{ text: problem.detail ?? problem.title, href: '#file' }]) : ''}
      <h1 class="govuk-heading-l">Upload a file</h1>
      <p class="govuk-body">Each row is checked and stored on its own; a rejected row stores nothing and says which column to fix. Uploading the same file again stores nothing twice.</p>
      ${outcome.result ? importResults(outcome.result) : ''}
      ${uploadForm(principal.role, c.csrf!, outcome.chosen, problem && !problem.errors?.length ? problem.detail : undefined)}
      ${recent ? recentSubmissionsSection(recent) : ''}
      ${quality ? dataQualitySection(quality, {}, 'Your data quality') : ''}`,
      ),
      status,
    );
  };

  app.get('/app/upload', { config: { pageRoles: SUBMITTING_ROLES } }, async (request, reply) =>
    uploadPage(request, reply),
  );

  const templateFile = Type.Object({ file: Type.String({ pattern: '^[A-Za-z]+\\.(csv|xlsx)$' }) });
  app.get(
    '/app/upload/templates/:file',
    {
      config: { pageRoles: SUBMITTING_ROLES },
      schema: { params: templateFile },
    },
    async (request, reply) => {
      const file = (request.params as { file: string }).file;
      const type = file.replace(/\.(csv|xlsx)$/, '');
      if (!(EventTypes as string[]).includes(type))
        throw new HttpProblem(404, 'not-found', 'No such template', undefined, `There is no event type ${type}`);
      if (file.endsWith('.xlsx')) {
        return reply
          .type(XLSX_CONTENT_TYPE)
          .header('content-disposition', `attachment; filename="${type}.xlsx"`)
          .send(await xlsxTemplate(type));
      }
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${type}.csv"`)
        .send(csvTemplate(type));
    },
  );

  const formExpired = () =>
    new HttpProblem(403, 'csrf-failed', 'The form has expired', undefined, 'Reload the page and upload again.');
  const fileRequired = () =>
    new HttpProblem(422, 'file-required', 'Choose a CSV file', undefined, 'Choose a CSV file to upload');
  app.post('/app/upload', { config: { pageRoles: SUBMITTING_ROLES } }, async (request, reply) => {
    if (!request.isMultipart())
      throw new HttpProblem(415, 'unsupported-media-type', 'Send the form as multipart/form-data');
    const principal = request.webPrincipal!;
    const imports = { ingest: deps.ingest, uploads: deps.uploads };
    const fields: Record<string, string> = {};
    let outcome: Parameters<typeof uploadPage>[2] | null = null;
    for await (const part of request.parts()) {
      if (part.type !== 'file') {
        fields[part.fieldname] = String(part.value);
        continue;
      }
      // The form sends its fields before the file: they are checked before a byte of the file is read, and the file
      // is read only in its upload turn, as a stream (a workbook whole, within the size limit), like the API's.
      if (!csrfValid(secret, request.webSession!.sid, fields._csrf)) {
        part.file.resume();
        throw formExpired();
      }
      const type = fields.eventType ?? '';
      if (!submittableTypes(principal.role).includes(type as EventType)) {
        part.file.resume();
        outcome = {
          problem: new HttpProblem(422, 'validation-failed', 'Choose an event type', [
            { field: 'eventType', rule: 'enum', message: 'Choose one of the listed event types' },
          ]),
        };
      } else if (part.filename === '') {
        part.file.resume();
        outcome = { chosen: type, problem: fileRequired() };
      } else {
        try {
          const result = await inUploadTurn(imports, () =>
            importFile(imports, principal, type as EventType, part.file, request.id),
          );
          outcome = { result, chosen: type };
        } catch (err) {
          // Too many uploads at once is for the person to retry, like a refusal of the file.
          if (!(err instanceof HttpProblem && (err.statusCode < 500 || err.code === 'uploads-busy'))) throw err;
          // What the refusal left unread is read and dropped, so the answer can reach the browser.
          part.file.resume();
          outcome = { problem: err, chosen: type };
        }
      }
    }
    if (!outcome) {
      if (!csrfValid(secret, request.webSession!.sid, fields._csrf)) throw formExpired();
      outcome = { chosen: fields.eventType, problem: fileRequired() };
    }
    return uploadPage(request, reply, outcome);
  });

  // The same evidence pack as GET /v1/audit/evidence-pack, for a funder signed in to the dashboard.
  app.get(
    '/app/download/evidence-pack',
    {
      config: { pageRoles: ['funder', 'commissioner', 'admin'] },
      schema: { querystring: Type.Object({ grantRef: GrantRef }, { additionalProperties: false }) },
    },
    async (request, reply) => {
      const { grantRef } = request.query as { grantRef: string };
      if (!deps.auditMonitor.key) throw new HttpProblem(503, 'audit-key-not-configured', 'Evidence packs unavailable');
      let pack: Awaited<ReturnType<typeof grantEvidencePack>>;
      try {
        pack = await grantEvidencePack(sql, deps.auditMonitor.key, grantRef);
      } catch (err) {
        if (!(err instanceof EvidenceNotReady)) throw err;
        reply.header('retry-after', '60');
        throw new HttpProblem(503, 'evidence-not-ready', 'Evidence pack not ready', undefined, err.message);
      }
      if (!pack) throw new HttpProblem(404, 'not-found', 'No such grant');
      return reply
        .type('application/json')
        .header('content-disposition', `attachment; filename="evidence-pack-${grantRef}.json"`)
        .send(pack);
    },
  );

  app.get(
    '/app/download/:file',
    {
      config: { pageRoles: ['provider', 'commissioner', 'funder', 'admin'] },
      schema: {
        params: Type.Object({ file: Type.String({ pattern: '^[a-z-]+\\.(csv|xlsx)$' }) }),
        querystring: Type.Object(
          { ...ReportQuery.properties, grantRef: Type.Optional(GrantRef) },
          { additionalProperties: false },
        ),
      },
      preValidation: async (request) => dropEmpty(request),
    },
    async (request, reply) => {
      const file = (request.params as { file: string }).file;
      const name = file.replace(/\.(csv|xlsx)$/, '') as ReportName;
      if (!REPORT_NAMES.includes(name)) throw new HttpProblem(404, 'not-found', 'No such download');
      const principal = request.webPrincipal!;
      if (!mayRead(principal, name)) throw new HttpProblem(403, 'forbidden', 'You cannot download this report');
      const report = await REPORTS[name].run(sql, principal, withDefaultPeriod(principal, request.query as Filters));
      if (file.endsWith('.xlsx')) {
        // The same workbook as the API's (figures with [c] where withheld, and definitions).
        return reply
          .type(XLSX_CONTENT_TYPE)
          .header('content-disposition', `attachment; filename="${name}.xlsx"`)
          .header(DISCLOSURE_HEADER, disclosureHeader(report.disclosure))
          .send(await reportWorkbook(report, name));
      }
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}.csv"`)
        .header('x-report-position', report.position)
        .header(DISCLOSURE_HEADER, disclosureHeader(report.disclosure))
        .send(toCsv(report.rows));
    },
  );
}
