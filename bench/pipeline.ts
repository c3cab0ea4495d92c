/**
 * End-to-end benchmark of the orchestrated retrain: `retrainRecall` with its default configs on a
 * freshly generated marketplace (tiny, then small), through a real Temporal dev server, a real MLflow
 * server, the pipeline worker and a separate training-worker process — the production layout.
 *
 * Prints, per scale: the workflow's wall time, each stage's time, and the orchestration overhead —
 * the share of the wall time during which no activity of the workflow or its λ-trial children was
 * running: (wall − |union of activity intervals|) / wall. The union, not the plain sum, because λ
 * trials may overlap; the plain sum is printed too.
 *
 *   npm run bench:pipeline [-- tiny small]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineSearchAttributeKey, tsToMs } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { isScaleName } from '../data/generator/scales';
import { freePort } from '../platform/freePort';
import { projectRoot, temporalBinary } from '../platform/paths';
import { mlflowSpec, TEMPORAL_SEARCH_ATTRIBUTES } from '../services/localServices';
import { startService, stopService } from '../services/processManager';
import { loadSettings } from '../platform/settings';
import { createPipelineWorker } from '../workers/createWorkers';
import { progressQuery, retrainRecall } from '../workflows/retrainRecall';
import { PIPELINE_TASK_QUEUE } from '../workflows/taskQueues';
import type { Scale } from '../workflows/types';

type Interval = [number, number];

/** Activity run intervals (last attempt's start → close) of one workflow run, and its children. */
async function activityIntervals(client: Client, workflowId: string, runId?: string): Promise<{ intervals: Interval[]; wall: Interval }> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const started = new Map<string, number>();
  const intervals: Interval[] = [];
  const children: { workflowId: string; runId: string }[] = [];
  for (const e of events) {
    const t = tsToMs(e.eventTime);
    // Each event carries exactly one attributes field, which names its type.
    if (e.activityTaskStartedEventAttributes) {
      started.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), t);
    } else if (e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes) {
      const a = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
      const s = started.get(String(a?.scheduledEventId));
      if (s !== undefined) intervals.push([s, t]);
    } else if (e.childWorkflowExecutionStartedEventAttributes) {
      const x = e.childWorkflowExecutionStartedEventAttributes.workflowExecution;
      if (x?.workflowId && x.runId) children.push({ workflowId: x.workflowId, runId: x.runId });
    }
  }
  for (const c of children) intervals.push(...(await activityIntervals(client, c.workflowId, c.runId)).intervals);
  const first = events[0];
  const last = events[events.length - 1];
  return { intervals, wall: [tsToMs(first?.eventTime), tsToMs(last?.eventTime)] };
}

function unionLength(intervals: Interval[]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur: Interval | undefined;
  for (const [s, e] of sorted) {
    if (!cur || s > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [s, e];
    } else cur[1] = Math.max(cur[1], e);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

function startTrainingWorker(address: string, env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const script = join(projectRoot, 'dist', 'workers', 'trainingWorker.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`make build\` first`);
  const log = openSync(logFile, 'a');
  return spawn(process.execPath, [script], { env: { ...env, TEMPORAL_ADDRESS: address, CURIO_WORKER_READY_FILE: '' }, stdio: ['ignore', log, log], detached: true });
}

async function main(): Promise<void> {
  const scales = process.argv.slice(2).length ? process.argv.slice(2) : ['tiny', 'small'];
  for (const s of scales) if (!isScaleName(s)) throw new Error(`unknown scale ${s}; use tiny, small, medium or large`);

  // Worker state changes at INFO would drown the figures.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const root = mkdtempSync(join(tmpdir(), 'curio-bench-pipeline-'));
  process.env.CURIO_ARTIFACTS_DIR = join(root, 'artifacts');
  process.env.CURIO_TRACKING_BUFFER_DIR = join(root, 'mlflow-buffer');
  const mlflowPort = await freePort();
  mkdirSync(join(root, 'mlflow'));
  const mlflow = { ...mlflowSpec({ ...loadSettings(), mlflowPort }, join(root, 'mlflow')), name: 'mlflow (bench)', pidFile: join(root, 'mlflow.pid'), logFile: join(root, 'mlflow.log') };
  await startService(mlflow);
  process.env.MLFLOW_TRACKING_URI = `http://127.0.0.1:${mlflowPort}`;

  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinary },
      ip: '127.0.0.1',
      searchAttributes: Object.keys(TEMPORAL_SEARCH_ATTRIBUTES).map((name) => defineSearchAttributeKey(name, 'KEYWORD')),
    },
  });
  const pipeline = await createPipelineWorker({ connection: env.nativeConnection, namespace: env.namespace ?? 'default' });
  const pipelineRun = pipeline.run();
  const trainerLog = join(root, 'training-worker.log');
  const trainer = startTrainingWorker(env.address, process.env, trainerLog);
  console.log(`pipeline benchmark on ${availableParallelism()} cores: retrainRecall with default configs, fresh artifacts (nothing reused)\n`);
  try {
    for (const scale of scales as Scale[]) {
      const workflowId = `bench-${scale}-${Date.now()}`;
      const t0 = Date.now();
      const handle = await env.client.workflow.start(retrainRecall, {
        taskQueue: PIPELINE_TASK_QUEUE,
        workflowId,
        args: [{ data: { generate: { scale, seed: 7 } }, experimentName: `bench-pipeline-${scale}`, registry: { modelName: `curio-recall-bench-${scale}` } }],
      });
      const result = await handle.result();
      const clientWall = (Date.now() - t0) / 1000;
      const rows = await handle.query(progressQuery);
      const { intervals, wall } = await activityIntervals(env.client, workflowId);
      const wallMs = wall[1] - wall[0];
      const busy = unionLength(intervals);
      const sum = intervals.reduce((a, [s, e]) => a + e - s, 0);
      console.log(`scale ${scale}: end to end ${clientWall.toFixed(1)} s (workflow history ${(wallMs / 1000).toFixed(1)} s)`);
      for (const r of rows) console.log(`  ${r.stage.padEnd(15)} ${r.status.padEnd(8)} ${((r.durationMs ?? 0) / 1000).toFixed(1).padStart(7)} s`);
      console.log(
        `  activities: ${intervals.length}, sum ${(sum / 1000).toFixed(1)} s, busy (union) ${(busy / 1000).toFixed(1)} s\n` +
          `  orchestration overhead (wall − busy) / wall: ${((100 * (wallMs - busy)) / wallMs).toFixed(2)}%\n` +
          `  multi-interest Recall@50 ${(100 * result.recallAt50).toFixed(2)}% vs item-CF ${(100 * result.itemCfRecallAt50).toFixed(2)}%` +
          (result.ctrLift !== undefined ? `; A/B CTR lift ${(100 * result.ctrLift).toFixed(1)}%` : '') +
          '\n',
      );
    }
  } catch (err) {
    console.error(`training worker log (last lines):\n${readFileSync(trainerLog, 'utf8').split('\n').slice(-20).join('\n')}`);
    throw err;
  } finally {
    if (trainer.pid) process.kill(-trainer.pid, 'SIGTERM');
    pipeline.shutdown();
    await pipelineRun;
    await env.teardown();
    await stopService(mlflow, () => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
