import { existsSync } from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { defineSearchAttributeKey } from '@temporalio/common';
import { temporalBinary } from '../../platform/paths';
import { TEMPORAL_SEARCH_ATTRIBUTES } from '../../services/localServices';

/**
 * A fresh, in-memory Temporal dev server from the project's own CLI binary (never a download), with
 * Curio's search attributes registered. Each test file gets its own, so tests cannot see each
 * other's workflows.
 */
export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  if (!existsSync(temporalBinary)) {
    throw new Error(`Temporal CLI not found at ${temporalBinary}; run \`make install\``);
  }
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinary },
      ip: '127.0.0.1',
      searchAttributes: Object.keys(TEMPORAL_SEARCH_ATTRIBUTES).map((name) => defineSearchAttributeKey(name, 'KEYWORD')),
    },
  });
}
