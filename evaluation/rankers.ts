import type { DuckDBConnection } from '@duckdb/node-api';
import { ItemCf } from '../retrieval/itemCf';
import { lowerBound } from '../platform/binarySearch';

/**
 * The methods an offline protocol ranks, behind one interface: given a scored session (who, when,
 * what the user clicked before) and its candidate lots, the top n candidates, best first. Every
 * method sees exactly the same request and candidates; what each one has learned from is its own
 * business and is listed in the protocol's report.
 */

export const DAY_MS = 86_400_000;

export interface RankRequest {
  userIdx: number;
  startedAt: number;
  /** The UTC day of startedAt: daily statistics are those computed up to this day's start. */
  day: number;
  /** The user's clicks before the session, oldest first. */
  history: Int32Array;
  /** Position of the request in its session set (query vectors precomputed per session use it). */
  caseNo: number;
}

export interface RankContext {
  /** The candidate lots of this request, ascending item_idx. */
  candidates: Int32Array;
  /** 1 for every candidate item_idx (the same lots as `candidates`). */
  isCandidate: Uint8Array;
}

export interface Ranker {
  readonly method: string;
  /** Called once per day, in day order, before that day's requests (daily statistics refresh here). */
  startDay?(day: number): Promise<void>;
  rank(req: RankRequest, ctx: RankContext, n: number): number[];
}

/**
 * The n best (score, then tie-breaker, both higher first; then lower item_idx) of a stream of items,
 * without sorting the stream: candidate sets hold thousands of lots and only 50 are kept.
 */
export class TopN {
  private readonly items: number[] = [];
  private readonly scores: number[] = [];
  private readonly ties: number[] = [];
  constructor(private readonly n: number) {}

  private better(s: number, t: number, item: number, k: number): boolean {
    const sk = this.scores[k] as number;
    if (s !== sk) return s > sk;
    const tk = this.ties[k] as number;
    if (t !== tk) return t > tk;
    return item < (this.items[k] as number);
  }

  push(item: number, score: number, tie = 0): void {
    const len = this.items.length;
    if (len === this.n && !this.better(score, tie, item, len - 1)) return;
    let at = len === this.n ? len - 1 : len;
    while (at > 0 && this.better(score, tie, item, at - 1)) at--;
    this.items.splice(at, 0, item);
    this.scores.splice(at, 0, score);
    this.ties.splice(at, 0, tie);
    if (this.items.length > this.n) {
      this.items.pop();
      this.scores.pop();
      this.ties.pop();
    }
  }

  result(): number[] {
    return this.items.slice();
  }
}

/** Candidates by their best inner product with any of the query vectors (ComiRec's merge by score). */
export function rankByQueries(queries: Float32Array, vectors: Float32Array, dim: number, candidates: Int32Array, n: number): number[] {
  const k = queries.length / dim;
  const top = new TopN(n);
  if (k === 0) return [];
  for (let c = 0; c < candidates.length; c++) {
    const item = candidates[c] as number;
    const base = item * dim;
    let best = -Infinity;
    for (let q = 0; q < k; q++) {
      let dot = 0;
      const qb = q * dim;
      for (let d = 0; d < dim; d++) dot += (queries[qb + d] as number) * (vectors[base + d] as number);
      if (dot > best) best = dot;
    }
    top.push(item, best);
  }
  return top.result();
}

/**
 * A model that answers a request with query vectors: a user model's K interests (precomputed per
 * session, looked up by caseNo), or vectors derived from the history.
 */
export function queryRanker(method: string, vectors: Float32Array, dim: number, queriesFor: (req: RankRequest) => Float32Array): Ranker {
  return { method, rank: (req, ctx, n) => rankByQueries(queriesFor(req), vectors, dim, ctx.candidates, n) };
}

/** The mean of the history's vectors as one query: how an id-embedding model (item2vec) serves a user. */
export function meanVectorRanker(method: string, vectors: Float32Array, dim: number): Ranker {
  return queryRanker(method, vectors, dim, (req) => {
    const q = new Float32Array(req.history.length ? dim : 0);
    for (const i of req.history) for (let d = 0; d < dim; d++) q[d] = (q[d] as number) + (vectors[i * dim + d] as number) / req.history.length;
    return q;
  });
}

/** The last `count` distinct items of a history, most recent first. */
export function lastDistinct(history: ArrayLike<number>, count: number): number[] {
  const picked: number[] = [];
  for (let i = history.length - 1; i >= 0 && picked.length < count; i--) {
    const item = history[i] as number;
    if (!picked.includes(item)) picked.push(item);
  }
  return picked;
}

/** The last `last` distinct clicks' vectors as queries: "more like what you just looked at". */
export function lastClicksRanker(method: string, vectors: Float32Array, dim: number, last: number): Ranker {
  return queryRanker(method, vectors, dim, (req) => {
    const picked = lastDistinct(req.history, last);
    const q = new Float32Array(picked.length * dim);
    picked.forEach((item, k) => q.set(vectors.subarray(item * dim, (item + 1) * dim), k * dim));
    return q;
  });
}

/**
 * Click counts per item over a window that slides forward day by day, from clicks sorted by time:
 * the counts for day d are those of [d·day − window, d·day), i.e. nothing of day d itself.
 */
export class WindowedClickCounts {
  readonly counts: Float64Array;
  private hi = 0;
  private lo = 0;
  private day = -Infinity;

  constructor(
    private readonly items: Int32Array,
    private readonly times: Float64Array,
    itemCount: number,
    /** Window length in ms; Infinity = every click before the day. */
    readonly windowMs: number,
  ) {
    this.counts = new Float64Array(itemCount);
  }

  private bump(item: number, by: number): void {
    this.counts[item] = (this.counts[item] as number) + by;
  }

  advanceTo(day: number): void {
    if (day < this.day) throw new Error(`click counts only move forward in time (at day ${this.day}, asked for ${day})`);
    this.day = day;
    const until = day * DAY_MS;
    const hi = lowerBound(this.times, until);
    for (let k = this.hi; k < hi; k++) this.bump(this.items[k] as number, 1);
    this.hi = hi;
    if (Number.isFinite(this.windowMs)) {
      const lo = lowerBound(this.times, until - this.windowMs);
      for (let k = this.lo; k < lo; k++) this.bump(this.items[k] as number, -1);
      this.lo = lo;
    }
  }
}

export interface PopularityConfig {
  /** Days of clicks counted before the day of the request; null = all of them. */
  windowDays: number | null;
}

/**
 * The most clicked candidates in the window before the request's day, the fresher lot first among
 * equally clicked ones (a new auction has had no time to collect clicks), as the A/B's fallback does.
 */
export function popularityRanker(method: string, clicks: { items: Int32Array; times: Float64Array }, listedAt: Float64Array, config: PopularityConfig): Ranker {
  const counts = new WindowedClickCounts(clicks.items, clicks.times, listedAt.length, config.windowDays === null ? Infinity : config.windowDays * DAY_MS);
  return {
    method,
    startDay: async (day) => counts.advanceTo(day),
    rank: (_req, ctx, n) => {
      const top = new TopN(n);
      for (const item of ctx.candidates) top.push(item, counts.counts[item] as number, listedAt[item] as number);
      return top.result();
    },
  };
}

export interface ItemCfConfig {
  /** Days of clicks the daily recomputation reads; null = all clicks before the day. */
  lookbackDays: number | null;
  /** Neighbours kept per item. */
  topK: number;
  /** The user's most recent clicks recommendations start from. */
  recentClicks: number;
}

/**
 * Item-CF similarities recomputed at the start of every day from all users' clicks before it
 * (sql/retrieval/item_cf_until.sql), shared by every item-CF configuration with the same lookback:
 * each keeps the largest neighbour count asked for and reads its own prefix.
 */
export class DailyItemCf {
  private readonly current = new Map<number | null, { day: number; cf: ItemCf }>();
  constructor(
    private readonly conn: DuckDBConnection,
    private readonly dataStart: number,
    private readonly maxTopK: number,
  ) {}

  async at(day: number, lookbackDays: number | null): Promise<ItemCf> {
    const hit = this.current.get(lookbackDays);
    if (hit && hit.day === day) return hit.cf;
    const until = day * DAY_MS;
    const since = lookbackDays === null ? this.dataStart : Math.max(this.dataStart, until - lookbackDays * DAY_MS);
    // Before the first click there is nothing to learn from: an empty window gives no neighbours.
    const cf = until > since ? await ItemCf.compute(this.conn, { since, until, topK: this.maxTopK }) : ItemCf.empty({ since, until: since + 1, topK: this.maxTopK });
    this.current.set(lookbackDays, { day, cf });
    return cf;
  }
}

export function itemCfRanker(method: string, daily: DailyItemCf, config: ItemCfConfig): Ranker {
  let cf: ItemCf | undefined;
  return {
    method,
    startDay: async (day) => {
      cf = await daily.at(day, config.lookbackDays);
    },
    rank: (req, ctx, n) => {
      if (!cf) throw new Error(`${method}: rank before startDay`);
      const recent = req.history.subarray(Math.max(0, req.history.length - config.recentClicks));
      return cf.recall(recent, { size: n, neighbours: config.topK, eligible: (i) => ctx.isCandidate[i] === 1 }).map((c) => c.itemIdx);
    },
  };
}
