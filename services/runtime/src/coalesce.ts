/** An item waiting for its group, and where its answer goes. */
interface Waiting<Item, Answer> {
  item: Item;
  resolve: (answer: Answer) => void;
  reject: (error: unknown) => void;
}

export interface CoalescerOptions<Item> {
  /** Groups handled at once; the rest wait. */
  maxInFlight?: number;
  /**
   * While a group is in flight, another starts beside it only if it weighs at least this much; a lighter one waits,
   * gathering what arrives meanwhile, and starts once no group is in flight. Default: any weight.
   */
  overlapMinWeight?: number;
  /** A group's total weight stays at or below this, unless its first item alone weighs more (it then goes alone). */
  maxWeight?: number;
  weight?: (item: Item) => number;
  /**
   * A group not settled by then fails with `code: 'ETIMEDOUT'` and frees its slot: a connection lost mid-query can
   * leave a query pending for good, and a caller must not wait on it.
   */
  timeoutMs?: number;
  /**
   * Items submitted in one run of synchronous code (several callers started together) form one group: the first
   * group starts once that run ends, rather than with the first item alone.
   */
  gatherSameTurn?: boolean;
}

/**
 * Items that arrive while earlier groups are being handled are handled together, in arrival order, by one call of
 * `handle`, which answers each item in the same order. No timer: a lone item is handled at once; under load each
 * group carries what queued behind the one before. The database's group commit (one transaction for many requests)
 * and a projector's partitions (one transaction for the batches of one fetch) are this shape.
 */
export class Coalescer<Item, Answer> {
  private queue: Waiting<Item, Answer>[] = [];
  private inFlight = 0;
  private pumpScheduled = false;
  private readonly maxInFlight: number;
  private readonly maxWeight: number;
  private readonly overlapMinWeight: number;
  private readonly weight: (item: Item) => number;

  constructor(
    private readonly handle: (items: Item[]) => Promise<Answer[]>,
    private readonly options: CoalescerOptions<Item> = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 1;
    this.maxWeight = options.maxWeight ?? Number.POSITIVE_INFINITY;
    this.overlapMinWeight = options.overlapMinWeight ?? 0;
    this.weight = options.weight ?? (() => 1);
  }

  submit(item: Item): Promise<Answer> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.options.gatherSameTurn) this.pump();
      else if (!this.pumpScheduled) {
        this.pumpScheduled = true;
        queueMicrotask(() => {
          this.pumpScheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      let weight = this.weight(this.queue[0]!.item);
      let take = 1;
      while (take < this.queue.length) {
        const next = this.weight(this.queue[take]!.item);
        if (weight + next > this.maxWeight) break;
        weight += next;
        take += 1;
      }
      if (this.inFlight > 0 && weight < this.overlapMinWeight) return;
      const group = this.queue.splice(0, take);
      this.inFlight += 1;
      let timer: NodeJS.Timeout | undefined;
      const handled = this.handle(group.map((w) => w.item));
      const answered =
        this.options.timeoutMs === undefined
          ? handled
          : Promise.race([
              handled,
              new Promise<never>((_, reject) => {
                timer = setTimeout(
                  () => reject(Object.assign(new Error('the group did not finish in time'), { code: 'ETIMEDOUT' })),
                  this.options.timeoutMs,
                );
              }),
            ]);
      answered
        .then(
          (answers) => group.forEach((w, i) => w.resolve(answers[i]!)),
          (err: unknown) => group.forEach((w) => w.reject(err)),
        )
        .finally(() => {
          clearTimeout(timer);
          this.inFlight -= 1;
          this.pump();
        });
    }
  }
}
