import type { DuckDBConnection } from '@duckdb/node-api';
import type { ConstrainedHits, ConstrainedIndex } from '../retrieval/constrainedIndex';
import { ItemCf } from '../retrieval/itemCf';
import { recallFromInterests, type MultiInterestRecallConfig, type RecallIndex } from '../retrieval/recall';
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

/**
 * "More like what you just looked at": candidates by their best inner product with the vectors of
 * the last `last` distinct clicks, for several `last` at once and remembered per request.
 *
 * Why shared: the evaluation ranks every validation session with item-kNN at each grid point
 * (1, 3, 5, 10 last clicks), then again as the tuned hybrids' "recent" part in each serving pass
 * and for the clustering baseline. The queries of a smaller `last` are a prefix of a larger one's,
 * so one pass over the candidates with the largest gives every prefix's best score, and a request
 * (its RankRequest, the same object in every pass over a session set) is ranked once per `last`.
 * Lists equal those of separate rankers exactly: the same dot products, the same TopN order.
 */
export class LastClicksNeighbours {
  private readonly lasts: number[];
  private readonly memo = new WeakMap<RankRequest, { candidates: number; n: number; lists: Map<number, number[]> }>();

  constructor(
    readonly vectors: Float32Array,
    readonly dim: number,
    /** Every `last` that will be asked for: each request's one pass computes them all. */
    lasts: readonly number[],
  ) {
    if (lasts.length === 0 || lasts.some((m) => !Number.isInteger(m) || m < 1)) throw new Error(`last-click counts must be positive integers, got [${lasts.join(', ')}]`);
    this.lasts = [...new Set(lasts)].sort((a, b) => a - b);
  }

  ranker(method: string, last: number): Ranker {
    if (!this.lasts.includes(last)) throw new Error(`${method}: ${last} last clicks was not among [${this.lasts.join(', ')}]`);
    return { method, rank: (req, ctx, n) => this.rank(req, ctx, n, last) };
  }

  /** The top n of the candidates for the last `last` clicks (a copy: callers extend lists). */
  rank(req: RankRequest, ctx: RankContext, n: number, last: number): number[] {
    let known = this.memo.get(req);
    // The candidates of a request are fixed by it; their count guards against reuse in another set.
    if (!known || known.candidates !== ctx.candidates.length || known.n !== n) {
      known = { candidates: ctx.candidates.length, n, lists: this.rankAll(req, ctx.candidates, n) };
      this.memo.set(req, known);
    }
    const list = known.lists.get(last);
    if (!list) throw new Error(`${last} last clicks was not among [${this.lasts.join(', ')}]`);
    return list.slice();
  }

  private rankAll(req: RankRequest, candidates: Int32Array, n: number): Map<number, number[]> {
    const { vectors, dim, lasts } = this;
    const picked = lastDistinct(req.history, lasts[lasts.length - 1] as number);
    // Prefix p of the picked clicks answers every `last` with min(last, picked) = p.
    const prefixes = lasts.map((m) => Math.min(m, picked.length));
    const tops = lasts.map(() => new TopN(n));
    const out = new Map<number, number[]>();
    if (picked.length === 0) {
      for (const m of lasts) out.set(m, []);
      return out;
    }
    const q = new Float32Array(picked.length * dim);
    picked.forEach((item, k) => q.set(vectors.subarray(item * dim, (item + 1) * dim), k * dim));
    const bestOfPrefix = new Float64Array(picked.length);
    for (let c = 0; c < candidates.length; c++) {
      const item = candidates[c] as number;
      const base = item * dim;
      let best = -Infinity;
      for (let p = 0; p < picked.length; p++) {
        let dot = 0;
        const qb = p * dim;
        for (let d = 0; d < dim; d++) dot += (q[qb + d] as number) * (vectors[base + d] as number);
        if (dot > best) best = dot;
        bestOfPrefix[p] = best;
      }
      for (let j = 0; j < lasts.length; j++) (tops[j] as TopN).push(item, bestOfPrefix[(prefixes[j] as number) - 1] as number);
    }
    lasts.forEach((m, j) => out.set(m, (tops[j] as TopN).result()));
    return out;
  }
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

/**
 * How a user's several query vectors become one list (the merge), each a named, validated choice:
 * - 'max_score': a candidate scores by its best query (ComiRec's merge);
 * - 'quota': each query fills a share of the list proportional to its importance, in turns;
 * - 'greedy_diversity': ComiRec's greedy step over the queries' pooled candidates, each pick
 *   maximising score + diversity × (share of the picks so far in another category).
 */
export type MergeConfig = { kind: 'max_score' } | { kind: 'quota' } | { kind: 'greedy_diversity'; diversity: number };

export interface WeightedQueries {
  /** k × dim. */
  vectors: Float32Array;
  /** Importance per query (any scale); absent = equal. */
  weights?: ArrayLike<number>;
}

/** Every query's own top n among the candidates (one pass over the candidates). */
function perQueryTop(queries: Float32Array, vectors: Float32Array, dim: number, candidates: Int32Array, n: number): { lists: number[][]; best: Map<number, number> } {
  const k = queries.length / dim;
  const tops = Array.from({ length: k }, () => new TopN(n));
  const best = new Map<number, number>();
  for (let c = 0; c < candidates.length; c++) {
    const item = candidates[c] as number;
    const base = item * dim;
    let max = -Infinity;
    for (let q = 0; q < k; q++) {
      let dot = 0;
      const qb = q * dim;
      for (let d = 0; d < dim; d++) dot += (queries[qb + d] as number) * (vectors[base + d] as number);
      (tops[q] as TopN).push(item, dot);
      if (dot > max) max = dot;
    }
    best.set(item, max);
  }
  return { lists: tops.map((t) => t.result()), best };
}

/**
 * Interleaves ranked lists into one of n items, list j filling about shares[j] of it: at every slot
 * the list furthest behind its share gives its next item not already taken; an exhausted list
 * drops out and the others fill its slots.
 */
export function blendLists(lists: readonly (readonly number[])[], shares: ArrayLike<number>, n: number): number[] {
  const total = Array.from(shares).reduce((a, x) => a + Math.max(0, x), 0) || 1;
  const share = lists.map((_, j) => Math.max(0, shares[j] as number) / total);
  const at = lists.map(() => 0);
  const taken = lists.map(() => 0);
  const seen = new Set<number>();
  const out: number[] = [];
  const live = lists.map((l, j) => l.length > 0 && (share[j] as number) > 0);
  while (out.length < n && live.some(Boolean)) {
    let pick = -1;
    let deficit = -Infinity;
    for (let j = 0; j < lists.length; j++) {
      if (!live[j]) continue;
      const d = (share[j] as number) * (out.length + 1) - (taken[j] as number);
      if (d > deficit) {
        deficit = d;
        pick = j;
      }
    }
    const list = lists[pick] as readonly number[];
    while ((at[pick] as number) < list.length && seen.has(list[at[pick] as number] as number)) at[pick] = (at[pick] as number) + 1;
    if ((at[pick] as number) >= list.length) {
      live[pick] = false;
      continue;
    }
    const item = list[at[pick] as number] as number;
    at[pick] = (at[pick] as number) + 1;
    taken[pick] = (taken[pick] as number) + 1;
    seen.add(item);
    out.push(item);
  }
  return out;
}

/** ComiRec's greedy diversity step over a pool of scored items. */
export function greedyDiverse(pool: Map<number, number>, categoryOf: (item: number) => string, diversity: number, n: number): number[] {
  const left = [...pool.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const out: number[] = [];
  const perCategory = new Map<string, number>();
  while (out.length < n && left.length > 0) {
    let bestAt = 0;
    let bestValue = -Infinity;
    for (let j = 0; j < left.length; j++) {
      const [item, score] = left[j] as [number, number];
      const same = perCategory.get(categoryOf(item)) ?? 0;
      const value = score + (out.length ? (diversity * (out.length - same)) / out.length : 0);
      if (value > bestValue) {
        bestValue = value;
        bestAt = j;
      }
    }
    const [item] = left.splice(bestAt, 1)[0] as [number, number];
    out.push(item);
    const c = categoryOf(item);
    perCategory.set(c, (perCategory.get(c) ?? 0) + 1);
  }
  return out;
}

/** Candidates ranked for several queries under a merge. */
export function mergeQueries(q: WeightedQueries, vectors: Float32Array, dim: number, candidates: Int32Array, n: number, merge: MergeConfig, categoryOf: (item: number) => string): number[] {
  if (q.vectors.length === 0) return [];
  if (merge.kind === 'max_score') return rankByQueries(q.vectors, vectors, dim, candidates, n);
  const { lists, best } = perQueryTop(q.vectors, vectors, dim, candidates, n);
  if (merge.kind === 'quota') return blendLists(lists, q.weights ?? lists.map(() => 1), n);
  const pool = new Map<number, number>();
  for (const l of lists) for (const item of l) pool.set(item, best.get(item) as number);
  return greedyDiverse(pool, categoryOf, merge.diversity, n);
}

/** A user model's ranker under a merge: its (weighted) queries per request. */
export function mergedQueryRanker(
  method: string,
  vectors: Float32Array,
  dim: number,
  queriesFor: (req: RankRequest) => WeightedQueries,
  merge: MergeConfig,
  categoryOf: (item: number) => string,
): Ranker {
  return { method, rank: (req, ctx, n) => mergeQueries(queriesFor(req), vectors, dim, ctx.candidates, n, merge, categoryOf) };
}

/**
 * The hybrid: a share of the list from a user model, the rest from the neighbours of the last
 * clicks through the same item vectors (item-kNN), interleaved; the share is chosen on validation.
 */
export function hybridRanker(method: string, model: Ranker, recent: Ranker, modelShare: number): Ranker {
  return {
    method,
    rank: (req, ctx, n) => blendLists([model.rank(req, ctx, n), recent.rank(req, ctx, n)], [modelShare, 1 - modelShare], n),
  };
}

/**
 * How a user model's queries are served, chosen on validation per model, with the A/B's own recall
 * (retrieval/recall.ts over the category-constrained index): the merge ('score': best inner product
 * over every list; 'quota': interests take turns under a per-category cap), how many categories
 * each interest retrieves within (0 = open routes only), the share of the list given to the
 * neighbours of the last clicks (0 = the model alone), and the share given to the popular lots.
 */
export interface ServingConfig {
  merge: 'score' | 'quota';
  categoriesPerInterest: number;
  /** With 'quota': no category fills more than this share of the list while others have candidates. */
  maxCategoryShare: number;
  /** Of the personal part of the list (all but the popular share): the last clicks' neighbours. */
  recentShare: number;
  /** With 'quota': 'strength' gives each interest turns in proportion to its strength, 'equal' the same number. */
  weighting: 'equal' | 'strength';
  /** Adaptive K: interests weaker than this share of the user's strongest are left out (0 = keep all). */
  minStrength: number;
  /**
   * Of the whole list: the popular lots every method falls back on. Item-CF's lists are short for
   * most users, so its feeds already are part popular (61% of its validation slots on Amazon beauty,
   * 30% of its A/B pages on small); a model may take that share on purpose, on validation's say.
   */
  popularShare: number;
}

const RECENT_SHARES = [0, 0.25, 0.5, 0.75];
/**
 * First pass of the serving search. The score merge takes no category routes: with a list no longer
 * than a route, the best scores over all routes are the open route's own top, so its category
 * routes change nothing (measured identical on every dataset before they were dropped).
 */
export const SERVING_GRID: readonly ServingConfig[] = [
  ...RECENT_SHARES.map((recentShare) => ({ merge: 'score' as const, categoriesPerInterest: 0, maxCategoryShare: 1, recentShare, weighting: 'equal' as const, minStrength: 0, popularShare: 0 })),
  ...[0, 2].flatMap((categoriesPerInterest) =>
    [0.5, 1].flatMap((maxCategoryShare) => RECENT_SHARES.map((recentShare) => ({ merge: 'quota' as const, categoriesPerInterest, maxCategoryShare, recentShare, weighting: 'equal' as const, minStrength: 0, popularShare: 0 }))),
  ),
];

export const POPULAR_SHARES = [0, 0.25, 0.5];
/** Second pass, on top of SERVING_GRID's best point: the interests' weighting, the adaptive K and the popular share. */
export const STRENGTH_GRID: readonly Pick<ServingConfig, 'weighting' | 'minStrength' | 'popularShare'>[] = (['equal', 'strength'] as const).flatMap((weighting) =>
  [0, 0.5, 0.8].flatMap((minStrength) => POPULAR_SHARES.map((popularShare) => ({ weighting, minStrength, popularShare }))),
);

/**
 * The second pass's choices around the first pass's best, each once: the score merge ignores the
 * weighting, so two grid points can be one choice (and would report one method twice).
 */
export function secondServingPass(best: ServingConfig): ServingConfig[] {
  const tried = new Set([servingName(best)]);
  return STRENGTH_GRID.map((w) => ({ ...best, ...w })).filter((c) => {
    const name = servingName(c);
    if (tried.has(name)) return false;
    tried.add(name);
    return true;
  });
}

export function servingName(s: ServingConfig): string {
  return `${s.merge},categories=${s.categoriesPerInterest}${s.merge === 'quota' ? `,cap=${s.maxCategoryShare},${s.weighting}` : ''}${s.minStrength > 0 ? `,min_strength=${s.minStrength}` : ''}${s.recentShare > 0 ? `,recent=${s.recentShare}` : ''}${s.popularShare > 0 ? `,popular=${s.popularShare}` : ''}`;
}

/**
 * A user's interests as separate vectors, without those weaker than `minStrength` × the strongest
 * (adaptive K: a short or single-minded history supports fewer interests), with their strengths.
 */
export function strongInterests(q: WeightedQueries, dim: number, minStrength: number): { vectors: Float32Array[]; weights: number[] } {
  const k = q.vectors.length / dim;
  const w = Array.from({ length: k }, (_, j) => Number(q.weights?.[j] ?? 1));
  const max = Math.max(0, ...w);
  const vectors: Float32Array[] = [];
  const weights: number[] = [];
  for (let j = 0; j < k; j++) {
    if (minStrength > 0 && (w[j] as number) < minStrength * max) continue;
    vectors.push(q.vectors.subarray(j * dim, (j + 1) * dim));
    weights.push(w[j] as number);
  }
  return { vectors, weights };
}

/** The recall settings the A/B does not take from a serving choice. */
export const SERVING_RECALL: Omit<MultiInterestRecallConfig, 'size' | 'merge' | 'categoriesPerInterest' | 'maxCategoryShare'> = { perRoute: 50, categoryProbe: 50 };

/**
 * One constrained index shared by the many serving choices tried on the same requests. The serving
 * grid ranks every validation session some twenty times with the same interests, and almost all of
 * that time is the same Faiss searches; here each (query, category, k) is searched once per request
 * (its RankContext, which every ranker of a session shares) and the other choices reuse the hits.
 * The key includes the size of the candidate subset, which is fixed by the request.
 */
export class RequestSearchCache {
  private readonly byRequest = new WeakMap<object, Map<string, ConstrainedHits>>();
  searches = 0;
  reused = 0;

  constructor(readonly index: ConstrainedIndex) {}

  for(request: object): RecallIndex {
    let hits = this.byRequest.get(request);
    if (!hits) {
      hits = new Map();
      this.byRequest.set(request, hits);
    }
    const memo = hits;
    return {
      categoryOf: (itemIdx) => this.index.categoryOf(itemIdx),
      search: (query, k, category, opts) => {
        const key = `${category ?? ''}\u0000${k}\u0000${opts?.among?.length ?? -1}\u0000${Buffer.from(query.buffer, query.byteOffset, query.byteLength).toString('base64')}`;
        const known = memo.get(key);
        if (known) {
          this.reused++;
          return known;
        }
        this.searches++;
        const found = this.index.search(query, k, category, opts);
        memo.set(key, found);
        return found;
      },
    };
  }
}

/** A ranker whose lists are computed once per request and n, for rankers shared by many choices (copies: callers extend lists). */
export function oncePerRequest(ranker: Ranker): Ranker {
  const lists = new WeakMap<object, Map<number, number[]>>();
  return {
    method: ranker.method,
    ...(ranker.startDay ? { startDay: (day: number) => (ranker.startDay as (d: number) => Promise<void>)(day) } : {}),
    rank: (req, ctx, n) => {
      let byN = lists.get(ctx);
      if (!byN) {
        byN = new Map();
        lists.set(ctx, byN);
      }
      let list = byN.get(n);
      if (!list) {
        list = ranker.rank(req, ctx, n);
        byN.set(n, list);
      }
      return list.slice();
    },
  };
}

/** Queries computed once per request (e.g. a per-request clustering), for many serving choices. */
export function queriesOncePerRequest(queriesFor: (req: RankRequest) => WeightedQueries): (req: RankRequest) => WeightedQueries {
  const memo = new WeakMap<RankRequest, WeightedQueries>();
  return (req) => {
    let q = memo.get(req);
    if (!q) {
      q = queriesFor(req);
      memo.set(req, q);
    }
    return q;
  };
}

/**
 * A user model's ranker under a serving choice: its queries through the constrained-index recall
 * the A/B uses, then (hybrid) interleaved with `recent`, the tuned item-kNN. Pass a
 * RequestSearchCache when many choices rank the same requests.
 */
export function servedRanker(
  method: string,
  index: ConstrainedIndex | RequestSearchCache,
  dim: number,
  queriesFor: (req: RankRequest) => WeightedQueries,
  serving: ServingConfig,
  recent: Ranker,
  popular: Ranker,
): Ranker {
  const rankModel = (req: RankRequest, ctx: RankContext, n: number) => {
    const q = queriesFor(req);
    const picked = strongInterests(q, dim, serving.minStrength);
    const config = { ...SERVING_RECALL, size: n, perRoute: Math.max(SERVING_RECALL.perRoute, n), merge: serving.merge, categoriesPerInterest: serving.categoriesPerInterest, maxCategoryShare: serving.maxCategoryShare };
    const weights = serving.weighting === 'strength' ? picked.weights : undefined;
    const searchIn = index instanceof RequestSearchCache ? index.for(ctx) : index;
    return recallFromInterests(picked.vectors, searchIn, { live: ctx.candidates, seen: new Set(req.history) }, config, weights).map((c) => c.itemIdx);
  };
  const { recentShare, popularShare } = serving;
  return {
    method,
    // The popularity window moves day by day; advancing it again for the same day changes nothing.
    ...(popularShare > 0 && popular.startDay ? { startDay: (day: number) => (popular.startDay as (d: number) => Promise<void>)(day) } : {}),
    rank: (req, ctx, n) => {
      if (recentShare === 0 && popularShare === 0) return rankModel(req, ctx, n);
      return blendLists(
        [rankModel(req, ctx, n), recentShare > 0 ? recent.rank(req, ctx, n) : [], popularShare > 0 ? popular.rank(req, ctx, n) : []],
        servingShares(serving),
        n,
      );
    },
  };
}

/** The shares of the model, the last clicks' neighbours and the popular lots in a served list. */
export function servingShares(s: Pick<ServingConfig, 'recentShare' | 'popularShare'>): [number, number, number] {
  return [(1 - s.popularShare) * (1 - s.recentShare), (1 - s.popularShare) * s.recentShare, s.popularShare];
}
