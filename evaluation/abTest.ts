import { affinity, clickProbability } from '../data/generator/clickModel';
import { yieldEvery } from '../platform/yieldEvery';
import { Rng, WeightedSampler } from '../data/generator/rng';
import { DEFAULT_AB, type AbConfig } from './abConfig';
import { armReport, liftField, newArm, recordFeed, recordSession, replayLift, countReplay, type ArmReport } from './abArms';
import type { HeldOutSession } from './abData';
import { bootstrapLift, twoProportionZTest, type ArmCounts, type BootstrapResult, type TwoProportionTest } from './abStats';
import { emptyLog, historyBefore, openAbData, openFeeder, seenBefore, targetsOf, type ArmBModels } from './abFeeds';
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

export interface AbInputs {
  featuresDb: string;
  tagsDb: string;
  /** The generated dataset folder (its truth/ decides clicks). */
  datasetDir: string;
  armB: ArmBModels | ((truth: Truth) => ArmBModels);
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


export async function simulateAbTest(inputs: AbInputs, config: AbConfig = DEFAULT_AB, progress: (m: string) => void = () => {}): Promise<AbReport> {
  const t0 = Date.now();
  const { db, conn, data } = await openAbData(inputs, config);
  try {
    const truth = await loadTruth(conn, inputs.datasetDir, data.catalogue.itemIds.length);
    const armB = typeof inputs.armB === 'function' ? inputs.armB(truth) : inputs.armB;
    progress(`${data.sessions.length} held-out sessions, ${data.catalogue.itemIds.length} items; building the constrained index for ${armB.label}`);
    const { live, refresh, feedFor, collapse, prefetchB, interestCalls } = await openFeeder(conn, data, armB, config, progress);
    // Every session start arm B will be asked about (its own users' first pages, everyone's replay).
    const tPrefetch = Date.now();
    const starts = data.sessions.flatMap((session) => {
      if (!truth.users[session.userIdx]?.interests.length) return [];
      const log = data.logs.get(session.userIdx) ?? emptyLog();
      const asked = inArmB(config.seed, session.userIdx, config.shareB) || (config.replay && targetsOf(log, session.sessionKey).length > 0);
      return asked ? [{ userIdx: session.userIdx, history: historyBefore(log, session.startedAt, Math.max(config.maxLongTerm, config.cfRecentClicks)) }] : [];
    });
    prefetchB(starts);
    progress(`arm B's interests at ${starts.length} session starts computed in batches in ${((Date.now() - tPrefetch) / 1000).toFixed(1)} s`);

    const arms = { A: newArm(), B: newArm() };
    const liveEver = new Uint8Array(data.catalogue.itemIds.length);
    let skipped = 0;
    const pause = yieldEvery();
    for (let ordinal = 0; ordinal < data.sessions.length; ordinal++) {
      if (pause.due()) await pause.turn();
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
        recordFeed(arm, feed);
        feed.items.forEach((c, position) => {
          // The recallers promise this; a violation would inflate CTR with items no one could show.
          if (seen.has(c.itemIdx) || !live.isLive(c.itemIdx, t)) throw new Error(`arm ${armName} showed item ${c.itemIdx}, seen or not live at ${t}`);
          seen.add(c.itemIdx);
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
      recordSession(arm, sessionCategories);
      if ((ordinal + 1) % 1000 === 0) progress(`simulated ${ordinal + 1}/${data.sessions.length} sessions`);
    }

    const collapseB = collapse();
    const calls = interestCalls();
    progress(`arm B's model: ${calls.computed} requests computed, ${calls.reused} answered from an identical earlier one`);
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







