import { join } from 'node:path';
import { itemEmbeddingStage, keywordStage, multiInterestStage } from '../stages/modelStages';
import type { ResolvedConfig } from '../config/retrainConfig';
import type { StageRef } from '../workflows/types';
import { ConfigError } from '../platform/schema';
import { runStage, toFailure } from './stageRunner';

/**
 * The tfjs-node trainings. They run on the training task queue, in their own worker process, one at
 * a time. A retried attempt (after a crash of the worker, say) finds the checkpoints the previous
 * attempt left in the stage's scratch folder and resumes from the last finished epoch.
 */

export async function trainItemEmbeddings(input: { features: StageRef; tags: StageRef; config: ResolvedConfig }): Promise<StageRef> {
  const { ref } = await runStage(
    'item_embedding',
    { features: input.features.digest, tags: input.tags.digest, itemUnit: input.config.itemUnit, item2vec: input.config.item2vec },
    (io) =>
      itemEmbeddingStage(
        {
          featuresDb: join(input.features.dir, 'features.duckdb'),
          tagsDb: join(input.tags.dir, 'tags.duckdb'),
          itemUnit: input.config.itemUnit,
          item2vec: input.config.item2vec,
        },
        io,
      ),
    (r) => ({
      resumed_from_epoch: r.itemUnit.resumedFromEpoch,
      epochs_run: r.itemUnit.epochsRun.join(','),
      next_click_recall_cold: r.nextClick.itemUnit.recallCold,
      next_click_recall_warm: r.nextClick.itemUnit.recallWarm,
      item2vec_recall_cold: r.nextClick.item2vec.recallCold,
      item2vec_recall_warm: r.nextClick.item2vec.recallWarm,
      popularity_recall_cold: r.nextClick.popularity.recallCold,
    }),
  );
  return ref;
}

export async function trainKeywordModel(input: { features: StageRef; tags: StageRef; itemEmbedding: StageRef; config: ResolvedConfig }): Promise<StageRef> {
  const { ref } = await runStage(
    'keyword',
    { embedding: input.itemEmbedding.digest, features: input.features.digest, tags: input.tags.digest, keyword: input.config.keyword },
    (io) =>
      keywordStage(
        {
          featuresDb: join(input.features.dir, 'features.duckdb'),
          tagsDb: join(input.tags.dir, 'tags.duckdb'),
          itemEmbeddingDir: input.itemEmbedding.dir,
          itemUnit: input.config.itemUnit,
          keyword: input.config.keyword,
        },
        io,
      ),
    (r) => ({ recall_at_50: r.withTransfer.recall_at_50, recall_at_50_no_transfer: r.withoutTransfer.recall_at_50, held_out_searches: r.heldOutSearches }),
  );
  return ref;
}

export async function trainMultiInterest(input: {
  features: StageRef;
  /** The tags joint training reads the item tower's attributes from (absent in histories recorded before it). */
  tags?: StageRef;
  itemEmbedding: StageRef;
  config: ResolvedConfig;
  lambda: number;
  singleVectorBaseline: boolean;
}): Promise<StageRef> {
  const multiInterest = { ...input.config.multiInterest, lambda: input.lambda };
  const stage = input.singleVectorBaseline ? 'multi_interest' : 'multi_interest_trial';
  if (multiInterest.itemTower === 'joint' && !input.tags) throw toFailure(new ConfigError('multiInterest.itemTower joint needs the tagging stage (tags) to read the item tower\'s attributes'));
  const { ref } = await runStage(
    stage,
    { embedding: input.itemEmbedding.digest, features: input.features.digest, tags: input.tags?.digest ?? null, multiInterest, baseline: input.singleVectorBaseline },
    (io) =>
      multiInterestStage(
        {
          featuresDb: join(input.features.dir, 'features.duckdb'),
          tagsDb: input.tags ? join(input.tags.dir, 'tags.duckdb') : '',
          itemUnit: input.config.itemUnit,
          itemEmbeddingDir: input.itemEmbedding.dir,
          multiInterest,
          singleVectorBaseline: input.singleVectorBaseline,
        },
        io,
      ),
    (r) => ({
      lambda: r.lambda,
      // The sweep picks λ on this one: next-session Recall@50 of the validation period.
      valid_next_session_recall_at_50: r.multiInterest.nextSession.valid.recall_at_50,
      test_next_session_recall_at_50: r.multiInterest.nextSession.test.recall_at_50,
      valid_recall_at_50: r.multiInterest.valid.recall_at_50,
      test_recall_at_50: r.multiInterest.test.recall_at_50,
      interest_collapse: r.multiInterest.interestCollapse,
      session_start_collapse_before_gate: r.multiInterest.sessionStartCollapse.beforeGate,
      session_start_collapse_after_gate: r.multiInterest.sessionStartCollapse.afterGate,
      resumed_from_epoch: r.multiInterest.training.resumedFromEpoch,
    }),
  );
  return ref;
}
