import { createHash } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { fromKeyValues, type Run } from '../experiments/mlflowClient';
import { createPipelineWorker, createTrainingWorker } from '../workers/createWorkers';
import { smokeWorkflow } from '../workflows';
import { PIPELINE_TASK_QUEUE } from '../workflows/taskQueues';
import { startTemporal } from './helpers/temporal';
import { testTrackingUri } from './helpers/mlflow';

/**
 * The foundation's end-to-end check: one workflow on the real Temporal dev server whose activities
 * use DuckDB, native TensorFlow, Faiss and the real MLflow server; then the MLflow run is read back
 * over the REST API and every value and the artifact's bytes are compared.
 */
describe('smoke workflow on the real stack', () => {
  let env: TestWorkflowEnvironment;
  let workers: Worker[];

  beforeAll(async () => {
    env = await startTemporal();
    const ctx = { connection: env.nativeConnection, namespace: env.namespace ?? 'default' };
    workers = [await createPipelineWorker(ctx), await createTrainingWorker(ctx)];
  });

  afterAll(async () => {
    await env?.teardown();
  });

  it('runs every component and logs a run MLflow can read back', async () => {
    const workflowId = `smoke-test-${Date.now()}`;
    const experimentName = `smoke-test-${Date.now()}`;
    const [pipelineWorker, trainingWorker] = workers as [Worker, Worker];
    const result = await pipelineWorker.runUntil(
      trainingWorker.runUntil(
        env.client.workflow.execute(smokeWorkflow, {
          taskQueue: PIPELINE_TASK_QUEUE,
          workflowId,
          args: [{ experimentName, rows: 100 }],
        }),
      ),
    );

    // DuckDB: sum over i=1..100 of i*0.5 = 2525, with 7 categories.
    expect(result.duckdb).toEqual({ rowCount: 100, priceSum: 2525, categories: 7 });
    // TensorFlow ran natively and one gradient step lowered the loss.
    expect(result.tensorflow.backend).toBe('tensorflow');
    expect(result.tensorflow.lossAfter).toBeLessThan(result.tensorflow.lossBefore);
    // Faiss: the query [0.1, 0.9, 0.2, 0.05] is nearest to basis vector 1, then 2, then 0.
    expect(result.faiss.ntotal).toBe(4);
    expect(result.faiss.labels).toEqual([1, 2, 0]);
    expect(result.faiss.scores[0]).toBeCloseTo(0.9, 5);

    // Read the run back over MLflow's REST API, without Curio's client.
    const uri = testTrackingUri();
    const got = await fetch(`${uri}/api/2.0/mlflow/runs/get?run_id=${result.mlflow.runId}`);
    expect(got.status).toBe(200);
    const run = ((await got.json()) as { run: Run }).run;
    expect(run.info.status).toBe('FINISHED');
    expect(run.info.experiment_id).toBe(result.mlflow.experimentId);
    expect(fromKeyValues(run.data.params)).toEqual({ rows: '100', learning_rate: '0.01', faiss_index: 'IndexFlatIP' });
    const metrics = Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, m.value]));
    expect(metrics.duckdb_price_sum).toBe(2525);
    expect(metrics.tf_loss_before).toBeCloseTo(result.tensorflow.lossBefore, 5);
    expect(metrics.tf_loss_after).toBeCloseTo(result.tensorflow.lossAfter, 5);
    expect(metrics.faiss_top_score).toBeCloseTo(0.9, 5);
    const tags = fromKeyValues(run.data.tags);
    expect(tags['curio.temporal.workflow_id']).toBe(workflowId);

    const exp = await fetch(`${uri}/api/2.0/mlflow/experiments/get?experiment_id=${run.info.experiment_id}`);
    expect(((await exp.json()) as { experiment: { name: string } }).experiment.name).toBe(experimentName);

    const artifactRoot = run.info.artifact_uri.replace(/^mlflow-artifacts:\/+/, '');
    const art = await fetch(`${uri}/api/2.0/mlflow-artifacts/artifacts/${artifactRoot}/${result.mlflow.artifactPath}`);
    expect(art.status).toBe(200);
    const bytes = Buffer.from(await art.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(result.mlflow.artifactSha256);
    const parsed = JSON.parse(bytes.toString('utf8')) as { duckdb: unknown; faiss: unknown };
    expect(parsed.duckdb).toEqual(result.duckdb);
    expect(parsed.faiss).toEqual(result.faiss);
  });
});
