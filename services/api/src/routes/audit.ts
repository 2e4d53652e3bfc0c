import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { GrantRef, ProblemDetails } from '@vru/contracts';
import {
  consistencyProof,
  ENTRY_COLUMNS,
  eventColumns,
  grantStreamId,
  inclusionProof,
  latestSignedHead,
  storedEntry,
  toStoredEvent,
  treeSize,
  upcastEvent,
  type AuditEventRow,
  type EventRow,
  type LogVerification,
  type PersonalDataVault,
} from '@vru/event-store';
import type { Sql } from '@vru/runtime';
import { AUDIT_LOG_ROUTES, toBase64, type VerifierKey } from '@vru/verifier';
import { EvidenceNotReady, grantEvidencePack, type AuditMonitor } from '../audit/monitor.js';
import { HttpProblem } from '../problem.js';
import { REPORT_ROLES } from '../reports/index.js';

const Base64Hash = Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$', description: 'SHA-256 hash, base64.' });
const Position = Type.String({
  pattern: '^\\d+$',
  description: 'Event log position (a decimal string: it is a 64-bit integer).',
});
const TreeSize = Type.Integer({ minimum: 0, description: 'Number of leaves (events) in the Merkle tree.' });

const SignedHead = Type.Object(
  {
    id: Type.String(),
    size: TreeSize,
    rootHash: Base64Hash,
    timestamp: Type.String({ format: 'date-time' }),
    checkpoint: Type.String({
      description: 'The signed tree head as a C2SP signed note: save it and check it with scripts/verify.',
    }),
  },
  { additionalProperties: false },
);

const SpendFiguresSchema = Type.Object(
  {
    grantRef: Type.String(),
    providerId: Type.String(),
    programmeId: Type.String(),
    awardedPence: Type.Integer(),
    spentPence: Type.Integer(),
    remainingPence: Type.Integer(),
    spentByCategory: Type.Record(Type.String(), Type.Integer()),
    spentByQuarter: Type.Record(Type.String(), Type.Integer()),
  },
  { additionalProperties: false },
);

export const DriftCheckSchema = Type.Object(
  {
    ok: Type.Boolean({
      description: "True when every grant's spend figures in the read model equal those re-computed from the log.",
    }),
    checkedAt: Type.String({ format: 'date-time' }),
    grantsChecked: Type.Integer({ minimum: 0 }),
    drift: Type.Array(
      Type.Object(
        {
          grantRef: Type.String(),
          field: Type.String(),
          log: Type.Unknown(),
          readModel: Type.Unknown(),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, title: 'SpendDriftCheck' },
);

export const AuditVerification = Type.Object(
  {
    ok: Type.Boolean({
      description:
        'True when no problem was found: every leaf checked re-computes from its event, every stored head is signed by ' +
        'the pinned key and matches the log, and the spend read model agrees with the log.',
    }),
    full: Type.Boolean({
      description: 'Whether every leaf was re-computed (full=true) or only those new since the last verified head.',
    }),
    treeSize: TreeSize,
    leavesChecked: Type.Integer({ minimum: 0 }),
    headsChecked: Type.Integer({ minimum: 0 }),
    latestHead: Type.Union([SignedHead, Type.Null()], {
      description: 'The latest stored head signed by the pinned key.',
    }),
    problems: Type.Array(
      Type.Object(
        {
          kind: Type.Union(
            [
              Type.Literal('event-changed'),
              Type.Literal('event-missing'),
              Type.Literal('head-not-signed'),
              Type.Literal('head-root-mismatch'),
              Type.Literal('truncated'),
              Type.Literal('tree-mismatch'),
              Type.Literal('spend-drift'),
            ],
            {
              description:
                'event-changed / event-missing: the event at that position is not the one logged; head-not-signed: a stored ' +
                "head the pinned key did not sign; head-root-mismatch: the log no longer has a signed head's root (a rewrite); truncated: a " +
                'signed head is larger than the log; tree-mismatch: the stored subtrees proofs are served from disagree with the events; ' +
                'spend-drift: the spend read model differs from the log.',
            },
          ),
          message: Type.String(),
          leafIndex: Type.Optional(Type.Integer({ minimum: 0 })),
          position: Type.Optional(Position),
          headId: Type.Optional(Type.String()),
          headSize: Type.Optional(TreeSize),
          grantRef: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    drift: Type.Union([DriftCheckSchema, Type.Null()], {
      description: 'The latest drift check of the spend read model against the log.',
    }),
  },
  { additionalProperties: false, title: 'AuditVerification' },
);

export const ConsistencyProof = Type.Object(
  {
    from: TreeSize,
    to: TreeSize,
    proof: Type.Array(Base64Hash, { description: 'RFC 9162 consistency proof, section 2.1.4.' }),
  },
  { additionalProperties: false, title: 'ConsistencyProof' },
);

export const InclusionProof = Type.Object(
  {
    eventId: Type.String({ format: 'uuid' }),
    position: Position,
    leafIndex: Type.Integer({ minimum: 0 }),
    treeSize: TreeSize,
    entry: Type.String({
      description: "The event's stored form as canonical JSON (personal fields sealed): the bytes its leaf hashes.",
    }),
    proof: Type.Array(Base64Hash, { description: 'RFC 9162 audit path, section 2.1.3.' }),
  },
  { additionalProperties: false, title: 'InclusionProof' },
);

export const EvidencePack = Type.Object(
  {
    format: Type.Literal('vru-evidence-pack'),
    version: Type.Literal(1),
    subject: Type.Object({ kind: Type.Literal('grant'), grantRef: Type.String() }, { additionalProperties: false }),
    checkpoint: Type.String({ description: 'The signed tree head the proofs lead to.' }),
    events: Type.Array(
      Type.Object(
        {
          leafIndex: Type.Integer({ minimum: 0 }),
          entry: Type.String(),
          inclusionProof: Type.Array(Base64Hash),
        },
        { additionalProperties: false },
      ),
    ),
    figures: SpendFiguresSchema,
  },
  { additionalProperties: false, title: 'GrantEvidencePack' },
);

const errors = { 401: ProblemDetails, 403: ProblemDetails, 503: ProblemDetails };
const invalidQuery = (field: string, message: string) =>
  new HttpProblem(400, 'validation-failed', 'Invalid query', [{ field, rule: 'maximum', message }]);
const noKey = () =>
  new HttpProblem(
    503,
    'audit-key-not-configured',
    'Audit verification unavailable',
    undefined,
    'AUDIT_PUBLIC_KEY (the pinned verifier key) is not configured',
  );

export function verificationBody(result: LogVerification, drift: AuditMonitor['drift']) {
  const head = result.latestHead;
  const driftProblems = (drift?.drift ?? []).map((d) => ({
    kind: 'spend-drift' as const,
    grantRef: d.grantRef,
    message: `grant ${d.grantRef}: ${d.field} is ${JSON.stringify(d.readModel)} in the read model, ${JSON.stringify(d.log)} in the log`,
  }));
  return {
    ok: result.ok && (drift?.ok ?? true),
    full: result.full,
    treeSize: result.treeSize,
    leavesChecked: result.leavesChecked,
    headsChecked: result.headsChecked,
    latestHead: head
      ? {
          id: head.id,
          size: head.size,
          rootHash: toBase64(head.rootHash),
          timestamp: new Date(head.timestamp).toISOString(),
          checkpoint: head.checkpoint,
        }
      : null,
    problems: [...result.problems, ...driftProblems],
    drift,
  };
}

export const auditRoutes: FastifyPluginAsyncTypebox<{ sql: Sql; monitor: AuditMonitor }> = async (
  app,
  { sql, monitor },
) => {
  const pinned = (): VerifierKey => {
    if (!monitor.key) throw noKey();
    return monitor.key;
  };
  const roles = REPORT_ROLES.audit;

  app.get(
    '/v1/audit/verify',
    {
      config: { roles },
      schema: {
        tags: ['audit'],
        operationId: 'verifyAuditLog',
        summary: 'Verify the Merkle audit log against the pinned key, and the spend read model against the log',
        description:
          'Re-computes each leaf of the audit log from its event as stored now, folds the tree and checks every stored signed ' +
          'tree head with the pinned key AUDIT_PUBLIC_KEY (never a key from the database): a head signed by another key, a ' +
          'head whose root the log no longer has (a rewrite), a head larger than the log (a truncation), and an event that is ' +
          'not the one logged are each reported with the leaf, position or head they concern. Incremental by default (only ' +
          "what is new since the last verified head); full=true re-computes every leaf. Also re-computes every grant's spend " +
          'from the log and compares it with the spend read model.',
        querystring: Type.Object(
          { full: Type.Optional(Type.Boolean({ default: false })) },
          { additionalProperties: false },
        ),
        response: { 200: AuditVerification, 400: ProblemDetails, ...errors },
      },
    },
    async (request) => {
      pinned();
      const [result, drift] = await Promise.all([monitor.verify(request.query.full === true), monitor.driftCheck()]);
      return verificationBody(result, drift);
    },
  );

  app.get(
    AUDIT_LOG_ROUTES.checkpoint,
    {
      config: { roles },
      schema: {
        tags: ['audit'],
        operationId: 'latestSignedTreeHead',
        summary: 'The latest signed tree head (a C2SP checkpoint), as text',
        description:
          'The latest head signed by the pinned key: origin, tree size, root hash and time, signed with Ed25519. Save it: next ' +
          'month, scripts/verify consistency proves that the log then extends this one.',
        produces: ['text/plain'],
        response: { 200: Type.String(), 404: ProblemDetails, ...errors },
      },
    },
    async (_request, reply) => {
      const signed = await latestSignedHead(sql, pinned());
      if (!signed) {
        const detail = 'The log signs its first head shortly after the first event.';
        throw new HttpProblem(404, 'no-signed-head', 'No signed tree head yet', undefined, detail);
      }
      return reply.type('text/plain; charset=utf-8').send(signed.checkpoint);
    },
  );

  app.get(
    AUDIT_LOG_ROUTES.consistency,
    {
      config: { roles },
      schema: {
        tags: ['audit'],
        operationId: 'consistencyProof',
        summary: 'A consistency proof between two tree sizes',
        description:
          'RFC 9162 consistency proof that the tree of `from` leaves is a prefix of the tree of `to` leaves (1 ≤ from ≤ to ≤ ' +
          'the tree size).',
        querystring: Type.Object(
          { from: Type.Integer({ minimum: 1 }), to: Type.Integer({ minimum: 1 }) },
          { additionalProperties: false },
        ),
        response: { 200: ConsistencyProof, 400: ProblemDetails, ...errors },
      },
    },
    async (request) => {
      const { from, to } = request.query;
      const size = await treeSize(sql);
      if (from > to) throw invalidQuery('/from', 'must not be greater than to');
      if (to > size) throw invalidQuery('/to', `must not be greater than the tree size (${size})`);
      return { from, to, proof: (await consistencyProof(sql, from, to)).map(toBase64) };
    },
  );

  app.get(
    '/v1/audit/log/inclusion',
    {
      config: { roles },
      schema: {
        tags: ['audit'],
        operationId: 'inclusionProof',
        summary: 'An inclusion proof for one event',
        description:
          "The event's stored form (the bytes its leaf hashes; personal fields sealed) and its RFC 9162 audit path in the " +
          "tree of treeSize leaves (default: the latest signed head's size).",
        querystring: Type.Object(
          {
            eventId: Type.String({ format: 'uuid' }),
            treeSize: Type.Optional(Type.Integer({ minimum: 1 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: InclusionProof, 400: ProblemDetails, 404: ProblemDetails, ...errors },
      },
    },
    async (request) => {
      const key = pinned();
      const size = request.query.treeSize ?? (await latestSignedHead(sql, key))?.head.size ?? 0;
      const [row] = await sql.unsafe<(AuditEventRow & { leaf_index: string })[]>(
        `select ${ENTRY_COLUMNS}, l.leaf_index::text from events e join audit_log_leaves l on l.position = e.position where e.event_id = $1`,
        [request.query.eventId],
      );
      if (!row || Number(row.leaf_index) >= size) {
        throw new HttpProblem(
          404,
          'not-in-log',
          'Event not in the log at that size',
          undefined,
          'The event is unknown or not yet under the tree size asked for (events join the log a few seconds after they are recorded).',
        );
      }
      if (size > (await treeSize(sql))) {
        throw invalidQuery('/treeSize', 'must not be greater than the tree size');
      }
      const leafIndex = Number(row.leaf_index);
      return {
        eventId: row.event_id,
        position: row.position.toString(),
        leafIndex,
        treeSize: size,
        entry: storedEntry(row),
        proof: (await inclusionProof(sql, leafIndex, size)).map(toBase64),
      };
    },
  );

  app.get(
    '/v1/audit/evidence-pack',
    {
      config: { roles },
      schema: {
        tags: ['audit'],
        operationId: 'grantEvidencePack',
        summary: "A grant's evidence pack, to verify offline with scripts/verify pack",
        description:
          "The grant's spend figures as reported, every event of its stream in stored form (no personal data in clear) with " +
          'its inclusion proof, and the signed tree head the proofs lead to. The offline verifier checks the head against the ' +
          "pinned key, every proof, and re-computes the figures from the events. 503 (retry) while the grant's latest events " +
          'are not yet under a signed head.',
        querystring: Type.Object({ grantRef: GrantRef }, { additionalProperties: false }),
        response: { 200: EvidencePack, 400: ProblemDetails, 404: ProblemDetails, ...errors },
      },
    },
    async (request, reply) => {
      const key = pinned();
      let pack: Awaited<ReturnType<typeof grantEvidencePack>>;
      try {
        pack = await grantEvidencePack(sql, key, request.query.grantRef);
      } catch (err) {
        if (!(err instanceof EvidenceNotReady)) throw err;
        reply.header('retry-after', '60');
        throw new HttpProblem(503, 'evidence-not-ready', 'Evidence pack not ready', undefined, err.message);
      }
      if (!pack)
        throw new HttpProblem(
          404,
          'not-found',
          'No such grant',
          undefined,
          `No events for grant ${request.query.grantRef}`,
        );
      return reply
        .header('content-disposition', `attachment; filename="evidence-pack-${request.query.grantRef}.json"`)
        .send(pack);
    },
  );
};

export const EvidenceTrail = Type.Object(
  {
    grantRef: Type.String(),
    providerId: Type.Union([Type.String(), Type.Null()]),
    events: Type.Array(
      Type.Object(
        {
          position: Position,
          eventId: Type.String({ format: 'uuid' }),
          streamVersion: Type.Integer(),
          type: Type.String(),
          schemaVersion: Type.Integer(),
          occurredAt: Type.String({ format: 'date-time' }),
          recordedAt: Type.String({ format: 'date-time' }),
          data: Type.Record(Type.String(), Type.Unknown(), {
            description:
              "The event as submitted (read as the latest schema version), sealed fields (a correction's reason) opened.",
          }),
          submittedBy: Type.Object(
            {
              keyId: Type.String({ description: 'The API key that submitted it (see GET /v1/admin/keys).' }),
              role: Type.String(),
              keyLabel: Type.Union([Type.String(), Type.Null()]),
              source: Type.String({ description: 'api, batch or csv.' }),
              requestId: Type.String({ description: 'Correlation id of the HTTP request.' }),
            },
            { additionalProperties: false },
          ),
          leafIndex: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
            description:
              "The event's leaf in the audit log's Merkle tree (null until logged, a few seconds after recording).",
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, title: 'EvidenceTrail' },
);

export const evidenceRoutes: FastifyPluginAsyncTypebox<{ sql: Sql; vault: PersonalDataVault }> = async (
  app,
  { sql, vault },
) => {
  app.get(
    '/v1/audit/events',
    {
      config: { roles: REPORT_ROLES.audit },
      schema: {
        tags: ['audit'],
        operationId: 'grantEvidenceTrail',
        summary: "The evidence trail behind a grant's spend figures",
        description:
          'Every event of the grant (award, spend, corrections) in order: what was submitted, when it happened and was ' +
          'recorded, which API key submitted it from which request, and its leaf in the Merkle audit log (GET ' +
          '/v1/audit/log/inclusion proves it; GET /v1/audit/evidence-pack bundles the proofs).',
        querystring: Type.Object({ grantRef: GrantRef }, { additionalProperties: false }),
        response: {
          200: EvidenceTrail,
          400: ProblemDetails,
          401: ProblemDetails,
          403: ProblemDetails,
          503: ProblemDetails,
        },
      },
    },
    async (request) => {
      const rows = await sql<(EventRow & { label: string | null; leaf_index: string | null })[]>`
      select ${sql.unsafe(eventColumns('e'))}, k.label, l.leaf_index::text
      from events e
      left join api_keys k on k.key_id = e.metadata->>'keyId'
      left join audit_log_leaves l on l.position = e.position
      where e.stream_id = ${grantStreamId(request.query.grantRef)}
      order by e.stream_version`;
      // A correction's or revision's reason is sealed in the log: the trail is where its readers see it.
      const events = (await vault.open(sql, rows.map(toStoredEvent))).map(upcastEvent);
      return {
        grantRef: request.query.grantRef,
        providerId: events.at(-1)?.providerId ?? null,
        events: rows.map(({ label, leaf_index }, i) => ({
          position: events[i]!.position,
          eventId: events[i]!.eventId,
          streamVersion: events[i]!.streamVersion,
          type: events[i]!.type,
          schemaVersion: events[i]!.schemaVersion,
          data: events[i]!.data,
          occurredAt: events[i]!.occurredAt,
          recordedAt: events[i]!.recordedAt,
          submittedBy: {
            keyId: events[i]!.metadata.keyId,
            role: events[i]!.metadata.role,
            keyLabel: label,
            source: events[i]!.metadata.source,
            requestId: events[i]!.metadata.requestId,
          },
          leafIndex: leaf_index === null ? null : Number(leaf_index),
        })),
      };
    },
  );
};
