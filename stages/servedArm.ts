import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ArmBModels, ArmBServing } from '../evaluation/abFeeds';
import { DEFAULT_HISTORY_CLUSTERS, historyClusterModel, type HistoryClusterConfig } from '../models/historyClusters';
import type { StageRef } from '../workflows/types';
import { CO_TRAINED_ITEM_VECTORS } from './stageFiles';
import type { EvaluationReport } from './evaluationStage';

/**
 * Arm B of the A/B as the offline validation chose it: the learned multi-interest model unless the
 * history-clustering baseline beat it on validation, its merge, and the share of the feed given to
 * the neighbours of the last clicks. The A/B activity reads it from the evaluation stage's summary,
 * `curio ab --served evaluation.json` from the report.
 */

export interface ServedArm extends ArmBServing {
  method: 'multi_interest' | 'history_clusters';
  clusters?: HistoryClusterConfig;
}

/** From the evaluation stage's summary (absent: the learned model with the recall config's merge). */
export function servedArmFromSummary(s: Record<string, number | string> | undefined): ServedArm {
  if (!s || s.served_user_model === undefined) return { method: 'multi_interest' };
  const method = s.served_user_model === 'history_clusters' ? 'history_clusters' : 'multi_interest';
  const share = Number(s.served_recent_share ?? 0);
  return {
    method,
    ...(method === 'history_clusters' ? { clusters: { ...DEFAULT_HISTORY_CLUSTERS, interests: Number(s.served_clusters), halfLife: Number(s.served_cluster_half_life) } } : {}),
    merge: s.served_merge === 'score' ? 'score' : 'quota',
    ...(s.served_categories_per_interest !== undefined ? { categoriesPerInterest: Number(s.served_categories_per_interest) } : {}),
    ...(s.served_max_category_share !== undefined ? { maxCategoryShare: Number(s.served_max_category_share) } : {}),
    ...(s.served_weighting !== undefined ? { weighting: s.served_weighting === 'strength' ? 'strength' : 'equal' } : {}),
    ...(s.served_min_strength !== undefined ? { minStrength: Number(s.served_min_strength) } : {}),
    ...(share > 0 ? { recent: { share, lastClicks: Number(s.item_knn_last_clicks) } } : {}),
    ...(Number(s.served_popular_share ?? 0) > 0 ? { popularShare: Number(s.served_popular_share) } : {}),
  };
}

export function servedArmFromReport(r: EvaluationReport): ServedArm {
  const served = r.nextSession.served;
  return {
    method: served.method,
    ...(served.clusters ? { clusters: served.clusters } : {}),
    merge: served.serving.merge,
    categoriesPerInterest: served.serving.categoriesPerInterest,
    maxCategoryShare: served.serving.maxCategoryShare,
    weighting: served.serving.weighting,
    minStrength: served.serving.minStrength,
    ...(served.serving.recentShare > 0 ? { recent: { share: served.serving.recentShare, lastClicks: r.nextSession.tuning.itemKnn.chosen.lastClicks } } : {}),
    // Reports written before the popular share existed served none.
    ...((served.serving.popularShare ?? 0) > 0 ? { popularShare: served.serving.popularShare } : {}),
  };
}

/** Arm B's models for a served choice; `multiInterestDir` is the trained model's folder (model.json). */
export async function openServedArm(
  served: ServedArm,
  multiInterestDir: string,
  iv: { ids: readonly string[]; vectors: Float32Array; dim: number },
): Promise<ArmBModels & { dispose(): void }> {
  const { method: _method, clusters: _clusters, ...serving } = served;
  const pieces = { itemVectors: { dim: iv.dim, vectors: iv.vectors }, itemIds: iv.ids, ...serving };
  if (served.method === 'history_clusters') {
    const model = historyClusterModel(iv.vectors, iv.dim, served.clusters ?? DEFAULT_HISTORY_CLUSTERS);
    return { label: 'history-clusters', ...pieces, modelFor: () => model, dispose: () => {} };
  }
  // TensorFlow only where a learned model is served.
  const { trainedInterestModel } = await import('../models/trainedInterestModel');
  const model = await trainedInterestModel(join(multiInterestDir), iv.vectors, iv.dim);
  return { label: 'multi-interest', ...pieces, modelFor: () => model, dispose: () => model.dispose() };
}

/**
 * The item vectors arm B and the serving index use: the served user model's co-trained ones (joint
 * training) when the learned model is served and has them, else the item-unit vectors.
 */
export function servedItemVectorsFile(itemEmbedding: StageRef, best?: StageRef, evaluation?: StageRef): string {
  const coTrained = best ? join(best.dir, CO_TRAINED_ITEM_VECTORS) : '';
  const learnedServed = (evaluation?.summary.served_user_model ?? 'multi_interest') === 'multi_interest';
  return best && learnedServed && existsSync(coTrained) ? coTrained : join(itemEmbedding.dir, 'item_vectors.parquet');
}
