/** Activities of the pipeline worker: data, SQL, tagging, indexing, evaluation, tracking. No TensorFlow here. */
import * as smoke from './smoke';

export const pipelineActivities = {
  smokeDuckdb: smoke.smokeDuckdb,
  smokeFaissSearch: smoke.smokeFaissSearch,
  smokeMlflow: smoke.smokeMlflow,
};

export type PipelineActivities = typeof pipelineActivities;
