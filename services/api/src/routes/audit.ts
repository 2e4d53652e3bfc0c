import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ProblemDetails } from '@vru/contracts';
import { verifyAudit, type Sql } from '@vru/platform';
import { REPORT_ROLES } from './reports.js';

const Hash = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Position = Type.String({ pattern: '^\\d+$', description: 'Event log position (a decimal string: it is a 64-bit integer).' });

export const AuditVerification = Type.Object({
  ok: Type.Boolean({ description: 'True when every link recomputes and the latest checkpoint is validly signed and still on the chain.' }),
  checked: Type.Integer({ minimum: 0, description: 'Chain links recomputed from the events table.' }),
  headPosition: Type.Union([Position, Type.Null()]),
  headHash: Hash,
  unchainedBelowHead: Type.Integer({ minimum: 0, description: 'Events below the head that were never chained (committed after the chainer passed them).' }),
  firstBroken: Type.Optional(Type.Object({
    position: Position,
    reason: Type.Union([Type.Literal('hash-mismatch'), Type.Literal('missing-event'), Type.Literal('reordered')]),
  }, { additionalProperties: false })),
  checkpoint: Type.Union([Type.Object({
    id: Type.Optional(Type.String()),
    position: Position,
    headHash: Hash,
    signature: Type.String({ description: 'Ed25519 signature of "<position>:<headHash>", base64.' }),
    publicKey: Type.String({ description: 'SPKI PEM public key that checks the signature.' }),
    signedAt: Type.Optional(Type.String({ format: 'date-time' })),
    signatureValid: Type.Boolean(),
    matchesChain: Type.Boolean(),
  }, { additionalProperties: false }), Type.Null()]),
}, { additionalProperties: false, title: 'AuditVerification' });

export const auditRoutes: FastifyPluginAsyncTypebox<{ sql: Sql }> = async (app, { sql }) => {
  app.get('/v1/audit/verify', {
    config: { roles: REPORT_ROLES['audit'] },
    schema: {
      tags: ['reports'],
      operationId: 'verifyAuditChain',
      summary: 'Recompute the tamper-evident hash chain over the event log',
      description: 'Recomputes every link of the global hash chain from the stored events in position order and reports the first broken link (hash-mismatch: an event was altered; missing-event: an event or link was removed; reordered: links out of order), together with the latest signed checkpoint. The newest events are covered once chained, a few seconds after they are recorded. Save the checkpoint and check it offline with scripts/audit-verify.',
      response: { 200: AuditVerification, 401: ProblemDetails, 403: ProblemDetails, 503: ProblemDetails },
    },
  }, async () => verifyAudit(sql));
};
