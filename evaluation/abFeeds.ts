import { resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { attachDatabase, openDatabase } from '../platform/duckdb';
import { ConstrainedIndex } from '../retrieval/constrainedIndex';
import { MemoisedInterestModel } from '../retrieval/interestMemo';
import { ItemCf } from '../retrieval/itemCf';
import { LiveItems } from '../retrieval/liveItems';
import { fillFeed, PopularItems } from '../retrieval/popularFallback';
import { recallMany, type MultiInterestRecallConfig, type HistoryRequest, type RecallIndex, type RecallJob } from '../retrieval/recall';
import type { Candidate, Feed, InterestModel, InterestModelProvider, ItemVectors } from '../retrieval/types';
import type { AbConfig } from './abConfig';
import { countBefore, loadAbData, type AbData, type UserLog } from './abData';
import { meanPairwiseCosine } from './metrics';
import { blendLists, lastDistinct, servingShares, strongInterests } from './rankers';

/**
 * The two arms' feeds, as the simulation and the replay-only estimate build them: arm A item-CF with
 * the popular fallback, arm B the multi-interest model through the category-constrained index with
 * the serving choice of the offline validation; both from the same inputs a production request has.
 */

/** Arm B's models: trained ones, or (for checks only) an oracle built from the truth. */
/** How arm B's interests become a feed: the offline validation's serving choice (absent: the recall config's). */
export interface ArmBServing {
  /** How the interests' lists merge. */
  merge?: 'quota' | 'score';
  /** Categories each interest retrieves within, and the per-category cap of the quota merge. */
  categoriesPerInterest?: number;
  maxCategoryShare?: number;
  /** Quota turns by the interests' strengths ('strength') or equal; and the adaptive K's threshold. */
  weighting?: 'equal' | 'strength';
  minStrength?: number;
  /**
   * The hybrid the offline validation may choose: this share of the feed from the neighbours of the
   * last `lastClicks` distinct clicks (through the same item vectors and index), the rest from the
   * interests, interleaved.
   */
  recent?: { share: number; lastClicks: number };
  /** Of the whole feed: the popular lots (the fallback's own ranking), interleaved on validation's say. */
  popularShare?: number;
}

export interface ArmBModels extends ArmBServing {
  label: string;
  itemVectors: ItemVectors;
  modelFor: InterestModelProvider;
  /** item_id of each vector row (from the vector file): checked against the catalogue's item_idx order. */
  itemIds?: readonly string[];
}

/** What both the simulation and the replay-only estimate share: the data, arm B's index and the two recallers. */
export interface Feeder {
  data: AbData;
  index: ConstrainedIndex;
  live: LiveItems;
  /** Item-CF and popularity as of the last refresh before t (or the test start when frozen). */
  refresh(t: number): Promise<{ cf: ItemCf; popular: PopularItems }>;
  feedFor(which: 'A' | 'B', req: FeedRequest): Feed;
  /**
   * Computes arm B's interests for these sessions' starts (no session clicks yet) in batches, ahead
   * of the feeds that will ask for them (retrieval/interestMemo.ts says why).
   */
  prefetchB(sessions: readonly { userIdx: number; history: readonly number[] }[]): void;
  /** Arm B's model calls so far: requests computed, and answered from an earlier identical one. */
  interestCalls(): { computed: number; reused: number };
  /** Mean pairwise cosine of arm B's interests over the requests it answered so far. */
  collapse(): { mean: number; requests: number };
}

export interface FeedRequest {
  userIdx: number;
  /** A feed for the offline replay estimate (not shown in the simulation). */
  replay?: boolean;
  model?: InterestModel;
  t: number;
  liveNow: Int32Array;
  /** The user's logged clicks before the session, oldest first. */
  history: number[];
  seen: Set<number>;
  sessionClicks: number[];
  size: number;
  cf: ItemCf;
  popular: PopularItems;
}

export async function openFeeder(conn: DuckDBConnection, data: AbData, armB: ArmBModels, config: AbConfig, progress: (m: string) => void): Promise<Feeder> {
  if (armB.itemIds) {
    const ids = armB.itemIds;
    const bad = data.catalogue.itemIds.findIndex((id, i) => ids[i] !== id);
    if (bad >= 0 || ids.length !== data.catalogue.itemIds.length) {
      throw new Error(`arm B's item vectors are not aligned with the catalogue: row ${bad} is ${ids[bad]}, item_idx ${bad} is ${data.catalogue.itemIds[bad]} (${ids.length} vectors, ${data.catalogue.itemIds.length} items)`);
    }
  }
  const index = ConstrainedIndex.build(
    { dim: armB.itemVectors.dim, vectors: armB.itemVectors.vectors, itemIds: data.catalogue.itemIds, itemCategories: data.catalogue.categories },
    config.index,
  );
  if (armB.itemVectors.vectors.length !== data.catalogue.itemIds.length * armB.itemVectors.dim) {
    throw new Error(`arm B has ${armB.itemVectors.vectors.length / armB.itemVectors.dim} item vectors for ${data.catalogue.itemIds.length} catalogue items`);
  }
  const live = new LiveItems(data.catalogue);
  const collapse = pairwiseCosine();
  const refreshMs = config.refreshHours * 3_600_000;
  let refreshKey = Number.NaN;
  let cf: ItemCf | undefined;
  let popular: PopularItems | undefined;
  const refresh = async (t: number) => {
    const frozen = config.cfRefresh === 'frozen';
    const key = frozen ? -1 : Math.floor(t / refreshMs);
    if (key === refreshKey && cf && popular) return { cf, popular };
    refreshKey = key;
    const until = frozen ? data.testStart : key * refreshMs;
    cf = await ItemCf.compute(conn, { since: until - config.cfLookbackDays * 86_400_000, until, topK: config.cfTopK });
    popular = await PopularItems.compute(conn, data.catalogue.itemIds.length, data.catalogue.listedAt, until - config.popularityWindowHours * 3_600_000, until);
    progress(`item-CF and popularity recomputed up to ${new Date(until).toISOString()}: ${cf.itemCount} items with neighbours`);
    return { cf, popular };
  };
  const memos = new Map<InterestModel, MemoisedInterestModel>();
  const memoOf = (m: InterestModel) => {
    let memo = memos.get(m);
    if (!memo) memos.set(m, (memo = new MemoisedInterestModel(m)));
    return memo;
  };
  const longTermOf = (history: readonly number[]) => Int32Array.from(history.slice(-config.maxLongTerm));
  const prefetchB = (sessions: readonly { userIdx: number; history: readonly number[] }[]) => {
    const byModel = new Map<MemoisedInterestModel, { longTerm: Int32Array; shortTerm: Int32Array }[]>();
    for (const s of sessions) {
      const memo = memoOf(armB.modelFor(s.userIdx));
      const list = byModel.get(memo) ?? [];
      byModel.set(memo, list);
      list.push({ longTerm: longTermOf(s.history), shortTerm: new Int32Array(0) });
    }
    for (const [memo, requests] of byModel) memo.prefetch(requests, wantsWeights(armB));
  };
  const interestCalls = () => {
    let computed = 0;
    let reused = 0;
    for (const m of memos.values()) {
      computed += m.computed;
      reused += m.reused;
    }
    return { computed, reused };
  };
  const feedFor = (which: 'A' | 'B', r: FeedRequest): Feed => {
    const excluded = (i: number) => r.seen.has(i);
    if (which === 'A') {
      const recent = [...r.history.slice(-config.cfRecentClicks), ...r.sessionClicks];
      const cand = r.cf.recall(recent, { size: r.size, eligible: (i) => live.isLive(i, r.t) && !r.seen.has(i) });
      return fillFeed(cand, r.size, r.popular, r.liveNow, excluded);
    }
    const m = memoOf(r.model ?? armB.modelFor(r.userIdx));
    const request = { longTerm: longTermOf(r.history), shortTerm: Int32Array.from(r.sessionClicks), live: r.liveNow, seen: r.seen };
    return servedFeed(armB, index, m, request, { recall: config.recall, size: r.size, popular: r.popular, clicks: [...r.history, ...r.sessionClicks], ...(r.replay ? {} : { onInterests: (vs) => collapse.add(vs) }) });
  };
  return { data, index, live, refresh, feedFor, prefetchB, interestCalls, collapse: () => collapse.value() };
}

/** What arm B's feed reads besides the request: the recall config, the feed's size, the popular lots. */
export interface ServedFeedOptions {
  recall: Omit<MultiInterestRecallConfig, 'size'>;
  size: number;
  popular: PopularItems;
  /** Every click of the user, oldest first, where longer than the model's input (the last clicks' neighbours read it). */
  clicks?: readonly number[];
  /** Sees the interests the model gave (the A/B's collapse measure). */
  onInterests?: (vectors: readonly Float32Array[]) => void;
}

/**
 * Arm B's feed for one request: the user model's interests through the constrained index with the
 * offline validation's serving choice (merge, weighting, last clicks' neighbours, popular share),
 * topped up by the popular fallback. The A/B simulation, the replay estimate and the recall service
 * (serve/engine.ts) all answer through this one function (servedFeeds for several at once).
 */
export function servedFeed(armB: ArmBServing & { itemVectors: ItemVectors }, index: RecallIndex, m: InterestModel, request: HistoryRequest, o: ServedFeedOptions): Feed {
  return servedFeeds(armB, index, m, [{ request, options: o }])[0] as Feed;
}

/**
 * servedFeed for several requests at once, each answered as it would be alone: one user-model call
 * for all of them (where the model batches) and each recall phase's searches in one index call.
 * The recall service answers concurrent requests so.
 */
export function servedFeeds(armB: ArmBServing & { itemVectors: ItemVectors }, index: RecallIndex, m: InterestModel, items: readonly { request: HistoryRequest; options: ServedFeedOptions }[]): Feed[] {
  if (items.length === 0) return [];
  const dim = armB.itemVectors.dim;
  // One call to the model per request: its interests feed both the recall and the collapse measure.
  const weighted = wantsWeights(armB);
  const interests: { vectors: Float32Array[]; weights?: number[] }[] = m.interestsMany
    ? m.interestsMany(items.map((it) => it.request), weighted)
    : items.map(({ request }) => (weighted && m.weightedInterests ? m.weightedInterests(request.longTerm, request.shortTerm) : { vectors: m.interests(request.longTerm, request.shortTerm) }));
  const recallConfigs = items.map(({ options: o }) => ({
    ...o.recall,
    size: o.size,
    ...(armB.merge ? { merge: armB.merge } : {}),
    ...(armB.categoriesPerInterest !== undefined ? { categoriesPerInterest: armB.categoriesPerInterest } : {}),
    ...(armB.maxCategoryShare !== undefined ? { maxCategoryShare: armB.maxCategoryShare } : {}),
  }));
  const jobs: RecallJob[] = items.map(({ request, options: o }, j) => {
    const w = interests[j] as { vectors: Float32Array[]; weights?: number[] };
    o.onInterests?.(w.vectors);
    const config = recallConfigs[j] as MultiInterestRecallConfig;
    if (!(weighted && w.weights)) return { interests: w.vectors, request, config };
    const flat = new Float32Array(w.vectors.length * dim);
    w.vectors.forEach((v, k) => flat.set(v, k * dim));
    const picked = strongInterests({ vectors: flat, weights: w.weights }, dim, armB.minStrength ?? 0);
    return { interests: picked.vectors, request, config, ...(armB.weighting === 'strength' ? { weights: picked.weights } : {}) };
  });
  const recalled = recallMany(index, jobs);
  const recentShare = armB.recent?.share ?? 0;
  const popularShare = armB.popularShare ?? 0;
  if (recentShare <= 0 && popularShare <= 0) return items.map(({ request, options: o }, j) => fillFeed(recalled[j] as Candidate[], o.size, o.popular, request.live, (i) => request.seen.has(i)));
  // The offline serving's blend (evaluation/rankers.ts servedRanker): model, last clicks' neighbours, popular lots.
  const near: Candidate[][] =
    recentShare > 0 && armB.recent
      ? recallMany(
          index,
          items.map(({ request, options: o }, j) => ({
            interests: lastDistinct(o.clicks ?? [...request.longTerm, ...request.shortTerm], (armB.recent as { lastClicks: number }).lastClicks).map((i) => armB.itemVectors.vectors.subarray(i * dim, (i + 1) * dim)),
            request,
            config: { ...(recallConfigs[j] as MultiInterestRecallConfig), merge: 'score' as const, categoriesPerInterest: 0 },
          })),
        )
      : items.map(() => []);
  return items.map(({ request, options: o }, j) => {
    const excluded = (i: number) => request.seen.has(i);
    const cand = recalled[j] as Candidate[];
    const popularLots: Candidate[] =
      popularShare > 0 ? o.popular.top(request.live, o.size, excluded).map((itemIdx) => ({ itemIdx, score: 0, route: 'popular' as const, interest: -1 })) : [];
    const byItem = new Map([...popularLots, ...(near[j] as Candidate[]), ...cand].map((c) => [c.itemIdx, c]));
    const blended = blendLists([cand, near[j] as Candidate[], popularLots].map((l) => l.map((c) => c.itemIdx)), servingShares({ recentShare, popularShare }), o.size);
    return fillFeed(blended.map((i) => byItem.get(i) as Candidate), o.size, o.popular, request.live, excluded);
  });
}

/** Whether a serving choice reads the interests' strengths (strength-weighted quotas or the adaptive K). */
function wantsWeights(armB: ArmBServing): boolean {
  return armB.weighting === 'strength' || (armB.minStrength ?? 0) > 0;
}

/** Running mean over requests of the mean pairwise cosine of a request's interests (requests with two or more). */
function pairwiseCosine() {
  let sum = 0;
  let requests = 0;
  return {
    add(vs: readonly Float32Array[]) {
      const c = meanPairwiseCosine(vs);
      if (c === null) return;
      sum += c;
      requests++;
    },
    value: () => ({ mean: requests ? sum / requests : 0, requests }),
  };
}

/** An in-memory DuckDB with the features and tags attached, and the held-out sessions read from them. */
export async function openAbData(inputs: { featuresDb: string; tagsDb: string }, config: AbConfig) {
  const db = await openDatabase(':memory:');
  try {
    const conn = db.connection;
    await attachDatabase(conn, resolve(inputs.featuresDb), 'feat');
    await attachDatabase(conn, resolve(inputs.tagsDb), 'tags');
    return { db, conn, data: await loadAbData(conn, config.userSplits) };
  } catch (err) {
    db.close();
    throw err;
  }
}

export function historyBefore(log: UserLog, t: number, keep: number): number[] {
  const n = countBefore(log.clickTimes, t);
  return Array.from(log.clickItems.subarray(Math.max(0, n - keep), n));
}

export function seenBefore(log: UserLog, t: number): Set<number> {
  return new Set(log.seenItems.subarray(0, countBefore(log.seenTimes, t)));
}

export function targetsOf(log: UserLog, sessionKey: string): number[] {
  const out: number[] = [];
  log.clickSessions.forEach((s, k) => {
    if (s === sessionKey) out.push(log.clickItems[k] as number);
  });
  return [...new Set(out)];
}

export function emptyLog(): UserLog {
  return { clickItems: new Int32Array(), clickTimes: new Float64Array(), clickSessions: [], seenItems: new Int32Array(), seenTimes: new Float64Array() };
}
