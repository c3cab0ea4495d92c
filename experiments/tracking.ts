import type { StagedFile } from './journal';
import { Journal } from './journal';
import { detectGitCommit, mlflowRunUrl, temporalRunUrl, type TrackingMemo } from './lineage';
import { MlflowClient } from './mlflowClient';
import { checkName, childRef, LIMITS, retrainRef, TAGS, TrackingInputError, validateRunRef, type RunKind, type RunRef } from './naming';
import { RunResolver } from './runResolver';
import { RunWriter } from './runWriter';
import { TrackedRun, type RunSink } from './trackedRun';
import { TrackingBuffer } from './trackingBuffer';
import { errorMessage, isTransient, ParamConflictError, TrackingError, type FlushResult, type LogResult, type TrackingOp, type TrackingProblem } from './trackingOps';

/**
 * Experiment tracking for Curio's retrains: one MLflow run tree per workflow execution, written
 * through idempotent, key-addressed operations so activity retries never duplicate anything, with a
 * durable local buffer for when MLflow is down. Activities call plain methods here; nothing depends
 * on Temporal. docs/tracking.md explains the run tree, keys and buffer.
 *
 * The Tracker is the facade; each concern is its own module: the operations and errors
 * (trackingOps.ts), finding runs by key (runResolver.ts), applying operations idempotently
 * (runWriter.ts), the durable buffer (trackingBuffer.ts) and the run handle (trackedRun.ts).
 */

export interface TrackerOptions {
  trackingUri: string;
  /** MLflow experiment every run of the tree lives in (MLflow nests runs only within one). */
  experimentName?: string;
  /** The durable buffer's folder. */
  bufferDir: string;
  /** Throw tracking errors (and never buffer) instead of reporting them. */
  strict?: boolean;
  /** Retry buffered operations in the background (an unref'd timer). */
  autoFlush?: boolean;
  /** While MLflow is down: how often a background flush tries again. */
  retryIntervalMs?: number;
  /** Per-request timeout; an answer slower than this counts as "unreachable" and buffers. */
  requestTimeoutMs?: number;
  /** Where the retrain's Temporal UI link points (tag `curio.temporal.ui_url`). */
  temporal?: { uiUrl: string; namespace: string };
  /** Receives every problem in non-strict mode; default: console.warn. */
  onProblem?: (problem: TrackingProblem) => void;
  /** Inject a client (tests); default: one built from trackingUri with few retries. */
  client?: MlflowClient;
}

export const DEFAULT_EXPERIMENT = 'curio-retrain';

export interface RetrainInfo {
  workflowId: string;
  temporalRunId: string;
  datasetDigest: string;
  scale: string;
  /** Default: $CURIO_GIT_COMMIT or `git rev-parse HEAD`. */
  gitCommit?: string;
  /** Overrides the tracker's `temporal` option for this run. */
  temporal?: { uiUrl: string; namespace: string };
  /** Run name in the MLflow UI; default `retrain <workflowId>`. */
  name?: string;
  tags?: Record<string, string>;
}

export class Tracker implements RunSink {
  readonly trackingUri: string;
  readonly experimentName: string;
  readonly strict: boolean;
  readonly client: MlflowClient;
  readonly journal: Journal<TrackingOp>;
  private readonly options: TrackerOptions;
  private readonly problemLog: TrackingProblem[] = [];
  private readonly runs: RunResolver;
  private readonly writer: RunWriter;
  private readonly buffer: TrackingBuffer;

  constructor(options: TrackerOptions) {
    if (!options.trackingUri) throw new TrackingInputError('trackingUri is required');
    try {
      new URL(options.trackingUri);
    } catch {
      throw new TrackingInputError(`trackingUri '${options.trackingUri}' is not a URL`);
    }
    if (!options.bufferDir) throw new TrackingInputError('bufferDir is required');
    this.options = options;
    this.trackingUri = options.trackingUri.replace(/\/+$/, '');
    this.experimentName = options.experimentName ?? DEFAULT_EXPERIMENT;
    this.strict = options.strict ?? false;
    // Few retries: while MLflow is down every operation should reach the journal quickly.
    this.client = options.client ?? new MlflowClient(this.trackingUri, { retries: 1, timeoutMs: options.requestTimeoutMs ?? 10_000 });
    this.journal = new Journal<TrackingOp>(options.bufferDir);
    this.runs = new RunResolver(this.client, this.experimentName);
    this.writer = new RunWriter(this.client, this.runs);
    this.buffer = new TrackingBuffer(this.journal, this.writer, (p) => this.report(p), {
      trackingUri: this.trackingUri,
      autoFlush: options.autoFlush ?? true,
      retryIntervalMs: options.retryIntervalMs ?? 5000,
    });
  }

  // ---- opening runs ------------------------------------------------------------------

  /** Opens (finds or creates) the parent run of one retrain, with its lineage tags. */
  async startRetrain(info: RetrainInfo): Promise<TrackedRun> {
    const ref = retrainRef(info.workflowId, info.temporalRunId, info.name);
    for (const [k, v] of Object.entries({ datasetDigest: info.datasetDigest, scale: info.scale })) {
      if (typeof v !== 'string' || !v) throw new TrackingInputError(`retrain ${k} must be a non-empty string`);
    }
    const temporal = info.temporal ?? this.options.temporal;
    const gitCommit = info.gitCommit ?? detectGitCommit();
    const tags: Record<string, string> = {
      ...info.tags,
      [TAGS.workflowId]: info.workflowId,
      [TAGS.temporalRunId]: info.temporalRunId,
      [TAGS.datasetDigest]: info.datasetDigest,
      [TAGS.scale]: info.scale,
      [TAGS.mlflowSourceName]: 'curio retrain',
      ...(gitCommit ? { [TAGS.gitCommit]: gitCommit, [TAGS.mlflowGitCommit]: gitCommit } : {}),
      ...(temporal
        ? {
            [TAGS.temporalNamespace]: temporal.namespace,
            [TAGS.temporalUiUrl]: temporalRunUrl(temporal.uiUrl, temporal.namespace, info.workflowId, info.temporalRunId),
          }
        : {}),
    };
    return this.open(ref, tags);
  }

  /**
   * Finds or creates the run `ref` (and any missing ancestors), sets `tags`, and reopens it if an
   * earlier attempt ended it. Call it at the start of every activity attempt: it also refreshes
   * what the tracker knows of the run, so a retry sees what earlier attempts logged.
   */
  async open(ref: RunRef, tags: Record<string, string> = {}): Promise<TrackedRun> {
    validateRunRef(ref);
    const clean = this.cleanTags(ref, tags);
    await this.submit({ type: 'ensureRun', run: ref, tags: clean });
    return new TrackedRun(this, ref);
  }

  /** A handle without contacting the server; the first operation creates the run if needed. */
  attach(ref: RunRef): TrackedRun {
    validateRunRef(ref);
    return new TrackedRun(this, ref);
  }

  /** Opens the child `kind:name` of `parent`. */
  async child(parent: RunRef, kind: Exclude<RunKind, 'retrain'>, name: string, options: { runName?: string; tags?: Record<string, string> } = {}): Promise<TrackedRun> {
    return this.open(childRef(parent, kind, name, options.runName), options.tags);
  }

  // ---- lineage -----------------------------------------------------------------------

  /** The run id and UI URL of a key, or undefined while unknown (not created yet, or MLflow down). */
  async lookup(ref: RunRef): Promise<{ runId: string; experimentId: string; url: string } | undefined> {
    let state = this.runs.cached(ref.key);
    if (!state) {
      try {
        const experimentId = await this.runs.experimentId();
        const run = await this.runs.findByKey(experimentId, ref.key);
        if (!run) return undefined;
        state = this.runs.remember(ref.key, run);
      } catch (err) {
        if (this.strict) throw this.wrap(err, 'lookup');
        return undefined;
      }
    }
    const { run_id: runId, experiment_id: experimentId } = state.run.info;
    return { runId, experimentId, url: mlflowRunUrl(this.trackingUri, experimentId, runId) };
  }

  /** What the workflow's memo holds: always the key, and the run id and URL once known. */
  async memo(ref: RunRef): Promise<TrackingMemo> {
    const found = await this.lookup(ref);
    return {
      curioTrackingKey: ref.key,
      ...(found ? { mlflowRunId: found.runId, mlflowExperimentId: found.experimentId, mlflowRunUrl: found.url } : {}),
    };
  }

  // ---- the buffer --------------------------------------------------------------------

  /** Operations waiting in the local journal. */
  pending(): Promise<number> {
    return this.buffer.pending();
  }


  /** Problems reported so far (non-strict mode), oldest first. */
  problems(): readonly TrackingProblem[] {
    return this.problemLog;
  }



  /**
   * Replays the journal in order. Safe from several processes at once: one holds the flush lock
   * and the others wait up to `waitMs` (then answer busy). Stops at the first "unreachable".
   */
  flush(options: { waitMs?: number } = {}): Promise<FlushResult> {
    return this.buffer.flush(options);
  }

  /** Stops background retries and waits for one in progress. Buffered operations stay on disk. */
  close(): Promise<void> {
    return this.buffer.close();
  }

  // ---- internals: submitting -----------------------------------------------------------

  /** @internal Sends one operation now, or buffers it; never throws unless strict. */
  async submit(op: TrackingOp, staged: StagedFile[] = []): Promise<LogResult> {
    const at = Date.now();
    if (this.strict) {
      try {
        const res = await this.writer.apply(op, at);
        if (res.conflicts?.length) throw new ParamConflictError(op.run.key, res.conflicts);
        return { status: 'sent', ...res };
      } catch (err) {
        throw this.wrap(err, op.type);
      }
    }
    // While anything waits in the journal, new operations queue behind it so replay keeps their order.
    if (this.buffer.offline || (await this.buffer.backlog())) return this.buffer.buffer(op, at, staged);
    try {
      const res = await this.writer.apply(op, at);
      if (res.conflicts?.length) this.report({ kind: 'conflict', message: new ParamConflictError(op.run.key, res.conflicts).message, runKey: op.run.key, op: op.type });
      return { status: 'sent', ...res };
    } catch (err) {
      if (isTransient(err)) {
        this.buffer.goOffline(err);
        return this.buffer.buffer(op, at, staged);
      }
      const message = errorMessage(err);
      this.report({ kind: 'rejected', message: `${op.type} on ${op.run.key}: ${message}`, runKey: op.run.key, op: op.type });
      return { status: 'failed', written: 0, skipped: 0, error: message };
    }
  }

















  // ---- internals: validation and reporting -------------------------------------------

  /** @internal Drops invalid entries (reporting them), or throws in strict mode. */
  validate<T>(ref: RunRef, entries: [string, T][], check: (name: string, value: T) => void): [string, T][] {
    const ok: [string, T][] = [];
    for (const [name, value] of entries) {
      try {
        check(name, value);
        ok.push([name, value]);
      } catch (err) {
        if (this.strict) throw err;
        this.report({ kind: 'invalid', message: `${ref.key}: ${errorMessage(err)}`, runKey: ref.key });
      }
    }
    return ok;
  }

  private cleanTags(ref: RunRef, tags: Record<string, string>): Record<string, string> {
    return Object.fromEntries(
      this.validate(ref, Object.entries(tags), (k, v) => {
        checkName('tag', k);
        if (typeof v !== 'string') throw new TrackingInputError(`tag ${k} must be a string`);
        if (v.length > LIMITS.tagValue) throw new TrackingInputError(`tag ${k} is longer than ${LIMITS.tagValue} characters`);
      }),
    );
  }

  /** @internal */
  cleanTagsFor(ref: RunRef, tags: Record<string, string>): Record<string, string> {
    return this.cleanTags(ref, tags);
  }

  /** @internal */
  report(problem: TrackingProblem): void {
    this.problemLog.push(problem);
    if (this.problemLog.length > 1000) this.problemLog.shift();
    (this.options.onProblem ?? ((p) => console.warn(`curio tracking (${p.kind}): ${p.message}`)))(problem);
  }

  private wrap(err: unknown, what: string): Error {
    if (err instanceof TrackingError || err instanceof TrackingInputError) return err;
    return new TrackingError(`tracking ${what} failed: ${errorMessage(err)}`, isTransient(err), { cause: err });
  }
}
