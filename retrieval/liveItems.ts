import type { Catalogue } from './types';
import { lowerBound, upperBound } from '../platform/binarySearch';

/**
 * Which auctions are open at a moment. A feed may only show items that are listed and not yet
 * closed (listedAt <= t < endsAt); every recaller filters through this, and Faiss gets the answer
 * as an IDSelector so it never spends its top-k on closed lots.
 */
export class LiveItems {
  /** item_idx sorted by listing time. */
  private readonly byListing: Int32Array;
  private readonly listedSorted: Float64Array;
  private readonly longestAuction: number;

  constructor(private readonly catalogue: Catalogue) {
    const n = catalogue.listedAt.length;
    if (catalogue.endsAt.length !== n) throw new Error(`catalogue: ${n} listing times but ${catalogue.endsAt.length} end times`);
    this.byListing = Int32Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => (catalogue.listedAt[a] as number) - (catalogue.listedAt[b] as number) || a - b,
    );
    this.listedSorted = Float64Array.from(this.byListing, (i) => catalogue.listedAt[i] as number);
    let longest = 0;
    for (let i = 0; i < n; i++) longest = Math.max(longest, (catalogue.endsAt[i] as number) - (catalogue.listedAt[i] as number));
    this.longestAuction = longest;
  }

  isLive(itemIdx: number, t: number): boolean {
    return (this.catalogue.listedAt[itemIdx] as number) <= t && t < (this.catalogue.endsAt[itemIdx] as number);
  }

  /**
   * Every item live at t, ascending item_idx. Only items listed within one longest auction of t are
   * scanned. A later t before the next listing or end gets the same array back (do not modify it):
   * the recall service asks at every request, and what it derives from a live set (the index's
   * membership bitmap and live sub-index) is kept per array.
   */
  at(t: number): Int32Array {
    const last = this.last;
    if (last && t >= last.t && t < last.nextChange) return last.live;
    const hi = upperBound(this.listedSorted, t);
    const lo = lowerBound(this.listedSorted, t - this.longestAuction);
    const out: number[] = [];
    let nextChange = hi < this.listedSorted.length ? (this.listedSorted[hi] as number) : Infinity;
    for (let k = lo; k < hi; k++) {
      const idx = this.byListing[k] as number;
      const end = this.catalogue.endsAt[idx] as number;
      if (t < end) {
        out.push(idx);
        nextChange = Math.min(nextChange, end);
      }
    }
    const live = Int32Array.from(out).sort();
    this.last = { t, nextChange, live };
    return live;
  }

  private last: { t: number; nextChange: number; live: Int32Array } | undefined;
}
