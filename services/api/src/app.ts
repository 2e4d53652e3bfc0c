import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { loggerOptions, recordHttpRequest, watchOutbox, type Config, type Sql } from '@vru/runtime';
import { ApiKeyVerifier } from './api-keys.js';
import { CommandHandler } from './ingest/command-handler.js';
import { GroupCommit } from './ingest/group-commit.js';
import { Ingest } from './ingest/ingest.js';
import { authPlugin } from './auth.js';
import { clientErrorHandler, errorHandler, HttpProblem, parseJsonBody, sendProblem } from './problem.js';
import { openapiOptions } from './openapi.js';
import { securityHeadersPlugin } from './security-headers.js';
import { erasureRoutes, eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { reportRoutes } from './routes/reports.js';
import { importRoutes } from './routes/imports.js';
import { UploadGate } from './csv-upload.js';
import { outcomeReportRoutes } from './routes/outcome-reports.js';
import { impactReportRoutes } from './routes/impact-report.js';
import { qualityReportRoutes } from './routes/quality-reports.js';
import { auditRoutes, evidenceRoutes } from './routes/audit.js';
import { adminRoutes } from './routes/admin.js';
import { quarterlyReturnRoutes } from './routes/quarterly-return.js';
import { performanceRoutes } from './routes/performance.js';
import { returnRoutes } from './routes/returns.js';
import { webRoutes } from './web/index.js';
import { AuditMonitor } from './audit/monitor.js';
import { pinnedAuditKey } from '@vru/event-store';

export type { ProtectedRoute } from './auth.js';

export interface AppDeps {
  config: Config;
  sql: Sql;
  /** Named readiness checks, e.g. database and broker. */
  readinessChecks?: Record<string, () => Promise<void>>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;
// W3C trace context: version-traceid-parentid-flags; an all-zero trace id is invalid.
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The request id, which becomes the correlation id stored with its events: the caller's `x-request-id` if well
 * formed, else the trace id of a valid `traceparent`, else a new UUID. Anything else is ignored, never echoed.
 */
export function requestIdFrom(headers: Record<string, string | string[] | undefined>): string {
  const given = headers['x-request-id'];
  if (typeof given === 'string' && REQUEST_ID.test(given)) return given;
  const trace = headers.traceparent;
  const traceId = typeof trace === 'string' ? TRACEPARENT.exec(trace.trim())?.[1] : undefined;
  if (traceId && !/^0+$/.test(traceId)) return traceId;
  return randomUUID();
}

/** Builds the API as a plugin tree without listening: tests use inject, server.ts listens. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, sql } = deps;
  const app = Fastify({
    logger: loggerOptions(config.LOG_LEVEL, 'api'),
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    // A client-supplied request id (if well formed) becomes the correlation id stored with its events.
    genReqId: (req) => requestIdFrom(req.headers),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true, useDefaults: true } },
    // Malformed percent-encoding and over-long path parameters are refused before routing; they answer problems too.
    frameworkErrors: (error, request, reply) => {
      errorHandler(error, request, reply);
    },
    clientErrorHandler,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  }).withTypeProvider<TypeBoxTypeProvider>();

  const commands = new CommandHandler(sql, config.PSEUDONYM_SECRET, config.PERSONAL_DATA_KEY);
  const ingest = new Ingest(sql, new GroupCommit(commands, config.APPEND_MAX_IN_FLIGHT));
  const uploads = new UploadGate();
  const verifier = new ApiKeyVerifier(sql, config.API_KEY_PEPPER);
  // Audit verification uses the pinned key from settings only; the drift check runs on its own schedule too.
  const auditMonitor = new AuditMonitor(sql, pinnedAuditKey(config), app.log);
  auditMonitor.start(config.AUDIT_DRIFT_CHECK_MS);
  app.addHook('onClose', async () => auditMonitor.stop());

  app.decorate('commands', commands);
  // Callback hooks, not async ones: each runs on every request, and an async hook costs a promise per request.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  // Prometheus metrics: routes by pattern (never the URL, which can hold a participantRef); outbox gauges on scrape.
  // Added before the plugins so the hook reaches every route. The scrape itself is served on a listener of its own
  // (server.ts, API_METRICS_PORT), never on the public port.
  watchOutbox(sql);
  app.addHook('onClose', async () => watchOutbox(null));
  app.addHook('onResponse', (request, reply, done) => {
    recordHttpRequest(request.routeOptions.url, request.method, reply.statusCode, reply.elapsedTime);
    done();
  });
  app.setErrorHandler(errorHandler);
  // JSON bodies: a parse error says where the JSON broke, and a valid body that uses __proto__ or constructor.prototype
  // (names that could alter objects on the server) is refused saying so, rather than called invalid JSON.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      new HttpProblem(
        404,
        'not-found',
        'Not found',
        undefined,
        `No route for ${request.method} ${request.url.split('?')[0]}`,
      ),
    ),
  );

  // Security headers everywhere; the docs page needs its own scripts and styles, so CSP stays off for it.
  await app.register(securityHeadersPlugin);
  // Per key once its secret has been checked (the verifier's cache), otherwise per client address: a made-up key
  // id in a header never opens a fresh bucket, and one charity's runaway script cannot starve the others.
  await app.register(rateLimit, {
    max: config.RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (request) => {
      const m = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
      const principal = m ? verifier.cached(m[1]!) : null;
      return principal ? `key:${principal.keyId}` : `ip:${request.ip}`;
    },
    errorResponseBuilder: (_request, context) =>
      new HttpProblem(
        429,
        'rate-limited',
        'Too many requests',
        undefined,
        `Limit of ${context.max} requests per minute; retry after ${context.after}`,
      ),
    // Not as route hooks: those would run after authentication, and a request with a wrong key would never be counted.
    global: false,
  });
  app.addHook('onRequest', app.rateLimit());
  await app.register(swagger, openapiOptions);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(authPlugin, { verifier });
  await app.register(eventRoutes, { sql, commands, ingest, pseudonymSecret: config.PSEUDONYM_SECRET });
  await app.register(erasureRoutes, { sql, commands, ingest, pseudonymSecret: config.PSEUDONYM_SECRET });
  await app.register(importRoutes, { ingest, uploads });
  await app.register(reportRoutes, { sql });
  await app.register(outcomeReportRoutes, { sql });
  await app.register(impactReportRoutes, { sql });
  await app.register(qualityReportRoutes, { sql });
  await app.register(auditRoutes, { sql, monitor: auditMonitor });
  await app.register(evidenceRoutes, { sql, vault: commands.vault });
  await app.register(adminRoutes, { sql, commands, verifier, pepper: config.API_KEY_PEPPER });
  await app.register(quarterlyReturnRoutes, { sql });
  await app.register(performanceRoutes, { sql });
  await app.register(returnRoutes, { sql, codeCommit: config.CODE_COMMIT });
  // The dashboard (HTML pages under /app), in its own scope with its own cookie, form and multipart parsers.
  await app.register(webRoutes, { config, sql, ingest, uploads, verifier, auditMonitor });
  await app.register(healthRoutes, {
    checks: deps.readinessChecks ?? {
      database: async () => {
        await sql`select 1`;
      },
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    commands: CommandHandler;
  }
}
