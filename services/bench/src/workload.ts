import { randomUUID } from 'node:crypto';
// Narrow entry points: each load generator is a process of its own, and the packages' indexes (the whole API, the
// test harness) took 3 s to load on the loaded machine, per process.
import { requestHash } from '@vru/api/request-hash';
import { participantId, participantStreamId } from '@vru/event-store/pseudonym';
import type { ValidSubmission } from '@vru/contracts';
import { journey } from '@vru/testkit/fixtures';

/** The provider and programme every benchmark writes as (created by the orchestrator before any phase). */
export const BENCH_PROVIDER = 'bench-provider';
export const BENCH_PROGRAMME = 'bench-mentoring';
/** Referral, evaluation consent, enrolment, 20 sessions attended and 4 missed: 27 events per participant. */
const SESSIONS = { attended: 20, missed: 4 };

export type Body = Record<string, unknown>;

/**
 * Participants' journeys from the test fixtures, in order (a session is only accepted after the enrolment),
 * each participant with a reference unique to this run and worker.
 */
export class Journeys {
  private n = 0;
  constructor(private readonly prefix: string) {}

  next(): { ref: string; events: Body[] } {
    this.n += 1;
    const ref = `${this.prefix}-${this.n}`;
    return { ref, events: journey(ref, SESSIONS, BENCH_PROGRAMME) };
  }

  /** At least `count` events, whole journeys, for batches (a batch may hold a whole journey in order). */
  take(count: number): Body[] {
    const out: Body[] = [];
    while (out.length < count) out.push(...this.next().events);
    return out;
  }
}

export const streamIdOf = (secret: string, ref: string): string =>
  participantStreamId(participantId(secret, BENCH_PROVIDER, ref));

/** The row our event store would write for a submission, for the ceilings that insert straight into PostgreSQL. */
export interface CeilingRow {
  event_id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  provider_id: string;
  programme_id: string;
  occurred_at: string;
  data: string;
  metadata: string;
  request_hash: string;
}

export function ceilingRows(secret: string, ref: string, events: Body[]): CeilingRow[] {
  const streamId = streamIdOf(secret, ref);
  return events.map((e, i) => ({
    event_id: e.eventId as string,
    stream_id: streamId,
    stream_version: i + 1,
    type: e.type as string,
    schema_version: e.schemaVersion as number,
    provider_id: BENCH_PROVIDER,
    programme_id: BENCH_PROGRAMME,
    occurred_at: e.occurredAt as string,
    data: JSON.stringify(e.data),
    metadata: JSON.stringify({ requestId: randomUUID(), keyId: 'bench', role: 'provider', source: 'api' }),
    request_hash: requestHash(e as unknown as ValidSubmission),
  }));
}
