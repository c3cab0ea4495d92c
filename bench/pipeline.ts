/**
 * End-to-end benchmark of the orchestrated retrain: `retrainRecall` with its default configs on a
 * freshly generated marketplace (tiny, then small), through a real Temporal dev server, a real MLflow
 * server, the pipeline worker and separate training-worker processes — the production layout.
 *
 * Prints, per scale: the workflow's wall time, each stage's time, and the orchestration overhead —
 * the share of the wall time during which no activity of the workflow or its λ-trial children was
 * running: (wall − |union of activity intervals|) / wall. The union, not the plain sum, because λ
 * trials may overlap; the plain sum is printed too. And each stage's peak resident memory, of the
 * worker process that ran it (training stages: the training worker; the others: this process, which
 * hosts the pipeline worker), from a separate sampler process reading /proc every 200 ms, so a busy
 * event loop cannot delay a sample. Stages that overlap share their process's figure. The last lines
 * are a markdown table of every scale run: seconds and peak MB per stage.
 *
 *   npm run bench:pipeline [-- tiny small medium] [--keep] [--input FILE.json]
 *
 * --input merges a JSON object into every scale's workflow input (the shape of `curio retrain
 * --input`): training budgets for a large run, or `{"data": {"dir": DIR}}` to retrain on a folder
 * `curio generate` wrote instead of generating inside the load stage. Each stage is printed as it
 * ends (its time and peak), so a run that does not finish still says how far it got; a stage that
 * waits for a retry ends the run with its error instead of waiting forever.
 *
 * --keep leaves the bench's MLflow server running and its folder in place, and prints how to serve
 * what it registered: `MLFLOW_TRACKING_URI=... npm run bench:serve -- --model curio-recall-bench-medium`
 * measures the recall API on the trained medium bundle.
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
import { trainingWorkerCount } from '../workers/trainingLayout';
import { freePort } from '../platform/freePort';
import { projectRoot, temporalBinary } from '../platform/paths';
import { mlflowSpec, TEMPORAL_SEARCH_ATTRIBUTES } from '../services/localServices';
import { startService, stopService } from '../services/processManager';
import { loadSettings } from '../platform/settings';
import { createPipelineWorker } from '../workers/createWorkers';
import { abortSignal, progressQuery, retrainRecall } from '../workflows/retrainRecall';
import { PIPELINE_TASK_QUEUE } from '../workflows/taskQueues';
import type { RetrainInput, Scale, StageRow } from '../workflows/types';

type Interval = [number, number];

/** Stages whose activities run on the training queue (workflows/retrainRecall.ts: `training.*` and `evaluator.*`). */
const TRAINING_STAGES = new Set(['item_embedding', 'keyword', 'multi_interest', 'lambda_sweep', 'evaluation', 'ab_test']);

/** Resident-memory samples (MB) of the worker processes, taken by a child process so this one's busy event loop cannot skip them. */
function rssSampler(pids: { pipeline: number; training: number[] }) {
  const all = [pids.pipeline, ...pids.training];
  const script = `
    const fs = require('node:fs');
    const rss = (pid) => { try { return Number(/VmRSS:\\s+(\\d+)/.exec(fs.readFileSync('/proc/' + pid + '/status', 'utf8'))[1]) / 1024; } catch { return -1; } };
    setInterval(() => process.stdout.write(Date.now() + ' ' + ${JSON.stringify(all)}.map(rss).join(' ') + '\\n'), 200);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const samples: { t: number; pipeline: number; training: number }[] = [];
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const [t, pipeline, ...training] = line.split(' ').map(Number) as [number, number, ...number[]];
      // Training stages may run on any training worker: the largest one stands for them.
      samples.push({ t, pipeline, training: Math.max(...training) });
    }
  });
  return {
    /** Highest sample of the pipeline or the largest training worker within [from, to] (ms); NaN when none fell inside. */
    peak(which: 'pipeline' | 'training', from: number, to: number): number {
      let best = Number.NaN;
      for (const x of samples) if (x.t >= from && x.t <= to && x[which] >= 0 && !(x[which] <= best)) best = x[which];
      return best;
    },
    stop: () => child.kill('SIGTERM'),
  };
}

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

/** The --input file: a JSON object merged into the workflow input. */
function readInputOverrides(args: string[]): Partial<RetrainInput> {
  const at = args.indexOf('--input');
  if (at < 0) return {};
  const file = args[at + 1];
  if (!file) throw new Error('--input needs a JSON file');
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${file}: the input must be a JSON object`);
  return parsed as Partial<RetrainInput>;
}

function stageLine(r: StageRow, peakMb: number, which: string): string {
  const seconds = (r.durationMs ?? 0) / 1000;
  return `  ${r.stage.padEnd(15)} ${r.status.padEnd(8)} ${seconds.toFixed(1).padStart(7)} s  peak RSS ${Number.isNaN(peakMb) ? '   -' : peakMb.toFixed(0).padStart(5)} MB (${which} worker)`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const keep = args.includes('--keep');
  const overrides = readInputOverrides(args);
  const positional = args.filter((a, i) => a !== '--keep' && a !== '--input' && args[i - 1] !== '--input');
  const scales = positional.length ? positional : ['tiny', 'small'];
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
  // As `curio workers up` lays them out (workers/trainingLayout.ts): several training workers, a share of the cores each.
  const trainerLogs = Array.from({ length: trainingWorkerCount() }, (_, i) => join(root, `training-worker-${i + 1}.log`));
  const trainers = trainerLogs.map((log) => startTrainingWorker(env.address, process.env, log));
  console.log(`pipeline benchmark on ${availableParallelism()} cores: retrainRecall with default configs${Object.keys(overrides).length ? ` and --input ${JSON.stringify(overrides)}` : ''}, fresh artifacts (nothing reused), ${trainers.length} training worker(s)\n`);
  const sampler = rssSampler({ pipeline: process.pid, training: trainers.map((t) => t.pid ?? -1) });
  const table: { scale: string; wall: number; stages: Map<string, { seconds: number; peakMb: number }> }[] = [];
  try {
    for (const scale of scales as Scale[]) {
      const workflowId = `bench-${scale}-${Date.now()}`;
      const t0 = Date.now();
      const handle = await env.client.workflow.start(retrainRecall, {
        taskQueue: PIPELINE_TASK_QUEUE,
        workflowId,
        args: [{ data: { generate: { scale, seed: 7 } }, experimentName: `bench-pipeline-${scale}`, registry: { modelName: `curio-recall-bench-${scale}` }, ...overrides }],
      });
      const printed = new Set<string>();
      const which = (stage: string) => (TRAINING_STAGES.has(stage) ? 'training' : 'pipeline');
      const peakOf = (r: StageRow) => {
        const from = r.startedAt ? Date.parse(r.startedAt) : Number.NaN;
        return sampler.peak(which(r.stage), from, from + (r.durationMs ?? 0));
      };
      // Followed while it runs: each stage on stderr as it ends, and a stage waiting for a retry stops the run.
      const follow = setInterval(() => {
        handle
          .query(progressQuery)
          .then(async (rows) => {
            for (const r of rows) {
              if (printed.has(r.stage) || r.status === 'pending' || r.status === 'running') continue;
              printed.add(r.stage);
              console.error(`${new Date().toISOString()} ${scale}${stageLine(r, peakOf(r), which(r.stage))}${r.error ? `: ${r.error}` : ''}`);
              if (r.status === 'waiting_for_retry') await handle.signal(abortSignal, `bench: ${r.stage} failed`);
            }
          })
          .catch(() => undefined);
      }, 15_000);
      let result: Awaited<ReturnType<typeof handle.result>>;
      try {
        result = await handle.result();
      } finally {
        clearInterval(follow);
      }
      const clientWall = (Date.now() - t0) / 1000;
      const rows = await handle.query(progressQuery);
      const { intervals, wall } = await activityIntervals(env.client, workflowId);
      const wallMs = wall[1] - wall[0];
      const busy = unionLength(intervals);
      const sum = intervals.reduce((a, [s, e]) => a + e - s, 0);
      console.log(`scale ${scale}: end to end ${clientWall.toFixed(1)} s (workflow history ${(wallMs / 1000).toFixed(1)} s)`);
      const stages = new Map<string, { seconds: number; peakMb: number }>();
      for (const r of rows) {
        const peakMb = peakOf(r);
        stages.set(r.stage, { seconds: (r.durationMs ?? 0) / 1000, peakMb });
        console.log(stageLine(r, peakMb, which(r.stage)));
      }
      table.push({ scale, wall: clientWall, stages });
      console.log(
        `  activities: ${intervals.length}, sum ${(sum / 1000).toFixed(1)} s, busy (union) ${(busy / 1000).toFixed(1)} s\n` +
          `  orchestration overhead (wall − busy) / wall: ${((100 * (wallMs - busy)) / wallMs).toFixed(2)}%\n` +
          `  multi-interest Recall@50 ${(100 * result.recallAt50).toFixed(2)}% vs item-CF ${(100 * result.itemCfRecallAt50).toFixed(2)}%` +
          (result.ctrLift !== undefined ? `; A/B CTR lift ${(100 * result.ctrLift).toFixed(1)}%` : '') +
          '\n',
      );
    }
    const names = [...new Set(table.flatMap((t) => [...t.stages.keys()]))];
    console.log(`| stage | ${table.map((t) => `${t.scale}: s / peak MB`).join(' | ')} |`);
    console.log(`| --- | ${table.map(() => '---').join(' | ')} |`);
    for (const name of names) {
      console.log(`| ${name} | ${table.map((t) => { const x = t.stages.get(name); return x ? `${x.seconds.toFixed(0)} / ${Number.isNaN(x.peakMb) ? '-' : x.peakMb.toFixed(0)}` : '-'; }).join(' | ')} |`);
    }
    console.log(`| end to end | ${table.map((t) => `${t.wall.toFixed(0)} s`).join(' | ')} |`);
  } catch (err) {
    for (const log of trainerLogs) console.error(`${log} (last lines):\n${readFileSync(log, 'utf8').split('\n').slice(-20).join('\n')}`);
    throw err;
  } finally {
    sampler.stop();
    for (const t of trainers) if (t.pid) process.kill(-t.pid, 'SIGTERM');
    pipeline.shutdown();
    await pipelineRun;
    await env.teardown();
    if (keep) {
      console.log(`\n--keep: MLflow still runs at ${process.env.MLFLOW_TRACKING_URI} (pid file ${mlflow.pidFile}), its folder is ${root}.`);
      console.log(`  serve a bundle:  MLFLOW_TRACKING_URI=${process.env.MLFLOW_TRACKING_URI} npm run bench:serve -- --model curio-recall-bench-${scales[scales.length - 1]} --scales ''`);
      console.log(`  then stop it:    kill -- -$(cat ${mlflow.pidFile}); rm -rf ${root}`);
    } else {
      await stopService(mlflow, () => undefined);
      rmSync(root, { recursive: true, force: true });
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
