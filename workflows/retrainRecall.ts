import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, type RetryPolicy } from '@temporalio/common';
import type { PipelineActivities } from '../activities/pipeline';
import type { TrainingActivities } from '../activities/training';
import type { TrackingHandle } from '../activities/trackingActivities';
import type { ResolvedConfig } from '../config/retrainConfig';
import { bestTrial, trainedByStage } from './sweepChoice';
import { PIPELINE_TASK_QUEUE, TRAINING_TASK_QUEUE } from './taskQueues';
import {
  ABORT_SIGNAL,
  PROGRESS_QUERY,
  RETRY_STAGE_SIGNAL,
  RETRY_STAGE_UPDATE,
  STAGES,
  type RetrainInput,
  type RetrainResult,
  type RetryStageAccepted,
  type RetryStageArgs,
  type StageName,
  type StageRef,
  type StageRow,
} from './types';

export const retryStageSignal = defineSignal<[RetryStageArgs?]>(RETRY_STAGE_SIGNAL);
export const retryStageUpdate = defineUpdate<RetryStageAccepted, [RetryStageArgs]>(RETRY_STAGE_UPDATE);
export const abortSignal = defineSignal<[string?]>(ABORT_SIGNAL);
export const progressQuery = defineQuery<StageRow[]>(PROGRESS_QUERY);

export const DATASET_KEY = defineSearchAttributeKey('CurioDataset', 'KEYWORD');
export const SCALE_KEY = defineSearchAttributeKey('CurioScale', 'KEYWORD');
export const OUTCOME_KEY = defineSearchAttributeKey('CurioOutcome', 'KEYWORD');

const retry: RetryPolicy = { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 3 };

// Data stages: SQL and I/O; a dead worker is noticed within two minutes.
const data = proxyActivities<PipelineActivities>({
  taskQueue: PIPELINE_TASK_QUEUE,
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry,
});
// Tracking never blocks for long and must not fail the retrain.
const tracking = proxyActivities<PipelineActivities>({
  taskQueue: PIPELINE_TASK_QUEUE,
  startToCloseTimeout: '5 minutes',
  retry: { ...retry, maximumAttempts: 5 },
});
// Trainings: long start-to-close, short heartbeat timeout (a killed worker is retried from its checkpoint).
// An aborted retrain waits until the training has stopped (it does at its next step), so nothing is
// left computing for a workflow that is gone.
function trainingActivities(heartbeatSeconds: number) {
  return proxyActivities<TrainingActivities>({
    taskQueue: TRAINING_TASK_QUEUE,
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: `${heartbeatSeconds} seconds`,
    retry: { ...retry, maximumAttempts: 5 },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
}
let training = trainingActivities(60);
// The offline evaluation loads the trained user model (TensorFlow), so it runs on the training
// worker, with the heartbeat timeout it always had.
const evaluator = proxyActivities<TrainingActivities>({
  taskQueue: TRAINING_TASK_QUEUE,
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '2 minutes',
  retry,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

function failureOf(err: unknown): { message: string; type: string } {
  let e: unknown = err;
  // Unwrap activity / child-workflow failures down to the application failure that says what went wrong.
  while (e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) e = e.cause;
  if (e instanceof ApplicationFailure) return { message: e.message, type: e.type ?? 'ApplicationFailure' };
  if (e instanceof Error) return { message: e.message, type: e.name };
  return { message: String(e), type: 'Error' };
}

function describe(rows: StageRow[]): string {
  const lines = rows.map((r) => {
    const d = r.durationMs !== undefined ? `${(r.durationMs / 1000).toFixed(1)} s` : '';
    const extra = r.error ? ` — ${r.errorType}: ${r.error.split('\n')[0]}` : '';
    return `| ${r.stage} | ${r.status} | ${r.attempt} | ${d} |${extra}`;
  });
  return ['| stage | status | attempt | duration |', '| --- | --- | --- | --- |', ...lines].join('\n');
}

/**
 * Retrains the recall models: validate and load → feature SQL → tagging → item embeddings →
 * {keyword DSSM, multi-interest, metric-loss sweep (a child workflow per λ)} at once → evaluation → index →
 * A/B test → registration. Stages pass references (paths and content hashes), never data. A stage
 * that fails for good waits for a `retryStage` signal (optionally with config overrides) or `abort`.
 */
export async function retrainRecall(input: RetrainInput): Promise<RetrainResult> {
  const info = workflowInfo();
  const rows: StageRow[] = STAGES.map((stage) => ({ stage, status: 'pending', attempt: 0 }));
  const overrides: Record<string, unknown>[] = [];
  let retryRequest: RetryStageArgs | undefined;
  // The config an accepted retryStage Update already resolved with its overrides.
  let preResolved: ResolvedConfig | undefined;
  let aborted: string | undefined;
  setHandler(progressQuery, () => rows);
  setHandler(retryStageSignal, (args) => {
    retryRequest = args ?? {};
  });
  // The Update form of retryStage answers the caller: refused when no stage waits (or another one
  // does), or when the overrides do not resolve — the run then keeps waiting, its config unchanged.
  setHandler(
    retryStageUpdate,
    async (args): Promise<RetryStageAccepted> => {
      const req = args ?? {};
      const waiting = rows.find((r) => r.status === 'waiting_for_retry' && (!req.stage || r.stage === req.stage)) as StageRow;
      let resolved: ResolvedConfig | undefined;
      if (req.overrides) {
        try {
          resolved = await data.resolveConfig({ retrain: input, overrides: [...overrides, req.overrides] });
        } catch (err) {
          const f = failureOf(err);
          throw ApplicationFailure.create({ message: `retry refused, the overrides do not resolve: ${f.message}`, type: f.type, nonRetryable: true });
        }
        // Another retry may have been accepted while the overrides were resolved.
        if (waiting.status !== 'waiting_for_retry') throw ApplicationFailure.create({ message: `retry refused: ${waiting.stage} no longer waits`, type: 'RetryRefused', nonRetryable: true });
      }
      retryRequest = { stage: waiting.stage, ...(req.overrides ? { overrides: req.overrides } : {}) };
      if (resolved) preResolved = resolved;
      return { stage: waiting.stage, overrides: [...overrides, ...(req.overrides ? [req.overrides] : [])] };
    },
    {
      validator: (args) => {
        const waiting = rows.filter((r) => r.status === 'waiting_for_retry');
        if (waiting.length === 0) throw new Error('no stage is waiting for a retry');
        if (args?.stage && !waiting.some((r) => r.stage === args.stage)) throw new Error(`stage ${args.stage} is not waiting for a retry (${waiting.map((r) => r.stage).join(', ')} is)`);
        if (args?.overrides !== undefined && (typeof args.overrides !== 'object' || args.overrides === null || Array.isArray(args.overrides))) throw new Error('overrides must be an object of config sections');
      },
    },
  );
  // The scope of the stage that runs now: abort cancels it, so a training stops at its next step
  // instead of finishing first (retrains that recorded an abort before this change did not).
  // (Several at once since the trainings after item_embedding run concurrently.)
  const runningStages = new Set<CancellationScope>();
  setHandler(abortSignal, (reason) => {
    aborted = reason ?? 'aborted by a user';
    if (runningStages.size > 0 && patched('abort-cancels-running-stage')) for (const scope of runningStages) scope.cancel();
  });
  const show = () => setCurrentDetails(describe(rows));
  let trackingHandle: TrackingHandle | undefined;
  let cfg: ResolvedConfig | undefined;

  /**
   * Ends the retrain at `name`, aborted: the row failed (a stage that was running says so; one that
   * waited keeps the error it failed with), the MLflow run KILLED, an `Aborted` failure.
   */
  let abortRecorded = false;
  async function abortAt(name: StageName, row: StageRow, wasRunning = false): Promise<never> {
    row.status = 'failed';
    if (wasRunning) {
      row.error = `cancelled while running: ${aborted}`;
      row.errorType = 'Aborted';
    }
    show();
    // Concurrent stages all end here on one abort: the run is recorded as killed once.
    if (!abortRecorded) {
      abortRecorded = true;
      upsertSearchAttributes([{ key: OUTCOME_KEY, value: 'aborted' }]);
      if (trackingHandle) await tracking.finishTracking({ tracking: trackingHandle, status: 'KILLED' }).catch(() => undefined);
    }
    throw ApplicationFailure.create({ message: `retrain aborted at stage ${name}: ${aborted}`, type: 'Aborted', nonRetryable: true });
  }

  async function stage<T>(name: StageName, run: () => Promise<T>, mlflowRunOf?: (t: T) => string | undefined): Promise<T> {
    const row = rows.find((r) => r.stage === name) as StageRow;
    for (;;) {
      row.status = 'running';
      row.attempt++;
      row.startedAt = new Date().toISOString();
      delete row.error;
      delete row.errorType;
      const t0 = Date.now();
      show();
      const scope = new CancellationScope();
      runningStages.add(scope);
      try {
        const result = await scope.run(run);
        runningStages.delete(scope);
        row.status = 'done';
        row.durationMs = Date.now() - t0;
        const ref = result as unknown as Partial<StageRef>;
        if (ref && typeof ref === 'object' && ref.summary) row.summary = ref.summary;
        const runId = mlflowRunOf?.(result) ?? ref?.mlflowRunId;
        if (runId) row.mlflowRunId = runId;
        show();
        return result;
      } catch (err) {
        runningStages.delete(scope);
        if (isCancellation(err) && aborted !== undefined && scope.consideredCancelled) {
          row.durationMs = Date.now() - t0;
          return await abortAt(name, row, true);
        }
        if (isCancellation(err)) throw err;
        const f = failureOf(err);
        // A stage that waited on a concurrent stage which ended aborted (the sweep on multi_interest's point).
        if (aborted !== undefined && f.type === 'Aborted') return await abortAt(name, row, true);
        row.status = 'waiting_for_retry';
        row.durationMs = Date.now() - t0;
        row.error = f.message;
        row.errorType = f.type;
        retryRequest = undefined;
        show();
        if (trackingHandle) await tracking.noteStageFailure({ tracking: trackingHandle, stage: name, error: `${f.type}: ${f.message}` }).catch(() => undefined);
        upsertSearchAttributes([{ key: OUTCOME_KEY, value: 'waiting_for_retry' }]);
        waiting: for (;;) {
          await condition(() => aborted !== undefined || (retryRequest !== undefined && (!retryRequest.stage || retryRequest.stage === name)));
          if (aborted !== undefined) return await abortAt(name, row);
          const req = retryRequest as unknown as RetryStageArgs;
          retryRequest = undefined;
          if (req.overrides && preResolved) {
            overrides.push(req.overrides);
            cfg = preResolved;
          } else if (req.overrides) {
            // The signal form cannot answer its sender: overrides that do not resolve are dropped, the
            // stage keeps waiting, and the row says why.
            try {
              cfg = await data.resolveConfig({ retrain: input, overrides: [...overrides, req.overrides] });
              overrides.push(req.overrides);
            } catch (refused) {
              const f = failureOf(refused);
              row.error = `retry refused, the overrides do not resolve: ${f.message}`;
              row.errorType = f.type;
              show();
              continue waiting;
            }
          }
          preResolved = undefined;
          break;
        }
      }
    }
  }

  cfg = await stage('validate', () => data.resolveConfig({ retrain: input, overrides }));
  // The validate stage checked the timeouts (5 s to 1 h); a config resolved before they were part of
  // it (a recorded history) has none and gets the default it had then.
  const hb = (cfg as Partial<ResolvedConfig>).timeouts?.trainingHeartbeatSeconds ?? 60;
  training = trainingActivities(hb);
  const scale = (cfg as ResolvedConfig).data.generate?.scale ?? 'custom';
  upsertSearchAttributes([
    { key: SCALE_KEY, value: scale },
    { key: OUTCOME_KEY, value: 'running' },
  ]);
  const prepared = await stage('load', async () => {
    const p = await data.prepareData({ data: (cfg as ResolvedConfig).data });
    const run = await tracking.startTracking({ experimentName: (cfg as ResolvedConfig).experimentName, datasetDigest: p.digest, scale, config: cfg as ResolvedConfig });
    trackingHandle = run.handle;
    upsertMemo({ curioTrackingKey: run.handle.ref.key, mlflowRunId: run.runId ?? null, mlflowRunUrl: run.runUrl ?? null, mlflowExperimentId: run.experimentId ?? null, datasetDigest: p.digest });
    const ref = await data.loadData({ dir: p.dir, digest: p.digest, quarantine: (cfg as ResolvedConfig).data.quarantine });
    return { ...ref, mlflowRunId: await tracking.trackStage({ tracking: run.handle, ref, params: { quarantine: String((cfg as ResolvedConfig).data.quarantine), data_dir: p.dir } }) };
  });
  const datasetDigest = String(prepared.summary.digest ?? '');
  upsertSearchAttributes([{ key: DATASET_KEY, value: datasetDigest.slice(0, 16) }]);
  const key = () => trackingHandle as TrackingHandle;
  const c = () => cfg as ResolvedConfig;

  const features = await stage('features', async () => {
    const ref = await data.buildFeatures({ load: prepared, params: c().features });
    return { ...ref, mlflowRunId: await tracking.trackStage({ tracking: key(), ref, params: flat('features', c().features) }) };
  });
  const tags = await stage('tagging', async () => {
    const ref = await data.tagItems({ load: prepared, params: c().tagging });
    return { ...ref, mlflowRunId: await tracking.trackStage({ tracking: key(), ref, params: flat('tagging', c().tagging) }) };
  });
  const itemEmbedding = await stage('item_embedding', async () => {
    const ref = await training.trainItemEmbeddings({ features, tags, config: c() });
    return { ...ref, mlflowRunId: await tracking.trackStage({ tracking: key(), ref, params: { ...flat('itemUnit', c().itemUnit), ...flat('item2vec', c().item2vec) } }) };
  });
  const keywordStage = () =>
    stage('keyword', async () => {
      const ref = await training.trainKeywordModel({ features, tags, itemEmbedding, config: c() });
      return { ...ref, mlflowRunId: await tracking.trackStage({ tracking: key(), ref, params: flat('keyword', c().keyword) }) };
    });
  const multiInterestStage = () =>
    stage('multi_interest', async () => {
      const ref = await training.trainMultiInterest({ features, tags, itemEmbedding, config: c(), lambda: c().multiInterest.lambda, singleVectorBaseline: true });
      return { ...ref, mlflowRunId: await tracking.trackStage({ tracking: key(), ref, params: flat('multiInterest', c().multiInterest) }) };
    });
  const sweepStage = (baselineReady: Promise<StageRef & { mlflowRunId?: string }>) =>
    stage('lambda_sweep', async () => {
      const row = rows.find((r) => r.stage === 'lambda_sweep') as StageRow;
      const results: StageRef[] = [];
      const running = new Set<Promise<void>>();
      // The sweep point the multi_interest stage trains is taken from its folder once it is there;
      // the other points do not wait for it.
      const fromStage: Promise<void>[] = [];
      for (const lambda of c().lambdaGrid) {
        if (trainedByStage(lambda, c().multiInterest.lambda) && patched('sweep-reuses-stage-lambda')) {
          fromStage.push(
            baselineReady.then(async (baseline) => {
              // Tracked as this sweep point (the trial's metrics), from the stage's folder.
              const { mlflowRunId: _stageRun, ...stageRef } = baseline;
              const ref = { ...stageRef, stage: 'multi_interest_trial', reused: true };
              const runId = await tracking.trackStage({ tracking: key(), ref, sweepLambda: lambda, params: { ...flat('multiInterest', { ...c().multiInterest, lambda }), 'sweep.reused_stage': 'multi_interest' } });
              results.push({ ...ref, ...(runId ? { mlflowRunId: runId } : {}) });
            }),
          );
          continue;
        }
        const p: Promise<void> = executeChild(lambdaTrial, {
          workflowId: `${info.workflowId}-lambda-${lambda}-attempt-${row.attempt}`,
          taskQueue: PIPELINE_TASK_QUEUE,
          args: [{ features, tags, itemEmbedding, config: c(), lambda, tracking: key(), heartbeatSeconds: hb }],
        }).then((r) => {
          results.push(r);
        });
        running.add(p);
        void p.finally(() => running.delete(p)).catch(() => undefined);
        if (running.size >= c().sweepParallelism) await Promise.race(running);
      }
      await Promise.all([...running, ...fromStage]);
      results.sort((a, b) => Number(a.summary.lambda) - Number(b.summary.lambda));
      // λ is chosen on the validation period's next-session Recall@50, never on the test period.
      const best = bestTrial(results);
      return { stage: 'lambda_sweep', key: best.key, dir: best.dir, digest: best.digest, reused: results.every((r) => r.reused), ...(best.store ? { store: best.store } : {}), summary: { best_lambda: Number(best.summary.lambda), trials: results.length }, trials: results, best } as StageRef & { trials: StageRef[]; best: StageRef };
    });
  // The three stages after item_embedding need only its output: they run at once, on as many
  // training workers as there are (one training per worker process; `curio workers` starts one per
  // core). Retrains started before this change keep their order (their histories replay).
  let keyword: Awaited<ReturnType<typeof keywordStage>>;
  let baseline: Awaited<ReturnType<typeof multiInterestStage>>;
  let trials: Awaited<ReturnType<typeof sweepStage>>;
  if (patched('training-stages-concurrent')) {
    const baselineReady = multiInterestStage();
    // The sweep's reuse of the stage's point must not leave a rejection unobserved when the stage fails.
    baselineReady.catch(() => undefined);
    [keyword, baseline, trials] = await Promise.all([keywordStage(), baselineReady, sweepStage(baselineReady)]);
  } else {
    keyword = await keywordStage();
    baseline = await multiInterestStage();
    trials = await sweepStage(Promise.resolve(baseline));
  }
  const evaluation = await stage('evaluation', async () => {
    const zero = trials.trials.find((t) => Number(t.summary.lambda) === 0);
    // Retrains started before the move keep scheduling it on the pipeline worker (their histories replay).
    const evaluate = patched('evaluation-on-training-worker') ? evaluator.evaluateModels : data.evaluateModels;
    const ref = await evaluate({ features, itemEmbedding, best: trials.best, ...(zero ? { lambdaZero: zero } : {}), baseline, goalRatio: c().evaluation.goalRatio });
    return { ...ref, mlflowRunId: await tracking.trackStage({ tracking: key(), ref, params: { best_lambda: String(trials.best.summary.lambda) } }) };
  });
  const index = await stage('index', async () => {
    const ref = await data.buildIndex({ features, itemEmbedding, tags, factory: c().index.factory, best: trials.best, evaluation });
    return { ...ref, mlflowRunId: await tracking.trackStage({ tracking: key(), ref, params: { factory: c().index.factory } }) };
  });
  const ab = await stage('ab_test', async () => {
    const ref = await training.runAbTest({ prepared, dataDir: prepared.summary.data_dir as string, features, tags, itemEmbedding, best: trials.best, evaluation, settings: c().abTest });
    return { ...ref, mlflowRunId: await tracking.trackStage({ tracking: key(), ref, params: flat('abTest', c().abTest) }) };
  });
  const registration = await stage('registration', () =>
    tracking.registerWinner({ tracking: key(), modelName: c().registry.modelName, primaryMetric: c().evaluation.primaryMetric, datasetDigest, evaluation, itemEmbedding, keyword, best: trials.best, index, ab, config: c(), features, tags }),
  );
  await tracking.finishTracking({
    tracking: key(),
    status: 'FINISHED',
    metrics: Object.fromEntries(Object.entries(ab.summary).filter((e): e is [string, number] => typeof e[1] === 'number' && e[0].startsWith('ctr_lift'))),
  });
  upsertSearchAttributes([{ key: OUTCOME_KEY, value: registration.decision === 'promoted' ? 'champion' : 'challenger' }]);
  show();
  return {
    datasetDigest,
    stages: rows,
    bestLambda: Number(trials.best.summary.lambda),
    recallAt50: Number(evaluation.summary.next_session_recall_at_50),
    itemCfRecallAt50: Number(evaluation.summary.item_cf_next_session_recall_at_50),
    comirecRecallAt50: Number(evaluation.summary.comirec_recall_at_50),
    itemCfComirecRecallAt50: Number(evaluation.summary.item_cf_comirec_recall_at_50),
    ...(ab.summary.ctr_lift !== undefined ? { ctrLift: Number(ab.summary.ctr_lift) } : {}),
    ...(ab.summary.replay_lift !== undefined ? { replayLift: Number(ab.summary.replay_lift) } : {}),
    registry: { decision: registration.decision, reason: registration.reason, version: registration.version, champion: registration.champion },
    ...(registration.mlflowRunId ? { mlflowRunId: registration.mlflowRunId } : {}),
    ...(registration.mlflowRunUrl ? { mlflowRunUrl: registration.mlflowRunUrl } : {}),
  };
}

/** Flattens a config section into MLflow params (`section.field`). */
function flat(prefix: string, value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(`${p}.${k}`, x);
    else out[p] = Array.isArray(v) ? JSON.stringify(v) : String(v);
  };
  walk(prefix, value);
  return out;
}

/** One trial of the metric-loss sweep: the multi-interest model at one λ, tracked as its own child run. */
export async function lambdaTrial(input: { features: StageRef; tags?: StageRef; itemEmbedding: StageRef; config: ResolvedConfig; lambda: number; tracking: TrackingHandle; heartbeatSeconds?: number }): Promise<StageRef> {
  training = trainingActivities(input.heartbeatSeconds ?? 60);
  const ref = await training.trainMultiInterest({ features: input.features, ...(input.tags ? { tags: input.tags } : {}), itemEmbedding: input.itemEmbedding, config: input.config, lambda: input.lambda, singleVectorBaseline: false });
  const runId = await tracking.trackStage({
    tracking: input.tracking,
    ref,
    sweepLambda: input.lambda,
    params: { ...flat('multiInterest', { ...input.config.multiInterest, lambda: input.lambda }) },
  });
  return { ...ref, ...(runId ? { mlflowRunId: runId } : {}) };
}
