/**
 * Task queues. CPU-heavy training has its own queue (and worker process) so that tfjs never starves
 * the heartbeats and orchestration handled by the pipeline worker.
 */
export const PIPELINE_TASK_QUEUE = 'curio-pipeline';
export const TRAINING_TASK_QUEUE = 'curio-training';
