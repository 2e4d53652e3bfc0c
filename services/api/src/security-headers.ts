import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';

/**
 * Helmet's headers, minus its Content-Security-Policy: the docs page needs its own scripts and styles, and the
 * dashboard sends a policy of its own. With no nonces, helmet's headers are the same on every response, so they are
 * worked out once, by running helmet's middleware on a response that is never sent, and then set per request as a
 * fixed list. (The Fastify plugin builds helmet's middleware again on every request, with two hooks.)
 */
export function securityHeaders(): Readonly<Record<string, string>> {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  helmet({ contentSecurityPolicy: false })(res.req, res, (err?: unknown) => {
    // Helmet 8 throws its errors; an older one passed them here.
    if (err instanceof Error) throw err;
  });
  return Object.freeze(
    Object.fromEntries(
      Object.entries(res.getHeaders()).map(([name, value]) => [
        name,
        Array.isArray(value) ? value.join(', ') : String(value),
      ]),
    ),
  );
}

/** Sets the security headers on every response of the instance it is registered on, errors and 404s included. */
export const securityHeadersPlugin = fp(
  async (app: FastifyInstance) => {
    const headers = securityHeaders();
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers);
      done();
    });
  },
  { name: 'vru-security-headers' },
);
