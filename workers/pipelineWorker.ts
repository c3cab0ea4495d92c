import { createPipelineWorker } from './createWorkers';
import { main } from './runWorker';

main('pipeline', createPipelineWorker);
