import type { Feed } from '../retrieval/types';
import type { AbConfig } from './abConfig';
import { pairedBootstrapLift, type ArmCounts, type BootstrapResult } from './abStats';

/**
 * One arm's accounting, shared by the simulation and the replay-only estimate: what its feeds
 * showed (recordFeed), per session (recordSession), the replay's hits (countReplay), and the reports.
 */

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

export interface ArmState {
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

export const newArm = (): ArmState => ({
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

/** A feed the arm served: its page, whether popular items had to fill it, what it showed, by which route. */
export function recordFeed(arm: ArmState, feed: Feed): void {
  arm.pages++;
  if (feed.fallbackFilled > 0) {
    arm.fallbackPages++;
    arm.fallbackSlots += feed.fallbackFilled;
  }
  for (const c of feed.items) {
    arm.shown.add(c.itemIdx);
    arm.routes.set(c.route, (arm.routes.get(c.route) ?? 0) + 1);
  }
}

/** A session the arm served: the category mix of everything it showed in it. */
export function recordSession(arm: ArmState, categories: readonly string[]): void {
  arm.sessions++;
  const mix = categoryMix(categories);
  arm.categoriesSum += mix.distinct;
  arm.entropySum += mix.entropyBits;
}

export function countReplay(r: ArmState['replay'], userIdx: number, feed: Feed, targets: readonly number[]): void {
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
export function replayLift(a: ArmState, b: ArmState, config: AbConfig): BootstrapResult | undefined {
  const pairs = [...a.replay.perUser].map(([u, counts]) => ({ a: counts, b: b.replay.perUser.get(u) ?? { clicks: 0, impressions: counts.impressions } }));
  return pairs.length ? pairedBootstrapLift(pairs, { samples: config.bootstrapSamples, seed: config.seed }) : undefined;
}

export function replayArmReport(label: string, s: ArmState, liveItemsSeen: number): ReplayArmReport {
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

export function liftField(replayLift: BootstrapResult | undefined): { replayLift?: BootstrapResult } {
  return replayLift ? { replayLift } : {};
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

export function armReport(label: string, s: ArmState, liveItemsSeen: number, replay: boolean): ArmReport {
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
