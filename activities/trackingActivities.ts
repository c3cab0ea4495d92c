import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { flattenParams, sweepPointName, type RunRef } from '../experiments/naming';
import { liftGate, registerBundle } from '../experiments/registry';
import { createTracker } from '../experiments/trackerConfig';
import type { TrackedRun, Tracker } from '../experiments/tracking';
import { abMetrics } from '../evaluation/abReport';
import type { AbReport, ReplayOnlyReport } from '../evaluation/abTest';
import { headlineMetrics, rankingMetrics } from '../evaluation/headlineMetrics';
import type { MethodMetrics } from '../evaluation/userEval';
import type { EvaluationReport } from '../stages/evaluationStage';
import type { ResolvedConfig } from '../config/retrainConfig';
import type { StageRef } from '../workflows/types';
import type { EpochStats } from '../models/training';
import { artifactsRoot } from './stageRunner';

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

/** Numbers of a (nested) report as metrics, `a.b.c` → `a_b_c`. */
function numericMetrics(value: unknown, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  if (typeof value === 'number' && Number.isFinite(value)) out[prefix] = value;
  else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) numericMetrics(v, prefix ? `${prefix}_${k}` : k, out);
  }
  return out;
}

/** The ranking metrics of one method, under the naming convention of docs/tracking.md. */

interface Training {
  epochs: EpochStats[];
  seconds: number;
  rssGrowthMb: number;
  resumedFromEpoch: number;
}

async function logTraining(run: TrackedRun, t: Training | undefined): Promise<void> {
  if (!t) return;
  await run.logHistory('loss', t.epochs.map((e) => e.loss), 1);
  await run.logHistory('examples_per_second', t.epochs.map((e) => e.examplesPerSecond), 1);
  await run.logHistory('rss_mb', t.epochs.map((e) => e.rssMb), 1);
  await run.logMetrics({ training_seconds: t.seconds, rss_growth_mb: t.rssGrowthMb, resumed_from_epoch: t.resumedFromEpoch });
}

async function uploadIfPresent(run: TrackedRun, dir: string, names: string[], under = ''): Promise<void> {
  for (const n of names) {
    const p = join(dir, n);
    if (!existsSync(p)) continue;
    const target = under ? `${under}/${n}` : n;
    if (n.includes('.')) await run.logArtifact(p, target);
    else await run.logArtifacts(p, target);
  }
}

/** What each stage logs: params, metrics, loss curves and artifacts; model stages open model runs. */
async function logStageContents(handle: TrackingHandle, stage: TrackedRun, ref: StageRef): Promise<void> {
  const t = tracking(handle.experiment);
  const model = (name: string) => t.child(handle.ref, 'model', name);
  await stage.setTags({ 'curio.stage_key': ref.key, 'curio.stage_dir': ref.dir, 'curio.stage_digest': ref.digest, 'curio.reused': String(ref.reused) });
  switch (ref.stage) {
    case 'item_embedding': {
      const r = readReport<{ itemUnit: Training; item2vec: Training; nextClick: Record<string, Record<string, number>> }>(ref);
      if (!r) break;
      for (const [name, key] of [['item_unit', 'itemUnit'], ['item2vec', 'item2vec']] as const) {
        const m = await model(name);
        await logTraining(m, r[key]);
        const nc = r.nextClick[key] ?? {};
        await m.logMetrics({ next_click_recall_at_50_warm: nc.recallWarm ?? NaN, next_click_recall_at_50_cold: nc.recallCold ?? NaN, next_click_recall_at_50: nc.recallAll ?? NaN });
        await uploadIfPresent(m, ref.dir, name === 'item_unit' ? ['item_unit', 'item_vectors.parquet'] : ['item2vec', 'item2vec_vectors.parquet']);
        await m.end('FINISHED');
      }
      break;
    }
    case 'keyword': {
      const r = readReport<Record<string, { training: Training } & Record<string, number>>>(ref);
      if (!r) break;
      for (const [name, key] of [['keyword_dssm', 'withTransfer'], ['keyword_dssm_no_transfer', 'withoutTransfer']] as const) {
        const m = await model(name);
        const x = r[key];
        await logTraining(m, x?.training);
        await m.logMetrics({ recall_at_50: x?.recall_at_50 ?? NaN, recall_at_20: x?.recall_at_20 ?? NaN, hitrate_at_50: x?.hit_rate_at_50 ?? NaN });
        if (name === 'keyword_dssm') await uploadIfPresent(m, ref.dir, ['query_tower', 'item_tower', 'vocabulary.json']);
        await m.end('FINISHED');
      }
      break;
    }
    case 'multi_interest':
    case 'multi_interest_trial': {
      type UserModel = { training: Training; valid: MethodMetrics; test: MethodMetrics; nextSession?: { valid: MethodMetrics; test: MethodMetrics }; interestCollapse?: number };
      const r = readReport<{ lambda: number; multiInterest: UserModel; youtubeDnn?: UserModel }>(ref);
      if (!r) break;
      const logUser = async (run: TrackedRun, x: UserModel) => {
        await logTraining(run, x.training);
        await run.logMetrics({
          ...rankingMetrics(x.test, 'comirec_'),
          ...rankingMetrics(x.valid, 'comirec_val_'),
          ...(x.nextSession ? { ...rankingMetrics(x.nextSession.test, 'next_session_'), ...rankingMetrics(x.nextSession.valid, 'next_session_val_') } : {}),
          ...(x.interestCollapse !== undefined ? { interest_collapse: x.interestCollapse } : {}),
        });
      };
      if (ref.stage === 'multi_interest_trial') {
        await logUser(stage, r.multiInterest);
        break;
      }
      const m = await model('multi_interest');
      await logUser(m, r.multiInterest);
      await uploadIfPresent(m, ref.dir, ['multi_interest', 'test_user_interests.parquet']);
      await m.end('FINISHED');
      if (r.youtubeDnn) {
        const y = await model('youtube_dnn');
        await logUser(y, r.youtubeDnn);
        await uploadIfPresent(y, ref.dir, ['youtube_dnn']);
        await y.end('FINISHED');
      }
      break;
    }
    case 'evaluation': {
      const r = readReport<EvaluationReport>(ref, 'evaluation.json');
      if (!r) break;
      for (const m of r.nextSession.test.methods) await stage.logMetrics({ ...rankingMetrics(m, `${m.method}_next_session_`), [`${m.method}_next_session_fallback_share`]: m.fallback_share_at_50 });
      for (const m of r.nextSession.valid.methods) await stage.logMetrics(rankingMetrics(m, `${m.method}_next_session_val_`));
      for (const m of r.comirec.methods) await stage.logMetrics(rankingMetrics(m, `${m.method}_comirec_`));
      for (const c of r.interestCollapse) await stage.logMetrics({ [`interest_collapse_lambda_${String(c.lambda).replace('.', '_')}`]: c.value });
      await stage.logMetrics({ next_session_recall_at_50_over_item_cf: r.goal.ratio, next_session_test_sessions: r.nextSession.test.scoredSessions, next_session_valid_sessions: r.nextSession.valid.scoredSessions });
      const chosen = r.nextSession.tuning;
      await stage.logParams({
        'tuned.item_cf.lookback_days': String(chosen.itemCf.chosen.lookbackDays ?? 'all'),
        'tuned.item_cf.top_k': String(chosen.itemCf.chosen.topK),
        'tuned.item_cf.recent_clicks': String(chosen.itemCf.chosen.recentClicks),
        'tuned.item_knn.last_clicks': String(chosen.itemKnn.chosen.lastClicks),
        'tuned.popularity.window_days': String(chosen.popularity.chosen.windowDays ?? 'all'),
      });
      await uploadIfPresent(stage, ref.dir, ['evaluation.json', 'evaluation.md']);
      break;
    }
    case 'index':
      await stage.logMetrics(numericMetrics(readReport(ref)));
      await uploadIfPresent(stage, ref.dir, ['items.faiss', 'items.idmap.json', 'report.json'], 'index');
      break;
    case 'ab_test': {
      const r = readReport<AbReport | ReplayOnlyReport>(ref);
      if (r?.armA && r.armB) {
        const { mode, ...metrics } = abMetrics(r);
        await stage.setTags({ 'curio.ab_mode': String(mode) });
        await stage.logMetrics(metrics as Record<string, number>);
      }
      await uploadIfPresent(stage, ref.dir, ['report.json', 'report.md']);
      break;
    }
    default:
      await stage.logMetrics(numericMetrics(readReport(ref)));
      await uploadIfPresent(stage, ref.dir, ['report.json']);
  }
}

/** Logs one finished stage (or sweep point) under the retrain's run; returns its MLflow run id when known. */
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
}): Promise<{ decision: string; reason: string; version: string; champion: string; mlflowRunId?: string; mlflowRunUrl?: string }> {
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
