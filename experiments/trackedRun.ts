import { stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { StagedFile } from './journal';
import type { TrackingMemo } from './lineage';
import { listFiles } from './localFiles';
import type { Metric } from './mlflowClient';
import { checkArtifactPath, checkName, LIMITS, paramString, sweepPointName, TrackingInputError, type ParamValue, type RunKind, type RunRef } from './naming';
import { errorMessage, type LogResult, type TerminalStatus, type TrackingOp, type TrackingProblem } from './trackingOps';

/** What a run handle needs from the tracker (experiments/tracking.ts implements it). */
export interface RunSink {
  readonly strict: boolean;
  submit(op: TrackingOp, staged?: StagedFile[]): Promise<LogResult>;
  validate<T>(ref: RunRef, entries: [string, T][], check: (name: string, value: T) => void): [string, T][];
  cleanTagsFor(ref: RunRef, tags: Record<string, string>): Record<string, string>;
  report(problem: TrackingProblem): void;
  child(parent: RunRef, kind: Exclude<RunKind, 'retrain'>, name: string, options?: { runName?: string; tags?: Record<string, string> }): Promise<TrackedRun>;
  lookup(ref: RunRef): Promise<{ runId: string; experimentId: string; url: string } | undefined>;
  memo(ref: RunRef): Promise<TrackingMemo>;
}

/** A run of the tree, addressed by its key. Cheap to create; every call is idempotent. */
export class TrackedRun {
  constructor(
    readonly tracker: RunSink,
    readonly ref: RunRef,
  ) {}

  get key(): string {
    return this.ref.key;
  }

  child(kind: Exclude<RunKind, 'retrain'>, name: string, options?: { runName?: string; tags?: Record<string, string> }): Promise<TrackedRun> {
    return this.tracker.child(this.ref, kind, name, options);
  }

  stage(name: string, options?: { runName?: string; tags?: Record<string, string> }): Promise<TrackedRun> {
    return this.child('stage', name, options);
  }

  model(name: string, options?: { runName?: string; tags?: Record<string, string> }): Promise<TrackedRun> {
    return this.child('model', name, options);
  }

  /** One point of a sweep, e.g. sweep('lambda', 0.1) → key `.../sweep:lambda=0.1`, param lambda=0.1 logged. */
  async sweep(param: string, value: number | string, options?: { runName?: string; tags?: Record<string, string> }): Promise<TrackedRun> {
    const run = await this.child('sweep', sweepPointName(param, value), options);
    await run.logParams({ [param]: value });
    return run;
  }

  /** Logs params; re-logging a value already there is a no-op, a different value is a conflict. */
  async logParams(params: Record<string, ParamValue>): Promise<LogResult> {
    const ok = this.tracker.validate(this.ref, Object.entries(params), (k, v) => {
      checkName('param', k);
      if (!['string', 'number', 'boolean'].includes(typeof v)) throw new TrackingInputError(`param ${k} must be a string, number or boolean`);
      if (paramString(v).length > LIMITS.paramValue) throw new TrackingInputError(`param ${k} is longer than ${LIMITS.paramValue} characters`);
    });
    if (!ok.length) return emptyResult(Object.keys(params).length > 0);
    return this.tracker.submit({ type: 'logParams', run: this.ref, params: Object.fromEntries(ok.map(([k, v]) => [k, paramString(v)])) });
  }

  /** Logs several metrics at one step (default 0). A (metric, step) already logged is skipped. */
  async logMetrics(values: Record<string, number>, options: { step?: number; timestamp?: number } = {}): Promise<LogResult> {
    const step = options.step ?? 0;
    const timestamp = options.timestamp ?? Date.now();
    return this.logPoints(Object.entries(values).map(([key, value]) => ({ key, value, step, timestamp })));
  }

  /** A whole curve at once, e.g. loss per epoch: values[i] at step startStep + i. */
  async logHistory(key: string, values: number[], startStep = 0): Promise<LogResult> {
    const timestamp = Date.now();
    return this.logPoints(values.map((value, i) => ({ key, value, step: startStep + i, timestamp: timestamp + i })));
  }

  async logPoints(points: Metric[]): Promise<LogResult> {
    const ok = this.tracker.validate(
      this.ref,
      points.map((p) => [p.key, p] as [string, Metric]),
      (k, p) => {
        checkName('metric', k);
        if (typeof p.value !== 'number') throw new TrackingInputError(`metric ${k} must be a number`);
        if (!Number.isSafeInteger(p.step) || p.step < 0) throw new TrackingInputError(`metric ${k}: step must be a non-negative integer, got ${p.step}`);
        if (!Number.isSafeInteger(p.timestamp)) throw new TrackingInputError(`metric ${k}: timestamp must be an integer (epoch ms)`);
      },
    );
    if (!ok.length) return emptyResult(points.length > 0);
    return this.tracker.submit({ type: 'logMetrics', run: this.ref, metrics: ok.map(([, p]) => p) });
  }

  async setTags(tags: Record<string, string>): Promise<LogResult> {
    const clean = this.tracker.cleanTagsFor(this.ref, tags);
    if (!Object.keys(clean).length) return emptyResult(Object.keys(tags).length > 0);
    return this.tracker.submit({ type: 'setTags', run: this.ref, tags: clean });
  }

  /** Uploads a local folder recursively under `artifactPath` (default: the artifact root). */
  async logArtifacts(localDir: string, artifactPath = ''): Promise<LogResult> {
    let files: { path: string; source: string }[];
    try {
      const dest = checkArtifactPath(artifactPath);
      const rels = await listFiles(localDir);
      files = rels.map((rel) => ({ path: dest ? `${dest}/${rel}` : rel, source: join(localDir, ...rel.split('/')) }));
    } catch (err) {
      if (this.tracker.strict) throw err;
      this.tracker.report({ kind: 'invalid', message: `${this.key}: cannot log artifacts from ${localDir}: ${errorMessage(err)}`, runKey: this.key });
      return { status: 'failed', written: 0, skipped: 0, error: errorMessage(err) };
    }
    if (!files.length) return emptyResult(false);
    return this.tracker.submit({ type: 'logArtifacts', run: this.ref, files }, files.map((f) => ({ source: f.source, rel: f.path })));
  }

  /** Uploads one file to `artifactPath` (a full path; default: the file's name at the root). */
  async logArtifact(localFile: string, artifactPath?: string): Promise<LogResult> {
    let path: string;
    try {
      path = checkArtifactPath(artifactPath ?? localFile.split(sep).pop() ?? 'artifact');
      if (!(await stat(localFile)).isFile()) throw new TrackingInputError(`${localFile} is not a file`);
    } catch (err) {
      if (this.tracker.strict) throw err;
      this.tracker.report({ kind: 'invalid', message: `${this.key}: cannot log artifact ${localFile}: ${errorMessage(err)}`, runKey: this.key });
      return { status: 'failed', written: 0, skipped: 0, error: errorMessage(err) };
    }
    return this.tracker.submit({ type: 'logArtifacts', run: this.ref, files: [{ path, source: localFile }] }, [{ source: localFile, rel: path }]);
  }

  /** Ends the run (default FINISHED); a retry's later `open` reopens it. */
  async end(status: TerminalStatus = 'FINISHED'): Promise<LogResult> {
    return this.tracker.submit({ type: 'endRun', run: this.ref, status });
  }

  lookup(): Promise<{ runId: string; experimentId: string; url: string } | undefined> {
    return this.tracker.lookup(this.ref);
  }

  memo(): Promise<TrackingMemo> {
    return this.tracker.memo(this.ref);
  }
}

function emptyResult(hadInput: boolean): LogResult {
  return hadInput ? { status: 'failed', written: 0, skipped: 0, error: 'every entry was invalid' } : { status: 'sent', written: 0, skipped: 0 };
}
