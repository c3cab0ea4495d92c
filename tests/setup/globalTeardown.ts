import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { stopService, type ServiceSpec } from '../../services/processManager';

export default async function globalTeardown(): Promise<void> {
  const raw = process.env.CURIO_TEST_MLFLOW_SPEC;
  if (!raw) return;
  const spec = JSON.parse(raw) as ServiceSpec;
  await stopService(spec);
  rmSync(dirname(spec.pidFile), { recursive: true, force: true });
}
