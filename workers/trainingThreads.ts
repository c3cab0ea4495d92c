// Imported first by trainingWorker.ts, before anything loads TensorFlow or Faiss: they read their
// thread counts once, when loaded (workers/trainingLayout.ts says why one share of the cores each).
import { trainingThreadEnv } from './trainingLayout';

Object.assign(process.env, trainingThreadEnv());
