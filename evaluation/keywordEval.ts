import { ItemSearch } from './fullRanking';
import { hitAt, mean, recallAt } from './metrics';

/** Keyword → item Recall@N and HitRate@N over held-out searches, full ranking over every item. */
export interface KeywordMetrics {
  searches: number;
  recall_at_50: number;
  hit_rate_at_50: number;
  recall_at_20: number;
}

export function evaluateKeyword(itemVectors: Float32Array, dim: number, queryVectors: Float32Array, clicked: Int32Array[]): KeywordMetrics {
  const search = new ItemSearch(itemVectors, dim);
  const { labels } = search.search(queryVectors, 50);
  const ranked = clicked.map((_, i) => Array.from(labels.subarray(i * 50, (i + 1) * 50)));
  const sets = clicked.map((c) => new Set(c));
  return {
    searches: clicked.length,
    recall_at_50: mean(ranked.map((r, i) => recallAt(r, sets[i] as Set<number>, 50))),
    recall_at_20: mean(ranked.map((r, i) => recallAt(r, sets[i] as Set<number>, 20))),
    hit_rate_at_50: mean(ranked.map((r, i) => hitAt(r, sets[i] as Set<number>, 50))),
  };
}
