// Workflow code runs in Temporal's deterministic sandbox: it imports types and proxyActivities only.
export { smokeWorkflow } from './smoke';
export { retrainRecall, lambdaTrial } from './retrainRecall';
