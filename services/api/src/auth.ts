import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Role } from '@vru/contracts';
import type { ApiKeyVerifier, Principal } from '@vru/platform';
import { HttpProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** Roles allowed on the route. Routes without it are public (health, docs). */
    roles?: readonly Role[];
  }
}

/**
 * Authentication and role checks in one place: every route declares `config.roles`, and this hook refuses
 * a missing or wrong key with 401 and a role outside the list with 403 before any handler runs.
 */
export const authPlugin = fp(
  async (app: FastifyInstance, opts: { verifier: ApiKeyVerifier }) => {
    app.decorateRequest('principal', null as unknown as Principal);
    app.addHook('onRequest', async (request: FastifyRequest) => {
      const roles = request.routeOptions.config?.roles;
      if (!roles) return;
      const header = request.headers.authorization;
      const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
      if (!match) throw new HttpProblem(401, 'unauthenticated', 'Authentication required', undefined, 'Send Authorization: Bearer <api key>');
      const principal = await opts.verifier.verify(match[1]!);
      if (!principal) throw new HttpProblem(401, 'unauthenticated', 'Authentication required', undefined, 'The API key is not valid');
      if (!roles.includes(principal.role)) throw new HttpProblem(403, 'forbidden', 'Not allowed', undefined, `This needs one of the roles: ${roles.join(', ')}`);
      request.principal = principal;
      request.log = request.log.child({ keyId: principal.keyId, role: principal.role });
    });
  },
  { name: 'vru-auth' },
);
