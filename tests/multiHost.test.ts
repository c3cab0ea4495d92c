import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { generateMarketplace } from '../data/generator/generate';
import { readManifest } from '../stages/artifacts';
import type { MultiInterestReport } from '../stages/modelStages';
import { projectRoot } from '../platform/paths';
import { createPipelineWorker } from '../workers/createWorkers';
import { progressQuery, retrainRecall } from '../workflows/retrainRecall';
import { PIPELINE_TASK_QUEUE, TRAINING_TASK_QUEUE } from '../workflows/taskQueues';
import type { RetrainInput } from '../workflows/types';
import { startTemporal } from './helpers/temporal';
import { until } from './helpers/until';

/**
 * Workers as on several hosts: training workers are their own processes (the compiled ones), each
 * with the artifact store it is given. Two that share the store split the λ sweep between them and
 * get what one worker gets; one with a store of its own fails its stage with a non-retryable
 * ArtifactStoreError instead of computing on folders it cannot see.
 */
describe('workers on several hosts', () => {
  let env: TestWorkflowEnvironment;
  let pipeline: Worker | undefined;
  let pipelineRun: Promise<void> | undefined;
  let root: string;
  let workers: ChildProcess[] = [];

  const startTrainingWorker = async (artifacts: string): Promise<ChildProcess> => {
    const script = join(projectRoot, 'dist', 'workers', 'trainingWorker.js');
    if (!existsSync(script)) throw new Error(`${script} is missing: run \`make build\` first`);
    const ready = join(root, `ready-${workers.length}`);
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, CURIO_ARTIFACTS_DIR: artifacts, CURIO_WORKER_READY_FILE: ready },
      stdio: 'ignore',
      detached: true,
    });
    workers.push(child);
    await until('the training worker to poll', async () => (existsSync(ready) ? true : undefined), 120_000);
    return child;
  };
  const stopTrainingWorkers = async () => {
    for (const w of workers) {
      if (w.exitCode === null && w.signalCode === null && w.pid) {
        const exited = new Promise((r) => w.once('exit', r));
        process.kill(-w.pid, 'SIGTERM');
        await exited;
      }
    }
    workers = [];
  };
  /** The pipeline worker (in this process) on an artifact store: it reads CURIO_ARTIFACTS_DIR at each stage. */
  const usePipelineStore = (artifacts: string) => {
    process.env.CURIO_ARTIFACTS_DIR = artifacts;
  };

  const input = (id: string): RetrainInput => ({
    data: { dir: join(root, 'data') },
    experimentName: `multi-host-${id}`,
    registry: { modelName: `curio-recall-multi-host-${id}` },
    itemUnit: { epochs: 1, batchSize: 1024 },
    item2vec: { epochs: 1, batchSize: 2048 },
    keyword: { epochs: 1, frozenEpochs: 0 },
    multiInterest: { epochs: 1, sampledNegatives: 64 },
    // Three trials besides the stage's own λ (0.1): more than one worker takes at once.
    lambdaGrid: [0, 0.1, 0.5, 1],
    abTest: { bootstrapSamples: 100, pagesPerSession: 1 },
  });

  /** λ → the trial's validation recall, from an artifact store. */
  const trials = (artifacts: string) => {
    const dir = join(artifacts, 'multi_interest_trial');
    return Object.fromEntries(
      readdirSync(dir)
        .map((k) => readManifest<MultiInterestReport>(join(dir, k)))
        .filter((m) => m !== undefined)
        .map((m) => [m.report.lambda, { validRecall: m.report.multiInterest.valid.recall_at_50 }]),
    );
  };

  /** The identities of the workers that ran each λ trial's activities (from the child workflows' histories). */
  const trialWorkers = async (workflowId: string): Promise<Set<string>> => {
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const children = (history.events ?? []).flatMap((e) => (e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId ? [e.childWorkflowExecutionStartedEventAttributes.workflowExecution.workflowId] : []));
    expect(children.length).toBeGreaterThanOrEqual(3);
    const identities = new Set<string>();
    for (const child of children) {
      const events = (await env.client.workflow.getHandle(child).fetchHistory()).events ?? [];
      // The trial's training activity (its tracking activities run on the pipeline worker).
      const onTraining = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.taskQueue?.name === TRAINING_TASK_QUEUE).map((e) => String(e.eventId)));
      for (const e of events) {
        const started = e.activityTaskStartedEventAttributes;
        if (started?.identity && onTraining.has(String(started.scheduledEventId))) identities.add(started.identity);
      }
    }
    return identities;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'curio-hosts-'));
    process.env.CURIO_TRACKING_BUFFER_DIR = join(root, 'mlflow-buffer');
    env = await startTemporal();
    pipeline = await createPipelineWorker({ connection: env.nativeConnection, namespace: env.namespace ?? 'default' });
    pipelineRun = pipeline.run();
    await generateMarketplace({ scale: 'tiny', seed: 21, out: join(root, 'data') });
  });

  // A failed test must not leave its workers polling for the next one.
  afterEach(() => stopTrainingWorkers());

  afterAll(async () => {
    pipeline?.shutdown();
    await pipelineRun;
    await env?.teardown();
    rmSync(root, { recursive: true, force: true });
  });

  it('spreads the λ trials over two training workers that share the store, with the results of one worker', async () => {
    const store = join(root, 'store-b');
    usePipelineStore(store);
    await startTrainingWorker(store);
    const one = await env.client.workflow.execute(retrainRecall, { taskQueue: PIPELINE_TASK_QUEUE, workflowId: `one-worker-${Date.now()}`, args: [input('one')] });
    expect(one.recallAt50).toBeGreaterThan(0);
    const byOne = trials(store);
    expect(Object.keys(byOne).sort()).toEqual(['0', '0.5', '1']);
    await stopTrainingWorkers();

    // The same retrain again with two training workers, the trials' folders removed: the stages
    // before them are reused (the same inputs), and the trials run again, now split between two.
    // (A whole retrain from scratch is not reproducible to the bit: the load stage's DuckDB file
    // differs between runs, and with it every later key and the trained models.)
    rmSync(join(store, 'multi_interest_trial'), { recursive: true, force: true });
    await startTrainingWorker(store);
    await startTrainingWorker(store);
    const twoId = `two-workers-${Date.now()}`;
    const two = await env.client.workflow.execute(retrainRecall, { taskQueue: PIPELINE_TASK_QUEUE, workflowId: twoId, args: [input('one')] });
    expect((await trialWorkers(twoId)).size).toBe(2);
    expect(trials(store)).toEqual(byOne);
    expect(two.bestLambda).toBe(one.bestLambda);
    expect(two.recallAt50).toBe(one.recallAt50);
  }, 900_000);

  it('fails a stage whose worker has another artifact store, non-retryably, naming the folder and the fix', async () => {
    // The pipeline worker writes to store B; the only training worker has a store of its own.
    usePipelineStore(join(root, 'store-b'));
    await startTrainingWorker(join(root, 'store-elsewhere'));
    const handle = await env.client.workflow.start(retrainRecall, { taskQueue: PIPELINE_TASK_QUEUE, workflowId: `unshared-${Date.now()}`, args: [{ ...input('unshared'), itemUnit: { epochs: 2, batchSize: 1024 } }] });
    const row = await until(
      'the item_embedding stage to fail',
      async () => (await handle.query(progressQuery)).find((r) => r.stage === 'item_embedding' && r.status === 'waiting_for_retry'),
      120_000,
    );
    expect(row.errorType).toBe('ArtifactStoreError');
    expect(row.error).toMatch(/stage features's folder .* was written to artifact store .* every worker host must mount the same shared folder/);
    // Not retried by Temporal: the first attempt's failure is the stage's.
    expect(row.attempt).toBe(1);
    await handle.terminate('test done');
    await stopTrainingWorkers();
  }, 300_000);
});
