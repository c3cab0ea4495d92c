import type { ConstrainedHits, ConstrainedIndex } from './constrainedIndex';

/**
 * What the multi-interest recall needs of an index: the constrained search and each item's category;
 * and, where it has one, the search of many queries at once (ConstrainedIndex.searchMany).
 */
export type RecallIndex = Pick<ConstrainedIndex, 'search' | 'categoryOf'> & Partial<Pick<ConstrainedIndex, 'searchMany'>>;
import type { ConstrainedQuery } from './constrainedIndex';
import type { Candidate, InterestModel } from './types';

/**
 * Multi-interest recall: a user's K interest vectors each retrieve, from the constrained index,
 * top items within the categories that interest points at plus unconstrained top items; the lists
 * are merged into one feed with a diversity quota per interest and per category. A plain function
 * of its inputs (no Temporal, no database), so a feed can be reproduced and tested.
 */

export interface MultiInterestRecallConfig {
  /** Items wanted (N). */
  size: number;
  /** Candidates kept per (interest, route). */
  perRoute: number;
  /** Categories each interest retrieves within (constrained routes); 0 = open routes only. */
  categoriesPerInterest: number;
  /** Unconstrained hits of an interest that vote for its categories. */
  categoryProbe: number;
  /** No category may fill more than ceil(share × size) slots while other candidates remain. */
  maxCategoryShare: number;
  /**
   * How the lists become one feed: 'quota' (default) interests take turns, rotating over their
   * routes, under the category cap; 'score' merges every candidate by its inner product, best first,
   * de-duplicated (the ComiRec full-ranking protocol's merge), no cap.
   */
  merge?: 'quota' | 'score';
}

export const DEFAULT_RECALL: MultiInterestRecallConfig = {
  size: 20,
  perRoute: 20,
  categoriesPerInterest: 2,
  categoryProbe: 50,
  maxCategoryShare: 0.5,
};

export interface RecallRequest {
  /** Items the feed may show, ascending item_idx: the auctions live at the request time. */
  live: Int32Array;
  /** Items the user has already seen (clicked, or shown earlier); never recalled again. */
  seen: ReadonlySet<number>;
}

export interface HistoryRequest extends RecallRequest {
  longTerm: Int32Array;
  shortTerm: Int32Array;
}

/** user history → K interest vectors → recall. */
export function recallForUser(
  model: InterestModel,
  index: RecallIndex,
  request: HistoryRequest,
  config: MultiInterestRecallConfig = DEFAULT_RECALL,
): Candidate[] {
  return recallFromInterests(model.interests(request.longTerm, request.shortTerm), index, request, config);
}

interface InterestRoutes {
  interest: number;
  /** Share of the turns in the quota merge (relative to the other interests). */
  weight: number;
  /** Best unconstrained score: stronger interests take their turn first. */
  strength: number;
  /** Constrained lists (one per chosen category), then the open list. */
  routes: { route: 'category' | 'open'; hits: Candidate[] }[];
}

export function recallFromInterests(
  interestsIn: readonly Float32Array[],
  index: RecallIndex,
  request: RecallRequest,
  config: MultiInterestRecallConfig = DEFAULT_RECALL,
  /** Each interest's importance (e.g. its strength) for the quota merge; absent = equal turns. */
  weightsIn?: readonly number[],
): Candidate[] {
  return recallMany(index, [{ interests: interestsIn, request, config, ...(weightsIn ? { weights: weightsIn } : {}) }])[0] as Candidate[];
}

/** One request of recallMany: its interests (and their weights), its live and seen items, its config. */
export interface RecallJob {
  interests: readonly Float32Array[];
  request: RecallRequest;
  config: MultiInterestRecallConfig;
  weights?: readonly number[];
}

/**
 * recallFromInterests for several requests at once: each phase's searches (the open routes, then
 * the category routes the open hits chose) of every request go to the index together, so the
 * recall service answers concurrent requests with two index calls. Each request's feed is the one
 * it would get alone.
 */
export function recallMany(index: RecallIndex, jobs: readonly RecallJob[]): Candidate[][] {
  const plans = jobs.map((job) => {
    validateConfig(job.config);
    // A user with no behaviour yet has zero interests: nothing to retrieve with (the fallback fills in).
    const keep = job.interests.map((v) => v.some((x) => x !== 0));
    const interests = job.interests.filter((_, k) => keep[k]);
    const weights = job.weights?.filter((_, k) => keep[k]);
    const active = interests.length > 0 && job.request.live.length > 0;
    // Seen items that are live are the only ones Faiss can return and we then drop; asking for that
    // many more keeps every list exactly its top-k among unseen live items.
    const seenLive = active ? countSeenLive(job.request.live, job.request.seen) : 0;
    return { job, interests, weights, active, among: active ? amongOf(job.request.live) : new Float64Array(), seenLive };
  });
  const unseen = (seen: ReadonlySet<number>, hits: ConstrainedHits, keep: number, route: 'category' | 'open', interest: number): Candidate[] => {
    const out: Candidate[] = [];
    for (let r = 0; r < hits.itemIdx.length && out.length < keep; r++) {
      const itemIdx = hits.itemIdx[r] as number;
      if (!seen.has(itemIdx)) out.push({ itemIdx, score: hits.scores[r] as number, route, interest });
    }
    return out;
  };

  const open = searchAll(
    index,
    // The probe only chooses category routes: without them the open list's own depth is enough.
    plans.flatMap((p) => (p.active ? p.interests.map((query) => ({ query, k: Math.max(p.job.config.categoriesPerInterest > 0 ? p.job.config.categoryProbe : 0, p.job.config.perRoute) + p.seenLive, category: null, among: p.among })) : [])),
  );
  let at = 0;
  const opened = plans.map((p) => {
    const chosen: { interest: number; category: string }[] = [];
    if (!p.active) return { chosen, openLists: [] as Candidate[][] };
    const openLists = p.interests.map((_, k) => {
      const hits = open[at++] as ConstrainedHits;
      const probe = unseen(p.job.request.seen, hits, p.job.config.categoryProbe, 'open', k);
      for (const category of topCategories(probe, index, p.job.config.categoriesPerInterest)) chosen.push({ interest: k, category });
      return unseen(p.job.request.seen, hits, p.job.config.perRoute, 'open', k);
    });
    return { chosen, openLists };
  });
  const constrained = searchAll(
    index,
    plans.flatMap((p, j) => (opened[j] as { chosen: { interest: number; category: string }[] }).chosen.map((c) => ({ query: p.interests[c.interest] as Float32Array, k: p.job.config.perRoute + p.seenLive, category: c.category, among: p.among }))),
  );
  at = 0;
  return plans.map((p, j) => {
    if (!p.active) return [];
    const { chosen, openLists } = opened[j] as { chosen: { interest: number; category: string }[]; openLists: Candidate[][] };
    const config = p.job.config;
    const perInterest: InterestRoutes[] = p.interests.map((_, k) => ({
      interest: k,
      weight: p.weights?.[k] ?? 1,
      strength: openLists[k]?.[0]?.score ?? -Infinity,
      routes: [],
    }));
    chosen.forEach((c) => {
      perInterest[c.interest]?.routes.push({ route: 'category', hits: unseen(p.job.request.seen, constrained[at++] as ConstrainedHits, config.perRoute, 'category', c.interest) });
    });
    perInterest.forEach((r, k) => r.routes.push({ route: 'open', hits: openLists[k] ?? [] }));
    perInterest.sort((a, b) => b.strength - a.strength || a.interest - b.interest);
    if (config.merge === 'score') return mergeByScore(perInterest, config.size);
    return mergeWithQuotas(perInterest, index, config);
  });
}

function mergeByScore(perInterest: InterestRoutes[], size: number): Candidate[] {
  const all = perInterest.flatMap((p) => p.routes.flatMap((r) => r.hits));
  all.sort((a, b) => b.score - a.score || a.itemIdx - b.itemIdx);
  const feed: Candidate[] = [];
  const taken = new Set<number>();
  for (const c of all) {
    if (feed.length >= size) break;
    if (taken.has(c.itemIdx)) continue;
    taken.add(c.itemIdx);
    feed.push(c);
  }
  return feed;
}

/** The live set as Faiss takes it; one per live array, so requests that share a live set share its index-side membership too. */
const amongs = new WeakMap<Int32Array, Float64Array>();
function amongOf(live: Int32Array): Float64Array {
  let among = amongs.get(live);
  if (!among) {
    among = Float64Array.from(live);
    amongs.set(live, among);
  }
  return among;
}

/**
 * The queries through the index's many-query search where it has one (one Faiss call; it answers a
 * handful of queries by single scans and a batch by one matrix product), else one search each.
 */
function searchAll(index: RecallIndex, queries: readonly (ConstrainedQuery & { among: Float64Array })[]): ConstrainedHits[] {
  if (queries.length === 0) return [];
  if (index.searchMany) return index.searchMany(queries);
  return queries.map((q) => index.search(q.query, q.k, q.category, { among: q.among }));
}

/**
 * The interest's categories: those holding the largest share of its probe hits' score mass
 * (Σ max(0, inner product)), ties broken by the better best rank.
 */
function topCategories(probe: readonly Candidate[], index: RecallIndex, n: number): string[] {
  const mass = new Map<string, { mass: number; firstRank: number }>();
  probe.forEach((c, rank) => {
    const cat = index.categoryOf(c.itemIdx);
    const m = mass.get(cat) ?? { mass: 0, firstRank: rank };
    m.mass += Math.max(0, c.score);
    mass.set(cat, m);
  });
  return [...mass]
    .sort((a, b) => b[1].mass - a[1].mass || a[1].firstRank - b[1].firstRank)
    .slice(0, n)
    .map(([cat]) => cat);
}

/**
 * Interests take turns (strongest first); within its turn an interest takes the best untaken item
 * of its next route in rotation (category 1, category 2, open, category 1, ...). So each interest
 * gets about size/K slots and each of its categories about a third of those. An item whose category
 * already holds ceil(maxCategoryShare × size) slots is passed over; only when every list is
 * exhausted under that cap does a second round fill the rest without it (a full feed from the
 * user's interests beats one padded with popular items).
 */
function mergeWithQuotas(perInterest: InterestRoutes[], index: RecallIndex, config: MultiInterestRecallConfig): Candidate[] {
  const feed: Candidate[] = [];
  const taken = new Set<number>();
  const perCategory = new Map<string, number>();
  const cap = Math.ceil(config.maxCategoryShare * config.size);
  // Turns per round in proportion to the interests' weights (equal weights: one each, in turn).
  const maxWeight = Math.max(0, ...perInterest.map((p) => p.weight));
  const share = perInterest.map((p) => (maxWeight > 0 ? p.weight / maxWeight : 1));

  for (const enforceCap of [true, false]) {
    const cursor = perInterest.map((p) => ({ route: 0, pos: p.routes.map(() => 0) }));
    const credit = perInterest.map(() => 0);
    const exhausted = perInterest.map((_, k) => (share[k] as number) <= 0);
    while (feed.length < config.size && exhausted.some((x) => !x)) {
      for (let k = 0; k < perInterest.length && feed.length < config.size; k++) {
        if (exhausted[k]) continue;
        credit[k] = (credit[k] as number) + (share[k] as number);
        while ((credit[k] as number) >= 1 - 1e-9 && feed.length < config.size) {
          const pick = nextFromInterest(perInterest[k] as InterestRoutes, cursor[k] as { route: number; pos: number[] }, (c) => {
            if (taken.has(c.itemIdx)) return false;
            return !enforceCap || (perCategory.get(index.categoryOf(c.itemIdx)) ?? 0) < cap;
          });
          if (!pick) {
            exhausted[k] = true;
            break;
          }
          credit[k] = (credit[k] as number) - 1;
          feed.push(pick);
          taken.add(pick.itemIdx);
          const cat = index.categoryOf(pick.itemIdx);
          perCategory.set(cat, (perCategory.get(cat) ?? 0) + 1);
        }
      }
    }
  }
  return feed;
}

/** The interest's next acceptable candidate, rotating over its routes; undefined when all are exhausted. */
function nextFromInterest(
  p: InterestRoutes,
  cursor: { route: number; pos: number[] },
  acceptable: (c: Candidate) => boolean,
): Candidate | undefined {
  for (let tried = 0; tried < p.routes.length; tried++) {
    const r = cursor.route;
    cursor.route = (cursor.route + 1) % p.routes.length;
    const hits = (p.routes[r] as { hits: Candidate[] }).hits;
    while ((cursor.pos[r] as number) < hits.length) {
      const c = hits[cursor.pos[r] as number] as Candidate;
      cursor.pos[r]!++;
      if (acceptable(c)) return c;
    }
  }
  return undefined;
}

function countSeenLive(live: Int32Array, seen: ReadonlySet<number>): number {
  let n = 0;
  for (const i of seen) if (binarySearch(live, i)) n++;
  return n;
}

function binarySearch(sorted: Int32Array, x: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid] as number;
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function validateConfig(c: MultiInterestRecallConfig): void {
  for (const k of ['size', 'perRoute', 'categoryProbe'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`recall config ${k} must be a positive integer, got ${c[k]}`);
  }
  if (!Number.isInteger(c.categoriesPerInterest) || c.categoriesPerInterest < 0) throw new Error(`recall config categoriesPerInterest must be an integer >= 0, got ${c.categoriesPerInterest}`);
  if (c.merge !== undefined && c.merge !== 'quota' && c.merge !== 'score') throw new Error(`recall config merge must be 'quota' or 'score', got ${String(c.merge)}`);
  if (!(c.maxCategoryShare > 0 && c.maxCategoryShare <= 1)) throw new Error(`recall config maxCategoryShare must be in (0, 1], got ${c.maxCategoryShare}`);
}
