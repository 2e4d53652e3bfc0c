import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { CommandHandler, type Event } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { ApiKeyVerifier } from '@vru/api';
import { checkSubmission, type Principal } from '@vru/contracts';
import { createSql } from '@vru/runtime';

/**
 * The peer a team would build instead of our service: Emmett's PostgreSQL event store behind a minimal Fastify app,
 * as a process of its own. Per request it pays what ours pays before the append: the API-key check (the same
 * hashed-key lookup, cached the same way, against the bench database's keys) and the same validation of the body
 * (checkSubmission: the TypeBox schema of the event type and its rules). Then Emmett's own command handling:
 * read the participant's stream, decide, appendToStream with the version it read as the expected version.
 * Started by scripts/bench with PORT, BENCH_KEYS_DATABASE_URL, BENCH_EMMETT_DATABASE_URL and API_KEY_PEPPER.
 */
const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const keys = createSql(env('BENCH_KEYS_DATABASE_URL'), { max: 2, applicationName: 'vru-bench-emmett-fastify' });
const verifier = new ApiKeyVerifier(keys, env('API_KEY_PEPPER'));
const store = getPostgreSQLEventStore(env('BENCH_EMMETT_DATABASE_URL'));

/** The participant's stream as Emmett users fold it: only what a decision needs (here, how many events it holds). */
type ParticipantEvent = Event<string, Record<string, unknown>, Record<string, unknown>>;
const handle = CommandHandler<{ events: number }, ParticipantEvent>({
  evolve: (s) => ({ events: s.events + 1 }),
  initialState: () => ({ events: 0 }),
});

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
const principals = new WeakMap<object, Principal>();
const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
  const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
  const principal = bearer ? await verifier.verify(bearer) : null;
  if (!principal) return reply.code(401).send({ title: 'Unauthorized' });
  principals.set(request, principal);
};
app.post('/v1/events', { onRequest: authenticate }, async (request, reply) => {
  const check = checkSubmission(request.body);
  if (!check.ok) return reply.code(422).send({ title: 'The event is invalid', errors: check.errors });
  const s = check.submission;
  const principal = principals.get(request)!;
  const streamId = `participant-${principal.providerId}-${s.participantRef}`;
  const result = await handle(store, streamId, () => ({
    type: s.type,
    data: s.data,
    metadata: { eventId: s.eventId, occurredAt: s.occurredAt, programmeId: s.programmeId, keyId: principal.keyId },
  }));
  return reply.code(202).send({ eventId: s.eventId, streamVersion: Number(result.nextExpectedStreamVersion) });
});
app.get('/readyz', async () => ({ ok: true }));

const close = async () => {
  await app.close();
  await store.close();
  await keys.end();
  process.exit(0);
};
process.once('SIGTERM', () => void close());
await app.listen({ host: '127.0.0.1', port: Number(env('PORT')) });
