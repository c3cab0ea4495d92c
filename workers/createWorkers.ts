import { availableParallelism } from 'node:os';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { PIPELINE_TASK_QUEUE, TRAINING_TASK_QUEUE } from '../workflows/taskQueues';

export interface WorkerContext {
  connection: NativeConnection;
  namespace: string;
}

/**
 * The pipeline worker runs every workflow and the I/O-bound activities (SQL, tagging, indexing,
 * tracking). It never loads TensorFlow.
 */
export async function createPipelineWorker(ctx: WorkerContext, overrides: Partial<WorkerOptions> = {}): Promise<Worker> {
  // Loaded here, not at the top, so the training worker process never imports the pipeline's modules.
  const { pipelineActivities } = await import('../activities/pipeline');
  return Worker.create({
    connection: ctx.connection,
    namespace: ctx.namespace,
    taskQueue: PIPELINE_TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities: pipelineActivities,
    maxConcurrentActivityTaskExecutions: Math.max(2, availableParallelism()),
    maxHeartbeatThrottleInterval: '5 seconds',
    ...overrides,
  });
}

/**
 * A training worker runs only the tfjs-node trainings, one at a time: a JS thread runs one training
 * at a time anyway. Several training-worker processes share the cores instead (workers/trainingLayout.ts).
 */
export async function createTrainingWorker(ctx: WorkerContext, overrides: Partial<WorkerOptions> = {}): Promise<Worker> {
  const { trainingActivities } = await import('../activities/training');
  return Worker.create({
    connection: ctx.connection,
    namespace: ctx.namespace,
    taskQueue: TRAINING_TASK_QUEUE,
    activities: trainingActivities,
    maxConcurrentActivityTaskExecutions: 1,
    // A heartbeat is how an activity hears that its retrain was aborted: at most 5 s between two, so
    // an abort stops a training within seconds (the default throttle is 0.8 × the heartbeat timeout).
    maxHeartbeatThrottleInterval: '5 seconds',
    ...overrides,
  });
}
