import { VectorIndex } from '../platform/faiss';

/**
 * Exact full-ranking retrieval over the whole catalogue (no sampled negatives): a flat inner-product
 * Faiss index over every item's vector.
 */
export class ItemSearch {
  private readonly index: VectorIndex;
  constructor(
    readonly vectors: Float32Array,
    readonly dim: number,
  ) {
    this.index = VectorIndex.flatIP(dim);
    this.index.add(vectors);
  }

  get size(): number {
    return this.index.ntotal;
  }

  /** Top-k item indices and scores for each of the nq queries (nq × dim). */
  search(queries: Float32Array, k: number): { labels: Float64Array; scores: Float32Array } {
    if (queries.length === 0) return { labels: new Float64Array(0), scores: new Float32Array(0) };
    const r = this.index.search(queries, k);
    return { labels: r.labels, scores: r.distances };
  }

  vector(item: number): Float32Array {
    return this.vectors.subarray(item * this.dim, (item + 1) * this.dim);
  }
}

/**
 * ComiRec-style multi-interest retrieval: every interest retrieves its top-n, the lists are merged by
 * score, de-duplicated and cut to n.
 */
export function mergeInterestResults(labels: Float64Array, scores: Float32Array, interests: number, n: number): number[] {
  const best = new Map<number, number>();
  for (let k = 0; k < interests; k++) {
    for (let r = 0; r < n; r++) {
      const item = labels[k * n + r] as number;
      if (item < 0) continue;
      const s = scores[k * n + r] as number;
      const prev = best.get(item);
      if (prev === undefined || s > prev) best.set(item, s);
    }
  }
  return [...best.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, n)
    .map(([item]) => item);
}
