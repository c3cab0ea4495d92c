import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { generateMarketplace } from '../data/generator/generate';
import type { ItemEmbeddingReport } from '../stages/modelStages';
import { projectRoot } from '../platform/paths';
import { createPipelineWorker } from '../workers/createWorkers';
import { progressQuery, retrainRecall } from '../workflows/retrainRecall';
import { PIPELINE_TASK_QUEUE } from '../workflows/taskQueues';
import { startTemporal } from './helpers/temporal';

/**
 * SIGKILL of the training worker in mid-epoch: the activity's heartbeats stop, Temporal retries it on
 * a new training worker, and the new attempt resumes from the last checkpoint instead of epoch 0.
 * The training worker runs as its own process (the compiled one from `make build`), as in production.
 */
describe('a killed training worker', () => {
  let env: TestWorkflowEnvironment;
  let pipeline: Worker;
  let pipelineRun: Promise<void>;
  let root: string;
  const trainers: ChildProcess[] = [];

  function startTrainingWorker(): ChildProcess {
    const script = join(projectRoot, 'dist', 'workers', 'trainingWorker.js');
    if (!existsSync(script)) throw new Error(`${script} is missing: run \`make build\` first`);
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, CURIO_WORKER_READY_FILE: '' },
      stdio: 'ignore',
      detached: true,
    });
    trainers.push(child);
    return child;
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'curio-crash-'));
    process.env.CURIO_ARTIFACTS_DIR = join(root, 'artifacts');
    process.env.CURIO_TRACKING_BUFFER_DIR = join(root, 'mlflow-buffer');
    env = await startTemporal();
    pipeline = await createPipelineWorker({ connection: env.nativeConnection, namespace: env.namespace ?? 'default' });
    pipelineRun = pipeline.run();
  });

  afterAll(async () => {
    for (const t of trainers) {
      if (t.exitCode !== null || t.signalCode !== null || !t.pid) continue;
      try {
        process.kill(-t.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    pipeline?.shutdown();
    await pipelineRun;
    await env?.teardown();
    rmSync(root, { recursive: true, force: true });
  });

  it('resumes the item-unit training from its checkpoint, not from epoch 0, and the retrain completes', async () => {
    await generateMarketplace({ scale: 'tiny', seed: 9, out: join(root, 'data') });
    const workflowId = `crash-${Date.now()}`;
    const handle = await env.client.workflow.start(retrainRecall, {
      taskQueue: PIPELINE_TASK_QUEUE,
      workflowId,
      args: [
        {
          data: { dir: join(root, 'data') },
          experimentName: `crash-test-${Date.now()}`,
          registry: { modelName: `curio-recall-crash-${Date.now()}` },
          // Enough item-unit epochs to kill it in the middle; everything else as small as it goes.
          itemUnit: { epochs: 6, batchSize: 1024 },
          item2vec: { epochs: 1, batchSize: 2048 },
          keyword: { epochs: 1, frozenEpochs: 0 },
          multiInterest: { epochs: 1, sampledNegatives: 64 },
          lambdaGrid: [0],
          abTest: { bootstrapSamples: 100, pagesPerSession: 1 },
          timeouts: { trainingHeartbeatSeconds: 10 },
        },
      ],
    });
    const first = startTrainingWorker();

    // Wait until the item-unit has checkpointed at least one epoch, then kill the worker mid-epoch.
    const stageRoot = join(root, 'artifacts', 'item_embedding');
    const checkpointed = () =>
      existsSync(stageRoot) &&
      readdirSync(stageRoot)
        .filter((d) => d.endsWith('.scratch'))
        // Each attempt has its own scratch folder under <key>.scratch/.
        .flatMap((d) => readdirSync(join(stageRoot, d)).map((attempt) => join(stageRoot, d, attempt, 'item_unit')))
        .some((dir) => {
          // Older checkpoints are pruned as newer ones land, so look for any complete epoch.
          return existsSync(dir) && readdirSync(dir).some((e) => /^epoch-\d+$/.test(e) && existsSync(join(dir, e, 'meta.json')));
        });
    const deadline = Date.now() + 120_000;
    while (!checkpointed()) {
      if (Date.now() > deadline) throw new Error('the item-unit never checkpointed its first epoch');
      await new Promise((r) => setTimeout(r, 200));
    }
    process.kill(-(first.pid as number), 'SIGKILL');
    startTrainingWorker();

    // The stage completes on the new worker (a second attempt), and so does the whole retrain.
    const result = await handle.result();
    expect(result.recallAt50).toBeGreaterThan(0);
    const row = (await handle.query(progressQuery)).find((r) => r.stage === 'item_embedding');
    expect(row?.status).toBe('done');
    expect(Number(row?.summary?.activityAttempt)).toBeGreaterThanOrEqual(2);

    const finished = readdirSync(stageRoot).find((d) => existsSync(join(stageRoot, d, 'manifest.json'))) as string;
    const report = JSON.parse(readFileSync(join(stageRoot, finished, 'report.json'), 'utf8')) as ItemEmbeddingReport;
    // The last attempt started after a checkpointed epoch and ran only the epochs after it.
    expect(report.itemUnit.resumedFromEpoch).toBeGreaterThanOrEqual(1);
    expect(report.itemUnit.epochsRun[0]).toBe(report.itemUnit.resumedFromEpoch + 1);
    expect(report.itemUnit.epochsRun).not.toContain(1);
    expect(report.itemUnit.epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
