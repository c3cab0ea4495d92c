import { execFileSync } from 'node:child_process';

/**
 * Links between a Temporal workflow execution and its MLflow run, both ways: the workflow's memo
 * holds the MLflow run id and URL; the run's tag `curio.temporal.ui_url` holds the Temporal UI URL.
 */

/** The MLflow UI page of a run. */
export function mlflowRunUrl(trackingUri: string, experimentId: string, runId: string): string {
  return `${trackingUri.replace(/\/+$/, '')}/#/experiments/${encodeURIComponent(experimentId)}/runs/${encodeURIComponent(runId)}`;
}

/** The MLflow UI page of a registered model version. */
export function mlflowModelVersionUrl(trackingUri: string, modelName: string, version: string): string {
  return `${trackingUri.replace(/\/+$/, '')}/#/models/${encodeURIComponent(modelName)}/versions/${encodeURIComponent(version)}`;
}

/** The Temporal Web UI page of one workflow execution (UI v2 routes). */
export function temporalRunUrl(uiBaseUrl: string, namespace: string, workflowId: string, runId: string): string {
  const base = uiBaseUrl.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}

/** What a workflow stores in its memo (Temporal memo values must be plain JSON). */
export interface TrackingMemo {
  /** Always present: the deterministic key, usable even while MLflow was unreachable. */
  curioTrackingKey: string;
  mlflowRunId?: string;
  mlflowExperimentId?: string;
  mlflowRunUrl?: string;
}

/**
 * The commit the code runs from: $CURIO_GIT_COMMIT (set in images without .git), else `git
 * rev-parse HEAD`, else undefined — lineage must not fail a training.
 */
export function detectGitCommit(cwd = process.cwd()): string | undefined {
  const fromEnv = process.env.CURIO_GIT_COMMIT?.trim();
  if (fromEnv) return fromEnv;
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    const commit = out.toString().trim();
    return /^[0-9a-f]{7,64}$/.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}
