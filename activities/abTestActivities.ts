import { validateAbConfig, type AbConfig } from '../evaluation/abConfig';
import { abTestSpec, type AbTestInput } from '../stages/abTest';
import type { StageRef } from '../workflows/types';
import { runSpec, toFailure } from './stageRunner';

/** The simulated A/B CTR test (stages/abTest.ts). Runs on the training worker: arm B asks the tfjs model for every user's interests. */
export async function runAbTest(input: Omit<AbTestInput, 'settings'> & { settings: Partial<AbConfig> }): Promise<StageRef> {
  let settings: AbConfig;
  try {
    // The resolved config holds the full section; a retrain started before it did passes a partial one.
    settings = validateAbConfig(input.settings);
  } catch (err) {
    throw toFailure(err);
  }
  return runSpec(abTestSpec, { ...input, settings });
}
