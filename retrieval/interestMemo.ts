import type { InterestModel } from './types';

type Interests = { vectors: Float32Array[]; weights?: number[] };
type InterestRequest = { longTerm: Int32Array; shortTerm: Int32Array };

/** Requests per forward pass when prefetching: large enough that per-call overhead vanishes. */
export const PREFETCH_BATCH = 256;

/**
 * An InterestModel that remembers what it answered, per request content (long-term and short-term
 * clicks, weighted or not), and can be handed many requests ahead of time.
 *
 * Why: the simulated A/B asks arm B's model for the same history several times per session (the
 * replay feed, the first page, and the second page when the first drew no click), one request at a
 * time. One request costs about 4 ms on tfjs-node and a batch of 256 about 0.12 ms per request
 * (medium's trained model), so the A/B computes every session's first-page interests in batches
 * before it starts; the later asks are lookups. A batch's interests equal one request's up to
 * float32 rounding (at most 2e-7 per coordinate measured), the same batching the offline
 * evaluation's session queries use. Answers are shared, not copied: callers must not modify them.
 * For one A/B run, not a long-lived service: nothing is evicted.
 */
export class MemoisedInterestModel implements InterestModel {
  private readonly known = new Map<string, Interests>();
  computed = 0;
  reused = 0;

  constructor(private readonly inner: InterestModel) {}

  get dim(): number {
    return this.inner.dim;
  }

  interests(longTerm: Int32Array, shortTerm: Int32Array): Float32Array[] {
    return (this.interestsMany([{ longTerm, shortTerm }], false)[0] as Interests).vectors;
  }

  weightedInterests(longTerm: Int32Array, shortTerm: Int32Array): { vectors: Float32Array[]; weights: number[] } {
    const got = this.interestsMany([{ longTerm, shortTerm }], true)[0] as Interests;
    return { vectors: got.vectors, weights: got.weights ?? got.vectors.map(() => 1) };
  }

  interestsMany(requests: readonly InterestRequest[], weighted: boolean): Interests[] {
    const keys = requests.map((r) => keyOf(r, weighted));
    const missing: number[] = [];
    const out = keys.map((k, j) => {
      const hit = this.known.get(k);
      if (!hit) missing.push(j);
      return hit;
    });
    // A request repeated within the call is computed once.
    const firstOf = new Map<string, number>();
    const todo = missing.filter((j) => {
      const k = keys[j] as string;
      if (firstOf.has(k)) return false;
      firstOf.set(k, j);
      return true;
    });
    this.reused += requests.length - todo.length;
    for (let at = 0; at < todo.length; at += PREFETCH_BATCH) {
      const chunk = todo.slice(at, at + PREFETCH_BATCH);
      const answers = this.compute(chunk.map((j) => requests[j] as InterestRequest), weighted);
      chunk.forEach((j, c) => this.known.set(keys[j] as string, answers[c] as Interests));
      this.computed += chunk.length;
    }
    return out.map((hit, j) => hit ?? (this.known.get(keys[j] as string) as Interests));
  }

  /** Computes and remembers these requests' interests, in batches. */
  prefetch(requests: readonly InterestRequest[], weighted: boolean): void {
    this.interestsMany(requests, weighted);
  }

  withItemVectors(vectors: Float32Array): void {
    if (!this.inner.withItemVectors) throw new Error('this interest model cannot take new item vectors');
    this.inner.withItemVectors(vectors);
    this.known.clear();
  }

  private compute(requests: readonly InterestRequest[], weighted: boolean): Interests[] {
    const m = this.inner;
    if (m.interestsMany) return m.interestsMany(requests, weighted);
    return requests.map((r) => (weighted && m.weightedInterests ? m.weightedInterests(r.longTerm, r.shortTerm) : { vectors: m.interests(r.longTerm, r.shortTerm) }));
  }
}

function keyOf(r: InterestRequest, weighted: boolean): string {
  return `${weighted ? 'w' : 'u'}${r.longTerm.join(',')}|${r.shortTerm.join(',')}`;
}
