import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import {
  AppendResult,
  EventSubmission,
  IsoDate,
  ParticipantRef,
  ProblemDetails,
  ProgrammeId,
  StoredEvent,
  SUBMITTING_ROLES,
  Uuid,
  uuidV5,
} from '@vru/contracts';
import { participantId, participantStreamId, readStream, storedErasure } from '@vru/event-store';
import type { Sql } from '@vru/runtime';
import type { AppendOutcome, CommandHandler } from '../ingest/command-handler.js';
import type { Ingest } from '../ingest/ingest.js';
import { HttpProblem, problemBody, refusalProblem } from '../problem.js';

const MAX_BATCH = 1000;

const problemResponses = {
  400: ProblemDetails,
  401: ProblemDetails,
  403: ProblemDetails,
  409: ProblemDetails,
  413: ProblemDetails,
  415: ProblemDetails,
  422: ProblemDetails,
  503: ProblemDetails,
};

const BatchItemResult = Type.Object(
  {
    index: Type.Integer({ description: 'Position of the event in the submitted array, from 0.' }),
    eventId: Type.Union([Type.String(), Type.Null()]),
    status: Type.Union([Type.Literal('accepted'), Type.Literal('duplicate'), Type.Literal('rejected')]),
    streamVersion: Type.Optional(Type.Integer()),
    position: Type.Optional(Type.String()),
    problem: Type.Optional(ProblemDetails),
  },
  { additionalProperties: false },
);

export const BatchResponse = Type.Object(
  {
    accepted: Type.Integer(),
    duplicates: Type.Integer(),
    rejected: Type.Integer(),
    highestPosition: Type.Union([Type.String(), Type.Null()], {
      description:
        'The highest log position of the events stored (accepted or duplicate), null when none: a report whose position ' +
        "is at or above it counts every one of them (ask with asAt, or wait until a report's position reaches it).",
    }),
    results: Type.Array(BatchItemResult),
  },
  { additionalProperties: false },
);

export interface EventRouteDeps {
  sql: Sql;
  commands: CommandHandler;
  ingest: Ingest;
  pseudonymSecret: string;
}

/**
 * The event catalogue is documented by the union schema but validated in the handler per type and version
 * (checkSubmission), which names the exact field and rule; Ajv's errors for a 14-way union would not.
 */
const eventBodyValidator = () => (data: unknown) => ({ value: data });

const eventIdOf = (body: unknown): string | null => {
  const eventId = (body as { eventId?: unknown } | null)?.eventId;
  return typeof eventId === 'string' ? eventId : null;
};

export function toBatchResult(index: number, eventId: string | null, outcome: AppendOutcome, request: FastifyRequest) {
  if (outcome.status === 'rejected')
    return { index, eventId, status: 'rejected' as const, problem: problemBody(request, refusalProblem(outcome)) };
  return {
    index,
    eventId: outcome.eventId,
    status: outcome.status,
    streamVersion: outcome.streamVersion,
    position: outcome.position,
  };
}

export const eventRoutes: FastifyPluginAsyncTypebox<EventRouteDeps> = async (app, deps) => {
  // Events are JSON only: Fastify's default text/plain parser would turn a text body into a 422 instead of a 415.
  app.removeContentTypeParser('text/plain');

  app.post(
    '/v1/events',
    {
      config: { roles: SUBMITTING_ROLES },
      validatorCompiler: eventBodyValidator,
      schema: {
        tags: ['events'],
        operationId: 'submitEvent',
        summary: 'Submit one event',
        description:
          'Idempotent by eventId: the same event sent again answers `duplicate` and stores nothing; the same eventId with a different ' +
          "body is a 409. Rule violations are 409 (conflicts with the participant's or grant's history) or 422 (invalid on its own).",
        body: EventSubmission,
        response: { 202: AppendResult, ...problemResponses },
      },
    },
    async (request, reply) => {
      const outcome = (
        await deps.ingest.submit({ principal: request.principal, requestId: request.id, source: 'api' }, [request.body])
      )[0]!;
      if (outcome.status === 'rejected') throw refusalProblem(outcome);
      return reply.code(202).send(outcome);
    },
  );

  app.post(
    '/v1/events/batch',
    {
      config: { roles: SUBMITTING_ROLES },
      schema: {
        tags: ['events'],
        operationId: 'submitEventBatch',
        summary: `Submit up to ${MAX_BATCH} events`,
        description:
          'Each event stands or falls on its own; the answer lists one result per event, in input order. Events for the same ' +
          'participant are applied in the order given. Retrying the whole batch is safe.',
        body: Type.Object(
          {
            events: Type.Array(Type.Unknown({ description: 'An EventSubmission; each is validated on its own.' }), {
              minItems: 1,
              maxItems: MAX_BATCH,
            }),
          },
          { additionalProperties: false },
        ),
        response: { 200: BatchResponse, ...problemResponses },
      },
    },
    async (request) => {
      const events = request.body.events;
      const outcomes = await deps.ingest.submit(
        { principal: request.principal, requestId: request.id, source: 'batch' },
        events,
      );
      return summarise(
        outcomes.map((o, index) =>
          toBatchResult(index, o.status === 'rejected' ? eventIdOf(events[index]) : o.eventId, o, request),
        ),
      );
    },
  );

  app.get(
    '/v1/participants/:participantRef/events',
    {
      config: { roles: ['provider'] },
      schema: {
        tags: ['participants'],
        operationId: 'listParticipantEvents',
        summary: "A participant's history (your own participants only)",
        params: Type.Object({ participantRef: ParticipantRef }),
        response: {
          200: Type.Object({
            participantRef: Type.String(),
            streamVersion: Type.Integer(),
            events: Type.Array(Type.Omit(StoredEvent, ['streamId', 'providerId'], { additionalProperties: false })),
          }),
          ...problemResponses,
          404: ProblemDetails,
        },
      },
    },
    async (request) => {
      const principal = request.principal;
      const streamId = participantStreamId(
        participantId(deps.pseudonymSecret, principal.providerId!, request.params.participantRef),
      );
      const events = await readStream(deps.sql, deps.commands.vault, streamId);
      // Another provider's participant with the same reference is a different stream: isolation by construction.
      if (events.length === 0) throw new HttpProblem(404, 'not-found', 'No events for this participant');
      return {
        participantRef: request.params.participantRef,
        streamVersion: events[events.length - 1]!.streamVersion,
        events: events.map(({ streamId: _s, providerId: _p, ...rest }) => rest),
      };
    },
  );
};

/** Erasure event ids are derived from the participant, so a retried request is recognised as the same erasure. */
const ERASURE_NAMESPACE = 'c1f4b7d2-5e8a-4b3c-9d6f-0a2e4c6b8d10';

export const erasureRoutes: FastifyPluginAsyncTypebox<EventRouteDeps> = async (app, deps) => {
  app.post(
    '/v1/participants/:participantRef/erasure',
    {
      config: { roles: ['provider'] },
      schema: {
        tags: ['participants'],
        operationId: 'eraseParticipant',
        summary: "Erase a participant's personal data (right to erasure)",
        description:
          "Records a ParticipantErased event and destroys the participant's encryption key in the same transaction: the " +
          'personal fields of every stored copy of their events (database, Kafka, backups) become unreadable, and read models drop them. ' +
          'Dates, attendance and outcomes stay, so figures already reported are reproducible; no further events are accepted for the ' +
          'participant. Idempotent: a retry, on any day, with any basis or eventId, answers `duplicate` with the erasure already stored.',
        params: Type.Object({ participantRef: ParticipantRef }),
        body: Type.Object(
          {
            programmeId: ProgrammeId,
            requestedOn: Type.Optional(IsoDate('Date of the request; default today.')),
            basis: Type.Optional(
              Type.Union([Type.Literal('data-subject-request'), Type.Literal('retention-period-ended')], {
                default: 'data-subject-request',
              }),
            ),
            eventId: Type.Optional(Uuid('Optional; derived from the participant when absent.')),
          },
          { additionalProperties: false },
        ),
        response: { 202: AppendResult, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { participantRef } = request.params;
      const requestedOn = request.body.requestedOn ?? new Date().toISOString().slice(0, 10);
      const streamId = participantStreamId(
        participantId(deps.pseudonymSecret, request.principal.providerId!, participantRef),
      );
      const [erasure] = await deps.ingest.submit(
        {
          principal: request.principal,
          requestId: request.id,
          source: 'api',
          invalidTitle: 'The erasure request is invalid',
          recordRefusals: false,
        },
        [
          {
            eventId: request.body.eventId ?? uuidV5(ERASURE_NAMESPACE, streamId),
            type: 'ParticipantErased',
            schemaVersion: 1,
            occurredAt: `${requestedOn}T00:00:00Z`,
            programmeId: request.body.programmeId,
            participantRef,
            data: { requestedOn, basis: request.body.basis ?? 'data-subject-request' },
          },
        ],
      );
      const outcome = erasure!;
      if (outcome.status === 'rejected') {
        // A retry (another day, another basis, a new eventId) is always safe: it answers with the erasure already stored.
        const stored = await storedErasure(deps.sql, streamId);
        if (stored) return reply.code(202).send({ status: 'duplicate', ...stored });
        throw refusalProblem(outcome);
      }
      request.log.info({ streamVersion: outcome.streamVersion, status: outcome.status }, 'participant erased');
      return reply.code(202).send(outcome);
    },
  );
};

export function summarise<T extends { status: string; position?: string | undefined }>(results: T[]) {
  const stored = results.flatMap((r) => (r.position === undefined ? [] : [BigInt(r.position)]));
  return {
    accepted: results.filter((r) => r.status === 'accepted').length,
    duplicates: results.filter((r) => r.status === 'duplicate').length,
    rejected: results.filter((r) => r.status === 'rejected').length,
    highestPosition: stored.length === 0 ? null : stored.reduce((a, b) => (b > a ? b : a)).toString(),
    results,
  };
}
