import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { resolveConfig } from '../../activities/dataActivities';
import type { PipelineActivities } from '../../activities/pipeline';
import type { TrainingActivities } from '../../activities/training';
import { abortSignal, progressQuery, retrainRecall, retryStageSignal, retryStageUpdate } from '../../workflows/retrainRecall';
import { PIPELINE_TASK_QUEUE, TRAINING_TASK_QUEUE } from '../../workflows/taskQueues';
import type { RetrainInput, StageRef, StageRow } from '../../workflows/types';
import { startTemporal } from '../helpers/temporal';
import { until } from '../helpers/until';

/**
 * The retrain workflow's own logic — the sweep's choice, a failed stage waiting for retryStage or
 * abort, overrides, a failing sweep child — with every activity stubbed except config resolution
 * (the real, pure one). Runs on an in-memory dev server started for this file; no MLflow, no data.
 */

type Calls = { name: string; input: unknown }[];

function ref(stage: string, summary: Record<string, number | string> = {}): StageRef {
  return { stage, key: `${stage}-key`, dir: `/stub/${stage}`, digest: `${stage}-digest`, reused: false, summary };
}

/** Validation recall peaks at λ = 0.3, test recall at λ = 1: the sweep must follow validation. */
const VALID_RECALL: Record<string, number> = { '0': 0.30, '0.3': 0.42, '1': 0.35 };
const TEST_RECALL: Record<string, number> = { '0': 0.20, '0.3': 0.25, '1': 0.40 };

interface Faults {
  /** Stage names whose activity fails (non-retryably) until cleared. */
  failing: Set<string>;
  /** λ values whose sweep trial fails until cleared. */
  failingLambdas: Set<number>;
  /** Stage names whose activity heartbeats until it is cancelled ('lambda_sweep': every trial). */
  hanging: Set<string>;
}

/** A long training as an activity: it heartbeats until cancelled, and records that it saw the cancellation. */
async function runUntilCancelled(name: string, record: (name: string, input: unknown) => void): Promise<never> {
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    try {
      await ctx.sleep(100);
    } catch (err) {
      record(`cancelled:${name}`, String(err));
      throw err;
    }
  }
}

function stubs(calls: Calls, faults: Faults): { pipeline: PipelineActivities; training: TrainingActivities } {
  const record = (name: string, input: unknown) => calls.push({ name, input });
  const failIf = (stage: string) => {
    if (faults.failing.has(stage)) throw ApplicationFailure.create({ message: `${stage} is broken`, type: 'StubFailure', nonRetryable: true });
  };
  const stage = (name: string, summary?: Record<string, number | string>) => async (input: unknown) => {
    record(name, input);
    failIf(name);
    if (faults.hanging.has(name)) await runUntilCancelled(name, record);
    return ref(name, summary);
  };
  const pipeline = {
    smokeDuckdb: async () => 'stub',
    smokeFaissSearch: async () => 'stub',
    smokeMlflow: async () => 'stub',
    resolveConfig: async (input: Parameters<typeof resolveConfig>[0]) => {
      record('resolveConfig', input);
      return resolveConfig(input);
    },
    prepareData: async (input: unknown) => {
      record('prepareData', input);
      return { dir: '/stub/data', digest: 'data-digest', generated: false };
    },
    loadData: stage('load', { digest: 'data-digest', data_dir: '/stub/data' }),
    buildFeatures: stage('features'),
    tagItems: stage('tagging'),
    evaluateModels: stage('evaluation_on_pipeline_queue'),
    buildIndex: stage('index'),
    startTracking: async (input: unknown) => {
      record('startTracking', input);
      return { handle: { ref: { key: 'stub/retrain', kind: 'retrain' }, experiment: 'stub' }, runId: 'run-1' };
    },
    trackStage: async (input: unknown) => {
      record('trackStage', input);
      return undefined;
    },
    noteStageFailure: async (input: unknown) => {
      record('noteStageFailure', input);
    },
    finishTracking: async (input: unknown) => {
      record('finishTracking', input);
    },
    registerWinner: async (input: unknown) => {
      record('registerWinner', input);
      return { decision: 'promoted', reason: 'stub', version: '1', champion: '1' };
    },
  } as unknown as PipelineActivities;
  const training = {
    smokeTensorflowStep: async () => 'stub',
    trainItemEmbeddings: stage('item_embedding'),
    trainKeywordModel: stage('keyword'),
    trainMultiInterest: async (input: { lambda: number; singleVectorBaseline: boolean }) => {
      record('trainMultiInterest', input);
      if (!input.singleVectorBaseline && faults.hanging.has('lambda_sweep')) await runUntilCancelled(`lambda=${input.lambda}`, record);
      if (!input.singleVectorBaseline && faults.failingLambdas.has(input.lambda)) {
        throw ApplicationFailure.create({ message: `trial λ=${input.lambda} ran out of memory`, type: 'TrialFailure', nonRetryable: true });
      }
      const l = String(input.lambda);
      return { ...ref(input.singleVectorBaseline ? 'multi_interest' : 'multi_interest_trial'), key: `mi-${l}`, digest: `mi-${l}`, summary: { lambda: input.lambda, valid_next_session_recall_at_50: VALID_RECALL[l] ?? 0, test_next_session_recall_at_50: TEST_RECALL[l] ?? 0 } };
    },
    evaluateModels: stage('evaluation', { next_session_recall_at_50: 0.4, item_cf_next_session_recall_at_50: 0.2 }),
    runAbTest: stage('ab_test', { ctr_lift: 0.25 }),
  } as unknown as TrainingActivities;
  return { pipeline, training };
}

// The real config resolution checks that the data folder exists; the stubs never read it.
const dataDir = mkdtempSync(join(tmpdir(), 'curio-logic-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const input = (extra: Partial<RetrainInput> = {}): RetrainInput => ({ data: { dir: dataDir }, lambdaGrid: [0, 0.3, 1], sweepParallelism: 2, ...extra });

describe('retrainRecall with stubbed activities', () => {
  let env: TestWorkflowEnvironment;
  let workers: Worker[];
  let running: Promise<unknown>;
  const calls: Calls = [];
  const faults: Faults = { failing: new Set(), failingLambdas: new Set(), hanging: new Set() };
  let n = 0;

  beforeAll(async () => {
    env = await startTemporal();
    const { pipeline, training } = stubs(calls, faults);
    const ctx = { connection: env.nativeConnection, namespace: env.namespace ?? 'default' };
    // Heartbeats reach the server at least every second, so a cancellation reaches an activity fast.
    const often = { maxHeartbeatThrottleInterval: 1000 };
    workers = [
      await Worker.create({ ...ctx, ...often, taskQueue: PIPELINE_TASK_QUEUE, workflowsPath: require.resolve('../../workflows'), activities: pipeline }),
      await Worker.create({ ...ctx, ...often, taskQueue: TRAINING_TASK_QUEUE, activities: training }),
    ];
    running = Promise.all(workers.map((w) => w.run()));
  });

  afterAll(async () => {
    workers?.forEach((w) => w.shutdown());
    await running;
    await env?.teardown();
  });

  beforeEach(() => {
    calls.length = 0;
    faults.failing.clear();
    faults.failingLambdas.clear();
    faults.hanging.clear();
  });

  const start = (extra?: Partial<RetrainInput>) => env.client.workflow.start(retrainRecall, { taskQueue: PIPELINE_TASK_QUEUE, workflowId: `logic-${Date.now()}-${n++}`, args: [input(extra)] });
  const waitingAt = (handle: Awaited<ReturnType<typeof start>>, stage: string) =>
    until(`${stage} to wait for a retry`, async () => (await handle.query(progressQuery)).find((r: StageRow) => r.stage === stage && r.status === 'waiting_for_retry'));

  it('chooses λ on validation recall, never on test, and evaluates on the training worker', async () => {
    const result = await (await start()).result();
    expect(result.bestLambda).toBe(0.3);
    const evaluation = calls.find((c) => c.name === 'evaluation')?.input as { best: StageRef; lambdaZero?: StageRef };
    expect(evaluation.best.summary.lambda).toBe(0.3);
    expect(evaluation.lambdaZero?.summary.lambda).toBe(0);
    expect(calls.some((c) => c.name === 'evaluation_on_pipeline_queue')).toBe(false);
    expect(calls.filter((c) => c.name === 'trainMultiInterest')).toHaveLength(4);
    expect(result.stages.every((s) => s.status === 'done' && s.attempt === 1)).toBe(true);
  });

  it('trains keyword, multi_interest and every λ trial at once after item_embedding; evaluation waits for all', async () => {
    faults.hanging.add('keyword');
    const handle = await start({ timeouts: { trainingHeartbeatSeconds: 5 } });
    // The keyword training never ends here: the other two stages must not wait for it.
    const rows = await until('the sweep to finish beside the running keyword training', async () => {
      const now = await handle.query(progressQuery);
      const status = (stage: string) => now.find((r) => r.stage === stage)?.status;
      return status('lambda_sweep') === 'done' && status('multi_interest') === 'done' && status('keyword') === 'running' ? now : undefined;
    });
    expect(rows.find((r) => r.stage === 'evaluation')?.status).toBe('pending');
    expect(calls.filter((c) => c.name === 'trainMultiInterest')).toHaveLength(4);
    expect(calls.some((c) => c.name === 'evaluation')).toBe(false);
    await handle.signal(abortSignal, 'seen enough');
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toMatchObject({ type: 'Aborted', message: 'retrain aborted at stage keyword: seen enough' });
    expect(calls.map((c) => c.name)).toContain('cancelled:keyword');
    expect(calls.filter((c) => c.name === 'finishTracking').map((c) => (c.input as { status: string }).status)).toEqual(['KILLED']);
  });

  it("takes the sweep point the multi_interest stage trained from its folder, after the stage, and trains only the others", async () => {
    const result = await (await start({ lambdaGrid: [0, 0.1, 0.3] })).result();
    const trainings = calls.filter((c) => c.name === 'trainMultiInterest').map((c) => c.input as { lambda: number; singleVectorBaseline: boolean });
    expect(trainings.filter((t) => !t.singleVectorBaseline).map((t) => t.lambda).sort()).toEqual([0, 0.3]);
    expect(trainings.filter((t) => t.singleVectorBaseline).map((t) => t.lambda)).toEqual([0.1]);
    const reusedTracking = calls.find((c) => c.name === 'trackStage' && (c.input as { sweepLambda?: number }).sweepLambda === 0.1)?.input as { ref: StageRef; params: Record<string, string> };
    expect(reusedTracking.ref).toMatchObject({ key: 'mi-0.1', reused: true, stage: 'multi_interest_trial' });
    expect(reusedTracking.params['sweep.reused_stage']).toBe('multi_interest');
    expect(result.bestLambda).toBe(0.3);
  });

  it('waits after a failed stage, reruns only it on retryStage, with the overrides re-resolved', async () => {
    faults.failing.add('tagging');
    const handle = await start();
    const waiting = await waitingAt(handle, 'tagging');
    expect(waiting).toMatchObject({ errorType: 'StubFailure', error: 'tagging is broken' });
    // The failure is noted on the MLflow run while the stage waits.
    await until('the failure to be noted', async () => (calls.some((c) => c.name === 'noteStageFailure') ? true : undefined));
    faults.failing.delete('tagging');
    await handle.signal(retryStageSignal, { stage: 'tagging', overrides: { tagging: { visualClusters: 24 } } });
    const result = await handle.result();
    const attempts = Object.fromEntries(result.stages.map((s) => [s.stage, s.attempt]));
    expect(attempts).toMatchObject({ load: 1, features: 1, tagging: 2, item_embedding: 1 });
    const resolved = calls.filter((c) => c.name === 'resolveConfig').map((c) => (c.input as { overrides: unknown[] }).overrides);
    expect(resolved).toEqual([[], [{ tagging: { visualClusters: 24 } }]]);
    const tagging = calls.filter((c) => c.name === 'tagging').map((c) => (c.input as { params: { visualClusters: number } }).params.visualClusters);
    expect(tagging[1]).toBe(24);
    expect(tagging[0]).toBe(0);
  });

  it('ignores a retryStage meant for another stage', async () => {
    faults.failing.add('features');
    const handle = await start();
    await waitingAt(handle, 'features');
    faults.failing.delete('features');
    await handle.signal(retryStageSignal, { stage: 'tagging' });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await handle.query(progressQuery)).find((r) => r.stage === 'features')?.status).toBe('waiting_for_retry');
    await handle.signal(retryStageSignal, {});
    expect((await handle.result()).stages.find((s) => s.stage === 'features')?.attempt).toBe(2);
  });

  it('fails as Aborted on abort, and ends the MLflow run KILLED', async () => {
    faults.failing.add('index');
    const handle = await start();
    await waitingAt(handle, 'index');
    await handle.signal(abortSignal, 'wrong data');
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toMatchObject({ type: 'Aborted', message: 'retrain aborted at stage index: wrong data' });
    expect(calls.filter((c) => c.name === 'finishTracking').map((c) => (c.input as { status: string }).status)).toEqual(['KILLED']);
    expect(calls.some((c) => c.name === 'ab_test')).toBe(false);
  });

  it('cancels a running training on abort: the activity stops, then the retrain fails as Aborted', async () => {
    faults.hanging.add('item_embedding');
    const handle = await start({ timeouts: { trainingHeartbeatSeconds: 5 } });
    await until('item_embedding to run', async () => (calls.some((c) => c.name === 'item_embedding') ? true : undefined));
    await handle.signal(abortSignal, 'wrong data');
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toMatchObject({ type: 'Aborted', message: 'retrain aborted at stage item_embedding: wrong data' });
    // The workflow waited for the activity to acknowledge: it had stopped before the retrain ended.
    expect(calls.map((c) => c.name)).toContain('cancelled:item_embedding');
    const row = (await handle.query(progressQuery)).find((r) => r.stage === 'item_embedding');
    expect(row).toMatchObject({ status: 'failed', errorType: 'Aborted', error: 'cancelled while running: wrong data' });
    expect(calls.filter((c) => c.name === 'finishTracking').map((c) => (c.input as { status: string }).status)).toEqual(['KILLED']);
    expect(calls.some((c) => c.name === 'keyword')).toBe(false);
  });

  it('cancels every running sweep trial on abort', async () => {
    faults.hanging.add('lambda_sweep');
    const handle = await start({ timeouts: { trainingHeartbeatSeconds: 5 }, lambdaGrid: [0, 0.3], sweepParallelism: 2 });
    // One training worker slot at a time in production; the stub runs both trials at once.
    await until('both trials to run', async () => (calls.filter((c) => c.name === 'trainMultiInterest' && !(c.input as { singleVectorBaseline: boolean }).singleVectorBaseline).length === 2 ? true : undefined));
    await handle.signal(abortSignal, 'enough');
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toMatchObject({ type: 'Aborted', message: 'retrain aborted at stage lambda_sweep: enough' });
    expect(calls.map((c) => c.name).filter((n) => n.startsWith('cancelled:')).sort()).toEqual(['cancelled:lambda=0', 'cancelled:lambda=0.3']);
  });

  it('holds the sweep when one λ trial fails, and reruns the sweep on retry', async () => {
    faults.failingLambdas.add(1);
    const handle = await start();
    const waiting = await waitingAt(handle, 'lambda_sweep');
    expect(waiting.errorType).toBe('TrialFailure');
    expect(waiting.error).toContain('λ=1 ran out of memory');
    faults.failingLambdas.clear();
    await handle.signal(retryStageSignal, { stage: 'lambda_sweep' });
    const result = await handle.result();
    expect(result.bestLambda).toBe(0.3);
    expect(result.stages.find((s) => s.stage === 'lambda_sweep')?.attempt).toBe(2);
  });

  it('refuses a retryStage Update whose overrides do not resolve, with the reason, and keeps waiting', async () => {
    faults.failing.add('keyword');
    const handle = await start();
    await waitingAt(handle, 'keyword');
    faults.failing.delete('keyword');
    const refused = await handle.executeUpdate(retryStageUpdate, { args: [{ overrides: { keyword: { epochz: 2 } } }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((refused as WorkflowUpdateFailedError).cause?.message).toMatch(/^retry refused, the overrides do not resolve: .*keyword\.epochz/);
    const wrongStage = await handle.executeUpdate(retryStageUpdate, { args: [{ stage: 'tagging' }] }).catch((e: unknown) => e);
    expect((wrongStage as WorkflowUpdateFailedError).cause?.message).toBe('stage tagging is not waiting for a retry (keyword is)');
    expect((await handle.query(progressQuery)).find((r) => r.stage === 'keyword')?.status).toBe('waiting_for_retry');
    const accepted = await handle.executeUpdate(retryStageUpdate, { args: [{ overrides: { keyword: { epochs: 2 } } }] });
    expect(accepted).toEqual({ stage: 'keyword', overrides: [{ keyword: { epochs: 2 } }] });
    const result = await handle.result();
    expect(result.stages.find((s) => s.stage === 'keyword')?.attempt).toBe(2);
    const keyword = calls.filter((c) => c.name === 'keyword').map((c) => (c.input as { config: { keyword: { epochs: number } } }).config.keyword.epochs);
    expect(keyword[1]).toBe(2);
    // Only the accepted override reached the config.
    const resolved = calls.filter((c) => c.name === 'resolveConfig').map((c) => (c.input as { overrides: unknown[] }).overrides);
    expect(resolved.at(-1)).toEqual([{ keyword: { epochs: 2 } }]);
  });

  it('rejects a retryStage Update when no stage waits', async () => {
    faults.failing.add('ab_test');
    const handle = await start();
    const early = await handle.executeUpdate(retryStageUpdate, { args: [{}] }).catch((e: unknown) => e);
    expect((early as WorkflowUpdateFailedError).cause?.message).toBe('no stage is waiting for a retry');
    await waitingAt(handle, 'ab_test');
    await handle.signal(abortSignal, 'done');
    await handle.result().catch(() => undefined);
  });

  it('keeps waiting when the retryStage signal carries overrides that do not resolve, and says so', async () => {
    faults.failing.add('item_embedding');
    const handle = await start();
    await waitingAt(handle, 'item_embedding');
    faults.failing.delete('item_embedding');
    await handle.signal(retryStageSignal, { overrides: { itemUnit: { nope: 1 } } });
    const refused = await until('the refusal', async () => (await handle.query(progressQuery)).find((r) => r.stage === 'item_embedding' && r.error?.startsWith('retry refused')));
    expect(refused.status).toBe('waiting_for_retry');
    expect(refused.error).toContain('itemUnit.nope');
    await handle.signal(retryStageSignal, {});
    expect((await handle.result()).stages.find((s) => s.stage === 'item_embedding')?.attempt).toBe(2);
  });
});
