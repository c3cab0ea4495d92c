/**
 * Activities of the training worker: the CPU-heavy tfjs-node work, on its own task queue and process
 * so it never starves the pipeline worker's heartbeats. The offline evaluation and the A/B simulation
 * run here too: both ask the tfjs user model for every user's interests.
 */
import * as ab from './abTestActivities';
import * as evaluation from './evaluationActivities';
import * as smokeTraining from './smokeTraining';
import * as trainings from './trainingActivities';

export const trainingActivities = {
  smokeTensorflowStep: smokeTraining.smokeTensorflowStep,
  trainItemEmbeddings: trainings.trainItemEmbeddings,
  trainKeywordModel: trainings.trainKeywordModel,
  trainMultiInterest: trainings.trainMultiInterest,
  evaluateModels: evaluation.evaluateModels,
  runAbTest: ab.runAbTest,
};

export type TrainingActivities = typeof trainingActivities;
