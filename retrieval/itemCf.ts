import type { DuckDBConnection } from '@duckdb/node-api';
import { forEachChunk, GrowableInt32 } from '../platform/duckdb';
import type { Candidate } from './types';

/**
 * The baseline recaller, item-based collaborative filtering: items similar (by co-clicks, see
 * sql/retrieval/item_cf_until.sql) to what the user clicked recently.
 */

/** An item's stored neighbours, best first. */
export interface NeighbourList {
  idx: Int32Array;
  score: Float64Array;
}

/**
 * The similarity of sql/retrieval/item_cf_until.sql, sim(i, j) = Σ_u w_u / sqrt(n(i) · n(j)) with
 * w_u = 1 / ln(1 + items u clicked), over distinct (user, item) click pairs sorted by user, then
 * item (sql/retrieval/item_cf_clicks.sql). Each item keeps its best `topK` neighbours, ties by item
 * index; an item with no co-click has no entry.
 *
 * Why not the SQL: the self-join materialises every co-clicked pair before ranking, 3.9x slower
 * than this accumulation on medium's whole history (16.9 s against 4.4 s, top 100; `npm run
 * bench:data -- medium` prints both), and it is recomputed every simulated day of the evaluation
 * and the A/B test. The sums here also run in a fixed order
 * (users ascending), so near-ties break the same way on every run; the SQL's hash aggregation does
 * not promise that.
 */
export function coClickNeighbours(users: ArrayLike<number>, items: ArrayLike<number>, topK: number): Map<number, NeighbourList> {
  if (items.length !== users.length) throw new Error(`item-CF input: ${users.length} users but ${items.length} items`);
  if (!Number.isInteger(topK) || topK < 1) throw new Error(`item-CF topK must be a positive integer, got ${topK}`);
  const pairs = users.length;
  const item = Int32Array.from(items);
  // Runs of one user's pairs: run r covers item[runStart[r] .. runStart[r + 1]).
  const runStarts: number[] = [];
  let maxItem = -1;
  for (let p = 0; p < pairs; p++) {
    const u = users[p] as number;
    const i = item[p] as number;
    if (i < 0 || !Number.isInteger(u)) throw new Error(`item-CF input row ${p}: bad user ${u} or item ${i}`);
    if (p === 0 || u !== users[p - 1]) {
      if (p > 0 && u < (users[p - 1] as number)) throw new Error(`item-CF input row ${p}: users are not sorted (${users[p - 1]} then ${u})`);
      runStarts.push(p);
    } else if (i <= (item[p - 1] as number)) {
      throw new Error(`item-CF input row ${p}: user ${u}'s items are not distinct and sorted (${item[p - 1]} then ${i})`);
    }
    if (i > maxItem) maxItem = i;
  }
  runStarts.push(pairs);
  const runStart = Int32Array.from(runStarts);
  const runs = runStart.length - 1;
  const weight = new Float64Array(runs);
  const runOfPair = new Int32Array(pairs);
  for (let r = 0; r < runs; r++) {
    weight[r] = 1 / Math.log(1 + ((runStart[r + 1] as number) - (runStart[r] as number)));
    runOfPair.fill(r, runStart[r], runStart[r + 1]);
  }
  // Item -> the runs (users) that clicked it, in user order: a CSR index.
  const clickers = new Int32Array(maxItem + 1);
  for (let p = 0; p < pairs; p++) {
    const i = item[p] as number;
    clickers[i] = (clickers[i] as number) + 1;
  }
  const itemStart = new Int32Array(maxItem + 2);
  for (let i = 0; i <= maxItem; i++) itemStart[i + 1] = (itemStart[i] as number) + (clickers[i] as number);
  const itemRuns = new Int32Array(pairs);
  const fill = itemStart.slice(0, maxItem + 1);
  for (let p = 0; p < pairs; p++) {
    const i = item[p] as number;
    const at = fill[i] as number;
    itemRuns[at] = runOfPair[p] as number;
    fill[i] = at + 1;
  }

  // Every weight is > 0 (a run of one item adds nothing), so acc[j] === 0 marks j as not yet touched.
  const acc = new Float64Array(maxItem + 1);
  const touched = new Int32Array(maxItem + 1);
  const out = new Map<number, NeighbourList>();
  for (let i = 0; i <= maxItem; i++) {
    const ni = clickers[i] as number;
    if (ni === 0) continue;
    let t = 0;
    for (let q = itemStart[i] as number, qEnd = itemStart[i + 1] as number; q < qEnd; q++) {
      const r = itemRuns[q] as number;
      const w = weight[r] as number;
      for (let p = runStart[r] as number, pEnd = runStart[r + 1] as number; p < pEnd; p++) {
        const j = item[p] as number;
        if (j === i) continue;
        if (acc[j] === 0) touched[t++] = j;
        acc[j] = (acc[j] as number) + w;
      }
    }
    if (t === 0) continue;
    const score = new Float64Array(t);
    for (let q = 0; q < t; q++) {
      const j = touched[q] as number;
      score[q] = (acc[j] as number) / Math.sqrt(ni * (clickers[j] as number));
      acc[j] = 0;
    }
    out.set(i, bestNeighbours(touched.subarray(0, t), score, topK));
  }
  return out;
}

/** The value at index m of `a` sorted ascending (quickselect; reorders `a`). */
export function nthSmallest(a: Float64Array, m: number): number {
  if (!(Number.isInteger(m) && m >= 0 && m < a.length)) throw new Error(`index ${m} is outside 0..${a.length - 1}`);
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const x = a[lo] as number;
    const y = a[(lo + hi) >> 1] as number;
    const z = a[hi] as number;
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z)); // median of three
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const tmp = a[i] as number;
        a[i] = a[j] as number;
        a[j] = tmp;
        i++;
        j--;
      }
    }
    // Now a[lo..j] <= pivot <= a[i..hi], and every slot between j and i holds the pivot.
    if (m <= j) hi = j;
    else if (m >= i) lo = i;
    else return a[m] as number;
  }
  return a[m] as number;
}

/** The `topK` best (score desc, index asc) of candidates[q] with score[q]. */
function bestNeighbours(candidates: Int32Array, score: Float64Array, topK: number): NeighbourList {
  const t = candidates.length;
  // Selection finds the cut-off (the topK-th largest score) in linear time; only candidates at or
  // above it get the comparator sort.
  const cutoff = t > topK ? nthSmallest(Float64Array.from(score), t - topK) : -Infinity;
  const kept: number[] = [];
  for (let q = 0; q < t; q++) if ((score[q] as number) >= cutoff) kept.push(q);
  kept.sort((a, b) => (score[b] as number) - (score[a] as number) || (candidates[a] as number) - (candidates[b] as number));
  const n = Math.min(topK, kept.length);
  const idx = new Int32Array(n);
  const best = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    idx[k] = candidates[kept[k] as number] as number;
    best[k] = score[kept[k] as number] as number;
  }
  return { idx, score: best };
}

export interface ItemCfWindow {
  /** Clicks from this moment (epoch ms) ... */
  since: number;
  /** ... up to, not including, this one: the moment of the (daily) recomputation. */
  until: number;
  /** Neighbours kept per item. */
  topK: number;
}

export interface ItemCfRecallOptions {
  /** Items wanted. */
  size: number;
  /** Use only each item's first this-many stored neighbours (default: all stored). */
  neighbours?: number;
  /** Items the feed may show (live, not seen); the others are skipped, however similar. */
  eligible: (itemIdx: number) => boolean;
}

export class ItemCf {
  private constructor(
    private readonly neighbours: Map<number, NeighbourList>,
    readonly window: Readonly<ItemCfWindow>,
  ) {}

  /** Similarities from the features' behaviours (attached as `feat`) within the window. */
  static async compute(conn: DuckDBConnection, window: ItemCfWindow): Promise<ItemCf> {
    if (!(window.until > window.since)) throw new Error(`item-CF window is empty: since ${window.since} >= until ${window.until}`);
    if (!Number.isInteger(window.topK) || window.topK < 1) throw new Error(`item-CF topK must be a positive integer, got ${window.topK}`);
    // Streamed into typed arrays: a window of the large catalogue holds millions of click pairs.
    const users = new GrowableInt32();
    const items = new GrowableInt32();
    await forEachChunk(conn, 'retrieval/item_cf_clicks', { since_ms: window.since, until_ms: window.until }, (chunk, column) => {
      const [u, i] = [chunk.getColumnVector(column('user_idx')), chunk.getColumnVector(column('item_idx'))];
      for (let r = 0; r < chunk.rowCount; r++) {
        users.push(Number(u.getItem(r)));
        items.push(Number(i.getItem(r)));
      }
    });
    const neighbours = coClickNeighbours(users.toArray(), items.toArray(), window.topK);
    return new ItemCf(neighbours, { ...window });
  }

  /** A model that knows no similarities (a window before any click): every recall is empty. */
  static empty(window: ItemCfWindow): ItemCf {
    return new ItemCf(new Map(), { ...window });
  }

  /** Items with at least one neighbour. */
  get itemCount(): number {
    return this.neighbours.size;
  }

  /** The stored neighbours of an item, best first (empty when it had no co-clicks in the window). */
  neighboursOf(itemIdx: number): { itemIdx: number; score: number }[] {
    const n = this.neighbours.get(itemIdx);
    if (!n) return [];
    return Array.from(n.idx, (j, k) => ({ itemIdx: j, score: n.score[k] as number }));
  }

  /**
   * Classic item-CF recall: score(j) = Σ over the recent clicks i of sim(i, j); the best `size`
   * eligible items that are not themselves among the clicks, ties by item_idx. A click repeated in
   * `recentClicks` counts once: a second look at the same lot is not a second interest.
   */
  recall(recentClicks: ArrayLike<number>, opts: ItemCfRecallOptions): Candidate[] {
    const clicked = new Set(Array.from(recentClicks));
    const score = new Map<number, number>();
    for (const i of clicked) {
      const n = this.neighbours.get(i);
      if (!n) continue;
      const kept = Math.min(n.idx.length, opts.neighbours ?? Infinity);
      for (let k = 0; k < kept; k++) {
        const j = n.idx[k] as number;
        if (clicked.has(j)) continue;
        score.set(j, (score.get(j) ?? 0) + (n.score[k] as number));
      }
    }
    const ranked = [...score].filter(([j]) => opts.eligible(j)).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    return ranked.slice(0, opts.size).map(([itemIdx, s]) => ({ itemIdx, score: s, route: 'item-cf' as const, interest: -1 }));
  }
}
