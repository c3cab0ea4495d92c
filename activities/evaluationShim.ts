import type { StageRef } from '../workflows/types';

/**
 * The evaluation stage ran on the pipeline worker until it moved to the training worker (it loads
 * the trained user model, hence TensorFlow). A retrain started before that move still schedules it
 * here; this loads the real activity only then, so a pipeline worker that never meets such a retrain
 * never loads TensorFlow.
 */
export async function evaluateModels(input: Parameters<typeof import('./evaluationActivities').evaluateModels>[0]): Promise<StageRef> {
  const { evaluateModels: evaluate } = await import('./evaluationActivities');
  return evaluate(input);
}
