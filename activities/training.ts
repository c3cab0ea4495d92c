/**
 * Activities of the training worker: the CPU-heavy tfjs-node work, on its own task queue and process
 * so it never starves the pipeline worker's heartbeats. The A/B simulation runs here too: arm B asks
 * the tfjs user model for interests on every simulated request.
 */
import * as retrieval from './retrievalActivities';
import * as smokeTraining from './smokeTraining';
import * as trainings from './trainingActivities';

export const trainingActivities = {
  smokeTensorflowStep: smokeTraining.smokeTensorflowStep,
  trainItemEmbeddings: trainings.trainItemEmbeddings,
  trainKeywordModel: trainings.trainKeywordModel,
  trainMultiInterest: trainings.trainMultiInterest,
  runAbTest: retrieval.runAbTest,
};

export type TrainingActivities = typeof trainingActivities;
