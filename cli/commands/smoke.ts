import { parseArgs } from 'node:util';
import { smokeWorkflow } from '../../workflows';
import { PIPELINE_TASK_QUEUE } from '../../workflows/taskQueues';
import { connectTemporal, workflowUiUrl } from '../temporalClient';
import type { Command } from '../command';

export const smokeCommand: Command = {
  summary: 'run the smoke workflow: DuckDB, tfjs-node, Faiss and MLflow through Temporal',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { experiment: { type: 'string', default: 'curio-smoke' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      console.log('usage: curio smoke [--experiment NAME]   (needs `make services-up` and running workers)');
      return;
    }
    const { client, close } = await connectTemporal();
    try {
      const workflowId = `smoke-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      const handle = await client.workflow.start(smokeWorkflow, {
        taskQueue: PIPELINE_TASK_QUEUE,
        workflowId,
        args: [{ experimentName: values.experiment ?? 'curio-smoke' }],
      });
      console.log(`started ${workflowId}\n  ${workflowUiUrl(workflowId, handle.firstExecutionRunId)}`);
      const r = await handle.result();
      console.log(`DuckDB      ${r.duckdb.rowCount} rows, price sum ${r.duckdb.priceSum}, ${r.duckdb.categories} categories`);
      console.log(`TensorFlow  backend ${r.tensorflow.backend}, loss ${r.tensorflow.lossBefore.toFixed(4)} -> ${r.tensorflow.lossAfter.toFixed(4)}`);
      console.log(`Faiss       ${r.faiss.ntotal} vectors, top labels ${r.faiss.labels.join(',')}`);
      console.log(`MLflow      run ${r.mlflow.runId}\n  ${r.mlflow.runUrl}`);
    } finally {
      await close();
    }
  },
};
