import type { StageRef } from './types';

/**
 * How the sweep picks its λ: the trial with the best next-session Recall@50 on the validation
 * period, never on the test period. Pure (workflow code imports it); `curio train` uses it too, so
 * both choose the same trial.
 */
export function validSelectionMetric(trial: StageRef): number {
  // Trials recorded before the next-session protocol carry only the ComiRec one.
  return Number(trial.summary.valid_next_session_recall_at_50 ?? trial.summary.valid_recall_at_50);
}

export function bestTrial<T extends StageRef>(trials: readonly T[]): T {
  const first = trials[0];
  if (!first) throw new Error('the sweep has no trials');
  return trials.reduce((b, r) => (validSelectionMetric(r) > validSelectionMetric(b) ? r : b), first);
}

/**
 * The sweep point the multi_interest stage already trained: the stage trains the config's λ (with
 * the single-vector baseline beside it, which does not touch the multi-interest model), so a trial
 * at that λ would train the same model again. The workflow and `curio train` use its folder instead.
 */
export function trainedByStage(lambda: number, stageLambda: number): boolean {
  return lambda === stageLambda;
}
