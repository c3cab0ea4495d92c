import type { BootstrapResult } from './abStats';
import type { ArmReport, ReplayArmReport } from './abArms';
import type { ReplayOnlyReport } from './abReplay';
import type { AbReport } from './abTest';

/** The A/B report (or the replay-only estimate) as a plain-text table, for the CLI and logs. */
export function formatAbReport(r: AbReport | ReplayOnlyReport): string {
  if (r.mode === 'replay_only') return formatReplayOnly(r);
  const pct = (x: number, d = 2) => (Number.isFinite(x) ? `${(100 * x).toFixed(d)}%` : 'n/a');
  const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%` : 'n/a');
  const rows: [string, (a: ArmReport) => string][] = [
    ['users', (a) => String(a.users)],
    ['sessions', (a) => String(a.sessions)],
    ['impressions', (a) => String(a.impressions)],
    ['clicks', (a) => String(a.clicks)],
    ['CTR', (a) => pct(a.ctr)],
    ['categories per feed', (a) => a.categoriesPerFeed.toFixed(2)],
    ['category entropy (bits)', (a) => a.categoryEntropyBits.toFixed(2)],
    ['distinct items shown', (a) => String(a.distinctItemsShown)],
    ['catalogue coverage', (a) => pct(a.coverage, 1)],
    ['pages needing fallback', (a) => `${a.fallbackPages} (${pct(a.fallbackPageShare, 1)}), ${a.fallbackSlots} slots`],
    ['routes', (a) => Object.entries(a.routeShare).map(([k, v]) => `${k} ${pct(v, 0)}`).join(', ')],
  ];
  if (r.armA.replay && r.armB.replay) {
    rows.push(['replay: logged clicks in feed', (a) => `${a.replay?.hits}/${a.replay?.targets} (${pct(a.replay?.recall ?? NaN)})`]);
    rows.push(['replay: sessions with a hit', (a) => pct(a.replay?.hitRate ?? NaN, 1)]);
  }
  const w0 = Math.max(...rows.map(([k]) => k.length));
  const cells = rows.map(([k, f]) => [k, f(r.armA), f(r.armB)] as const);
  const w1 = Math.max(`A: ${r.armA.label}`.length, ...cells.map((c) => c[1].length));
  const lines = [
    `A/B test, seed ${r.seed}, held-out period ${r.testPeriod.start} .. ${r.testPeriod.end}, ${r.sessions} sessions (${r.skippedSessions} skipped), ${r.liveItemsSeen} items live at some request`,
    `${''.padEnd(w0)}  ${`A: ${r.armA.label}`.padEnd(w1)}  B: ${r.armB.label}`,
    ...cells.map(([k, a, b]) => `${k.padEnd(w0)}  ${a.padEnd(w1)}  ${b}`),
    '',
    `CTR lift B vs A: ${signed(r.zTest.lift)}`,
    `  z-test (impressions independent): 95% CI ${signed(r.zTest.liftCi[0])} .. ${signed(r.zTest.liftCi[1])}, z = ${r.zTest.z.toFixed(2)}, p = ${r.zTest.pValue.toPrecision(3)}`,
    `  bootstrap over users (${r.bootstrap.samples} resamples): 95% CI ${signed(r.bootstrap.ci[0])} .. ${signed(r.bootstrap.ci[1])}`,
    ...(r.interestCollapse
      ? [`interest collapse (mean pairwise cosine): arm B ${r.interestCollapse.armB.toFixed(3)} over ${r.interestCollapse.requests} requests; the truth's interests in arm B's item space ${r.interestCollapse.truth.toFixed(3)} (${r.interestCollapse.truthUsers} users)`]
      : []),
    `(${r.seconds.toFixed(1)} s)`,
  ];
  return lines.join('\n');
}

function formatReplayOnly(r: ReplayOnlyReport): string {
  const pct = (x: number, d = 2) => (Number.isFinite(x) ? `${(100 * x).toFixed(d)}%` : 'n/a');
  const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%` : 'n/a');
  const rows: [string, (a: ReplayArmReport) => string][] = [
    ['sessions replayed', (a) => String(a.feeds)],
    ['logged clicks in feed', (a) => `${a.replay.hits}/${a.replay.targets} (${pct(a.replay.recall)})`],
    ['sessions with a hit', (a) => pct(a.replay.hitRate, 1)],
    ['categories per feed', (a) => a.categoriesPerFeed.toFixed(2)],
    ['category entropy (bits)', (a) => a.categoryEntropyBits.toFixed(2)],
    ['distinct items in feeds', (a) => String(a.distinctItemsShown)],
    ['catalogue coverage', (a) => pct(a.coverage, 1)],
    ['feeds needing fallback', (a) => `${a.fallbackFeeds} (${pct(a.fallbackFeedShare, 1)}), ${a.fallbackSlots} slots`],
    ['routes', (a) => Object.entries(a.routeShare).map(([k, v]) => `${k} ${pct(v, 0)}`).join(', ')],
  ];
  const w0 = Math.max(...rows.map(([k]) => k.length));
  const cells = rows.map(([k, f]) => [k, f(r.armA), f(r.armB)] as const);
  const w1 = Math.max(`A: ${r.armA.label}`.length, ...cells.map((c) => c[1].length));
  return [
    `REPLAY ONLY: ${r.note}`,
    `seed ${r.seed}, held-out period ${r.testPeriod.start} .. ${r.testPeriod.end}: ${r.replaySessions} of ${r.sessions} sessions have logged clicks; each arm's ${r.feedSize}-item feed at session start, ${r.liveItemsSeen} items live at some session start`,
    `${''.padEnd(w0)}  ${`A: ${r.armA.label}`.padEnd(w1)}  B: ${r.armB.label}`,
    ...cells.map(([k, a, b]) => `${k.padEnd(w0)}  ${a.padEnd(w1)}  ${b}`),
    '',
    `replay recall B vs A: ${pct(r.armB.replay.recall)} vs ${pct(r.armA.replay.recall)}` +
      (r.replayLift ? `; lift ${signed(r.replayLift.lift)}, bootstrap over users 95% CI ${signed(r.replayLift.ci[0])} .. ${signed(r.replayLift.ci[1])} (not a CTR)` : ''),
    `(${r.seconds.toFixed(1)} s)`,
  ].join('\n');
}

/**
 * The headline numbers of an A/B report, under the names the stage summary and MLflow both use.
 * `mode` is the only string; everything else is a metric.
 */
export function abMetrics(r: AbReport | ReplayOnlyReport): Record<string, number | string> {
  const common = {
    categories_per_feed_item_cf: r.armA.categoriesPerFeed,
    categories_per_feed_multi_interest: r.armB.categoriesPerFeed,
    coverage_item_cf: r.armA.coverage,
    coverage_multi_interest: r.armB.coverage,
  };
  if (r.mode === 'replay_only') {
    return {
      mode: 'replay_only',
      replay_sessions: r.replaySessions,
      replay_recall_item_cf: r.armA.replay.recall,
      replay_recall_multi_interest: r.armB.replay.recall,
      replay_hit_rate_item_cf: r.armA.replay.hitRate,
      replay_hit_rate_multi_interest: r.armB.replay.hitRate,
      ...replayLiftMetrics(r.replayLift),
      ...common,
    };
  }
  return {
    mode: 'simulation',
    ctr_item_cf: r.armA.ctr,
    ctr_multi_interest: r.armB.ctr,
    ctr_lift: r.bootstrap.lift,
    ctr_lift_ci_low: r.bootstrap.ci[0],
    ctr_lift_ci_high: r.bootstrap.ci[1],
    ctr_lift_z_ci_low: r.zTest.liftCi[0],
    ctr_lift_z_ci_high: r.zTest.liftCi[1],
    ctr_lift_p_value: r.zTest.pValue,
    ...(r.interestCollapse ? { interest_collapse_arm_b: r.interestCollapse.armB, interest_collapse_truth: r.interestCollapse.truth } : {}),
    ...common,
    ...(r.armA.replay && r.armB.replay ? { replay_recall_item_cf: r.armA.replay.recall, replay_recall_multi_interest: r.armB.replay.recall } : {}),
    ...replayLiftMetrics(r.replayLift),
  };
}

function replayLiftMetrics(b: BootstrapResult | undefined): Record<string, number> {
  return b ? { replay_lift: b.lift, replay_lift_ci_low: b.ci[0], replay_lift_ci_high: b.ci[1] } : {};
}
