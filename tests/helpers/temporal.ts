import { existsSync } from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalBinary } from '../../platform/paths';

/**
 * A fresh, in-memory Temporal dev server from the project's own CLI binary (never a download).
 * Each test file gets its own, so tests cannot see each other's workflows.
 */
export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  if (!existsSync(temporalBinary)) {
    throw new Error(`Temporal CLI not found at ${temporalBinary}; run \`make install\``);
  }
  return TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalBinary }, ip: '127.0.0.1' },
  });
}
