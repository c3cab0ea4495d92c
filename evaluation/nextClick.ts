import { attachDatabase, openDatabase, readColumns } from '../platform/duckdb';
import { ItemSearch } from './fullRanking';

/** Next-click Recall@N of item vectors, for warm (seen in training) and cold (never seen) next items. */
export interface NextClickPairs {
  prev: Int32Array;
  next: Int32Array;
  warm: Uint8Array;
}

export async function loadNextClickPairs(featuresDb: string, maxPairs = 5000, seed = 7): Promise<NextClickPairs> {
  const db = await openDatabase(':memory:');
  try {
    await attachDatabase(db.connection, featuresDb, 'feat');
    const c = await readColumns(db.connection, 'models/next_click_pairs', { max_pairs: maxPairs, seed });
    return {
      prev: Int32Array.from((c.prev_item ?? []) as number[]),
      next: Int32Array.from((c.next_item ?? []) as number[]),
      warm: Uint8Array.from((c.warm ?? []).map((w) => (w ? 1 : 0))),
    };
  } finally {
    db.close();
  }
}

export interface NextClickResult {
  recallWarm: number;
  recallCold: number;
  recallAll: number;
  warmPairs: number;
  coldPairs: number;
}

export function evaluateNextClick(search: ItemSearch, pairs: NextClickPairs, n = 50): NextClickResult {
  const q = pairs.prev.length;
  const queries = new Float32Array(q * search.dim);
  for (let i = 0; i < q; i++) queries.set(search.vector(pairs.prev[i] as number), i * search.dim);
  const k = n + 1; // the query item itself comes back first; it does not count
  const { labels } = search.search(queries, k);
  let warmHits = 0;
  let coldHits = 0;
  let warm = 0;
  let cold = 0;
  for (let i = 0; i < q; i++) {
    let hit = false;
    let taken = 0;
    for (let r = 0; r < k && taken < n; r++) {
      const item = labels[i * k + r] as number;
      if (item === pairs.prev[i]) continue;
      taken++;
      if (item === pairs.next[i]) hit = true;
    }
    if (pairs.warm[i]) {
      warm++;
      if (hit) warmHits++;
    } else {
      cold++;
      if (hit) coldHits++;
    }
  }
  return {
    recallWarm: warm ? warmHits / warm : 0,
    recallCold: cold ? coldHits / cold : 0,
    recallAll: q ? (warmHits + coldHits) / q : 0,
    warmPairs: warm,
    coldPairs: cold,
  };
}
