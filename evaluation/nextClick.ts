import { attachDatabase, openDatabase, readColumns, runSqlFile } from '../platform/duckdb';
import { LiveItems } from '../retrieval/liveItems';
import { DAY_MS, rankByQueries, TopN, WindowedClickCounts } from './rankers';

/**
 * Next-click Recall@N of item vectors, for warm (seen in training) and cold (never seen) next items:
 * from the lot just clicked, the N nearest of the lots on sale at that moment. Every method ranks
 * the same candidates — the item vectors by inner product, popularity by its daily counts — so a
 * model is not charged for ranking lots that had closed or were not listed yet, nor popularity
 * credited for knowing the time.
 */
export interface NextClickPairs {
  prev: Int32Array;
  next: Int32Array;
  warm: Uint8Array;
  /** When the first click of the pair happened (epoch ms). */
  ts: Float64Array;
  /** The lots on sale at each moment (auction windows of the catalogue). */
  onSale: LiveItems;
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
      ts: Float64Array.from((c.ts ?? []) as number[]),
      onSale: await liveItemsOf(db.connection),
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

async function liveItemsOf(conn: Parameters<typeof runSqlFile>[0]): Promise<LiveItems> {
  const rows = await runSqlFile(conn, 'evaluation/item_windows');
  return new LiveItems({ itemIds: [], categories: [], listedAt: Float64Array.from(rows, (r) => Number(r.listed_at)), endsAt: Float64Array.from(rows, (r) => Number(r.ends_at)) });
}

/** For every pair, its candidates: the lots on sale at its moment other than the one just clicked. */
function forEachPair(pairs: NextClickPairs, visit: (pair: number, candidates: Int32Array) => void): void {
  const order = Array.from(pairs.ts.keys()).sort((a, b) => (pairs.ts[a] as number) - (pairs.ts[b] as number) || a - b);
  let at = Number.NaN;
  let live: Int32Array = new Int32Array(0);
  for (const i of order) {
    if (pairs.ts[i] !== at) {
      at = pairs.ts[i] as number;
      live = pairs.onSale.at(at);
    }
    const prev = pairs.prev[i] as number;
    visit(i, live.filter((x) => x !== prev));
  }
}

export function evaluateNextClick(vectors: Float32Array, dim: number, pairs: NextClickPairs, n = 50): NextClickResult {
  const hits = new Uint8Array(pairs.prev.length);
  forEachPair(pairs, (i, candidates) => {
    const prev = pairs.prev[i] as number;
    const list = rankByQueries(vectors.subarray(prev * dim, (prev + 1) * dim), vectors, dim, candidates, n);
    hits[i] = list.includes(pairs.next[i] as number) ? 1 : 0;
  });
  return tally(pairs, (i) => hits[i] === 1);
}

function tally(pairs: NextClickPairs, hit: (pair: number) => boolean): NextClickResult {
  let warmHits = 0;
  let coldHits = 0;
  let warm = 0;
  let cold = 0;
  for (let i = 0; i < pairs.prev.length; i++) {
    const h = hit(i);
    if (pairs.warm[i]) {
      warm++;
      if (h) warmHits++;
    } else {
      cold++;
      if (h) coldHits++;
    }
  }
  const q = pairs.prev.length;
  return {
    recallWarm: warm ? warmHits / warm : 0,
    recallCold: cold ? coldHits / cold : 0,
    recallAll: q ? (warmHits + coldHits) / q : 0,
    warmPairs: warm,
    coldPairs: cold,
  };
}

export const NEXT_CLICK_POPULARITY_WINDOWS: readonly (number | null)[] = [1, 7, 30, null];

/**
 * The popularity baseline of next-click recall: the n most clicked candidates in a window before the
 * day of the pair, recomputed daily from every click, so a lot listed after training can be popular
 * too. Reported for the window that does best on these very pairs: an upper
 * bound of what popularity can do, which is the generous comparison for the item vectors.
 */
export function nextClickPopularity(
  pairs: NextClickPairs,
  clicks: { items: Int32Array; times: Float64Array },
  itemCount: number,
  n = 50,
): NextClickResult & { windowDays: number | null } {
  let best: (NextClickResult & { windowDays: number | null }) | undefined;
  for (const windowDays of NEXT_CLICK_POPULARITY_WINDOWS) {
    const counts = new WindowedClickCounts(clicks.items, clicks.times, itemCount, windowDays === null ? Infinity : windowDays * DAY_MS);
    const hits = new Uint8Array(pairs.prev.length);
    forEachPair(pairs, (i, candidates) => {
      counts.advanceTo(Math.floor((pairs.ts[i] as number) / DAY_MS));
      const top = new TopN(n);
      for (const item of candidates) top.push(item, counts.counts[item] as number);
      hits[i] = top.result().includes(pairs.next[i] as number) ? 1 : 0;
    });
    const r = { ...tally(pairs, (i) => hits[i] === 1), windowDays };
    if (!best || r.recallAll > best.recallAll) best = r;
  }
  return best as NextClickResult & { windowDays: number | null };
}
