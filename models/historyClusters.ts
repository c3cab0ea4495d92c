import type { InterestModel } from '../retrieval/types';

/**
 * The non-learned multi-interest baseline (PinnerSage's idea): item vectors stay fixed, and each
 * user's history is clustered instead of running a learned interest extractor. A learned user
 * model has to beat this to earn its training time.
 *
 * Per request: the last `maxHistory` clicks, each weighted by recency (half-life in clicks), are
 * clustered by weighted spherical k-means into at most K clusters (never more than the distinct
 * items). Seeding is deterministic: the most recent click, then repeatedly the item least similar
 * to the centres so far (farthest-point), so one request always gives the same interests. A
 * cluster's importance is its share of the recency weight.
 */

export interface HistoryClusterConfig {
  interests: number;
  /** Recency half-life in clicks: the click `halfLife` clicks before the last weighs half as much. */
  halfLife: number;
  maxHistory: number;
  iterations: number;
}

export const DEFAULT_HISTORY_CLUSTERS: HistoryClusterConfig = { interests: 3, halfLife: 10, maxHistory: 50, iterations: 8 };

export interface HistoryInterests {
  /** k × dim unit vectors, most important first. */
  vectors: Float32Array;
  /** Importance of each (share of the recency weight), summing to 1. */
  weights: Float64Array;
  k: number;
}

function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) s += (a[ai + d] as number) * (b[bi + d] as number);
  return s;
}

function normaliseInPlace(v: Float32Array, at: number, dim: number): void {
  let n = 0;
  for (let d = 0; d < dim; d++) n += (v[at + d] as number) ** 2;
  n = Math.sqrt(n);
  if (n > 0) for (let d = 0; d < dim; d++) v[at + d] = (v[at + d] as number) / n;
}

export function clusterHistory(history: ArrayLike<number>, vectors: Float32Array, dim: number, cfg: HistoryClusterConfig): HistoryInterests {
  // Distinct items with their summed recency weights (a re-click adds weight, not a new point).
  const start = Math.max(0, history.length - cfg.maxHistory);
  const weightOf = new Map<number, number>();
  const last = history.length - 1;
  for (let t = start; t <= last; t++) {
    const item = history[t] as number;
    weightOf.set(item, (weightOf.get(item) ?? 0) + Math.pow(0.5, (last - t) / cfg.halfLife));
  }
  const items = [...weightOf.keys()].reverse(); // most recent first (Map keeps first-insertion order)
  const w = Float64Array.from(items, (i) => weightOf.get(i) as number);
  const k = Math.min(cfg.interests, items.length);
  if (k === 0) return { vectors: new Float32Array(0), weights: new Float64Array(0), k: 0 };

  const centres = new Float32Array(k * dim);
  const seedItem = (c: number, item: number) => centres.set(vectors.subarray(item * dim, (item + 1) * dim), c * dim);
  seedItem(0, history[last] as number);
  for (let c = 1; c < k; c++) {
    let best = -1;
    let bestSim = Infinity;
    items.forEach((item, j) => {
      let sim = -Infinity;
      for (let q = 0; q < c; q++) sim = Math.max(sim, dot(vectors, item * dim, centres, q * dim, dim));
      if (sim < bestSim) {
        bestSim = sim;
        best = j;
      }
    });
    seedItem(c, items[best] as number);
  }
  for (let c = 0; c < k; c++) normaliseInPlace(centres, c * dim, dim);

  const assign = new Int32Array(items.length);
  for (let it = 0; it < cfg.iterations; it++) {
    items.forEach((item, j) => {
      let best = 0;
      let bestSim = -Infinity;
      for (let c = 0; c < k; c++) {
        const s = dot(vectors, item * dim, centres, c * dim, dim);
        if (s > bestSim) {
          bestSim = s;
          best = c;
        }
      }
      assign[j] = best;
    });
    const next = new Float32Array(k * dim);
    items.forEach((item, j) => {
      const c = assign[j] as number;
      const wj = w[j] as number;
      for (let d = 0; d < dim; d++) next[c * dim + d] = (next[c * dim + d] as number) + wj * (vectors[item * dim + d] as number);
    });
    // An emptied cluster keeps its previous centre.
    for (let c = 0; c < k; c++) {
      let n = 0;
      for (let d = 0; d < dim; d++) n += (next[c * dim + d] as number) ** 2;
      if (n > 0) centres.set(next.subarray(c * dim, (c + 1) * dim), c * dim);
      normaliseInPlace(centres, c * dim, dim);
    }
  }
  const mass = new Float64Array(k);
  assign.forEach((c, j) => (mass[c] = (mass[c] as number) + (w[j] as number)));
  const total = mass.reduce((a, x) => a + x, 0);
  const order = Array.from({ length: k }, (_, c) => c).sort((a, b) => (mass[b] as number) - (mass[a] as number) || a - b);
  const out = new Float32Array(k * dim);
  order.forEach((c, r) => out.set(centres.subarray(c * dim, (c + 1) * dim), r * dim));
  return { vectors: out, weights: Float64Array.from(order, (c) => (mass[c] as number) / total), k };
}

/** The clustering baseline behind retrieval's InterestModel interface (the A/B serves it this way). */
export function historyClusterModel(itemVectors: Float32Array, dim: number, cfg: HistoryClusterConfig): InterestModel {
  let vectors = itemVectors;
  return {
    dim,
    interests(longTerm: Int32Array, shortTerm: Int32Array): Float32Array[] {
      return this.weightedInterests?.(longTerm, shortTerm).vectors ?? [];
    },
    weightedInterests(longTerm: Int32Array, shortTerm: Int32Array) {
      const history = new Int32Array(longTerm.length + shortTerm.length);
      history.set(longTerm);
      history.set(shortTerm, longTerm.length);
      const c = clusterHistory(history, vectors, dim, cfg);
      return { vectors: Array.from({ length: c.k }, (_, j) => c.vectors.slice(j * dim, (j + 1) * dim)), weights: Array.from(c.weights) };
    },
    withItemVectors(v: Float32Array) {
      vectors = v;
    },
  };
}
