import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mlflowSpec } from '../../services/localServices';
import type { ServiceSpec } from '../../services/processManager';
import { loadSettings } from '../../platform/settings';

/** A real MLflow server for the test suite: its own port and its own throw-away data folder. */
export function testMlflowSpec(port: number, dir = mkdtempSync(join(tmpdir(), 'curio-test-mlflow-'))): ServiceSpec {
  const spec = mlflowSpec({ ...loadSettings(), mlflowPort: port }, dir);
  return { ...spec, name: 'mlflow (test)', pidFile: join(dir, 'mlflow.pid'), logFile: join(dir, 'mlflow.log') };
}
