import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { pointerSegment, schemaFieldErrors, type FieldError, type SchemaError } from '@vru/contracts';
import type { Refusal, RefusalKind } from '@vru/domain';
import { isDatabaseUnavailable } from '@vru/runtime';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An error that maps to one RFC 9457 problem: a stable code, a status and, where it applies, the fields. */
export class HttpProblem extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    readonly title: string,
    readonly errors?: FieldError[],
    readonly detail?: string,
    /** Seconds after which the same request may succeed (sent as Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(title);
  }
}

export function problemBody(
  request: FastifyRequest,
  p: {
    statusCode: number;
    code: string;
    title: string;
    errors?: FieldError[] | undefined;
    detail?: string | undefined;
  },
) {
  return {
    type: `urn:vru:problem:${p.code}`,
    title: p.title,
    status: p.statusCode,
    code: p.code,
    ...(p.detail ? { detail: p.detail } : {}),
    instance: request.url.split('?')[0],
    ...(p.errors ? { errors: p.errors } : {}),
    requestId: request.id,
  };
}

/** The HTTP status of each kind of refusal: chosen here, at the HTTP edge, and nowhere else. */
const REFUSAL_STATUS: Record<RefusalKind, 403 | 409 | 422> = {
  'not-permitted': 403,
  'conflicts-with-history': 409,
  invalid: 422,
};

/** A refused submission (from the domain's rules or the ingest checks around them) as its problem. */
export function refusalProblem(refused: Refusal): HttpProblem {
  return new HttpProblem(REFUSAL_STATUS[refused.kind], refused.code, refused.title, refused.errors);
}

export function sendProblem(reply: FastifyReply, problem: HttpProblem) {
  if (problem.retryAfterSeconds !== undefined) reply.header('retry-after', String(problem.retryAfterSeconds));
  return reply.code(problem.statusCode).type(PROBLEM_CONTENT_TYPE).send(problemBody(reply.request, problem));
}

/** Ajv's errors (query strings, params, admin bodies) in the same field/rule shape as event validation. */
function ajvFieldErrors(errors: SchemaError[], context: string | undefined): FieldError[] {
  return schemaFieldErrors(errors, context && context !== 'body' ? `/${context}` : '');
}

const SAFE_4XX_TITLES: Record<number, string> = {
  400: 'The request could not be read',
  401: 'Authentication required',
  403: 'Not allowed',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  409: 'Conflict',
  413: 'Request body too large',
  414: 'URI too long',
  415: 'Unsupported media type',
  422: 'The request is invalid',
  429: 'Too many requests',
};

/**
 * Pointers to the __proto__ keys and constructor.prototype of a parsed JSON value (at most 50), without recursion:
 * bodies may nest deeply.
 */
function prototypeKeys(root: unknown): string[] {
  const found: string[] = [];
  const stack: [unknown, string][] = [[root, '']];
  while (stack.length > 0 && found.length < 50) {
    const [value, pointer] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      // A pointer is built only for what is named or descended into: most values of a large body are neither.
      if (key === '__proto__') found.push(`${pointer}/${pointerSegment(key)}`);
      else if (v === null || typeof v !== 'object') continue;
      else if (key === 'constructor' && Object.hasOwn(v, 'prototype')) found.push(`${pointer}/constructor/prototype`);
      else stack.push([v, `${pointer}/${pointerSegment(key)}`]);
    }
  }
  return found;
}

/** A JSON request body, parsed; refusals say what was refused (where the JSON broke, or which property name). */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') {
    throw new HttpProblem(
      400,
      'bad-request',
      SAFE_4XX_TITLES[400]!,
      undefined,
      'The body is empty; send a JSON document',
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the body.
    throw new HttpProblem(400, 'bad-request', SAFE_4XX_TITLES[400]!, undefined, 'The body is not valid JSON');
  }
  const refused = prototypeKeys(value);
  if (refused.length > 0) {
    throw new HttpProblem(
      400,
      'forbidden-property-name',
      'The body uses a property name that is refused',
      refused.map((field) => ({
        field,
        rule: 'forbidden-property-name',
        message: 'The JSON is valid, but __proto__ and constructor.prototype are refused as property names',
      })),
      'The property names __proto__ and constructor.prototype are refused: they could alter objects on the server. ' +
        'Rename or remove them.',
    );
  }
  return value;
}

/** The one error handler: every failure leaves as problem+json; 5xx text never leaks. */
export function errorHandler(
  error: FastifyError & { validation?: SchemaError[]; validationContext?: string },
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error instanceof HttpProblem) return sendProblem(reply, error);
  if (error.validation) {
    const context = error.validationContext;
    const errors = ajvFieldErrors(error.validation, context);
    return sendProblem(
      reply,
      new HttpProblem(context === 'body' ? 422 : 400, 'validation-failed', 'The request is invalid', errors),
    );
  }
  if (isDatabaseUnavailable(error)) {
    request.log.warn({ err: { code: (error as { code?: string }).code } }, 'database unavailable');
    reply.header('retry-after', '5');
    return sendProblem(
      reply,
      new HttpProblem(503, 'dependency-unavailable', 'A dependency is unavailable; retry shortly'),
    );
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code =
      status === 413
        ? 'body-too-large'
        : status === 414
          ? 'uri-too-long'
          : status === 415
            ? 'unsupported-media-type'
            : status === 429
              ? 'rate-limited'
              : 'bad-request';
    // Parser messages describe the body (e.g. where the JSON broke), never server internals.
    return sendProblem(
      reply,
      new HttpProblem(status, code, SAFE_4XX_TITLES[status] ?? 'Bad request', undefined, error.message),
    );
  }
  request.log.error({ err: error }, 'request failed');
  return sendProblem(reply, new HttpProblem(500, 'internal-error', 'Something went wrong on our side'));
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (request line and headers over 16 KiB, malformed
 * HTTP, a client too slow to send its headers) get a problem too, written straight to the socket as there is no reply.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex) {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, title] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ([408, 'request-timeout', 'The request took too long to arrive'] as const)
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? ([431, 'headers-too-large', 'The request line and headers are too large'] as const)
        : ([400, 'bad-request', SAFE_4XX_TITLES[400]!] as const);
  if (!socket.writable) {
    socket.destroy(error);
    return;
  }
  const body = JSON.stringify({ type: `urn:vru:problem:${code}`, title, status, code });
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}`;
  socket.end(`${head}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
