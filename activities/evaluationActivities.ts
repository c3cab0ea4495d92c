import { join } from 'node:path';
import { evaluationStage, type EvaluationReport } from '../stages/evaluationStage';
import type { StageRef } from '../workflows/types';
import { runStage } from './stageRunner';

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

/** The chosen multi-interest model (and the clustering baseline it must beat to be served) against every baseline under the next-session and ComiRec protocols. */
export async function evaluateModels(input: {
  features: StageRef;
  itemEmbedding: StageRef;
  /** The sweep's best trial, the λ = 0 trial (for the collapse comparison), and the run with the YouTube-DNN baseline. */
  best: StageRef;
  lambdaZero?: StageRef;
  baseline: StageRef;
  goalRatio: number;
}): Promise<StageRef> {
  const { ref } = await runStage(
    'evaluation',
    { best: input.best.digest, zero: input.lambdaZero?.digest ?? null, baseline: input.baseline.digest, goal: input.goalRatio },
    (io) =>
      evaluationStage(
        {
          featuresDb: join(input.features.dir, 'features.duckdb'),
          itemEmbeddingDir: input.itemEmbedding.dir,
          multiInterestDir: input.best.dir,
          ...(input.lambdaZero ? { lambdaZeroDir: input.lambdaZero.dir } : {}),
          baselineDir: input.baseline.dir,
          goalRatio: input.goalRatio,
        },
        io,
      ),
    evaluationSummary,
  );
  return ref;
}
