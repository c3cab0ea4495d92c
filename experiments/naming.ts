import { createHash } from 'node:crypto';
import { CurioError } from '../platform/errors';

/**
 * Names Curio gives to runs, tags, params and metrics in MLflow, and the checks that keep them
 * inside MLflow's limits. Runs are addressed by deterministic *keys* (not server ids) so that a
 * retried activity, another worker, or a replay from the offline buffer finds the same run.
 * docs/tracking.md describes the conventions.
 */

/** Tags Curio writes. The `mlflow.*` ones are read by the MLflow UI (nesting, names, commit). */
export const TAGS = {
  key: 'curio.key',
  /** sha256 of the key: searchable without quoting problems (MLflow filters cannot escape quotes). */
  keyId: 'curio.key_id',
  kind: 'curio.kind',
  parentKey: 'curio.parent_key',
  /** Epoch ms of the last status change Curio made; later status writes win (see endRun). */
  statusAt: 'curio.status_at',
  workflowId: 'curio.temporal.workflow_id',
  temporalRunId: 'curio.temporal.run_id',
  temporalNamespace: 'curio.temporal.namespace',
  temporalUiUrl: 'curio.temporal.ui_url',
  datasetDigest: 'curio.dataset_digest',
  gitCommit: 'curio.git_commit',
  scale: 'curio.scale',
  modelVersion: 'curio.model_version',
  registryDecision: 'curio.registry_decision',
  mlflowParentRunId: 'mlflow.parentRunId',
  mlflowRunName: 'mlflow.runName',
  mlflowGitCommit: 'mlflow.source.git.commit',
  mlflowSourceName: 'mlflow.source.name',
} as const;

export const RUN_KINDS = ['retrain', 'stage', 'model', 'sweep'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/**
 * A run as Curio addresses it: plain JSON, so a workflow can hand it to activities and child
 * workflows. The parent chain travels along so any process can create missing ancestors.
 */
export interface RunRef {
  key: string;
  /** The run's name in the MLflow UI (`mlflow.runName`). */
  name: string;
  kind: RunKind;
  parent?: RunRef;
}

/** MLflow 3 limits (mlflow/utils/validation.py). */
export const LIMITS = {
  name: 250,
  paramValue: 6000,
  tagValue: 8000,
  runName: 250,
  key: 2000,
} as const;

export class TrackingInputError extends CurioError {
  constructor(message: string) {
    super(message, { type: 'TrackingInputError', retryable: false });
  }
}

// MLflow: "Names may only contain alphanumerics, underscores, dashes, periods, spaces, colon and slashes".
const MLFLOW_NAME = /^[A-Za-z0-9_\-. :/]+$/;
// A key segment's name: ':' and '/' are the key's own separators.
const SEGMENT_NAME = /^[A-Za-z0-9_.=+-]+$/;

/** The key of one retrain: one Temporal workflow execution. */
export function retrainKey(workflowId: string, temporalRunId: string): string {
  if (!workflowId.trim()) throw new TrackingInputError('workflowId must not be empty');
  if (!temporalRunId.trim()) throw new TrackingInputError('temporalRunId must not be empty');
  return checkKey(`${workflowId}/${temporalRunId}`);
}

export function retrainRef(workflowId: string, temporalRunId: string, name?: string): RunRef {
  return { key: retrainKey(workflowId, temporalRunId), name: checkRunName(name ?? `retrain ${workflowId}`), kind: 'retrain' };
}

/** The ref of a child run: key `${parent.key}/${kind}:${name}`, run name `name` unless given. */
export function childRef(parent: RunRef, kind: Exclude<RunKind, 'retrain'>, name: string, runName?: string): RunRef {
  validateRunRef(parent);
  if (!SEGMENT_NAME.test(name)) {
    throw new TrackingInputError(`child run name '${name}' may only contain letters, digits and _ . = + -`);
  }
  return { key: checkKey(`${parent.key}/${kind}:${name}`), name: checkRunName(runName ?? name), kind, parent };
}

/** `lambda=0.1`: the name of one point of a sweep over a hyperparameter. */
export function sweepPointName(param: string, value: number | string): string {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TrackingInputError(`sweep value of ${param} must be finite`);
  return `${param}=${String(value)}`;
}

export function keyId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 40);
}

/** The last segment of a child key relative to its parent, e.g. `model:item_unit`. */
export function keySegment(ref: RunRef): string {
  return ref.parent ? ref.key.slice(ref.parent.key.length + 1) : ref.key;
}

export function validateRunRef(ref: unknown, path = 'run'): asserts ref is RunRef {
  if (typeof ref !== 'object' || ref === null) throw new TrackingInputError(`${path} must be an object { key, name, kind }`);
  const r = ref as Record<string, unknown>;
  if (typeof r.key !== 'string' || !r.key) throw new TrackingInputError(`${path}.key must be a non-empty string`);
  checkKey(r.key);
  if (typeof r.name !== 'string') throw new TrackingInputError(`${path}.name must be a string`);
  checkRunName(r.name);
  if (!RUN_KINDS.includes(r.kind as RunKind)) throw new TrackingInputError(`${path}.kind must be one of ${RUN_KINDS.join(', ')}`);
  if (r.parent !== undefined) {
    validateRunRef(r.parent, `${path}.parent`);
    if (!r.key.startsWith(`${r.parent.key}/`)) throw new TrackingInputError(`${path}.key must extend its parent's key`);
  } else if (r.kind !== 'retrain') {
    throw new TrackingInputError(`${path} of kind ${String(r.kind)} needs a parent`);
  }
}

function checkKey(key: string): string {
  if (key.length > LIMITS.key) throw new TrackingInputError(`run key longer than ${LIMITS.key} characters: ${key.slice(0, 80)}...`);
  if (/[\n\r\0]/.test(key)) throw new TrackingInputError('run key must not contain line breaks or NUL');
  return key;
}

function checkRunName(name: string): string {
  if (!name.trim()) throw new TrackingInputError('run name must not be empty');
  if (name.length > LIMITS.runName) throw new TrackingInputError(`run name longer than ${LIMITS.runName} characters`);
  return name;
}

/** Throws unless `name` is a valid MLflow metric/param/tag name. */
export function checkName(what: 'metric' | 'param' | 'tag', name: string): void {
  if (!name || name.length > LIMITS.name || !MLFLOW_NAME.test(name) || name.includes('..') || name.startsWith('/')) {
    throw new TrackingInputError(
      `invalid ${what} name '${name}': use letters, digits, _ - . space : / (at most ${LIMITS.name} characters, no '..', no leading '/')`,
    );
  }
}

export type ParamValue = string | number | boolean;

/** Params are strings in MLflow; numbers keep JavaScript's shortest round-trip form. */
export function paramString(value: ParamValue): string {
  return String(value);
}

/**
 * Flattens a nested config into dotted param names (`model.dim`), so "all hyperparameters as
 * params" is one call. Arrays and other non-scalars become JSON.
 */
export function flattenParams(config: Record<string, unknown>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flattenParams(v as Record<string, unknown>, name));
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[name] = paramString(v);
    else out[name] = JSON.stringify(v);
  }
  return out;
}

/** A relative artifact path without `..`, leading `/` or empty segments. */
export function checkArtifactPath(path: string): string {
  const clean = path.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '');
  if (clean.split('/').some((s) => s === '..' || s === '.' || (s === '' && clean !== ''))) {
    throw new TrackingInputError(`invalid artifact path '${path}': must be relative, without '.' or '..' segments`);
  }
  return clean;
}

// ---- metric names (the convention compare.ts reads; see docs/tracking.md) -----------------

/** `recall_at_50` and friends: ranking metrics at a cutoff. */
export function atK(metric: 'recall' | 'hitrate' | 'ndcg' | 'diversity' | 'coverage', k: number): string {
  if (!Number.isInteger(k) || k <= 0) throw new TrackingInputError(`K must be a positive integer, got ${k}`);
  return `${metric}_at_${k}`;
}

export const AT_K = /^([a-z][a-z0-9_]*?)_at_(\d+)$/;
export const CI_LOW = '_ci_low';
export const CI_HIGH = '_ci_high';

/** `ctr_<arm>`: click-through rate of one arm of the A/B evaluation. */
export function ctrArm(arm: string): string {
  const name = `ctr_${arm}`;
  checkName('metric', name);
  return name;
}
