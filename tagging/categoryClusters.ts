import { kmeans } from '../platform/faiss';
import { unitHash } from './categoryClassifier';

/**
 * Categories for a dataset whose listing forms name none (Amazon review exports, a new source):
 * spherical k-means (Faiss) over the items' informative-tag bags, as TF-IDF vectors hashed into a
 * fixed number of dimensions. A cluster is not a named category, so its name says what it is
 * (`cluster:07`), and the report lists each cluster's most telling tags for a person to name it.
 */

/** Hashed TF-IDF dimensions: enough that the few thousand informative tags of a dataset rarely share one. */
export const CLUSTER_DIMENSIONS = 1024;
/** Faiss trains on at most this many points per centroid anyway; the rest are only assigned. */
const TRAINING_POINTS_PER_CENTROID = 256;

export interface ClusterCategories {
  k: number;
  /** Per item: its cluster (ordered by size, 0 = largest), or -1 for an item with no informative tag. */
  assignment: Int32Array;
  names: string[];
  /** Per cluster: items and its most telling tags (frequent in the cluster, rare elsewhere). */
  clusters: { category: string; items: number; topTags: string[] }[];
}

/** Coarse: about √(n/10) clusters, between 8 and 64 (20 000 items → 45). */
export function defaultClusterCount(items: number): number {
  return Math.max(8, Math.min(64, Math.round(Math.sqrt(items / 10))));
}

export function clusterName(c: number, k: number): string {
  return `cluster:${String(c).padStart(Math.max(2, String(k - 1).length), '0')}`;
}

interface SparseVector {
  dims: Int32Array;
  values: Float32Array;
}

function hashed(tags: readonly string[], idf: Map<string, number>, seed: number): SparseVector | undefined {
  const acc = new Map<number, number>();
  for (const t of tags) {
    const w = idf.get(t);
    if (w === undefined) continue;
    const h = unitHash(t, seed);
    const dim = Math.floor(h * CLUSTER_DIMENSIONS);
    // A sign from another part of the hash keeps colliding tags from adding up in expectation.
    const sign = unitHash(t, seed + 1) < 0.5 ? -1 : 1;
    acc.set(dim, (acc.get(dim) ?? 0) + sign * w);
  }
  let norm = 0;
  for (const v of acc.values()) norm += v * v;
  if (norm === 0) return undefined;
  const dims = [...acc.keys()].sort((a, b) => a - b);
  const scale = 1 / Math.sqrt(norm);
  return { dims: Int32Array.from(dims), values: Float32Array.from(dims, (d) => (acc.get(d) as number) * scale) };
}

/**
 * @param bags each item's informative tags (category tags excluded)
 * @param k clusters; 0 = defaultClusterCount
 */
export function clusterCategories(itemIds: readonly string[], bags: readonly (readonly string[])[], k: number, seed: number): ClusterCategories {
  const n = bags.length;
  const df = new Map<string, number>();
  for (const bag of bags) for (const t of new Set(bag)) df.set(t, (df.get(t) ?? 0) + 1);
  // A tag on one item cannot bring two items together; smoothed IDF for the rest.
  const idf = new Map<string, number>();
  for (const [t, d] of df) if (d >= 2) idf.set(t, Math.log((1 + n) / (1 + d)) + 1);
  const vectors = bags.map((bag) => hashed([...new Set(bag)], idf, seed));
  const usable = vectors.map((v, i) => (v ? i : -1)).filter((i) => i >= 0);
  const assignment = new Int32Array(n).fill(-1);
  const wanted = k > 0 ? k : defaultClusterCount(usable.length);
  const clusters = Math.min(wanted, usable.length);
  if (clusters < 2) return { k: 0, assignment, names: [], clusters: [] };

  // Training points: all usable items, or a seeded sample of them when there are more than Faiss would use.
  const limit = clusters * TRAINING_POINTS_PER_CENTROID;
  const training = usable.length <= limit ? usable : [...usable].sort((a, b) => unitHash(itemIds[a] as string, seed) - unitHash(itemIds[b] as string, seed) || a - b).slice(0, limit).sort((a, b) => a - b);
  const x = new Float32Array(training.length * CLUSTER_DIMENSIONS);
  training.forEach((item, row) => {
    const v = vectors[item] as SparseVector;
    for (let j = 0; j < v.dims.length; j++) x[row * CLUSTER_DIMENSIONS + (v.dims[j] as number)] = v.values[j] as number;
  });
  const res = kmeans(CLUSTER_DIMENSIONS, clusters, x, { niter: 25, seed, spherical: true, maxPointsPerCentroid: TRAINING_POINTS_PER_CENTROID, minPointsPerCentroid: 1 });

  // Every item goes to its nearest centroid by inner product, computed on its few non-zero dimensions.
  const raw = new Int32Array(n).fill(-1);
  for (const i of usable) {
    const v = vectors[i] as SparseVector;
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < clusters; c++) {
      let s = 0;
      for (let j = 0; j < v.dims.length; j++) s += (v.values[j] as number) * (res.centroids[c * CLUSTER_DIMENSIONS + (v.dims[j] as number)] as number);
      if (s > bestScore) [best, bestScore] = [c, s];
    }
    raw[i] = best;
  }
  // Renumber by size, largest first, so names read in order of importance and do not depend on Faiss's order.
  const sizes = new Array<number>(clusters).fill(0);
  for (const c of raw) if (c >= 0) sizes[c] = (sizes[c] as number) + 1;
  const order = sizes.map((s, c) => [s, c] as const).filter(([s]) => s > 0).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, c]) => c);
  const renumber = new Map(order.map((c, rank) => [c, rank]));
  for (let i = 0; i < n; i++) assignment[i] = raw[i] === -1 ? -1 : (renumber.get(raw[i] as number) as number);
  const kept = order.length;
  const names = Array.from({ length: kept }, (_, c) => clusterName(c, kept));

  const tagCounts = Array.from({ length: kept }, () => new Map<string, number>());
  bags.forEach((bag, i) => {
    const c = assignment[i] as number;
    if (c < 0) return;
    const m = tagCounts[c] as Map<string, number>;
    for (const t of new Set(bag)) if (idf.has(t)) m.set(t, (m.get(t) ?? 0) + 1);
  });
  const summary = names.map((category, c) => {
    const items = sizes[order[c] as number] as number;
    // Frequent in the cluster and rare elsewhere: in-cluster count × IDF.
    const topTags = [...(tagCounts[c] as Map<string, number>).entries()]
      .map(([t, cnt]) => [t, cnt * (idf.get(t) as number)] as const)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 5)
      .map(([t]) => t);
    return { category, items, topTags };
  });
  return { k: kept, assignment, names, clusters: summary };
}
