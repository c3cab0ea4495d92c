import { DEFAULT_AB, type AbConfig } from './abConfig';
import type { HeldOutSession } from './abData';
import { countReplay, liftField, newArm, recordFeed, recordSession, replayArmReport, replayLift, type ReplayArmReport } from './abArms';
import type { BootstrapResult } from './abStats';
import { emptyLog, historyBefore, openAbData, openFeeder, seenBefore, targetsOf, type ArmBModels } from './abFeeds';

/** Inputs of the replay-only estimate: no truth, so arm B must be real (trained) models. */
export interface ReplayInputs {
  featuresDb: string;
  tagsDb: string;
  armB: ArmBModels;
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
    const { live, refresh, feedFor, prefetchB } = await openFeeder(conn, data, armB, config, progress);
    prefetchB(
      data.sessions.flatMap((session) => {
        const log = data.logs.get(session.userIdx) ?? emptyLog();
        if (targetsOf(log, session.sessionKey).length === 0) return [];
        return [{ userIdx: session.userIdx, history: historyBefore(log, session.startedAt, Math.max(config.maxLongTerm, config.cfRecentClicks)) }];
      }),
    );
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
        // A replayed session is one feed: everything the arm would show at its start.
        recordFeed(arm, feed);
        recordSession(arm, feed.items.map((c) => data.catalogue.categories[c.itemIdx] as string));
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

