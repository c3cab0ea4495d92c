import { mergeInterestResults, type ItemSearch } from './fullRanking';
import { lastDistinct } from './rankers';
import { categoryCoverage, hitAt, intraListDiversity, mean, ndcgAt, recallAt } from './metrics';

/**
 * Full-ranking evaluation of user models on held-out users (ComiRec protocol): rankings over the
 * whole catalogue, metrics averaged per user. Baselines are ranked the same way so they can be
 * compared in one table.
 */

export const CUTOFFS = [20, 50] as const;

export interface MethodMetrics {
  method: string;
  users: number;
  recall_at_20: number;
  recall_at_50: number;
  hit_rate_at_20: number;
  hit_rate_at_50: number;
  ndcg_at_20: number;
  ndcg_at_50: number;
  /** Distinct coarse categories among the top 50. */
  category_coverage_at_50: number;
  /** 1 − mean pairwise cosine of the top 50 (item-unit vectors for every method). */
  intra_list_diversity_at_50: number;
}

export interface DiversityContext {
  categoryOf: (item: number) => string;
  vectors: Float32Array;
  dim: number;
}

export function scoreRankings(method: string, rankings: number[][], targets: Int32Array[], div: DiversityContext): MethodMetrics {
  const sets = targets.map((t) => new Set(t));
  const per = (f: (r: number[], t: Set<number>) => number) => mean(rankings.map((r, i) => f(r, sets[i] as Set<number>)));
  return {
    method,
    users: rankings.length,
    recall_at_20: per((r, t) => recallAt(r, t, 20)),
    recall_at_50: per((r, t) => recallAt(r, t, 50)),
    hit_rate_at_20: per((r, t) => hitAt(r, t, 20)),
    hit_rate_at_50: per((r, t) => hitAt(r, t, 50)),
    ndcg_at_20: per((r, t) => ndcgAt(r, t, 20)),
    ndcg_at_50: per((r, t) => ndcgAt(r, t, 50)),
    category_coverage_at_50: per((r) => categoryCoverage(r, div.categoryOf, 50)),
    intra_list_diversity_at_50: per((r) => intraListDiversity(r, div.vectors, div.dim, 50)),
  };
}

/** Every interest retrieves its top-n; merged by score, de-duplicated, cut to n. */
export function rankByInterests(search: ItemSearch, interests: Float32Array, users: number, k: number, n = 50): number[][] {
  const { labels, scores } = search.search(interests, n);
  const out: number[][] = [];
  for (let u = 0; u < users; u++) {
    out.push(mergeInterestResults(labels.subarray(u * k * n, (u + 1) * k * n), scores.subarray(u * k * n, (u + 1) * k * n), k, n));
  }
  return out;
}

/** The same top-n for everyone: the most clicked items of the training data. */
export function rankByPopularity(popularity: Float64Array, users: number, n = 50): number[][] {
  const top = Array.from(popularity.keys())
    .sort((a, b) => (popularity[b] as number) - (popularity[a] as number) || a - b)
    .slice(0, n);
  return Array.from({ length: users }, () => top);
}

/** One query per user: the mean of their history's vectors (how an id-only model serves a user). */
export function rankByMeanVector(search: ItemSearch, histories: Int32Array[], n = 50): number[][] {
  const q = new Float32Array(histories.length * search.dim);
  histories.forEach((h, u) => {
    for (const i of h) {
      const v = search.vector(i);
      for (let d = 0; d < search.dim; d++) q[u * search.dim + d] = (q[u * search.dim + d] as number) + (v[d] as number) / h.length;
    }
  });
  const { labels } = search.search(q, n);
  return histories.map((_, u) => Array.from(labels.subarray(u * n, (u + 1) * n)).filter((x) => x >= 0));
}

/**
 * The history baseline: the last `last` distinct clicks retrieve their nearest lots by item vector,
 * merged by score; the clicked lots themselves (each one's own nearest neighbour) are left out.
 */
export function rankByLastClicks(search: ItemSearch, histories: Int32Array[], last: number, n = 50): number[][] {
  const k = n + last;
  return histories.map((h) => {
    const picked = lastDistinct(h, last);
    if (picked.length === 0) return [];
    const q = new Float32Array(picked.length * search.dim);
    picked.forEach((item, j) => q.set(search.vector(item), j * search.dim));
    const { labels, scores } = search.search(q, k);
    const merged = mergeInterestResults(labels, scores, picked.length, k).filter((item) => !picked.includes(item));
    return merged.slice(0, n);
  });
}
