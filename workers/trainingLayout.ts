import { availableParallelism } from 'node:os';

/**
 * How the trainings use the cores: several training-worker processes with one share of the cores
 * each, not one process with all of them.
 *
 * tfjs dispatches its small ops one by one from the JS thread, and TensorFlow's intra-op pool hands
 * each op's work to its threads and back. On 2 cores a training with a pool of 1 thread was faster
 * than with 2 (`npm run bench:peer`, the same steps: item tower 142k against 97k pairs/s, user model
 * 5.4k against 3.6k examples/s), so a second core helps more as a second training process: the
 * trainings after item_embedding (keyword, multi_interest and the λ sweep's trials) run at once on
 * separate training workers (workflows/retrainRecall.ts). A JS thread runs one training at a time
 * either way, so one process per training is the only way to run two.
 * Defaults: min(cores, 2) training workers, floor(cores / workers) intra-op threads each; the
 * environment overrides both (CURIO_TRAINING_WORKERS; TF_NUM_INTRAOP_THREADS).
 */

/** Training-worker processes `curio workers up` starts (CURIO_TRAINING_WORKERS, default min(cores, 2)). */
export function trainingWorkerCount(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): number {
  const given = env.CURIO_TRAINING_WORKERS;
  if (given === undefined || given === '') return Math.max(1, Math.min(cores, 2));
  const n = Number(given);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`CURIO_TRAINING_WORKERS must be an integer from 1 to 64, got '${given}'`);
  return n;
}

/** TensorFlow intra-op threads of one training worker: its share of the cores. */
export function trainingThreads(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / trainingWorkerCount(env, cores)));
}

/** The thread settings a training worker process starts with (a value already set wins). */
export function trainingThreadEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const threads = String(trainingThreads(env));
  return {
    TF_NUM_INTRAOP_THREADS: env.TF_NUM_INTRAOP_THREADS ?? threads,
    TF_NUM_INTEROP_THREADS: env.TF_NUM_INTEROP_THREADS ?? threads,
    OMP_NUM_THREADS: env.OMP_NUM_THREADS ?? threads,
  };
}
