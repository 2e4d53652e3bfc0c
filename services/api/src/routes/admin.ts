import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  IsoDate,
  ProblemDetails,
  ProgrammeId,
  ProviderId,
  Roles,
  StringEnum,
  unstorableTextErrors,
  type Role,
} from '@vru/contracts';
import type { Principal } from '@vru/contracts';
import type { Sql } from '@vru/runtime';
import { createApiKey, getApiKey, listApiKeys, revokeApiKey, rotateApiKey, type ApiKeyVerifier } from '../api-keys.js';
import type { CommandHandler } from '../ingest/command-handler.js';
import { upsertProgramme, upsertProvider } from '../ingest/reference-data.js';
import { HttpProblem } from '../problem.js';
import { listSessions, revokeSession } from '../web/session.js';

/**
 * Keys and reference data, managed by the VRU: commissioners and admins. A commissioner issues keys to
 * data partners and funders and registers providers and programmes; only an admin issues provider,
 * commissioner and admin keys. A provider key reads its provider's figures unsuppressed, so a commissioner
 * who could mint one would step around disclosure control; no key can mint a key that sees more than itself.
 * A commissioner may still revoke a provider's key (taking access away is never an escalation).
 */
const MANAGERS = ['commissioner', 'admin'] as const;
const GRANTABLE: Record<Role, readonly Role[]> = {
  admin: Roles,
  commissioner: ['data-partner', 'funder'],
  provider: [],
  'data-partner': [],
  funder: [],
};
const REVOCABLE: Record<Role, readonly Role[]> = {
  admin: Roles,
  commissioner: ['provider', 'data-partner', 'funder'],
  provider: [],
  'data-partner': [],
  funder: [],
};

const errors = {
  400: ProblemDetails,
  401: ProblemDetails,
  403: ProblemDetails,
  404: ProblemDetails,
  409: ProblemDetails,
  422: ProblemDetails,
  503: ProblemDetails,
};
const KeyId = Type.String({ pattern: '^[a-f0-9]{16}$', description: 'The public part of a key (vru_<keyId>_…).' });
const Timestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const ApiKeySummary = Type.Object(
  {
    keyId: KeyId,
    prefix: Type.String({ description: 'What a key starts with; enough to recognise it, useless to authenticate.' }),
    role: StringEnum(Roles),
    providerId: Type.Union([ProviderId, Type.Null()]),
    label: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    createdBy: Type.Union([Type.String(), Type.Null()], {
      description: 'keyId of the key that created it (null: the command line).',
    }),
    rotatedFrom: Type.Union([Type.String(), Type.Null()]),
    lastUsedAt: Timestamp,
    expiresAt: Timestamp,
    revokedAt: Timestamp,
  },
  { additionalProperties: false, title: 'ApiKeySummary' },
);

export const IssuedApiKey = Type.Object(
  {
    apiKey: Type.String({ description: 'The key itself. Shown once: only a keyed hash of its secret is stored.' }),
    key: ApiKeySummary,
  },
  { additionalProperties: false, title: 'IssuedApiKey' },
);

function mayGrant(principal: Principal, role: Role): void {
  if (!GRANTABLE[principal.role].includes(role)) {
    throw new HttpProblem(403, 'role-not-grantable', 'Not allowed', [
      {
        field: '/role',
        rule: 'role-not-grantable',
        message: `A ${principal.role} key may issue keys for: ${GRANTABLE[principal.role].join(', ')}`,
      },
    ]);
  }
}

function mayRevoke(principal: Principal, role: Role): void {
  if (!REVOCABLE[principal.role].includes(role)) {
    throw new HttpProblem(403, 'role-not-revocable', 'Not allowed', [
      {
        field: '/keyId',
        rule: 'role-not-revocable',
        message: `A ${principal.role} key may revoke keys for: ${REVOCABLE[principal.role].join(', ')}`,
      },
    ]);
  }
}

export const adminRoutes: FastifyPluginAsyncTypebox<{
  sql: Sql;
  commands: CommandHandler;
  verifier: ApiKeyVerifier;
  pepper: string;
}> = async (app, deps) => {
  const { sql, verifier, pepper } = deps;
  // Names and labels are stored as text: a NUL or a lone surrogate is refused naming the field, never stored altered.
  // After validation, so the body walked is one the schema allows (shallow, known fields).
  app.addHook('preHandler', async (request) => {
    const errors = unstorableTextErrors(request.body);
    if (errors.length > 0) throw new HttpProblem(422, 'validation-failed', 'The request is invalid', errors);
  });

  app.post(
    '/v1/admin/keys',
    {
      config: { roles: MANAGERS },
      schema: {
        tags: ['admin'],
        operationId: 'createApiKey',
        summary: 'Issue an API key',
        description:
          'The key is in the answer once and never again. Provider keys name their provider; other roles must not.',
        body: Type.Object(
          {
            role: StringEnum(Roles),
            providerId: Type.Optional(ProviderId),
            label: Type.String({
              maxLength: 200,
              default: '',
              description: 'Who holds it, e.g. "Safe Spaces Trust case system". No personal data.',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 201: IssuedApiKey, ...errors },
      },
    },
    async (request, reply) => {
      const { role, providerId, label } = request.body;
      mayGrant(request.principal, role);
      if ((role === 'provider') !== (providerId !== undefined)) {
        throw new HttpProblem(422, 'validation-failed', 'The key request is invalid', [
          role === 'provider'
            ? { field: '/providerId', rule: 'required', message: 'A provider key names its provider' }
            : { field: '/providerId', rule: 'not-allowed', message: `A ${role} key is not tied to a provider` },
        ]);
      }
      if (providerId && (await sql`select 1 from providers where provider_id = ${providerId}`).length === 0) {
        throw new HttpProblem(422, 'unknown-reference', 'The key request names an unregistered provider', [
          { field: '/providerId', rule: 'unknown-provider', message: 'No provider with this id is registered' },
        ]);
      }
      const { keyId, apiKey } = await createApiKey(sql, pepper, {
        role,
        providerId: providerId ?? null,
        label,
        createdBy: request.principal.keyId,
      });
      request.log.info({ issuedKeyId: keyId, issuedRole: role }, 'api key issued');
      return reply.code(201).send({ apiKey, key: (await getApiKey(sql, keyId))! });
    },
  );

  app.get(
    '/v1/admin/keys',
    {
      config: { roles: MANAGERS },
      schema: {
        tags: ['admin'],
        operationId: 'listApiKeys',
        summary: 'List API keys (prefix only)',
        querystring: Type.Object(
          {
            role: Type.Optional(StringEnum(Roles)),
            providerId: Type.Optional(ProviderId),
            includeInactive: Type.Boolean({ default: false, description: 'Include revoked and expired keys.' }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ keys: Type.Array(ApiKeySummary) }, { additionalProperties: false }), ...errors },
      },
    },
    async (request) => ({ keys: await listApiKeys(sql, request.query) }),
  );

  const keyParams = Type.Object({ keyId: KeyId });
  const existing = async (principal: Principal, keyId: string, allowed = mayGrant) => {
    const key = await getApiKey(sql, keyId);
    if (!key) throw new HttpProblem(404, 'not-found', 'No such key');
    allowed(principal, key.role);
    return key;
  };

  app.post(
    '/v1/admin/keys/:keyId/rotate',
    {
      config: { roles: MANAGERS },
      schema: {
        tags: ['admin'],
        operationId: 'rotateApiKey',
        summary: 'Replace a key, keeping the old one for a grace period',
        params: keyParams,
        body: Type.Object(
          {
            graceHours: Type.Integer({
              minimum: 0,
              maximum: 720,
              default: 24,
              description: 'How long the old key keeps working (0: stops now).',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 201: IssuedApiKey, ...errors },
      },
    },
    async (request, reply) => {
      await existing(request.principal, request.params.keyId);
      const rotated = await rotateApiKey(
        sql,
        pepper,
        request.params.keyId,
        request.body.graceHours * 3600,
        request.principal.keyId,
      );
      if (!rotated)
        throw new HttpProblem(409, 'key-inactive', 'The key is revoked or expired; issue a new one instead');
      verifier.forget(request.params.keyId);
      request.log.info({ rotatedKeyId: request.params.keyId, issuedKeyId: rotated.keyId }, 'api key rotated');
      return reply.code(201).send({ apiKey: rotated.apiKey, key: (await getApiKey(sql, rotated.keyId))! });
    },
  );

  app.post(
    '/v1/admin/keys/:keyId/revoke',
    {
      config: { roles: MANAGERS },
      schema: {
        tags: ['admin'],
        operationId: 'revokeApiKey',
        summary: 'Revoke a key now',
        description: 'Takes effect at once on this instance and within 10 seconds on every other.',
        params: keyParams,
        response: { 200: ApiKeySummary, ...errors },
      },
    },
    async (request) => {
      await existing(request.principal, request.params.keyId, mayRevoke);
      const key = await revokeApiKey(sql, request.params.keyId);
      verifier.forget(request.params.keyId);
      request.log.info({ revokedKeyId: request.params.keyId }, 'api key revoked');
      return key!;
    },
  );

  const DashboardSession = Type.Object(
    {
      sessionId: Type.String({
        format: 'uuid',
        description: "The session's public handle (its cookie token is never stored).",
      }),
      keyId: KeyId,
      role: StringEnum(Roles),
      providerId: Type.Union([ProviderId, Type.Null()]),
      createdAt: Type.String({ format: 'date-time' }),
      expiresAt: Type.String({ format: 'date-time' }),
    },
    { additionalProperties: false, title: 'DashboardSession' },
  );

  app.get(
    '/v1/admin/sessions',
    {
      config: { roles: MANAGERS },
      schema: {
        tags: ['admin'],
        operationId: 'listDashboardSessions',
        summary: 'List open dashboard sessions',
        querystring: Type.Object({ keyId: Type.Optional(KeyId) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ sessions: Type.Array(DashboardSession) }, { additionalProperties: false }),
          ...errors,
        },
      },
    },
    async (request) => ({ sessions: await listSessions(sql, request.query) }),
  );

  app.post(
    '/v1/admin/sessions/:sessionId/revoke',
    {
      config: { roles: MANAGERS },
      schema: {
        tags: ['admin'],
        operationId: 'revokeDashboardSession',
        summary: 'End a dashboard session now',
        description:
          'Its cookie stops working at once, on every instance. ' +
          'A manager may end the sessions of the roles it may issue keys for.',
        params: Type.Object({ sessionId: Type.String({ format: 'uuid' }) }),
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const [session] = await listSessions(sql, { sessionId: request.params.sessionId });
      if (!session) throw new HttpProblem(404, 'not-found', 'No open session with this id');
      mayGrant(request.principal, session.role);
      await revokeSession(sql, session.sessionId);
      request.log.info({ sessionId: session.sessionId, sessionKeyId: session.keyId }, 'dashboard session revoked');
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/v1/admin/providers/:providerId',
    {
      config: { roles: MANAGERS },
      schema: {
        tags: ['admin'],
        operationId: 'putProvider',
        summary: 'Register or rename a provider',
        params: Type.Object({ providerId: ProviderId }),
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ providerId: ProviderId, name: Type.String() }), ...errors },
      },
    },
    async (request) => {
      await upsertProvider(sql, request.params.providerId, request.body.name);
      deps.commands.reference.invalidate();
      return { providerId: request.params.providerId, name: request.body.name };
    },
  );

  const Programme = Type.Object(
    {
      name: Type.String({ minLength: 1, maxLength: 200 }),
      interventionType: Type.String({ minLength: 1, maxLength: 64 }),
      startsOn: IsoDate(),
      endsOn: Type.Optional(Type.Union([IsoDate(), Type.Null()])),
    },
    { additionalProperties: false },
  );

  app.put(
    '/v1/admin/programmes/:programmeId',
    {
      config: { roles: MANAGERS },
      schema: {
        tags: ['admin'],
        operationId: 'putProgramme',
        summary: 'Register or update a programme',
        params: Type.Object({ programmeId: ProgrammeId }),
        body: Programme,
        response: { 200: Type.Object({ programmeId: ProgrammeId, name: Type.String() }), ...errors },
      },
    },
    async (request) => {
      const b = request.body;
      if (b.endsOn && b.endsOn < b.startsOn) {
        throw new HttpProblem(422, 'validation-failed', 'The programme is invalid', [
          { field: '/endsOn', rule: 'date-order', message: 'endsOn must not be before startsOn' },
        ]);
      }
      await upsertProgramme(sql, { programmeId: request.params.programmeId, ...b, endsOn: b.endsOn ?? null });
      deps.commands.reference.invalidate();
      return { programmeId: request.params.programmeId, name: b.name };
    },
  );
};
