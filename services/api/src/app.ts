import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiKeyVerifier, EventStore, GroupCommit, loggerOptions, type Config, type Sql } from '@vru/platform';
import { authPlugin } from './auth.js';
import { errorHandler, HttpProblem, sendProblem } from './problem.js';
import { openapiOptions } from './openapi.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { reportRoutes } from './routes/reports.js';

export interface AppDeps {
  config: Config;
  sql: Sql;
  /** Named readiness checks, e.g. database and broker. */
  readinessChecks?: Record<string, () => Promise<void>>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/** Builds the API as a plugin tree without listening: tests use inject, server.ts listens. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, sql } = deps;
  const app = Fastify({
    logger: loggerOptions(config.LOG_LEVEL, 'api'),
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    // A client-supplied request id (if well formed) becomes the correlation id stored with its events.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true, useDefaults: true } },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  }).withTypeProvider<TypeBoxTypeProvider>();

  const store = new EventStore(sql, config.PSEUDONYM_SECRET);
  const groupCommit = new GroupCommit(store, config.APPEND_MAX_IN_FLIGHT);
  const verifier = new ApiKeyVerifier(sql, config.API_KEY_PEPPER);

  app.decorate('store', store);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => sendProblem(reply, new HttpProblem(404, 'not-found', 'Not found', undefined, `No route for ${request.method} ${request.url.split('?')[0]}`)));

  await app.register(swagger, openapiOptions);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(authPlugin, { verifier });
  await app.register(eventRoutes, { sql, store, groupCommit, pseudonymSecret: config.PSEUDONYM_SECRET });
  await app.register(reportRoutes, { sql });
  await app.register(healthRoutes, {
    checks: deps.readinessChecks ?? { database: async () => void (await sql`select 1`) },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    store: EventStore;
  }
}
