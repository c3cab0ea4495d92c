import type { DuckDBConnection } from '@duckdb/node-api';
import { runSqlFile } from '../platform/duckdb';
import type { Candidate } from './types';

/**
 * The baseline recaller, item-based collaborative filtering: items similar (by co-clicks, see
 * sql/retrieval/item_cf_until.sql) to what the user clicked recently.
 */

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
    private readonly neighbours: Map<number, { idx: Int32Array; score: Float64Array }>,
    readonly window: Readonly<ItemCfWindow>,
  ) {}

  /** Similarities from the features' behaviours (attached as `feat`) within the window. */
  static async compute(conn: DuckDBConnection, window: ItemCfWindow): Promise<ItemCf> {
    if (!(window.until > window.since)) throw new Error(`item-CF window is empty: since ${window.since} >= until ${window.until}`);
    if (!Number.isInteger(window.topK) || window.topK < 1) throw new Error(`item-CF topK must be a positive integer, got ${window.topK}`);
    const rows = await runSqlFile(conn, 'retrieval/item_cf_until', {
      since_ms: window.since,
      until_ms: window.until,
      top_k: window.topK,
    });
    const neighbours = new Map<number, { idx: Int32Array; score: Float64Array }>();
    for (const r of rows) {
      neighbours.set(Number(r.item_idx), {
        idx: Int32Array.from(r.neighbors as number[]),
        score: Float64Array.from(r.scores as number[]),
      });
    }
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
