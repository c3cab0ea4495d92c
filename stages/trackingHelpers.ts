import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrackedRun } from '../experiments/trackedRun';
import type { EpochStats } from '../models/training';
import type { TrackContext } from './spec';

/** What the specs' `track` share: reading a finished folder and logging it to MLflow. */

export function readReport<T>(dir: string, file = 'report.json'): T | undefined {
  const p = join(dir, file);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as T) : undefined;
}

/** Numbers of a (nested) report as metrics, `a.b.c` → `a_b_c`. */
export function numericMetrics(value: unknown, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  if (typeof value === 'number' && Number.isFinite(value)) out[prefix] = value;
  else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) numericMetrics(v, prefix ? `${prefix}_${k}` : k, out);
  }
  return out;
}

export interface TrainingLog {
  epochs: EpochStats[];
  seconds: number;
  rssGrowthMb: number;
  resumedFromEpoch: number;
}

export async function logTraining(run: TrackedRun, t: TrainingLog | undefined): Promise<void> {
  if (!t) return;
  await run.logHistory('loss', t.epochs.map((e) => e.loss), 1);
  await run.logHistory('examples_per_second', t.epochs.map((e) => e.examplesPerSecond), 1);
  await run.logHistory('rss_mb', t.epochs.map((e) => e.rssMb), 1);
  await run.logMetrics({ training_seconds: t.seconds, rss_growth_mb: t.rssGrowthMb, resumed_from_epoch: t.resumedFromEpoch });
}

export async function uploadIfPresent(run: TrackedRun, dir: string, names: readonly string[], under = ''): Promise<void> {
  for (const n of names) {
    const p = join(dir, n);
    if (!existsSync(p)) continue;
    const target = under ? `${under}/${n}` : n;
    if (n.includes('.')) await run.logArtifact(p, target);
    else await run.logArtifacts(p, target);
  }
}

/** The default: every number of report.json as a metric, and the report itself. */
export async function trackReport(ctx: TrackContext): Promise<void> {
  await ctx.run.logMetrics(numericMetrics(readReport(ctx.ref.dir)));
  await uploadIfPresent(ctx.run, ctx.ref.dir, ['report.json']);
}
