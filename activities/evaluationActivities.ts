import { evaluationSpec, type EvaluationInput } from '../stages/evaluation';
import type { StageRef } from '../workflows/types';
import { runSpec } from './stageRunner';

/** The chosen multi-interest model (and the clustering baseline it must beat to be served) against every baseline under the next-session and ComiRec protocols. */
export async function evaluateModels(input: EvaluationInput & { features: StageRef; itemEmbedding: StageRef; best: StageRef; lambdaZero?: StageRef; baseline: StageRef }): Promise<StageRef> {
  return runSpec(evaluationSpec, input);
}
