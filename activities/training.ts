/** Activities of the training worker: the CPU-heavy tfjs-node trainings, on their own task queue. */
import * as smokeTraining from './smokeTraining';

export const trainingActivities = {
  smokeTensorflowStep: smokeTraining.smokeTensorflowStep,
};

export type TrainingActivities = typeof trainingActivities;
