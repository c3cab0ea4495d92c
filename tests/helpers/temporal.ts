import { existsSync } from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { defineSearchAttributeKey } from '@temporalio/common';
import { temporalBinary } from '../../platform/paths';
import { TEMPORAL_SEARCH_ATTRIBUTES, TEMPORAL_SINGLE_PARTITION_ARGS } from '../../services/localServices';

/**
 * A fresh, in-memory Temporal dev server from the project's own CLI binary (never a download), with
 * Curio's search attributes registered. Each test file gets its own, so tests cannot see each
 * other's workflows.
 */
export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  if (!existsSync(temporalBinary)) {
    throw new Error(`Temporal CLI not found at ${temporalBinary}; run \`make install\``);
  }
  // The SDK gives the server 5 s to answer, fixed; on 2 busy cores a cold start can take longer, so
  // a start that timed out is tried again (each try is a new process on a new port).
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path: temporalBinary },
          ip: '127.0.0.1',
          searchAttributes: Object.keys(TEMPORAL_SEARCH_ATTRIBUTES).map((name) => defineSearchAttributeKey(name, 'KEYWORD')),
          extraArgs: TEMPORAL_SINGLE_PARTITION_ARGS,
        },
      });
    } catch (err) {
      if (attempt >= 4 || !/did not start within/.test(String((err as Error).message))) throw err;
      console.warn(`the Temporal dev server did not start in time (attempt ${attempt}); trying again`);
    }
  }
}
