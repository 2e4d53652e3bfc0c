import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { GrantRef, ProblemDetails, upcast } from '@vru/contracts';
import { grantStreamId, verifyAudit } from '@vru/event-store';
import type { Sql } from '@vru/runtime';
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
  // A verification reads the whole log: requests that arrive while one runs share its answer rather than start another.
  let running: ReturnType<typeof verifyAudit> | null = null;
  const verifyOnce = () => (running ??= verifyAudit(sql).finally(() => { running = null; }));

  app.get('/v1/audit/verify', {
    config: { roles: REPORT_ROLES['audit'] },
    schema: {
      tags: ['audit'],
      operationId: 'verifyAuditChain',
      summary: 'Recompute the tamper-evident hash chain over the event log',
      description: 'Recomputes every link of the global hash chain from the stored events in position order and reports the first broken link (hash-mismatch: an event was altered; missing-event: an event or link was removed; reordered: links out of order), together with the latest signed checkpoint. The newest events are covered once chained, a few seconds after they are recorded. Save the checkpoint and check it offline with scripts/audit-verify.',
      response: { 200: AuditVerification, 401: ProblemDetails, 403: ProblemDetails, 503: ProblemDetails },
    },
  }, async () => verifyOnce());
};

export const EvidenceTrail = Type.Object({
  grantRef: Type.String(),
  providerId: Type.Union([Type.String(), Type.Null()]),
  events: Type.Array(Type.Object({
    position: Position,
    eventId: Type.String({ format: 'uuid' }),
    streamVersion: Type.Integer(),
    type: Type.String(),
    schemaVersion: Type.Integer(),
    occurredAt: Type.String({ format: 'date-time' }),
    recordedAt: Type.String({ format: 'date-time' }),
    data: Type.Record(Type.String(), Type.Unknown(), { description: 'The event as submitted (read as the latest schema version).' }),
    submittedBy: Type.Object({
      keyId: Type.String({ description: 'The API key that submitted it (see GET /v1/admin/keys).' }),
      role: Type.String(),
      keyLabel: Type.Union([Type.String(), Type.Null()]),
      source: Type.String({ description: 'api, batch or csv.' }),
      requestId: Type.String({ description: 'Correlation id of the HTTP request.' }),
    }, { additionalProperties: false }),
    chain: Type.Union([Type.Object({ prevHash: Hash, hash: Hash }, { additionalProperties: false }), Type.Null()], {
      description: 'The event\'s link in the audit hash chain (null until chained, a few seconds after recording).',
    }),
  }, { additionalProperties: false })),
}, { additionalProperties: false, title: 'EvidenceTrail' });

export const evidenceRoutes: FastifyPluginAsyncTypebox<{ sql: Sql }> = async (app, { sql }) => {
  app.get('/v1/audit/events', {
    config: { roles: REPORT_ROLES.audit },
    schema: {
      tags: ['audit'],
      operationId: 'grantEvidenceTrail',
      summary: "The evidence trail behind a grant's spend figures",
      description: 'Every event of the grant (award, spend, corrections) in order: what was submitted, when it happened and was recorded, which API key submitted it from which request, and its link in the hash chain, which GET /v1/audit/verify and scripts/audit-verify recompute.',
      querystring: Type.Object({ grantRef: GrantRef }, { additionalProperties: false }),
      response: { 200: EvidenceTrail, 400: ProblemDetails, 401: ProblemDetails, 403: ProblemDetails, 503: ProblemDetails },
    },
  }, async (request) => {
    const rows = await sql<{
      position: bigint; event_id: string; stream_version: number; type: string; schema_version: number; provider_id: string;
      occurred_at: Date; recorded_at: Date; data: Record<string, unknown>; metadata: { keyId: string; role: string; source: string; requestId: string };
      label: string | null; prev_hash: string | null; hash: string | null;
    }[]>`
      select e.position, e.event_id, e.stream_version, e.type, e.schema_version, e.provider_id, e.occurred_at, e.recorded_at,
             e.data, e.metadata, k.label, c.prev_hash, c.hash
      from events e
      left join api_keys k on k.key_id = e.metadata->>'keyId'
      left join audit_chain c on c.position = e.position
      where e.stream_id = ${grantStreamId(request.query.grantRef)}
      order by e.stream_version`;
    return {
      grantRef: request.query.grantRef,
      providerId: rows.at(-1)?.provider_id ?? null,
      events: rows.map((r) => ({
        position: r.position.toString(), eventId: r.event_id, streamVersion: r.stream_version, type: r.type,
        ...upcast(r.type, r.schema_version, r.data),
        occurredAt: r.occurred_at.toISOString(), recordedAt: r.recorded_at.toISOString(),
        submittedBy: { keyId: r.metadata.keyId, role: r.metadata.role, keyLabel: r.label, source: r.metadata.source, requestId: r.metadata.requestId },
        chain: r.hash && r.prev_hash ? { prevHash: r.prev_hash, hash: r.hash } : null,
      })),
    };
  });
};
