import { MlflowClient } from '../../experiments/mlflowClient';

export function testTrackingUri(): string {
  const uri = process.env.MLFLOW_TRACKING_URI;
  if (!uri) throw new Error('MLFLOW_TRACKING_URI is not set: the jest globalSetup starts the test MLflow server');
  return uri;
}

export function testMlflowClient(): MlflowClient {
  return new MlflowClient(testTrackingUri());
}
