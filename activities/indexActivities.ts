import { recallIndexSpec, type RecallIndexInput } from '../stages/recallIndex';
import type { StageRef } from '../workflows/types';
import { runSpec } from './stageRunner';

/** The category-constrained Faiss index over the served item vectors (pipeline worker: Faiss only). */
export async function buildIndex(input: RecallIndexInput): Promise<StageRef> {
  return runSpec(recallIndexSpec, input);
}
