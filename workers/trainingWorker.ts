import './trainingThreads';
import { createTrainingWorker } from './createWorkers';
import { main } from './runWorker';

main('training', createTrainingWorker);
