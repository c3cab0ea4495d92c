import { join } from 'node:path';
import { evaluationStage } from '../pipeline/evaluationStage';
import type { StageRef } from '../workflows/types';
import { runStage } from './stageRunner';

/** Full-ranking evaluation of the chosen multi-interest model against every baseline (ComiRec protocol). */
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
    (r) => ({
      recall_at_50: r.goal.multiInterest,
      item_cf_recall_at_50: r.goal.itemCf,
      ratio_over_item_cf: r.goal.ratio,
      goal_met: r.goal.met ? 'yes' : 'no',
      lambda: r.lambda,
    }),
  );
  return ref;
}
