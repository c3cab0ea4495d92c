import { Client, Connection } from '@temporalio/client';
import { loadSettings } from '../platform/settings';
import { CliError } from './cliError';

/** A client for the configured Temporal server, with a clear error when it is not running. */
export async function connectTemporal(): Promise<{ client: Client; close(): Promise<void> }> {
  const s = loadSettings();
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: s.temporalAddress, connectTimeout: '5s' });
  } catch (err) {
    throw new CliError(
      `cannot reach the Temporal server at ${s.temporalAddress} (${(err as Error).message}). ` +
        'Start it with `make services-up`.',
    );
  }
  return { client: new Client({ connection, namespace: s.temporalNamespace }), close: () => connection.close() };
}

export function workflowUiUrl(workflowId: string, runId?: string): string {
  const s = loadSettings();
  const base = `${s.temporalUiUrl}/namespaces/${encodeURIComponent(s.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
  // Without a run id the UI opens the latest run of the workflow id.
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}
