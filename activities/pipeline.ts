/**
 * Activities of the pipeline worker: data, SQL, tagging, the index, tracking and registration.
 * Nothing here loads TensorFlow (tests/pipelineWorkerNoTf.test.ts runs a retrain with a tripwire on
 * it); whatever needs a trained model runs on the training worker.
 */
import * as data from './dataActivities';
import * as evaluation from './evaluationShim';
import * as retrieval from './indexActivities';
import * as smoke from './smoke';
import * as tracking from './trackingActivities';

export const pipelineActivities = {
  smokeDuckdb: smoke.smokeDuckdb,
  smokeFaissSearch: smoke.smokeFaissSearch,
  smokeMlflow: smoke.smokeMlflow,
  resolveConfig: data.resolveConfig,
  prepareData: data.prepareData,
  loadData: data.loadData,
  buildFeatures: data.buildFeatures,
  tagItems: data.tagItems,
  evaluateModels: evaluation.evaluateModels,
  buildIndex: retrieval.buildIndex,
  startTracking: tracking.startTracking,
  trackStage: tracking.trackStage,
  noteStageFailure: tracking.noteStageFailure,
  finishTracking: tracking.finishTracking,
  registerWinner: tracking.registerWinner,
};

export type PipelineActivities = typeof pipelineActivities;
