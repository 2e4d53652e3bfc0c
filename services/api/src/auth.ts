import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Role } from '@vru/contracts';
import type { Principal } from '@vru/contracts';
import type { ApiKeyVerifier } from './api-keys.js';
import { HttpProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyInstance {
    /** Every route behind authentication, with its roles: what the role-matrix tests enumerate. */
    protectedRoutes: ProtectedRoute[];
  }
  interface FastifyContextConfig {
    /** Roles allowed on the route. Routes without it are public (health, docs). */
    roles?: readonly Role[];
  }
}

export interface ProtectedRoute {
  method: string;
  url: string;
  roles: readonly Role[];
}

/**
 * Authentication, role checks and tenant isolation in one place: every route declares `config.roles`, and this
 * hook refuses a missing or wrong key with 401 and a role outside the list with 403 before any handler runs.
 * A provider key is confined to its own provider (`tenantOf`, from the key, never from the request): a request
 * that names another provider (`providerId` in the query string) is refused here with 403, and reports scope
 * their rows with `reportScope`.
 * Participant streams are keyed by provider too (pseudonym.ts), so another provider's participant cannot even
 * be addressed.
 */
export const authPlugin = fp(
  async (app: FastifyInstance, opts: { verifier: ApiKeyVerifier }) => {
    app.decorateRequest('principal', null as unknown as Principal);
    const registry: ProtectedRoute[] = [];
    app.decorate('protectedRoutes', registry);
    app.addHook('onRoute', (route) => {
      const roles = route.config?.roles;
      if (!roles) return;
      for (const method of [route.method].flat())
        if (method !== 'HEAD') registry.push({ method, url: route.url, roles });
    });
    app.addHook('onRequest', async (request: FastifyRequest) => {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- typed as always set; kept for requests no route matched
      const roles = request.routeOptions.config?.roles;
      if (!roles) return;
      const header = request.headers.authorization;
      const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
      if (!match)
        throw new HttpProblem(
          401,
          'unauthenticated',
          'Authentication required',
          undefined,
          'Send Authorization: Bearer <api key>',
        );
      const principal = await opts.verifier.verify(match[1]!);
      if (!principal)
        throw new HttpProblem(401, 'unauthenticated', 'Authentication required', undefined, 'The API key is not valid');
      if (!roles.includes(principal.role))
        throw new HttpProblem(
          403,
          'forbidden',
          'Not allowed',
          undefined,
          `This needs one of the roles: ${roles.join(', ')}`,
        );
      const named = (request.query as { providerId?: unknown } | undefined)?.providerId;
      refuseOtherProvider(principal, named);
      request.principal = principal;
      request.log = request.log.child({ keyId: principal.keyId, role: principal.role });
    });
  },
  { name: 'vru-auth' },
);

/** The one provider a key may see and touch; null for roles that see every provider. */
export function tenantOf(principal: Principal): string | null {
  return principal.role === 'provider' ? principal.providerId : null;
}

function refuseOtherProvider(principal: Principal, requested: unknown): void {
  const tenant = tenantOf(principal);
  if (tenant !== null && requested !== undefined && requested !== tenant) {
    throw new HttpProblem(403, 'other-provider', 'Not allowed', [
      {
        field: '/querystring/providerId',
        rule: 'other-provider',
        message: "A provider key reads and writes its own provider's data only",
      },
    ]);
  }
}

/**
 * Which provider's rows a report shows, for the API and the dashboard alike: the key's own provider for a
 * provider key (unsuppressed: it is their own data), otherwise the requested provider or all of them, with
 * small-number suppression. A provider key asking for another provider is refused.
 */
export function reportScope(principal: Principal, requested?: string): { provider: string | null; suppress: boolean } {
  refuseOtherProvider(principal, requested);
  const tenant = tenantOf(principal);
  return { provider: tenant ?? requested ?? null, suppress: tenant === null };
}
