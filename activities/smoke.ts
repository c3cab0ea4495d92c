import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import {
  checkDuckdb,
  checkFaissSearch,
  checkMlflow,
  type DuckdbCheck,
  type FaissCheck,
  type MlflowCheck,
} from '../platform/smokeChecks';
import { loadSettings } from '../platform/settings';

export async function smokeDuckdb(input: { n: number; categories: number; scale: number }): Promise<DuckdbCheck> {
  if (!(Number.isInteger(input.n) && input.n > 0)) {
    throw ApplicationFailure.nonRetryable(`rows must be a positive integer, got ${input.n}`, 'ConfigError');
  }
  return checkDuckdb(input.n, input.categories, input.scale);
}

export async function smokeFaissSearch(input: { query: number[] }): Promise<FaissCheck> {
  return checkFaissSearch(input.query);
}

export async function smokeMlflow(input: {
  experimentName: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
  artifact: unknown;
}): Promise<MlflowCheck & { runUrl: string }> {
  const { workflowExecution } = Context.current().info;
  const settings = loadSettings();
  const tags = {
    'curio.temporal.workflow_id': workflowExecution?.workflowId ?? '',
    'curio.temporal.run_id': workflowExecution?.runId ?? '',
  };
  const res = await checkMlflow(settings.mlflowTrackingUri, input.experimentName, input.params, input.metrics, input.artifact, tags);
  return { ...res, runUrl: `${settings.mlflowTrackingUri}/#/experiments/${res.experimentId}/runs/${res.runId}` };
}
