import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { affinity, clickProbability } from '../data/generator/clickModel';
import { Rng, WeightedSampler } from '../data/generator/rng';
import { attachDatabase, openDatabase } from '../platform/duckdb';
import { ConstrainedIndex } from '../retrieval/constrainedIndex';
import { ItemCf } from '../retrieval/itemCf';
import { LiveItems } from '../retrieval/liveItems';
import { fillFeed, PopularItems } from '../retrieval/popularFallback';
import { recallFromInterests } from '../retrieval/recall';
import { DEFAULT_AB, type AbConfig } from './abConfig';
import { blendLists, lastDistinct, servingShares, strongInterests } from './rankers';
import type { Candidate, Feed, InterestModel, InterestModelProvider, ItemVectors } from '../retrieval/types';
import { countBefore, loadAbData, type AbData, type HeldOutSession, type UserLog } from './abData';
import { bootstrapLift, pairedBootstrapLift, twoProportionZTest, type ArmCounts, type BootstrapResult, type TwoProportionTest } from './abStats';
import { meanPairwiseCosine } from './metrics';
import { latentOf, loadTruth, truthInterestCollapse, type Truth, type TruthUser } from './truth';

/**
 * The A/B CTR simulation: arm A (item-CF) against arm B (multi-interest + constrained retrieval) on
 * the held-out period of a synthetic marketplace.
 *
 * Sessions: every session the logs hold in the test period (features' periods: from valid_end) is
 *   a moment the user opens the app; users are split into arms by a seeded draw per user.
 * Feeds: each session gets `pagesPerSession` pages of `pageSize` items, the first at the session's
 *   start and each next one `pageGapMs` later. Both arms see the same inputs a production request
 *   would: the user's logged clicks before the session, the clicks simulated earlier in this session
 *   (short-term), and exclude what the user has seen (logged before, or shown earlier in the
 *   session) and auctions not live at the request time. Item-CF and the popularity fallback are
 *   recomputed every `refreshHours` from the logged clicks before the refresh moment.
 * Clicks: the generator's ground-truth click model (data/generator/clickModel.ts): the session's
 *   active interests are drawn from the user's truth interests as the generator draws them (one to
 *   three, by weight), and each shown item at page position p is clicked with probability
 *   positionBias(p) × sigmoid(β0 + β1·affinity) × quality term.
 * Simplifications: simulated clicks are not fed back into item-CF or popularity, and the logged
 *   history was produced by the logging policy, not by either arm.
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

export interface AbInputs {
  featuresDb: string;
  tagsDb: string;
  /** The generated dataset folder (its truth/ decides clicks). */
  datasetDir: string;
  armB: ArmBModels | ((truth: Truth) => ArmBModels);
}

/** Inputs of the replay-only estimate: no truth, so arm B must be real (trained) models. */
export interface ReplayInputs {
  featuresDb: string;
  tagsDb: string;
  armB: ArmBModels;
}

export interface ReplayEstimate {
  /** Held-out sessions with at least one logged click (the replay targets). */
  sessions: number;
  targets: number;
  /** Logged clicks of the session that the arm's feed (all pages' worth, at session start) contains. */
  hits: number;
  recall: number;
  /** Sessions with at least one hit / sessions. */
  hitRate: number;
}

export interface ArmReport {
  label: string;
  users: number;
  sessions: number;
  impressions: number;
  clicks: number;
  ctr: number;
  /** Pages whose recaller found fewer than pageSize items, so popular items filled the rest. */
  fallbackPages: number;
  fallbackPageShare: number;
  fallbackSlots: number;
  /** Distinct categories per session feed (all its pages), averaged over sessions. */
  categoriesPerFeed: number;
  /** Shannon entropy (bits) of a session feed's category mix, averaged. */
  categoryEntropyBits: number;
  distinctItemsShown: number;
  /** Distinct items shown / distinct items live at some request moment of the test. */
  coverage: number;
  /** Share of impressions that came from each route. */
  routeShare: Record<string, number>;
  replay?: ReplayEstimate;
}

export interface AbReport {
  mode: 'simulation';
  seed: number;
  testPeriod: { start: string; end: string };
  sessions: number;
  skippedSessions: number;
  liveItemsSeen: number;
  armA: ArmReport;
  armB: ArmReport;
  zTest: TwoProportionTest;
  bootstrap: BootstrapResult;
  /** The offline replay's lift of B over A (logged clicks in feed), when replay is on. */
  replayLift?: BootstrapResult;
  /**
   * Mean pairwise cosine of arm B's interests over its requests, beside the same measure of the
   * truth's interests of arm B's users in arm B's item space (the collapse reference).
   */
  interestCollapse: { armB: number; requests: number; truth: number; truthUsers: number };
  seconds: number;
}

/** One arm of the replay-only estimate: its feed (all pages' worth, at session start) for every replayed session. */
export interface ReplayArmReport {
  label: string;
  /** Feeds built (= replayed sessions). */
  feeds: number;
  feedItems: number;
  /** Feeds whose recaller found fewer than feedSize items, so popular items filled the rest. */
  fallbackFeeds: number;
  fallbackFeedShare: number;
  fallbackSlots: number;
  categoriesPerFeed: number;
  categoryEntropyBits: number;
  distinctItemsShown: number;
  /** Distinct items in the arm's feeds / distinct items live at some replayed session start. */
  coverage: number;
  routeShare: Record<string, number>;
  replay: ReplayEstimate;
}

/**
 * The offline replay estimate for data without a simulator (no truth/): no clicks can be simulated,
 * so there is no CTR, only how many of each held-out session's logged clicks each arm's feed holds.
 */
export interface ReplayOnlyReport {
  mode: 'replay_only';
  note: string;
  seed: number;
  testPeriod: { start: string; end: string };
  /** All held-out sessions of the chosen user splits. */
  sessions: number;
  /** Held-out sessions with at least one logged click: both arms are replayed on exactly these. */
  replaySessions: number;
  feedSize: number;
  liveItemsSeen: number;
  armA: ReplayArmReport;
  armB: ReplayArmReport;
  /** Relative lift of B's replay recall over A's, with a paired bootstrap interval over users. */
  replayLift?: BootstrapResult;
  seconds: number;
}

export const REPLAY_ONLY_NOTE =
  'no CTR simulation: the dataset has no truth/ (no ground-truth click model), so only the offline replay of logged clicks is reported; it is biased towards the logging policy and is not a CTR estimate';

/** Whether a dataset folder holds the generator's truth (and so supports the CTR simulation). */
export function hasTruth(datasetDir: string): boolean {
  return existsSync(join(datasetDir, 'truth', 'items.parquet'));
}

interface ArmState {
  users: Map<number, ArmCounts>;
  sessions: number;
  fallbackPages: number;
  fallbackSlots: number;
  pages: number;
  categoriesSum: number;
  entropySum: number;
  shown: Set<number>;
  routes: Map<string, number>;
  replay: { sessions: number; targets: number; hits: number; hitSessions: number; perUser: Map<number, ArmCounts> };
}

const newArm = (): ArmState => ({
  users: new Map(),
  sessions: 0,
  fallbackPages: 0,
  fallbackSlots: 0,
  pages: 0,
  categoriesSum: 0,
  entropySum: 0,
  shown: new Set(),
  routes: new Map(),
  replay: { sessions: 0, targets: 0, hits: 0, hitSessions: 0, perUser: new Map() },
});

/** What both the simulation and the replay-only estimate share: the data, arm B's index and the two recallers. */
interface Feeder {
  data: AbData;
  index: ConstrainedIndex;
  live: LiveItems;
  /** Item-CF and popularity as of the last refresh before t (or the test start when frozen). */
  refresh(t: number): Promise<{ cf: ItemCf; popular: PopularItems }>;
  feedFor(which: 'A' | 'B', req: FeedRequest): Feed;
  /** Mean pairwise cosine of arm B's interests over the requests it answered so far. */
  collapse(): { mean: number; requests: number };
}

interface FeedRequest {
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

async function openFeeder(conn: DuckDBConnection, data: AbData, armB: ArmBModels, config: AbConfig, progress: (m: string) => void): Promise<Feeder> {
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
  const feedFor = (which: 'A' | 'B', r: FeedRequest): Feed => {
    const excluded = (i: number) => r.seen.has(i);
    if (which === 'A') {
      const recent = [...r.history.slice(-config.cfRecentClicks), ...r.sessionClicks];
      const cand = r.cf.recall(recent, { size: r.size, eligible: (i) => live.isLive(i, r.t) && !r.seen.has(i) });
      return fillFeed(cand, r.size, r.popular, r.liveNow, excluded);
    }
    const m = r.model ?? armB.modelFor(r.userIdx);
    const request = { longTerm: Int32Array.from(r.history.slice(-config.maxLongTerm)), shortTerm: Int32Array.from(r.sessionClicks), live: r.liveNow, seen: r.seen };
    const recallConfig = {
      ...config.recall,
      size: r.size,
      ...(armB.merge ? { merge: armB.merge } : {}),
      ...(armB.categoriesPerInterest !== undefined ? { categoriesPerInterest: armB.categoriesPerInterest } : {}),
      ...(armB.maxCategoryShare !== undefined ? { maxCategoryShare: armB.maxCategoryShare } : {}),
    };
    // One call to the model per request: its interests feed both the recall and the collapse measure.
    const weighted = armB.weighting === 'strength' || (armB.minStrength ?? 0) > 0;
    const w = weighted && m.weightedInterests ? m.weightedInterests(request.longTerm, request.shortTerm) : { vectors: m.interests(request.longTerm, request.shortTerm), weights: undefined };
    if (!r.replay) collapse.add(w.vectors);
    let cand: Candidate[];
    if (w.weights) {
      const dim = armB.itemVectors.dim;
      const flat = new Float32Array(w.vectors.length * dim);
      w.vectors.forEach((v, j) => flat.set(v, j * dim));
      const picked = strongInterests({ vectors: flat, weights: w.weights }, dim, armB.minStrength ?? 0);
      cand = recallFromInterests(picked.vectors, index, request, recallConfig, armB.weighting === 'strength' ? picked.weights : undefined);
    } else cand = recallFromInterests(w.vectors, index, request, recallConfig);
    const recentShare = armB.recent?.share ?? 0;
    const popularShare = armB.popularShare ?? 0;
    if (recentShare > 0 || popularShare > 0) {
      // The offline serving's blend (evaluation/rankers.ts servedRanker): model, last clicks' neighbours, popular lots.
      const dim = armB.itemVectors.dim;
      const near: Candidate[] =
        recentShare > 0 && armB.recent
          ? recallFromInterests(
              lastDistinct([...r.history, ...r.sessionClicks], armB.recent.lastClicks).map((i) => armB.itemVectors.vectors.subarray(i * dim, (i + 1) * dim)),
              index,
              request,
              { ...recallConfig, merge: 'score', categoriesPerInterest: 0 },
            )
          : [];
      const popularLots: Candidate[] =
        popularShare > 0 ? r.popular.top(r.liveNow, r.size, excluded).map((itemIdx) => ({ itemIdx, score: 0, route: 'popular' as const, interest: -1 })) : [];
      const byItem = new Map([...popularLots, ...near, ...cand].map((c) => [c.itemIdx, c]));
      const items = blendLists([cand, near, popularLots].map((l) => l.map((c) => c.itemIdx)), servingShares({ recentShare, popularShare }), r.size);
      cand = items.map((i) => byItem.get(i) as Candidate);
    }
    return fillFeed(cand, r.size, r.popular, r.liveNow, excluded);
  };
  return { data, index, live, refresh, feedFor, collapse: () => collapse.value() };
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
async function openAbData(inputs: { featuresDb: string; tagsDb: string }, config: AbConfig) {
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

export async function runAbTest(inputs: AbInputs, config: AbConfig = DEFAULT_AB, progress: (m: string) => void = () => {}): Promise<AbReport> {
  const t0 = Date.now();
  const { db, conn, data } = await openAbData(inputs, config);
  try {
    const truth = await loadTruth(conn, inputs.datasetDir, data.catalogue.itemIds.length);
    const armB = typeof inputs.armB === 'function' ? inputs.armB(truth) : inputs.armB;
    progress(`${data.sessions.length} held-out sessions, ${data.catalogue.itemIds.length} items; building the constrained index for ${armB.label}`);
    const { live, refresh, feedFor, collapse } = await openFeeder(conn, data, armB, config, progress);

    const arms = { A: newArm(), B: newArm() };
    const liveEver = new Uint8Array(data.catalogue.itemIds.length);
    let skipped = 0;
    for (let ordinal = 0; ordinal < data.sessions.length; ordinal++) {
      const session = data.sessions[ordinal] as HeldOutSession;
      const user = truth.users[session.userIdx];
      if (!user || user.interests.length === 0) {
        skipped++;
        continue;
      }
      const { cf, popular } = await refresh(session.startedAt);
      const log = data.logs.get(session.userIdx) ?? emptyLog();
      const armName = inArmB(config.seed, session.userIdx, config.shareB) ? 'B' : 'A';
      const arm = arms[armName];
      const model = armName === 'B' ? armB.modelFor(session.userIdx) : undefined;
      const history = historyBefore(log, session.startedAt, Math.max(config.maxLongTerm, config.cfRecentClicks));
      const seen = seenBefore(log, session.startedAt);
      const rng = new Rng(config.seed, 5_000_011 + ordinal);
      const activeVectors = drawActiveInterests(user, rng).map((t) => truth.topicVectors[t] as Float32Array);

      if (config.replay) {
        const targets = targetsOf(log, session.sessionKey);
        if (targets.length > 0) {
          const liveNow = live.at(session.startedAt);
          for (const which of ['A', 'B'] as const) {
            const feed = feedFor(which, { userIdx: session.userIdx, model, t: session.startedAt, liveNow, history, seen, sessionClicks: [], size: config.pageSize * config.pagesPerSession, cf, popular, replay: true });
            countReplay(arms[which].replay, session.userIdx, feed, targets);
          }
        }
      }

      const sessionClicks: number[] = [];
      const sessionCategories: string[] = [];
      const counts = arm.users.get(session.userIdx) ?? { clicks: 0, impressions: 0 };
      for (let page = 0; page < config.pagesPerSession; page++) {
        const t = session.startedAt + page * config.pageGapMs;
        const liveNow = live.at(t);
        for (const i of liveNow) liveEver[i] = 1;
        const feed = feedFor(armName, { userIdx: session.userIdx, model, t, liveNow, history, seen, sessionClicks, size: config.pageSize, cf, popular });
        arm.pages++;
        if (feed.fallbackFilled > 0) {
          arm.fallbackPages++;
          arm.fallbackSlots += feed.fallbackFilled;
        }
        feed.items.forEach((c, position) => {
          // The recallers promise this; a violation would inflate CTR with items no one could show.
          if (seen.has(c.itemIdx) || !live.isLive(c.itemIdx, t)) throw new Error(`arm ${armName} showed item ${c.itemIdx}, seen or not live at ${t}`);
          seen.add(c.itemIdx);
          arm.shown.add(c.itemIdx);
          arm.routes.set(c.route, (arm.routes.get(c.route) ?? 0) + 1);
          sessionCategories.push(data.catalogue.categories[c.itemIdx] as string);
          counts.impressions++;
          const p = clickProbability(affinity(activeVectors, latentOf(truth, c.itemIdx)), truth.itemQuality[c.itemIdx] as number, user.expertise, position);
          if (rng.bool(p)) {
            counts.clicks++;
            sessionClicks.push(c.itemIdx);
          }
        });
      }
      arm.users.set(session.userIdx, counts);
      arm.sessions++;
      const mix = categoryMix(sessionCategories);
      arm.categoriesSum += mix.distinct;
      arm.entropySum += mix.entropyBits;
      if ((ordinal + 1) % 1000 === 0) progress(`simulated ${ordinal + 1}/${data.sessions.length} sessions`);
    }

    const collapseB = collapse();
    let liveItemsSeen = 0;
    for (const x of liveEver) liveItemsSeen += x;
    const usersA = [...arms.A.users.values()];
    const usersB = [...arms.B.users.values()];
    if (usersA.length === 0 || usersB.length === 0) throw new Error(`one arm got no users (A: ${usersA.length}, B: ${usersB.length}); too few held-out sessions`);
    const total = (us: ArmCounts[]) => us.reduce((s, u) => ({ clicks: s.clicks + u.clicks, impressions: s.impressions + u.impressions }), { clicks: 0, impressions: 0 });
    return {
      mode: 'simulation',
      seed: config.seed,
      testPeriod: { start: new Date(data.testStart).toISOString(), end: new Date(data.dataEnd).toISOString() },
      sessions: data.sessions.length,
      skippedSessions: skipped,
      liveItemsSeen,
      armA: armReport('item-CF', arms.A, liveItemsSeen, config.replay),
      armB: armReport(armB.label, arms.B, liveItemsSeen, config.replay),
      zTest: twoProportionZTest(total(usersA), total(usersB)),
      bootstrap: bootstrapLift(usersA, usersB, { samples: config.bootstrapSamples, seed: config.seed }),
      ...liftField(config.replay ? replayLift(arms.A, arms.B, config) : undefined),
      interestCollapse: {
        armB: collapseB.mean,
        requests: collapseB.requests,
        ...(() => {
          const t = truthInterestCollapse(truth, armB.itemVectors.vectors, armB.itemVectors.dim, arms.B.users.keys());
          return { truth: t.collapse, truthUsers: t.users };
        })(),
      },
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    db.close();
  }
}

/**
 * The offline replay estimate alone, for data without a simulator (no truth/): for every held-out
 * session with logged clicks, both arms build their feed at the session start exactly as the
 * simulation's replay does (pageSize × pagesPerSession items, same history, seen set, live items,
 * item-CF/popularity refresh), and we count the session's logged clicks that each feed holds; plus
 * the diversity and coverage of those feeds. No users are split and no clicks are simulated.
 */
export async function runReplayOnly(inputs: ReplayInputs, config: AbConfig = DEFAULT_AB, progress: (m: string) => void = () => {}): Promise<ReplayOnlyReport> {
  const t0 = Date.now();
  const { db, conn, data } = await openAbData(inputs, config);
  try {
    const armB = inputs.armB;
    progress(`${data.sessions.length} held-out sessions, ${data.catalogue.itemIds.length} items; replay only (no truth/); building the constrained index for ${armB.label}`);
    const { live, refresh, feedFor } = await openFeeder(conn, data, armB, config, progress);
    const size = config.pageSize * config.pagesPerSession;
    const arms = { A: newArm(), B: newArm() };
    const liveEver = new Uint8Array(data.catalogue.itemIds.length);
    let replaySessions = 0;
    for (let ordinal = 0; ordinal < data.sessions.length; ordinal++) {
      const session = data.sessions[ordinal] as HeldOutSession;
      const log = data.logs.get(session.userIdx) ?? emptyLog();
      const targets = targetsOf(log, session.sessionKey);
      if (targets.length === 0) continue;
      replaySessions++;
      const { cf, popular } = await refresh(session.startedAt);
      const history = historyBefore(log, session.startedAt, Math.max(config.maxLongTerm, config.cfRecentClicks));
      const seen = seenBefore(log, session.startedAt);
      const liveNow = live.at(session.startedAt);
      for (const i of liveNow) liveEver[i] = 1;
      const model = armB.modelFor(session.userIdx);
      for (const which of ['A', 'B'] as const) {
        const arm = arms[which];
        const feed = feedFor(which, { userIdx: session.userIdx, model, t: session.startedAt, liveNow, history, seen, sessionClicks: [], size, cf, popular, replay: true });
        countReplay(arm.replay, session.userIdx, feed, targets);
        arm.sessions++;
        arm.pages++;
        if (feed.fallbackFilled > 0) {
          arm.fallbackPages++;
          arm.fallbackSlots += feed.fallbackFilled;
        }
        for (const c of feed.items) {
          arm.shown.add(c.itemIdx);
          arm.routes.set(c.route, (arm.routes.get(c.route) ?? 0) + 1);
        }
        const mix = categoryMix(feed.items.map((c) => data.catalogue.categories[c.itemIdx] as string));
        arm.categoriesSum += mix.distinct;
        arm.entropySum += mix.entropyBits;
        const counts = arm.users.get(session.userIdx) ?? { clicks: 0, impressions: 0 };
        counts.impressions += feed.items.length;
        arm.users.set(session.userIdx, counts);
      }
      if ((ordinal + 1) % 1000 === 0) progress(`replayed ${ordinal + 1}/${data.sessions.length} sessions`);
    }
    if (replaySessions === 0) throw new Error('no held-out session has a logged click: nothing to replay');
    let liveItemsSeen = 0;
    for (const x of liveEver) liveItemsSeen += x;
    return {
      mode: 'replay_only',
      note: REPLAY_ONLY_NOTE,
      seed: config.seed,
      testPeriod: { start: new Date(data.testStart).toISOString(), end: new Date(data.dataEnd).toISOString() },
      sessions: data.sessions.length,
      replaySessions,
      feedSize: size,
      liveItemsSeen,
      armA: replayArmReport('item-CF', arms.A, liveItemsSeen),
      armB: replayArmReport(armB.label, arms.B, liveItemsSeen),
      ...liftField(replayLift(arms.A, arms.B, config)),
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    db.close();
  }
}

function countReplay(r: ArmState['replay'], userIdx: number, feed: Feed, targets: readonly number[]): void {
  const items = new Set(feed.items.map((c) => c.itemIdx));
  const hits = targets.filter((i) => items.has(i)).length;
  r.sessions++;
  r.targets += targets.length;
  r.hits += hits;
  if (hits > 0) r.hitSessions++;
  const u = r.perUser.get(userIdx) ?? { clicks: 0, impressions: 0 };
  u.clicks += hits;
  u.impressions += targets.length;
  r.perUser.set(userIdx, u);
}

/**
 * The replay's relative lift of arm B over arm A (logged clicks in feed) with a bootstrap interval
 * over users: both arms built a feed for every replayed session, so users are resampled in pairs.
 */
function replayLift(a: ArmState, b: ArmState, config: AbConfig): BootstrapResult | undefined {
  const pairs = [...a.replay.perUser].map(([u, counts]) => ({ a: counts, b: b.replay.perUser.get(u) ?? { clicks: 0, impressions: counts.impressions } }));
  return pairs.length ? pairedBootstrapLift(pairs, { samples: config.bootstrapSamples, seed: config.seed }) : undefined;
}

function replayArmReport(label: string, s: ArmState, liveItemsSeen: number): ReplayArmReport {
  let feedItems = 0;
  for (const u of s.users.values()) feedItems += u.impressions;
  const base = armReport(label, s, liveItemsSeen, true);
  return {
    label,
    feeds: s.sessions,
    feedItems,
    fallbackFeeds: s.fallbackPages,
    fallbackFeedShare: base.fallbackPageShare,
    fallbackSlots: s.fallbackSlots,
    categoriesPerFeed: base.categoriesPerFeed,
    categoryEntropyBits: base.categoryEntropyBits,
    distinctItemsShown: base.distinctItemsShown,
    coverage: base.coverage,
    routeShare: base.routeShare,
    replay: base.replay as ReplayEstimate,
  };
}

/** The seeded coin that puts a user in arm B: one draw per user, independent of everything else. */
export function inArmB(seed: number, userIdx: number, shareB: number): boolean {
  return new Rng(seed, 3_000_017 + userIdx).next() < shareB;
}

/** One to three of the user's interests, by weight, as the generator draws a session's (behaviour.ts). */
export function drawActiveInterests(user: TruthUser, rng: Rng): number[] {
  const nActive = Math.min(user.interests.length, rng.bool(0.45) ? 1 : rng.bool(0.73) ? 2 : 3);
  const sampler = new WeightedSampler(user.interests, user.weights);
  const active: number[] = [];
  for (let tries = 0; active.length < nActive && tries < 30; tries++) {
    const t = sampler.draw(rng);
    if (!active.includes(t)) active.push(t);
  }
  return active;
}

function historyBefore(log: UserLog, t: number, keep: number): number[] {
  const n = countBefore(log.clickTimes, t);
  return Array.from(log.clickItems.subarray(Math.max(0, n - keep), n));
}

function seenBefore(log: UserLog, t: number): Set<number> {
  return new Set(log.seenItems.subarray(0, countBefore(log.seenTimes, t)));
}

function targetsOf(log: UserLog, sessionKey: string): number[] {
  const out: number[] = [];
  log.clickSessions.forEach((s, k) => {
    if (s === sessionKey) out.push(log.clickItems[k] as number);
  });
  return [...new Set(out)];
}

function liftField(replayLift: BootstrapResult | undefined): { replayLift?: BootstrapResult } {
  return replayLift ? { replayLift } : {};
}

function emptyLog(): UserLog {
  return { clickItems: new Int32Array(), clickTimes: new Float64Array(), clickSessions: [], seenItems: new Int32Array(), seenTimes: new Float64Array() };
}

export function categoryMix(categories: readonly string[]): { distinct: number; entropyBits: number } {
  const counts = new Map<string, number>();
  for (const c of categories) counts.set(c, (counts.get(c) ?? 0) + 1);
  let entropy = 0;
  for (const n of counts.values()) {
    const p = n / categories.length;
    entropy -= p * Math.log2(p);
  }
  return { distinct: counts.size, entropyBits: entropy };
}

function armReport(label: string, s: ArmState, liveItemsSeen: number, replay: boolean): ArmReport {
  let clicks = 0;
  let impressions = 0;
  for (const u of s.users.values()) {
    clicks += u.clicks;
    impressions += u.impressions;
  }
  const report: ArmReport = {
    label,
    users: s.users.size,
    sessions: s.sessions,
    impressions,
    clicks,
    ctr: impressions > 0 ? clicks / impressions : NaN,
    fallbackPages: s.fallbackPages,
    fallbackPageShare: s.pages > 0 ? s.fallbackPages / s.pages : 0,
    fallbackSlots: s.fallbackSlots,
    categoriesPerFeed: s.sessions > 0 ? s.categoriesSum / s.sessions : 0,
    categoryEntropyBits: s.sessions > 0 ? s.entropySum / s.sessions : 0,
    distinctItemsShown: s.shown.size,
    coverage: liveItemsSeen > 0 ? s.shown.size / liveItemsSeen : 0,
    routeShare: Object.fromEntries([...s.routes].sort().map(([r, n]) => [r, impressions > 0 ? n / impressions : 0])),
  };
  if (replay) {
    const r = s.replay;
    report.replay = {
      sessions: r.sessions,
      targets: r.targets,
      hits: r.hits,
      recall: r.targets > 0 ? r.hits / r.targets : 0,
      hitRate: r.sessions > 0 ? r.hitSessions / r.sessions : 0,
    };
  }
  return report;
}
