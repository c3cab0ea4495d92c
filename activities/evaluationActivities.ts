import { join } from 'node:path';
import { evaluationStage } from '../pipeline/evaluationStage';
import type { StageRef } from '../workflows/types';
import { runStage } from './stageRunner';

/** The chosen multi-interest model against every baseline under the next-session and ComiRec protocols. */
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
    (r) => {
      const ns = (method: string) => r.nextSession.test.methods.find((m) => m.method === method)?.recall_at_50 ?? NaN;
      const cr = (method: string) => r.comirec.methods.find((m) => m.method === method)?.recall_at_50 ?? NaN;
      return {
        next_session_recall_at_50: r.goal.multiInterest,
        item_cf_next_session_recall_at_50: r.goal.itemCf,
        popularity_next_session_recall_at_50: ns('popularity'),
        ratio_over_item_cf: r.goal.ratio,
        goal_met: r.goal.met ? 'yes' : 'no',
        comirec_recall_at_50: cr('multi_interest'),
        item_cf_comirec_recall_at_50: cr('item_cf'),
        test_sessions: r.nextSession.test.scoredSessions,
        lambda: r.lambda,
      };
    },
  );
  return ref;
}
