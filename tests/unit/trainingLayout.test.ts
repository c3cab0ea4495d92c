import { workerServices } from '../../services/localServices';
import { trainingThreadEnv, trainingThreads, trainingWorkerCount } from '../../workers/trainingLayout';

/** workers/trainingLayout.ts: how many training workers `curio workers up` starts, and their threads. */
describe('training worker layout', () => {
  it('starts min(cores, 2) training workers by default, each with its share of the cores', () => {
    expect(trainingWorkerCount({}, 1)).toBe(1);
    expect(trainingWorkerCount({}, 2)).toBe(2);
    expect(trainingWorkerCount({}, 16)).toBe(2);
    expect(trainingThreads({}, 1)).toBe(1);
    expect(trainingThreads({}, 2)).toBe(1);
    expect(trainingThreads({}, 16)).toBe(8);
  });

  it('takes CURIO_TRAINING_WORKERS, and refuses a value that is not a count', () => {
    expect(trainingWorkerCount({ CURIO_TRAINING_WORKERS: '3' }, 12)).toBe(3);
    expect(trainingThreads({ CURIO_TRAINING_WORKERS: '3' }, 12)).toBe(4);
    expect(trainingThreads({ CURIO_TRAINING_WORKERS: '4' }, 2)).toBe(1);
    for (const bad of ['0', '-1', '1.5', 'two', '65']) expect(() => trainingWorkerCount({ CURIO_TRAINING_WORKERS: bad }, 2)).toThrow(/CURIO_TRAINING_WORKERS must be an integer from 1 to 64/);
  });

  it('leaves thread counts the environment already sets', () => {
    const env = trainingThreadEnv({ TF_NUM_INTRAOP_THREADS: '6', CURIO_TRAINING_WORKERS: '1' });
    expect(env.TF_NUM_INTRAOP_THREADS).toBe('6');
    expect(Number(env.OMP_NUM_THREADS)).toBeGreaterThanOrEqual(1);
  });

  it('names the training workers worker-training, worker-training-2, ... with their own pid, ready and log files', () => {
    const saved = process.env.CURIO_TRAINING_WORKERS;
    process.env.CURIO_TRAINING_WORKERS = '3';
    try {
      const specs = workerServices();
      expect(specs.map((s) => s.name)).toEqual(['worker-pipeline', 'worker-training', 'worker-training-2', 'worker-training-3']);
      expect(new Set(specs.map((s) => s.pidFile)).size).toBe(4);
      expect(new Set(specs.map((s) => s.logFile)).size).toBe(4);
      expect(specs[3]?.readyFile).toMatch(/worker-training-3\.ready$/);
    } finally {
      if (saved === undefined) delete process.env.CURIO_TRAINING_WORKERS;
      else process.env.CURIO_TRAINING_WORKERS = saved;
    }
  });
});
