import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrackedRun } from '../../experiments/trackedRun';
import { Tracker, type TrackerOptions } from '../../experiments/tracking';

let counter = 0;
const buffers: string[] = [];

/** Removes the buffer folders testTracker made (call in afterAll). */
export function removeTestBuffers(): void {
  for (const d of buffers.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A tracker on the suite's MLflow with its own experiment and buffer, quiet about problems. */
export function testTracker(overrides: Partial<TrackerOptions> = {}): Tracker {
  counter++;
  return new Tracker({
    trackingUri: overrides.trackingUri ?? (process.env.MLFLOW_TRACKING_URI as string),
    experimentName: overrides.experimentName ?? `tracking-test-${Date.now()}-${process.pid}-${counter}`,
    bufferDir: overrides.bufferDir ?? newBufferDir(),
    autoFlush: false,
    onProblem: () => {},
    temporal: { uiUrl: 'http://127.0.0.1:8233', namespace: 'default' },
    ...overrides,
  });
}

function newBufferDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'curio-buffer-'));
  buffers.push(d);
  return d;
}

/** A small recall bundle on disk, in the layout registry.ts expects. */
export function writeBundle(dir: string, seed: number): string {
  mkdirSync(join(dir, 'user_model'), { recursive: true });
  mkdirSync(join(dir, 'item_unit'), { recursive: true });
  mkdirSync(join(dir, 'keyword_model'), { recursive: true });
  mkdirSync(join(dir, 'index'), { recursive: true });
  writeFileSync(join(dir, 'user_model', 'model.json'), JSON.stringify({ format: 'layers-model', seed }));
  writeFileSync(join(dir, 'user_model', 'weights.bin'), Buffer.from(new Float32Array([seed, 1, 2, 3]).buffer));
  writeFileSync(join(dir, 'item_unit', 'model.json'), JSON.stringify({ seed }));
  writeFileSync(join(dir, 'keyword_model', 'model.json'), JSON.stringify({ seed }));
  writeFileSync(join(dir, 'index', 'items.faiss'), Buffer.alloc(4096, seed));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ dim: 32, seed }));
  return dir;
}

export interface Tree {
  parent: TrackedRun;
  stages: TrackedRun[];
  models: TrackedRun[];
  sweeps: TrackedRun[];
  abEval: TrackedRun;
}

/**
 * One retrain as the workflow would log it: stages, three models with loss curves and Recall@K,
 * a two-point λ sweep, an A/B stage with CTR per arm and the lift's interval, headline metrics on
 * the parent. `quality` shifts every metric so two trees compare differently.
 */
export async function logRetrainTree(tracker: Tracker, opts: { workflowId: string; runId: string; quality: number; dim?: number }): Promise<Tree> {
  const q = opts.quality;
  const parent = await tracker.startRetrain({
    workflowId: opts.workflowId,
    temporalRunId: opts.runId,
    datasetDigest: `sha256:${opts.workflowId}`,
    scale: 'tiny',
    gitCommit: '0123456789abcdef0123456789abcdef01234567',
  });
  await parent.logParams({ 'config.dim': opts.dim ?? 32, 'config.epochs': 3, 'config.seed': 7 });
  const stages = [await parent.stage('features'), await parent.stage('tagging')];
  for (const s of stages) {
    await s.logMetrics({ duration_s: 1.5 });
    await s.end();
  }
  const models: TrackedRun[] = [];
  for (const name of ['item_unit', 'keyword_dssm', 'multi_interest']) {
    const m = await parent.model(name);
    await m.logParams({ dim: opts.dim ?? 32, lr: 0.01 });
    await m.logHistory('loss', [1.0, 0.7 - q / 10, 0.5 - q / 10]);
    await m.logMetrics({ recall_at_20: (3 + q) / 100, recall_at_50: (6 + q) / 100 });
    await m.end();
    models.push(m);
  }
  const sweeps: TrackedRun[] = [];
  for (const lambda of [0.05, 0.1]) {
    const s = await parent.sweep('lambda', lambda);
    await s.logHistory('loss', [1.1, 0.8, 0.6 + lambda]);
    await s.logMetrics({ recall_at_50: 0.05 + lambda / 10 + q / 100, diversity_at_50: 0.3 + lambda });
    await s.end();
    sweeps.push(s);
  }
  const abEval = await parent.stage('ab_eval');
  const lift = 0.15 + q / 20;
  await abEval.logMetrics({ ctr_control: 0.04, ctr_treatment: 0.04 * (1 + lift), ctr_lift: lift, ctr_lift_ci_low: lift - 0.05, ctr_lift_ci_high: lift + 0.05 });
  await abEval.end();
  await parent.logMetrics({ recall_at_50: (6 + q) / 100, ctr_lift: lift, ctr_lift_ci_low: lift - 0.05, ctr_lift_ci_high: lift + 0.05 });
  return { parent, stages, models, sweeps, abEval };
}
