import { journey } from '../fixtures.js';

export interface Answer {
  /** HTTP status, or 'error' (no answer: refused, reset) or 'timeout'. */
  status: number | 'error' | 'timeout';
  problemJson: boolean;
  /** The answer's Content-Type, so a failure can say what a refusal that was not problem+json was. */
  contentType: string;
  ms: number;
  at: number;
}

export interface LoadOptions {
  /** API base URLs; each request goes to the next one in turn. */
  targets: string[];
  key: string;
  participants: number;
  sessionsPerParticipant: number;
  /** Participants posted side by side (each participant's events go in order). */
  concurrency: number;
  /** Prefix of participant references, unique per scenario. */
  prefix: string;
  requestTimeoutMs?: number;
  /** An event not acknowledged after retrying this long is given up (counted as offered, not acknowledged). */
  giveUpMs?: number;
}

/**
 * The client side of a fault-injection scenario: posts realistic participant journeys over HTTP and keeps,
 * per eventId, what the clients were told. Like a well-behaved provider it retries the same event (same eventId,
 * the idempotency key) after a network error, a timeout, a 429 or a 5xx, until it gets a 202.
 */
export class LoadClient {
  readonly offered = new Set<string>();
  readonly acknowledged = new Set<string>();
  /** Events whose 202 said `duplicate`: a retry of a request that had been stored before its answer was lost. */
  readonly duplicateAnswers = new Set<string>();
  readonly refused = new Map<string, number>();
  readonly answers: Answer[] = [];
  retries = 0;
  private next = 0;
  private participantsStarted = 0;
  private stopped = false;

  constructor(private readonly options: LoadOptions) {}

  get events(): number {
    return this.options.participants * (3 + this.options.sessionsPerParticipant + 1);
  }

  /** Answers received since `from` (ms epoch) up to `to`. */
  answersBetween(from: number, to = Infinity): Answer[] {
    return this.answers.filter((a) => a.at >= from && a.at <= to);
  }

  /** Resolves once `n` events have been acknowledged. */
  async acknowledgedAtLeast(n: number): Promise<void> {
    while (this.acknowledged.size < n && !this.stopped) await new Promise((r) => setTimeout(r, 20));
  }

  stop(): void {
    this.stopped = true;
  }

  /** Posts the journeys of `participants` more participants (by default the configured number). */
  async run(participants = this.options.participants): Promise<void> {
    const o = this.options;
    const end = this.participantsStarted + participants;
    const worker = async () => {
      while (!this.stopped && this.participantsStarted < end) {
        const i = this.participantsStarted++;
        const events = journey(`${o.prefix}-${i}`, { attended: o.sessionsPerParticipant, missed: 1 });
        for (const event of events) {
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() sets it while a post is awaited
          if (this.stopped) return;
          if (!(await this.postUntilAcknowledged(event))) break; // the rest of this journey depends on it
        }
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  }

  /** Posts one event, retrying the same body; true once it is acknowledged. */
  async postUntilAcknowledged(event: Record<string, unknown>): Promise<boolean> {
    const id = String(event.eventId);
    this.offered.add(id);
    const giveUpAt = Date.now() + (this.options.giveUpMs ?? 180_000);
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) this.retries++;
      const { answer, body } = await this.post(
        this.options.targets[this.next++ % this.options.targets.length]!,
        '/v1/events',
        event,
      );
      if (answer.status === 202) {
        this.acknowledged.add(id);
        if ((body as { status?: string } | null)?.status === 'duplicate') this.duplicateAnswers.add(id);
        return true;
      }
      const retryable = typeof answer.status !== 'number' || answer.status === 429 || answer.status >= 500;
      if (!retryable) {
        this.refused.set(id, answer.status as number);
        return false;
      }
      if (this.stopped || Date.now() > giveUpAt) return false;
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1_000)));
    }
  }

  /** One request; never throws. */
  async post(target: string, path: string, body: unknown): Promise<{ answer: Answer; body: unknown }> {
    const started = Date.now();
    let answer: Answer;
    let parsed: unknown = null;
    try {
      const res = await fetch(`${target}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 15_000),
      });
      const text = await res.text();
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
      const contentType = res.headers.get('content-type') ?? '';
      answer = {
        status: res.status,
        problemJson: contentType.includes('application/problem+json'),
        contentType,
        ms: Date.now() - started,
        at: Date.now(),
      };
    } catch (err) {
      const timeout = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
      answer = {
        status: timeout ? 'timeout' : 'error',
        problemJson: false,
        contentType: '',
        ms: Date.now() - started,
        at: Date.now(),
      };
    }
    this.answers.push(answer);
    return { answer, body: parsed };
  }
}
