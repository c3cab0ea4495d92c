import { validateAbConfig, type AbConfig } from '../evaluation/abConfig';
import { abTestSpec } from '../stages/abTest';
import type { StageRef } from '../workflows/types';
import { runSpec, toFailure } from './stageRunner';

/** The simulated A/B CTR test (stages/abTest.ts). Runs on the training worker: arm B asks the tfjs model for every user's interests. */
export async function runAbTest(input: {
  prepared: StageRef;
  dataDir: string;
  features: StageRef;
  tags: StageRef;
  itemEmbedding: StageRef;
  best: StageRef;
  /** The offline evaluation: which user model is served, and how (chosen on validation). */
  evaluation?: StageRef;
  settings: Partial<AbConfig>;
}): Promise<StageRef> {
  let settings: AbConfig;
  try {
    // The resolved config holds the full section; a retrain started before it did passes a partial one.
    settings = validateAbConfig(input.settings);
  } catch (err) {
    throw toFailure(err);
  }
  return runSpec(abTestSpec, { ...input, settings });
}
