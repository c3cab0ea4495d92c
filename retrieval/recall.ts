import type { ConstrainedHits, ConstrainedIndex } from './constrainedIndex';

/** What the multi-interest recall needs of an index: the constrained search and each item's category. */
export type RecallIndex = Pick<ConstrainedIndex, 'search' | 'categoryOf'>;
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
  validateConfig(config);
  // A user with no behaviour yet has zero interests: nothing to retrieve with (the fallback fills in).
  const keep = interestsIn.map((v) => v.some((x) => x !== 0));
  const interests = interestsIn.filter((_, k) => keep[k]);
  const weights = weightsIn?.filter((_, k) => keep[k]);
  if (interests.length === 0 || request.live.length === 0) return [];
  const among = Float64Array.from(request.live);
  // Seen items that are live are the only ones Faiss can return and we then drop; asking for that
  // many more keeps every list exactly its top-k among unseen live items.
  const seenLive = countSeenLive(request.live, request.seen);
  const unseen = (hits: ConstrainedHits, keep: number, route: 'category' | 'open', interest: number): Candidate[] => {
    const out: Candidate[] = [];
    for (let r = 0; r < hits.itemIdx.length && out.length < keep; r++) {
      const itemIdx = hits.itemIdx[r] as number;
      if (!request.seen.has(itemIdx)) out.push({ itemIdx, score: hits.scores[r] as number, route, interest });
    }
    return out;
  };

  const probeK = Math.max(config.categoryProbe, config.perRoute);
  const open = searchEach(index, interests, probeK + seenLive, interests.map(() => null), among);
  const chosen: { interest: number; category: string }[] = [];
  const openLists = open.map((hits, k) => {
    const probe = unseen(hits, config.categoryProbe, 'open', k);
    for (const category of topCategories(probe, index, config.categoriesPerInterest)) chosen.push({ interest: k, category });
    return unseen(hits, config.perRoute, 'open', k);
  });
  const constrained = searchEach(
    index,
    chosen.map((c) => interests[c.interest] as Float32Array),
    config.perRoute + seenLive,
    chosen.map((c) => c.category),
    among,
  );

  const perInterest: InterestRoutes[] = interests.map((_, k) => ({
    interest: k,
    weight: weights?.[k] ?? 1,
    strength: openLists[k]?.[0]?.score ?? -Infinity,
    routes: [],
  }));
  chosen.forEach((c, q) => {
    perInterest[c.interest]?.routes.push({ route: 'category', hits: unseen(constrained[q] as ConstrainedHits, config.perRoute, 'category', c.interest) });
  });
  perInterest.forEach((p, k) => p.routes.push({ route: 'open', hits: openLists[k] ?? [] }));
  perInterest.sort((a, b) => b.strength - a.strength || a.interest - b.interest);
  if (config.merge === 'score') return mergeByScore(perInterest, config.size);
  return mergeWithQuotas(perInterest, index, config);
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

/**
 * One Faiss call per query. A request holds only a handful of queries, and for so few Faiss's OpenMP
 * fork/join costs more than the search: on 2 cores a batch of 6 took ~1 ms against ~0.1 ms per single
 * query, and 5 ms when another process kept a core busy (single queries stayed at ~0.1 ms).
 */
function searchEach(
  index: RecallIndex,
  queries: readonly Float32Array[],
  k: number,
  categories: readonly (string | null)[],
  among: Float64Array,
): ConstrainedHits[] {
  return queries.map((q, i) => index.search(q, k, categories[i] ?? null, { among }));
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
