import type { DuckDBConnection, DuckDBVector } from '@duckdb/node-api';
import { attachDatabase, forEachChunk, GrowableInt32, openDatabase, runSqlFile } from '../platform/duckdb';
import { LiveItems } from '../retrieval/liveItems';
import { yieldEvery } from '../platform/yieldEvery';
import { DAY_MS, popularityRanker, type PopularityConfig, type RankContext, type Ranker, type RankRequest } from './rankers';
import { Rng } from '../data/generator/rng';
import { pairedBootstrapLift, quantile, type BootstrapResult } from './abStats';
import { recallAt } from './metrics';
import { scoreRankings, type DiversityContext, type MethodMetrics } from './userEval';

/**
 * The next-session protocol, the offline number decisions are made on. For each session of a
 * held-out user in the period of the user's split (valid users: the validation period; test users:
 * the test period):
 * - history: that user's clicks before the session starts (from every earlier period);
 * - targets: the lots clicked in the session, de-duplicated, that are candidates;
 * - candidates: the lots on sale when the session starts that the user has not clicked before.
 * Every method ranks the same candidates for the same request; statistics that production refreshes
 * daily (item-CF, popularity) are recomputed for each day from every click before that day, as the
 * A/B's arm A is. A method that finds fewer than N lots is topped up by the shared popularity
 * fallback, as in the A/B, and the share of fallback slots is reported.
 */

export type NextSessionSplit = 'valid' | 'test';

export interface SessionCase extends RankRequest {
  sessionKey: string;
  /** Distinct clicked candidates of the session. */
  targets: Int32Array;
}

export interface SessionSet {
  split: NextSessionSplit;
  /** Scored sessions, in start order; caseNo = position. */
  cases: SessionCase[];
  /** Sessions of the split's users in its period with at least one click. */
  sessions: number;
  /** Of those, sessions without a single target (every click was a re-click or a lot not on sale). */
  sessionsWithoutTargets: number;
  /** What happened to the sessions' distinct clicked lots. */
  clicks: { targets: number; clickedBefore: number; notOnSale: number };
  users: number;
  period: { start: number; end: number };
  /** Auction windows by item_idx (epoch ms). */
  listedAt: Float64Array;
  endsAt: Float64Array;
}

/** Reads the sessions, clicks and auction windows of one split from a features DB attached as `feat`. */
export async function loadSessionSet(conn: DuckDBConnection, split: NextSessionSplit): Promise<SessionSet> {
  const windows = await runSqlFile(conn, 'evaluation/item_windows');
  const listedAt = Float64Array.from(windows, (r) => Number(r.listed_at));
  const endsAt = Float64Array.from(windows, (r) => Number(r.ends_at));
  windows.forEach((r, i) => {
    if (Number(r.item_idx) !== i) throw new Error(`item_index is not dense: row ${i} has item_idx ${String(r.item_idx)}`);
  });
  const live = new LiveItems({ itemIds: [], categories: [], listedAt, endsAt });

  const logs = new Map<number, { items: number[]; times: number[]; sessions: string[] }>();
  // Streamed: at 500k lots a split's users have millions of clicks, too many to hold as row objects first.
  await forEachChunk(conn, 'evaluation/next_session_clicks', { split }, (chunk, column) => {
    const [user, item, ts, session] = ['user_idx', 'item_idx', 'ts', 'session_key'].map((c) => chunk.getColumnVector(column(c))) as [DuckDBVector, DuckDBVector, DuckDBVector, DuckDBVector];
    for (let r = 0; r < chunk.rowCount; r++) {
      const u = Number(user.getItem(r));
      let l = logs.get(u);
      if (!l) logs.set(u, (l = { items: [], times: [], sessions: [] }));
      l.items.push(Number(item.getItem(r)));
      l.times.push(Number(ts.getItem(r)));
      l.sessions.push(String(session.getItem(r)));
    }
  });

  const cases: SessionCase[] = [];
  const clicks = { targets: 0, clickedBefore: 0, notOnSale: 0 };
  let sessions = 0;
  let withoutTargets = 0;
  let start = Infinity;
  let end = -Infinity;
  const users = new Set<number>();
  for (const r of await runSqlFile(conn, 'evaluation/next_session_sessions', { split })) {
    const userIdx = Number(r.user_idx);
    const sessionKey = String(r.session_key);
    const startedAt = Number(r.started_at);
    const log = logs.get(userIdx);
    if (!log) continue;
    sessions++;
    start = Math.min(start, startedAt);
    end = Math.max(end, startedAt);
    // Clicks strictly before the session's start are its history; the session's own are its clicks.
    let before = 0;
    while (before < log.times.length && (log.times[before] as number) < startedAt) before++;
    const history = Int32Array.from(log.items.slice(0, before));
    const clickedBefore = new Set(history);
    const targets: number[] = [];
    for (let k = before; k < log.items.length; k++) {
      if (log.sessions[k] !== sessionKey) continue;
      const item = log.items[k] as number;
      if (clickedBefore.has(item)) clicks.clickedBefore++;
      else if (!live.isLive(item, startedAt)) clicks.notOnSale++;
      else targets.push(item);
    }
    clicks.targets += targets.length;
    if (targets.length === 0) {
      withoutTargets++;
      continue;
    }
    users.add(userIdx);
    cases.push({ caseNo: cases.length, userIdx, sessionKey, startedAt, day: Math.floor(startedAt / DAY_MS), history, targets: Int32Array.from(targets) });
  }
  return {
    split,
    cases,
    sessions,
    sessionsWithoutTargets: withoutTargets,
    clicks,
    users: users.size,
    period: { start: Number.isFinite(start) ? start : 0, end: Number.isFinite(end) ? end : 0 },
    listedAt,
    endsAt,
  };
}

/** Every click of every user in time order: what daily popularity counts read. */
export async function loadClickTimes(conn: DuckDBConnection): Promise<{ items: Int32Array; times: Float64Array }> {
  // Streamed: every click of the catalogue (millions at 500k lots).
  const items = new GrowableInt32();
  const times: number[] = [];
  await forEachChunk(conn, 'evaluation/click_times', {}, (chunk, column) => {
    const [item, ts] = [chunk.getColumnVector(column('item_idx')), chunk.getColumnVector(column('ts'))];
    for (let r = 0; r < chunk.rowCount; r++) {
      items.push(Number(item.getItem(r)));
      times.push(Number(ts.getItem(r)));
    }
  });
  return { items: items.toArray(), times: Float64Array.from(times) };
}

export async function readClickTimes(featuresDb: string): Promise<{ items: Int32Array; times: Float64Array }> {
  const db = await openDatabase(':memory:');
  try {
    await attachDatabase(db.connection, featuresDb, 'feat');
    return await loadClickTimes(db.connection);
  } finally {
    db.close();
  }
}

export interface NextSessionMetrics extends MethodMetrics {
  /** Share of the top-50 slots the popularity fallback filled because the method found too few. */
  fallback_share_at_50: number;
  /** 95% bootstrap interval of Recall@50, resampling users with all their sessions. */
  recall_at_50_ci: [number, number];
}

export interface SessionEvaluation {
  metrics: NextSessionMetrics[];
  /** Recall@50 of every scored session, by method (case order), for paired comparisons. */
  recallAt50: Map<string, Float64Array>;
}

export const NEXT_SESSION_N = 50;

/**
 * Ranks every case with every ranker (same request, same candidates), tops short lists up with the
 * fallback, and scores them: one row per ranker, averaged over sessions.
 */
export async function evaluateSessions(
  set: SessionSet,
  rankers: readonly Ranker[],
  fallback: Ranker,
  div: DiversityContext,
  progress: (m: string) => void = () => {},
  /** Sees every final list (after the fallback), e.g. for tests and diagnostics. */
  observe?: (c: SessionCase, method: string, list: readonly number[], ctx: RankContext) => void,
): Promise<SessionEvaluation> {
  const n = NEXT_SESSION_N;
  const live = new LiveItems({ itemIds: [], categories: [], listedAt: set.listedAt, endsAt: set.endsAt });
  const isCandidate = new Uint8Array(set.listedAt.length);
  const rankings = rankers.map(() => [] as number[][]);
  const fallbackSlots = rankers.map(() => 0);
  const everyRanker = [...rankers, ...(rankers.includes(fallback) ? [] : [fallback])];
  let day = Number.NaN;
  let liveAt = Number.NaN;
  let liveNow: Int32Array = new Int32Array(0);
  const t0 = Date.now();
  const pause = yieldEvery();
  for (const c of set.cases) {
    if (pause.due()) await pause.turn();
    if (c.day !== day) {
      day = c.day;
      for (const r of everyRanker) await r.startDay?.(day);
    }
    if (c.startedAt !== liveAt) {
      liveAt = c.startedAt;
      liveNow = live.at(c.startedAt);
    }
    const clicked = new Set(c.history);
    const candidates = liveNow.filter((i) => !clicked.has(i));
    for (const i of candidates) isCandidate[i] = 1;
    const ctx: RankContext = { candidates, isCandidate };
    let popular: number[] | undefined;
    rankers.forEach((r, k) => {
      const list = r.rank(c, ctx, n);
      if (list.length < n) {
        popular ??= fallback.rank(c, ctx, n + n);
        const taken = new Set(list);
        for (const item of popular) {
          if (list.length >= n) break;
          if (taken.has(item)) continue;
          list.push(item);
          fallbackSlots[k] = (fallbackSlots[k] as number) + 1;
        }
      }
      (rankings[k] as number[][]).push(list);
      observe?.(c, r.method, list, ctx);
    });
    for (const i of candidates) isCandidate[i] = 0;
    if (c.caseNo % 2000 === 1999) progress(`${set.split}: ${c.caseNo + 1}/${set.cases.length} sessions ranked by ${rankers.length} methods in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const targets = set.cases.map((c) => c.targets);
  const recallAt50 = new Map<string, Float64Array>();
  const metrics = rankers.map((r, k) => {
    const lists = rankings[k] as number[][];
    const perSession = Float64Array.from(lists, (list, i) => recallAt(list, new Set(targets[i]), n));
    recallAt50.set(r.method, perSession);
    return {
      ...scoreRankings(r.method, lists, targets, div),
      fallback_share_at_50: set.cases.length ? (fallbackSlots[k] as number) / (set.cases.length * n) : 0,
      recall_at_50_ci: userBootstrapInterval(set, perSession),
    };
  });
  return { metrics, recallAt50 };
}

/** Per-user sums of a per-session value and session counts: the units every bootstrap here resamples. */
function byUser(set: SessionSet, values: Float64Array): Map<number, { sum: number; sessions: number }> {
  const out = new Map<number, { sum: number; sessions: number }>();
  set.cases.forEach((c, i) => {
    const u = out.get(c.userIdx) ?? { sum: 0, sessions: 0 };
    u.sum += values[i] as number;
    u.sessions++;
    out.set(c.userIdx, u);
  });
  return out;
}

/**
 * 95% percentile interval of a per-session mean, resampling users (with all their sessions): a
 * user's sessions are not independent, and held-out periods are short, so this is often wide.
 */
export function userBootstrapInterval(set: SessionSet, values: Float64Array, samples = 1000, seed = 1): [number, number] {
  const units = [...byUser(set, values).values()];
  if (units.length === 0) return [0, 0];
  const rng = new Rng(seed, 83);
  const means = new Float64Array(samples);
  for (let s = 0; s < samples; s++) {
    let sum = 0;
    let sessions = 0;
    for (let i = 0; i < units.length; i++) {
      const u = units[rng.int(units.length)] as { sum: number; sessions: number };
      sum += u.sum;
      sessions += u.sessions;
    }
    means[s] = sum / sessions;
  }
  means.sort();
  return [quantile(means, 0.025), quantile(means, 0.975)];
}

/**
 * B's mean per-session value over A's on the same sessions, minus one, with a paired bootstrap
 * interval over users: the comparison the goal and the registry read.
 */
export function pairedSessionLift(set: SessionSet, a: Float64Array, b: Float64Array, samples = 1000, seed = 1): BootstrapResult {
  const ua = byUser(set, a);
  const ub = byUser(set, b);
  const pairs = [...ua].map(([u, x]) => ({ a: { clicks: x.sum, impressions: x.sessions }, b: { clicks: ub.get(u)?.sum ?? 0, impressions: x.sessions } }));
  return pairedBootstrapLift(pairs, { samples, seed });
}

/**
 * Picks the configuration of a baseline on validation sessions: the one with the highest Recall@50
 * (ties: the first listed). Returns every point, so the report shows what was tried.
 */
export function pickOnValidation<C>(points: { config: C; metrics: NextSessionMetrics }[]): {
  chosen: C;
  /** Every point tried, with its list breadth beside its recall: what a different choice would trade. */
  points: { config: C; recall_at_50: number; category_coverage_at_50: number }[];
} {
  if (points.length === 0) throw new Error('nothing to choose from');
  let best = points[0] as { config: C; metrics: NextSessionMetrics };
  for (const p of points) if (p.metrics.recall_at_50 > best.metrics.recall_at_50) best = p;
  return { chosen: best.config, points: points.map((p) => ({ config: p.config, recall_at_50: p.metrics.recall_at_50, category_coverage_at_50: p.metrics.category_coverage_at_50 })) };
}

/** The popularity windows tried on validation (days before the request's day; null = all). */
export const POPULARITY_WINDOWS: readonly (number | null)[] = [1, 7, 30, null];

/**
 * The popularity baseline, which is also every method's fallback, tuned on validation sessions.
 * Cheap and deterministic, so the training stages (for the λ choice) and the evaluation stage reach
 * the same choice from the same data.
 */
export async function choosePopularity(
  valid: SessionSet,
  clicks: { items: Int32Array; times: Float64Array },
  div: DiversityContext,
): Promise<{ chosen: PopularityConfig; points: { config: PopularityConfig; recall_at_50: number }[] }> {
  const configs = POPULARITY_WINDOWS.map((windowDays) => ({ windowDays }));
  const rankers = configs.map((c) => popularityRanker(`popularity_${c.windowDays ?? 'all'}`, clicks, valid.listedAt, c));
  const { metrics } = await evaluateSessions(valid, rankers, rankers[0] as Ranker, div);
  return pickOnValidation(configs.map((config, i) => ({ config, metrics: metrics[i] as NextSessionMetrics })));
}

/** The two session sets and the click log every next-session evaluation reads. */
export interface NextSessionInputs {
  valid: SessionSet;
  test: SessionSet;
  clicks: { items: Int32Array; times: Float64Array };
  dataStart: number;
}

export async function readNextSessionInputs(featuresDb: string): Promise<NextSessionInputs> {
  const db = await openDatabase(':memory:');
  try {
    await attachDatabase(db.connection, featuresDb, 'feat');
    const [p] = await runSqlFile(db.connection, 'retrieval/ab_period');
    return {
      valid: await loadSessionSet(db.connection, 'valid'),
      test: await loadSessionSet(db.connection, 'test'),
      clicks: await loadClickTimes(db.connection),
      dataStart: Number(p?.data_start ?? 0),
    };
  } finally {
    db.close();
  }
}
