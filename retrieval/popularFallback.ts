import type { DuckDBConnection } from '@duckdb/node-api';
import { runSqlFile } from '../platform/duckdb';
import type { Candidate, Feed } from './types';

/**
 * The fallback both A/B arms share: when a recaller finds fewer than N candidates (a user with no
 * history, an item-CF neighbourhood that is all closed auctions), the rest of the feed is the most
 * clicked live items of the recent past. Sharing it keeps the comparison about the recallers.
 */
export class PopularItems {
  /**
   * @param clicks item_idx → clicks in the popularity window (0 for none).
   * @param listedAt item_idx → listing time: among equally clicked items the fresher one ranks first,
   *   because a new auction has had no time to collect clicks.
   */
  constructor(
    private readonly clicks: Float64Array,
    private readonly listedAt: Float64Array,
  ) {}

  /** Clicks per item in [since, until) from the features' behaviours (attached as `feat`). */
  static async compute(conn: DuckDBConnection, itemCount: number, listedAt: Float64Array, since: number, until: number): Promise<PopularItems> {
    const clicks = new Float64Array(itemCount);
    for (const r of await runSqlFile(conn, 'retrieval/popularity_until', { since_ms: since, until_ms: until })) {
      clicks[Number(r.item_idx)] = Number(r.clicks);
    }
    return new PopularItems(clicks, listedAt);
  }

  private order: Int32Array | undefined;

  /** Up to n of the `live` items that `excluded` rejects not, most popular first. */
  top(live: Int32Array, n: number, excluded: (itemIdx: number) => boolean): number[] {
    // Every item ranked once (the first call), then each request walks that ranking until it has n:
    // sorting the live lots per request cost more than the rest of a cold user's answer.
    const order = (this.order ??= Int32Array.from({ length: this.clicks.length }, (_, i) => i).sort(
      (a, b) =>
        (this.clicks[b] as number) - (this.clicks[a] as number) ||
        (this.listedAt[b] as number) - (this.listedAt[a] as number) ||
        a - b,
    ));
    const isLive = new Uint8Array(this.clicks.length);
    for (const i of live) isLive[i] = 1;
    const out: number[] = [];
    for (let r = 0; r < order.length && out.length < n; r++) {
      const i = order[r] as number;
      if (isLive[i] && !excluded(i)) out.push(i);
    }
    return out;
  }
}

/**
 * The recaller's candidates, then popular live items until the feed holds `size` items (or the live
 * catalogue runs out). Candidates beyond `size` are dropped; duplicates are the recaller's bug.
 */
export function fillFeed(
  candidates: readonly Candidate[],
  size: number,
  popular: PopularItems,
  live: Int32Array,
  excluded: (itemIdx: number) => boolean,
): Feed {
  const items = candidates.slice(0, size);
  const taken = new Set(items.map((c) => c.itemIdx));
  if (taken.size !== items.length) throw new Error('recaller returned the same item twice');
  if (items.length >= size) return { items, fallbackFilled: 0 };
  const extra = popular.top(live, size - items.length, (i) => taken.has(i) || excluded(i));
  for (const itemIdx of extra) items.push({ itemIdx, score: 0, route: 'popular', interest: -1 });
  return { items, fallbackFilled: extra.length };
}
