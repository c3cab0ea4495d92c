import type { RecallAnswer, RecallEngine, RecallQuery } from './engine';

/**
 * Answers the recall requests that arrive together as one batch. Requests whose bodies were read in
 * the same turn of the event loop are queued and answered at its end (setImmediate) by one
 * RecallEngine.recallMany call: one user-model forward pass and two index calls for all of them,
 * where one at a time each paid a forward pass and about nine index scans (on 2 cores 16 concurrent
 * clients queued ~90 ms behind each other). A request alone is answered alone, one turn later.
 * Every request of a batch is answered at the batch's moment, so they share one live-lot set.
 */
export interface BatcherOptions {
  /** Most requests in one engine call; a longer queue is answered in several. */
  maxBatch?: number;
  /** Sees each engine call's size (the batch-size histogram of /metrics). */
  onBatch?: (size: number) => void;
}

interface Pending {
  engine: RecallEngine;
  query: Omit<RecallQuery, 'now'>;
  resolve: (a: RecallAnswer) => void;
  reject: (err: unknown) => void;
}

export class RecallBatcher {
  private pending: Pending[] = [];
  private scheduled = false;
  private readonly maxBatch: number;

  constructor(
    private readonly now: () => number,
    private readonly options: BatcherOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 64;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new Error(`maxBatch must be a positive integer, got ${options.maxBatch}`);
  }

  /** The answer of `engine` (the bundle the request was read under: a swap may land mid-batch). */
  recall(engine: RecallEngine, query: Omit<RecallQuery, 'now'>): Promise<RecallAnswer> {
    return new Promise((resolve, reject) => {
      this.pending.push({ engine, query, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const queue = this.pending;
    this.pending = [];
    const now = this.now();
    const byEngine = new Map<RecallEngine, Pending[]>();
    for (const p of queue) {
      const list = byEngine.get(p.engine);
      if (list) list.push(p);
      else byEngine.set(p.engine, [p]);
    }
    for (const [engine, all] of byEngine) {
      for (let from = 0; from < all.length; from += this.maxBatch) {
        const batch = all.slice(from, from + this.maxBatch);
        this.options.onBatch?.(batch.length);
        try {
          const answers = engine.recallMany(batch.map((p) => ({ ...p.query, now })));
          batch.forEach((p, j) => p.resolve(answers[j] as RecallAnswer));
        } catch {
          // One request's failure must not fail the others: each is answered (or fails) alone.
          for (const p of batch) {
            try {
              p.resolve(engine.recall({ ...p.query, now }));
            } catch (err) {
              p.reject(err);
            }
          }
        }
      }
    }
  }
}
