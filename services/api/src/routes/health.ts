import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemDetails } from '@vru/contracts';

export interface HealthDeps {
  checks: Record<string, () => Promise<void>>;
}

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout(p: Promise<void>): Promise<void> {
  return Promise.race([
    p,
    new Promise<void>((_, reject) => setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS).unref()),
  ]);
}

export const healthRoutes: FastifyPluginAsyncTypebox<HealthDeps> = async (app, deps) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        operationId: 'health',
        summary: 'The process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        operationId: 'ready',
        summary: 'The database and the broker are reachable',
        response: {
          200: Type.Object({ status: Type.Literal('ready'), checks: Type.Record(Type.String(), Type.String()) }),
          503: Type.Object({ status: Type.Literal('unavailable'), checks: Type.Record(Type.String(), Type.String()) }),
        },
      },
    },
    async (_request, reply) => {
      const names = Object.keys(deps.checks);
      const settled = await Promise.allSettled(names.map((n) => withTimeout(deps.checks[n]!())));
      const checks = Object.fromEntries(
        names.map((n, i) => [n, settled[i]!.status === 'fulfilled' ? 'ok' : 'unavailable']),
      );
      const ok = settled.every((s) => s.status === 'fulfilled');
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks } as never);
    },
  );
};
export { ProblemDetails };
