import { startService } from '../../services/processManager';
import { freePort } from '../../platform/freePort';
import { testMlflowSpec } from './testMlflow';

/**
 * Starts one real MLflow server for the whole suite. Test workers inherit the environment set here,
 * so tests find it through MLFLOW_TRACKING_URI.
 */
export default async function globalSetup(): Promise<void> {
  const port = await freePort();
  const spec = testMlflowSpec(port);
  await startService(spec);
  process.env.MLFLOW_TRACKING_URI = `http://127.0.0.1:${port}`;
  process.env.CURIO_MLFLOW_PORT = String(port);
  process.env.CURIO_TEST_MLFLOW_SPEC = JSON.stringify(spec);
}
