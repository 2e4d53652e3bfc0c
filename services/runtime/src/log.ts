import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths that may carry personal or secret data. Events hold pseudonyms only, but request bodies and
 * headers still never reach the logs: an API key or a participantRef in a log is a breach.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'apiKey',
  'key',
  'participantRef',
  '*.participantRef',
  'data',
  '*.data',
  'body',
  '*.body',
];

/** URLs name a participant in their path (/v1/participants/{ref}/...): logged with the reference masked. */
export function safeUrl(url: string): string {
  return url.replace(/\/participants\/[^/?#]*/g, '/participants/[redacted]');
}

/** Fastify's request serializer, minus anything personal: method, masked URL, request id and address only. */
const serializers = {
  req: (req: { method?: string; url?: string; id?: string | number; ip?: string }) => ({
    method: req.method,
    url: safeUrl(req.url ?? ''),
    id: req.id,
    remoteAddress: req.ip,
  }),
};

export function loggerOptions(level: string, name: string): LoggerOptions {
  return {
    name,
    level,
    serializers,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

/** A pino logger; `destination` (default stdout) lets tests read the JSON lines a component writes. */
export function createLogger(level: string, name: string, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(level, name), destination) : pino(loggerOptions(level, name));
}
export type { Logger };
