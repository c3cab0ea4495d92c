import type { ResolvedConfig } from '../config/retrainConfig';
import { itemEmbeddingSpec } from '../stages/itemEmbedding';
import { keywordSpec } from '../stages/keyword';
import { lambdaTrialSpec, multiInterestSpec } from '../stages/multiInterest';
import type { StageRef } from '../workflows/types';
import { runSpec } from './stageRunner';

/**
 * The tfjs-node trainings. They run on the training task queue, in their own worker process, one at
 * a time. A retried attempt (after a crash of the worker, say) finds the checkpoints the previous
 * attempt left in the stage's scratch folder and resumes from the last finished epoch.
 */

export async function trainItemEmbeddings(input: { features: StageRef; tags: StageRef; config: ResolvedConfig }): Promise<StageRef> {
  return runSpec(itemEmbeddingSpec, { features: input.features, tags: input.tags, itemUnit: input.config.itemUnit, item2vec: input.config.item2vec });
}

export async function trainKeywordModel(input: { features: StageRef; tags: StageRef; itemEmbedding: StageRef; config: ResolvedConfig }): Promise<StageRef> {
  return runSpec(keywordSpec, { features: input.features, tags: input.tags, itemEmbedding: input.itemEmbedding, itemUnit: input.config.itemUnit, keyword: input.config.keyword });
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
  return runSpec(input.singleVectorBaseline ? multiInterestSpec : lambdaTrialSpec, {
    features: input.features,
    ...(input.tags ? { tags: input.tags } : {}),
    itemEmbedding: input.itemEmbedding,
    itemUnit: input.config.itemUnit,
    multiInterest: { ...input.config.multiInterest, lambda: input.lambda },
  });
}
