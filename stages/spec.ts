import type { TrackedRun } from '../experiments/trackedRun';
import type { Progress } from '../models/training';
import type { StageRef } from '../workflows/types';

/**
 * What a stage is, in one place: its name (the folder under the artifacts root and its MLflow run),
 * the worker queue it runs on, what its output depends on (hashed into the folder's key), how it
 * runs, its headline numbers, what it tracks to MLflow, and the files it writes. The activities run
 * a spec through one generic runner (activities/stageRunner.ts `runSpec`); `curio train`
 * (stages/localRetrain.ts) runs the same specs with the same keys, so the two share every folder.
 *
 * A spec module is loaded by the pipeline worker too (it tracks every stage), so it imports nothing
 * that loads TensorFlow at the top: a training's `run` imports its implementation when it runs.
 */

/** Where a stage writes and how it reports. */
export interface StageIo {
  out: string;
  /** This attempt's own scratch (checkpoints), seeded from the previous attempt's; survives a crash. */
  scratch: string;
  onProgress?: (p: Progress) => void;
  phase?: (name: string) => void;
  /** Aborted when the stage is cancelled (the retrain's abort); trainings stop at their next step. */
  signal?: AbortSignal;
}

/** A finished upstream stage as a stage reads it: its folder and the content hash of its files. */
export type StageOutput = Pick<StageRef, 'dir' | 'digest'>;

/** What a spec's `track` gets: the stage's MLflow run, model runs under the retrain, the folder. */
export interface TrackContext {
  run: TrackedRun;
  model: (name: string) => Promise<TrackedRun>;
  ref: StageRef;
}

export type StageFiles = Readonly<Record<string, string>>;

export interface StageSpec<I, R, F extends StageFiles = StageFiles> {
  name: string;
  queue: 'pipeline' | 'training';
  /** The files the stage writes that other stages, the registry or users read, by role. */
  files: F;
  /** Everything the output depends on (upstream digests, config); its content hash names the folder. */
  key(input: I): unknown;
  run(input: I, io: StageIo): Promise<R>;
  /** A few headline numbers for the progress table, the UI and the stage run's metrics. */
  summary(report: R, input: I): Record<string, number | string>;
  /** What MLflow gets from the finished folder beyond the summary: metrics, curves, model runs, artifacts. */
  track(ctx: TrackContext): Promise<void>;
}

/** `defineStage<Input, Report>()({...})`: the input and report types given, the file names inferred. */
export function defineStage<I, R>() {
  return <const F extends StageFiles>(spec: StageSpec<I, R, F>): StageSpec<I, R, F> => spec;
}
