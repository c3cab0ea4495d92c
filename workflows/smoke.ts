import { proxyActivities } from '@temporalio/workflow';
import type { PipelineActivities } from '../activities/pipeline';
import type { TrainingActivities } from '../activities/training';
import { TRAINING_TASK_QUEUE } from './taskQueues';

export interface SmokeInput {
  /** MLflow experiment to log the smoke run into. */
  experimentName?: string;
  /** Rows the DuckDB check generates. */
  rows?: number;
}

export interface SmokeResult {
  duckdb: { rowCount: number; priceSum: number; categories: number };
  tensorflow: { backend: string; lossBefore: number; lossAfter: number };
  faiss: { ntotal: number; labels: number[]; scores: number[] };
  mlflow: {
    experimentId: string;
    runId: string;
    runUrl: string;
    artifactPath: string;
    artifactSha256: string;
    params: Record<string, string>;
    metrics: Record<string, number>;
  };
}

const pipeline = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3 },
});

const training = proxyActivities<TrainingActivities>({
  taskQueue: TRAINING_TASK_QUEUE,
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3 },
});

/** Touches every component once: DuckDB, tfjs-node (native), Faiss, MLflow. */
export async function smokeWorkflow(input: SmokeInput = {}): Promise<SmokeResult> {
  const rows = input.rows ?? 1000;
  const duckdb = await pipeline.smokeDuckdb({ n: rows, categories: 7, scale: 0.5 });
  const tensorflow = await training.smokeTensorflowStep({ learningRate: 0.01 });
  const faiss = await pipeline.smokeFaissSearch({ query: [0.1, 0.9, 0.2, 0.05] });
  const mlflow = await pipeline.smokeMlflow({
    experimentName: input.experimentName ?? 'curio-smoke',
    params: { rows: String(rows), learning_rate: '0.01', faiss_index: 'IndexFlatIP' },
    metrics: {
      duckdb_price_sum: duckdb.priceSum,
      tf_loss_before: tensorflow.lossBefore,
      tf_loss_after: tensorflow.lossAfter,
      faiss_top_score: faiss.scores[0] ?? NaN,
    },
    artifact: { duckdb, tensorflow, faiss },
  });
  return { duckdb, tensorflow, faiss, mlflow };
}
