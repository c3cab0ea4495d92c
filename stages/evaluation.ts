import { join } from 'node:path';
import { rankingMetrics } from '../evaluation/headlineMetrics';
import type { EvaluationReport } from './evaluationStage';
import { featuresSpec } from './features';
import { defineStage, type StageOutput } from './spec';
import { readReport, uploadIfPresent } from './trackingHelpers';

export interface EvaluationInput {
  features: StageOutput;
  itemEmbedding: StageOutput;
  /** The sweep's best trial, the λ = 0 trial (for the collapse comparison), and the run with the YouTube-DNN baseline. */
  best: StageOutput;
  lambdaZero?: StageOutput;
  baseline: StageOutput;
  goalRatio: number;
}

/** The stage summary: the headline figures, and the served user model as the A/B reads it (stages/servedArm.ts). */
export function evaluationSummary(r: EvaluationReport): Record<string, number | string> {
  const ns = (method: string) => r.nextSession.test.methods.find((m) => m.method === method)?.recall_at_50 ?? NaN;
  const cr = (method: string) => r.comirec.methods.find((m) => m.method === method)?.recall_at_50 ?? NaN;
  return {
    next_session_recall_at_50: r.goal.recall,
    multi_interest_next_session_recall_at_50: ns('multi_interest'),
    history_clusters_next_session_recall_at_50: ns('history_clusters'),
    item_knn_next_session_recall_at_50: ns('item_knn'),
    served_user_model: r.nextSession.served.method,
    served_merge: r.nextSession.served.serving.merge,
    served_recent_share: r.nextSession.served.serving.recentShare,
    served_popular_share: r.nextSession.served.serving.popularShare,
    served_categories_per_interest: r.nextSession.served.serving.categoriesPerInterest,
    served_max_category_share: r.nextSession.served.serving.maxCategoryShare,
    served_weighting: r.nextSession.served.serving.weighting,
    served_min_strength: r.nextSession.served.serving.minStrength,
    ...(r.nextSession.served.clusters ? { served_clusters: r.nextSession.served.clusters.interests, served_cluster_half_life: r.nextSession.served.clusters.halfLife } : {}),
    item_knn_last_clicks: r.nextSession.tuning.itemKnn.chosen.lastClicks,
    item_cf_next_session_recall_at_50: r.goal.itemCf,
    popularity_next_session_recall_at_50: ns('popularity'),
    ratio_over_item_cf: r.goal.ratio,
    goal_met: r.goal.met ? 'yes' : 'no',
    comirec_recall_at_50: cr('multi_interest'),
    item_cf_comirec_recall_at_50: cr('item_cf'),
    test_sessions: r.nextSession.test.scoredSessions,
    lambda: r.lambda,
  };
}

/**
 * Every model and baseline under the next-session and ComiRec protocols, baselines tuned on
 * validation, and the serving choice (which user model, how merged) made on validation.
 */
export const evaluationSpec = defineStage<EvaluationInput, EvaluationReport>()({
  name: 'evaluation',
  queue: 'training',
  files: { report: 'evaluation.json', markdown: 'evaluation.md' },
  key: (input) => ({ best: input.best.digest, zero: input.lambdaZero?.digest ?? null, baseline: input.baseline.digest, goal: input.goalRatio }),
  async run(input, io) {
    const { evaluationStage } = await import('./evaluationStage');
    return evaluationStage(
      {
        featuresDb: join(input.features.dir, featuresSpec.files.db),
        itemEmbeddingDir: input.itemEmbedding.dir,
        multiInterestDir: input.best.dir,
        ...(input.lambdaZero ? { lambdaZeroDir: input.lambdaZero.dir } : {}),
        baselineDir: input.baseline.dir,
        goalRatio: input.goalRatio,
      },
      io,
      // An abort is heard between the evaluation's phases (a validation search, the test sessions).
      (m) => {
        io.signal?.throwIfAborted();
        io.phase?.(m);
      },
    );
  },
  summary: (r) => evaluationSummary(r),
  async track({ ref, run }) {
    const r = readReport<EvaluationReport>(ref.dir, evaluationSpec.files.report);
    if (!r) return;
    for (const m of r.nextSession.test.methods) await run.logMetrics({ ...rankingMetrics(m, `${m.method}_next_session_`), [`${m.method}_next_session_fallback_share`]: m.fallback_share_at_50 });
    for (const m of r.nextSession.valid.methods) await run.logMetrics(rankingMetrics(m, `${m.method}_next_session_val_`));
    for (const m of r.comirec.methods) await run.logMetrics(rankingMetrics(m, `${m.method}_comirec_`));
    for (const c of r.interestCollapse) await run.logMetrics({ [`interest_collapse_lambda_${String(c.lambda).replace('.', '_')}`]: c.value });
    await run.logMetrics({ next_session_recall_at_50_over_item_cf: r.goal.ratio, next_session_test_sessions: r.nextSession.test.scoredSessions, next_session_valid_sessions: r.nextSession.valid.scoredSessions });
    const chosen = r.nextSession.tuning;
    await run.logParams({
      'tuned.item_cf.lookback_days': String(chosen.itemCf.chosen.lookbackDays ?? 'all'),
      'tuned.item_cf.top_k': String(chosen.itemCf.chosen.topK),
      'tuned.item_cf.recent_clicks': String(chosen.itemCf.chosen.recentClicks),
      'tuned.item_knn.last_clicks': String(chosen.itemKnn.chosen.lastClicks),
      'tuned.popularity.window_days': String(chosen.popularity.chosen.windowDays ?? 'all'),
    });
    await uploadIfPresent(run, ref.dir, [evaluationSpec.files.report, evaluationSpec.files.markdown] as string[]);
  },
});
