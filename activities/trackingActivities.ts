import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { flattenParams, sweepPointName, type RunRef } from '../experiments/naming';
import { liftGate, RECALL_BUNDLE_PARTS, registerBundle } from '../experiments/registry';
import { SERVING_DIR, writeServingFiles } from '../serve/servingFiles';
import { servedArmFromSummary, servedItemVectorsFile } from '../stages/servedArm';
import { createTracker } from '../experiments/trackerConfig';
import type { TrackedRun } from '../experiments/trackedRun';
import type { Tracker } from '../experiments/tracking';
import type { ReplayOnlyReport } from '../evaluation/abReplay';
import type { AbReport } from '../evaluation/abTest';
import { headlineMetrics } from '../evaluation/headlineMetrics';
import type { EvaluationReport } from '../stages/evaluationStage';
import type { ResolvedConfig } from '../config/retrainConfig';
import type { StageRef } from '../workflows/types';
import { STAGE_SPECS } from '../stages/specs';
import { trackReport } from '../stages/trackingHelpers';
import { checkInputRefs } from '../stages/artifactStore';
import { artifactStore, artifactsRoot, toFailure } from './stageRunner';

/**
 * MLflow tracking of a retrain, as activities: the parent run per workflow execution, a child run per
 * stage, per model and per sweep point (all found again by key on a retry), and the registration of
 * the recall bundle. Tracking problems are buffered and reported, never fatal (unless
 * CURIO_TRACKING_STRICT is set); only registration needs the server, and Temporal retries it.
 */

/** Where a retrain's runs live: its parent run and the experiment that holds the whole tree. */
export interface TrackingHandle {
  ref: RunRef;
  experiment: string;
}

// One tracker per experiment per worker process: it caches what it knows of its runs.
const trackers = new Map<string, Tracker>();
function tracking(experiment: string): Tracker {
  let t = trackers.get(experiment);
  if (!t) {
    t = createTracker({ experimentName: experiment });
    trackers.set(experiment, t);
  }
  return t;
}

export async function startTracking(input: { experimentName: string; datasetDigest: string; scale: string; config: ResolvedConfig }): Promise<{
  handle: TrackingHandle;
  runId?: string;
  runUrl?: string;
  experimentId?: string;
}> {
  const { workflowExecution } = Context.current().info;
  const workflowId = workflowExecution?.workflowId ?? 'unknown';
  const runId = workflowExecution?.runId ?? 'unknown';
  const t = tracking(input.experimentName);
  const run = await t.startRetrain({ workflowId, temporalRunId: runId, datasetDigest: input.datasetDigest, scale: input.scale });
  const { data, ...rest } = input.config;
  await run.logParams({ ...flattenParams(rest as unknown as Record<string, unknown>), 'data.source': data.dir ?? `generate:${JSON.stringify(data.generate)}`, 'data.quarantine': data.quarantine });
  const memo = await run.memo();
  return { handle: { ref: { key: run.key, name: `retrain ${workflowId}`, kind: 'retrain' }, experiment: input.experimentName }, ...(memo.mlflowRunId ? { runId: memo.mlflowRunId, runUrl: memo.mlflowRunUrl, experimentId: memo.mlflowExperimentId } : {}) };
}

function readReport<T>(ref: StageRef, file = 'report.json'): T | undefined {
  const p = join(ref.dir, file);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as T) : undefined;
}

/** What each stage logs beyond its summary (its spec's `track`): metrics, curves, model runs, artifacts. */
async function logStageContents(handle: TrackingHandle, stage: TrackedRun, ref: StageRef): Promise<void> {
  const t = tracking(handle.experiment);
  await stage.setTags({ 'curio.stage_key': ref.key, 'curio.stage_dir': ref.dir, 'curio.stage_digest': ref.digest, 'curio.reused': String(ref.reused) });
  const ctx = { run: stage, model: (name: string) => t.child(handle.ref, 'model', name), ref };
  const spec = STAGE_SPECS[ref.stage];
  await (spec ? spec.track(ctx) : trackReport(ctx));
}

export async function trackStage(input: { tracking: TrackingHandle; ref: StageRef; params: Record<string, string>; sweepLambda?: number }): Promise<string | undefined> {
  const t = tracking(input.tracking.experiment);
  const run =
    input.sweepLambda !== undefined
      ? await t.child(input.tracking.ref, 'sweep', sweepPointName('lambda', input.sweepLambda))
      : await t.child(input.tracking.ref, 'stage', input.ref.stage);
  await run.logParams(input.params);
  await run.logMetrics(Object.fromEntries(Object.entries(input.ref.summary).filter((e): e is [string, number] => typeof e[1] === 'number')));
  await logStageContents(input.tracking, run, input.ref);
  await run.end('FINISHED');
  return (await run.lookup())?.runId;
}

export async function noteStageFailure(input: { tracking: TrackingHandle; stage: string; error: string }): Promise<void> {
  const run = await tracking(input.tracking.experiment).child(input.tracking.ref, 'stage', input.stage);
  await run.setTags({ 'curio.error': input.error.slice(0, 7000) });
  await run.end('FAILED');
}

export async function finishTracking(input: { tracking: TrackingHandle; status: 'FINISHED' | 'FAILED' | 'KILLED'; metrics?: Record<string, number> }): Promise<void> {
  const t = tracking(input.tracking.experiment);
  const run = t.attach(input.tracking.ref);
  if (input.metrics) await run.logMetrics(input.metrics);
  await run.end(input.status);
  await t.flush({ waitMs: 10_000 }).catch(() => undefined);
}

/**
 * Registers the recall bundle (user model, item-unit, keyword model, index, config) as a version of
 * the registered model; `champion` moves only if the version beats the current champion on the
 * primary metric, otherwise it becomes `challenger`.
 */
export async function registerWinner(input: {
  tracking: TrackingHandle;
  modelName: string;
  primaryMetric: string;
  /** The dataset the retrain was measured on; the registry compares raw metrics only within one. */
  datasetDigest?: string;
  evaluation: StageRef;
  itemEmbedding: StageRef;
  keyword: StageRef;
  best: StageRef;
  index: StageRef;
  ab: StageRef;
  config: ResolvedConfig;
  /** The retrain's features and tags: the serving files are built from them (absent in retrains started before the bundle carried them). */
  features?: StageRef;
  tags?: StageRef;
}): Promise<{ decision: string; reason: string; version: string; champion: string; mlflowRunId?: string; mlflowRunUrl?: string }> {
  try {
    checkInputRefs(input, artifactStore(), artifactsRoot());
  } catch (err) {
    throw toFailure(err);
  }
  const t = tracking(input.tracking.experiment);
  await t.flush({ waitMs: 30_000 }).catch(() => undefined);
  const found = await t.lookup(input.tracking.ref);
  if (!found) throw ApplicationFailure.create({ message: 'the retrain run is not on the MLflow server yet (is MLflow reachable?); registration will be retried', type: 'MlflowUnavailable' });
  const evaluation = readReport<EvaluationReport>(input.evaluation, 'evaluation.json');
  const ab = readReport<AbReport | ReplayOnlyReport>(input.ab);
  const metrics: Record<string, number> = evaluation ? headlineMetrics(evaluation) : {};
  if (ab?.mode === 'simulation') metrics.ctr_lift = ab.bootstrap.lift;
  if (ab?.replayLift) metrics.replay_lift = ab.replayLift.lift;
  if (!(input.primaryMetric in metrics)) {
    throw ApplicationFailure.create({ message: `primary metric ${input.primaryMetric} is not among the evaluated metrics (${Object.keys(metrics).join(', ')})`, type: 'ConfigError', nonRetryable: true });
  }
  // The online estimate can veto what the offline number would promote.
  const gate = ab?.mode === 'simulation' ? liftGate('A/B CTR lift', ab.bootstrap) : liftGate('replay lift', ab?.replayLift);
  // The bundle, assembled locally in the layout the registry expects.
  const bundle = join(artifactsRoot(), 'bundles', input.evaluation.key);
  rmSync(bundle, { recursive: true, force: true });
  mkdirSync(bundle, { recursive: true });
  cpSync(join(input.best.dir, 'multi_interest'), join(bundle, 'user_model'), { recursive: true });
  cpSync(join(input.itemEmbedding.dir, 'item_unit'), join(bundle, 'item_unit'), { recursive: true });
  mkdirSync(join(bundle, 'keyword_model'));
  for (const p of ['query_tower', 'item_tower', 'vocabulary.json']) cpSync(join(input.keyword.dir, p), join(bundle, 'keyword_model', p), { recursive: true });
  mkdirSync(join(bundle, 'index'));
  for (const p of ['items.faiss', 'items.idmap.json']) cpSync(join(input.index.dir, p), join(bundle, 'index', p));
  if (input.features && input.tags) {
    // What the recall service (curio serve) loads beside the models: catalogue, served vectors and tower, popularity, lot vocabulary.
    const served = servedArmFromSummary(input.evaluation.summary);
    const coTrainedTower = join(input.best.dir, 'item_unit');
    const c = input.config;
    await writeServingFiles(bundle, {
      featuresDb: join(input.features.dir, 'features.duckdb'),
      tagsDb: join(input.tags.dir, 'tags.duckdb'),
      taggingReport: join(input.tags.dir, 'report.json'),
      itemVectorsFile: servedItemVectorsFile(input.itemEmbedding, input.best, input.evaluation),
      itemTowerDir: served.method === 'multi_interest' && existsSync(coTrainedTower) ? coTrainedTower : join(input.itemEmbedding.dir, 'item_unit'),
      served,
      recall: c.abTest.recall,
      maxLongTerm: c.abTest.maxLongTerm,
      popularityWindowHours: c.abTest.popularityWindowHours,
      itemUnit: { maxTags: c.itemUnit.maxTags, minSellerItems: c.itemUnit.minSellerItems, timePeriods: c.itemUnit.timePeriods },
      tagging: { maxN: c.tagging.mining.maxN, categorySynonyms: c.tagging.categorySynonyms },
    });
  }
  writeFileSync(join(bundle, 'config.json'), JSON.stringify({ ...input.config, stages: { itemEmbedding: input.itemEmbedding.key, keyword: input.keyword.key, multiInterest: input.best.key, index: input.index.key } }, null, 2));
  const parent = t.attach(input.tracking.ref);
  await parent.logMetrics(metrics);
  const res = await registerBundle({
    client: t.client,
    runId: found.runId,
    localDir: bundle,
    modelName: input.modelName,
    primaryMetric: { name: input.primaryMetric, higherIsBetter: true, minDelta: 0 },
    metrics,
    gate,
    ...(input.features && input.tags ? { requiredParts: [...RECALL_BUNDLE_PARTS, SERVING_DIR] } : {}),
    ...(input.datasetDigest ? { datasetDigest: input.datasetDigest } : {}),
    ...(`${input.primaryMetric}_over_item_cf` in metrics ? { crossDatasetMetric: `${input.primaryMetric}_over_item_cf` } : {}),
  });
  await parent.setTags({ 'curio.model_version': `${input.modelName}/${res.version}`, 'curio.registry_decision': res.decision, 'curio.registry_reason': res.reason.slice(0, 5000) });
  return {
    decision: res.decision,
    reason: res.reason,
    version: res.version,
    champion: res.decision === 'promoted' ? res.version : (res.previousChampion?.version ?? ''),
    mlflowRunId: found.runId,
    mlflowRunUrl: found.url,
  };
}
