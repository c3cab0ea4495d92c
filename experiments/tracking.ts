import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { Journal, JournalCorruptError, type StagedFile } from './journal';
import { listFiles } from './localFiles';
import { detectGitCommit, mlflowRunUrl, temporalRunUrl, type TrackingMemo } from './lineage';
import { CurioError } from '../platform/errors';
import { fromKeyValues, MlflowClient, MlflowError, type Metric, type Run, type RunStatus } from './mlflowClient';
import {
  checkArtifactPath,
  checkName,
  childRef,
  keyId,
  LIMITS,
  paramString,
  retrainRef,
  sweepPointName,
  TAGS,
  TrackingInputError,
  validateRunRef,
  type ParamValue,
  type RunKind,
  type RunRef,
} from './naming';

/**
 * Experiment tracking for Curio's retrains: one MLflow run tree per workflow execution, written
 * through idempotent, key-addressed operations so activity retries never duplicate anything, with a
 * durable local buffer for when MLflow is down. Activities call plain methods here; nothing depends
 * on Temporal. docs/tracking.md explains the run tree, keys and buffer.
 */

// ---- operations ------------------------------------------------------------------------

/** One tracking operation: what the journal stores and what `apply` replays. Plain JSON. */
export type TrackingOp =
  | { type: 'ensureRun'; run: RunRef; tags: Record<string, string> }
  | { type: 'logParams'; run: RunRef; params: Record<string, string> }
  | { type: 'logMetrics'; run: RunRef; metrics: Metric[] }
  | { type: 'setTags'; run: RunRef; tags: Record<string, string> }
  /** `source` is an absolute local file online; buffered ops keep their copies in the entry's blob folder at `path`. */
  | { type: 'logArtifacts'; run: RunRef; files: { path: string; source?: string }[] }
  | { type: 'endRun'; run: RunRef; status: TerminalStatus };

export type TerminalStatus = Extract<RunStatus, 'FINISHED' | 'FAILED' | 'KILLED'>;

export interface ParamConflict {
  key: string;
  logged: string;
  attempted: string;
}

export interface LogResult {
  /** sent: on the server now; buffered: in the local journal, flushed later; failed: dropped (see problems). */
  status: 'sent' | 'buffered' | 'failed';
  /** Items written (metric points, params, tags, files). */
  written: number;
  /** Items already on the server (a retry's repeats): not written again. */
  skipped: number;
  conflicts?: ParamConflict[];
  error?: string;
}

export interface FlushResult {
  /** Journal entries applied to the server by this flush. */
  applied: number;
  /** Entries moved to failed/ because the server rejected them for good. */
  failed: number;
  /** Entries still waiting (the server went away again, or another process holds the lock). */
  remaining: number;
  /** True when another process held the flush lock for the whole wait. */
  busy: boolean;
  error?: string;
}

export type ProblemKind = 'offline' | 'conflict' | 'rejected' | 'invalid' | 'buffer' | 'flush';

export interface TrackingProblem {
  kind: ProblemKind;
  message: string;
  runKey?: string;
  op?: TrackingOp['type'];
}

export class TrackingError extends CurioError {
  constructor(
    message: string,
    transient = false,
    options?: { cause?: unknown; type?: string },
  ) {
    super(message, { type: options?.type ?? 'TrackingError', retryable: transient, cause: options?.cause });
  }

  /** Worth buffering and retrying (MLflow unreachable or failing): the same as `retryable`. */
  get transient(): boolean {
    return this.retryable;
  }
}

export class ParamConflictError extends TrackingError {
  constructor(
    readonly runKey: string,
    readonly conflicts: ParamConflict[],
  ) {
    super(
      `run ${runKey}: MLflow params cannot change once logged; ` +
        conflicts.map((c) => `${c.key} is '${c.logged}', attempted '${c.attempted}'`).join('; '),
      false,
      { type: 'ParamConflictError' },
    );
  }
}

// ---- options ---------------------------------------------------------------------------

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

const MAX_CACHED_RUNS = 1000;

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

/** What the tracker knows of a run it has resolved on the server. */
interface RunState {
  run: Run;
  params: Map<string, string>;
  /** Metric keys the server has points for (from the run's latest metrics). */
  metricKeys: Set<string>;
  /** Steps per metric key already on the server, loaded on first use. */
  steps: Map<string, Set<number>>;
}

// ---- the tracker -----------------------------------------------------------------------

export class Tracker {
  readonly trackingUri: string;
  readonly experimentName: string;
  readonly strict: boolean;
  readonly client: MlflowClient;
  readonly journal: Journal<TrackingOp>;
  private readonly options: TrackerOptions;
  private readonly autoFlush: boolean;
  private readonly retryIntervalMs: number;
  private experimentIdPromise: Promise<string> | undefined;
  private readonly states = new Map<string, RunState>();
  private readonly inflight = new Map<string, Promise<RunState>>();
  private readonly problemLog: TrackingProblem[] = [];
  private offline = false;
  private flushChain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private background: Promise<void> | undefined;
  private closed = false;

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
    this.autoFlush = options.autoFlush ?? true;
    this.retryIntervalMs = options.retryIntervalMs ?? 5000;
    // Few retries: while MLflow is down every operation should reach the journal quickly.
    this.client = options.client ?? new MlflowClient(this.trackingUri, { retries: 1, timeoutMs: options.requestTimeoutMs ?? 10_000 });
    this.journal = new Journal<TrackingOp>(options.bufferDir);
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

  /**
   * Runs one stage as a child run: opens it, logs `params`, runs `fn`, logs `duration_s` and ends
   * the run FINISHED (or FAILED, rethrowing fn's error). Tracking problems never surface from here
   * unless strict; fn's own errors always do.
   */
  async trackStage<R>(
    parent: RunRef,
    name: string,
    fn: (run: TrackedRun) => Promise<R>,
    options: { kind?: 'stage' | 'model' | 'sweep'; runName?: string; params?: Record<string, ParamValue>; tags?: Record<string, string> } = {},
  ): Promise<R> {
    const run = await this.child(parent, options.kind ?? 'stage', name, options);
    if (options.params) await run.logParams(options.params);
    const t0 = performance.now();
    let result: R;
    try {
      result = await fn(run);
    } catch (err) {
      // The stage's own error is what the caller must see, even if ending the run fails (strict).
      await run.end('FAILED').catch(() => undefined);
      throw err;
    }
    await run.logMetrics({ duration_s: (performance.now() - t0) / 1000 });
    await run.end('FINISHED');
    return result;
  }

  // ---- lineage -----------------------------------------------------------------------

  /** The run id and UI URL of a key, or undefined while unknown (not created yet, or MLflow down). */
  async lookup(ref: RunRef): Promise<{ runId: string; experimentId: string; url: string } | undefined> {
    let state = this.states.get(ref.key);
    if (!state) {
      try {
        const experimentId = await this.experimentId();
        const run = await this.findByKey(experimentId, ref.key);
        if (!run) return undefined;
        state = this.remember(ref.key, run);
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
  async pending(): Promise<number> {
    return this.journal.count();
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
    const run = async (): Promise<FlushResult> => {
      const res = await this.journal.withLock(() => this.drain(), { waitMs: options.waitMs ?? 30_000 });
      if (!res.acquired) return { applied: 0, failed: 0, remaining: await this.journal.count(), busy: true };
      return res.value;
    };
    // One flush at a time within this process too; a caller always gets a flush that started after its call.
    const next = this.flushChain.then(run, run);
    this.flushChain = next.catch(() => undefined);
    return next;
  }

  /** Stops background retries and waits for one in progress. Buffered operations stay on disk. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.background;
  }

  // ---- internals: submitting -----------------------------------------------------------

  /** @internal Sends one operation now, or buffers it; never throws unless strict. */
  async submit(op: TrackingOp, staged: StagedFile[] = []): Promise<LogResult> {
    const at = Date.now();
    if (this.strict) {
      try {
        const res = await this.apply(op, at);
        if (res.conflicts?.length) throw new ParamConflictError(op.run.key, res.conflicts);
        return { status: 'sent', ...res };
      } catch (err) {
        throw this.wrap(err, op.type);
      }
    }
    // While anything waits in the journal, new operations queue behind it so replay keeps their order.
    if (this.offline || (await this.backlog())) return this.buffer(op, at, staged);
    try {
      const res = await this.apply(op, at);
      if (res.conflicts?.length) this.report({ kind: 'conflict', message: new ParamConflictError(op.run.key, res.conflicts).message, runKey: op.run.key, op: op.type });
      return { status: 'sent', ...res };
    } catch (err) {
      if (isTransient(err)) {
        this.goOffline(err);
        return this.buffer(op, at, staged);
      }
      const message = errorMessage(err);
      this.report({ kind: 'rejected', message: `${op.type} on ${op.run.key}: ${message}`, runKey: op.run.key, op: op.type });
      return { status: 'failed', written: 0, skipped: 0, error: message };
    }
  }

  private async backlog(): Promise<boolean> {
    try {
      return (await this.journal.count()) > 0;
    } catch {
      return false;
    }
  }

  private async buffer(op: TrackingOp, at: number, staged: StagedFile[]): Promise<LogResult> {
    try {
      // Buffered artifact ops refer to their private copies, never to the caller's files.
      const stored: TrackingOp = op.type === 'logArtifacts' ? { ...op, files: op.files.map((f) => ({ path: f.path })) } : op;
      await this.journal.append(stored, { at, files: staged });
      this.scheduleFlush(this.offline ? this.retryIntervalMs : 0);
      return { status: 'buffered', written: 0, skipped: 0 };
    } catch (err) {
      const message = `could not buffer ${op.type} for ${op.run.key} in ${this.journal.dir}: ${errorMessage(err)}`;
      this.report({ kind: 'buffer', message, runKey: op.run.key, op: op.type });
      return { status: 'failed', written: 0, skipped: 0, error: message };
    }
  }

  private goOffline(err: unknown): void {
    if (!this.offline) {
      this.report({ kind: 'offline', message: `MLflow at ${this.trackingUri} is unreachable (${errorMessage(err)}); buffering to ${this.journal.dir}` });
    }
    this.offline = true;
  }

  private scheduleFlush(delayMs: number): void {
    if (!this.autoFlush || this.closed || this.timer || this.background) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.background = this.flush({ waitMs: 0 }).then(
        (r) => {
          this.background = undefined;
          if (r.remaining > 0) this.scheduleFlush(this.retryIntervalMs);
        },
        (err: unknown) => {
          this.background = undefined;
          this.report({ kind: 'flush', message: `background flush failed: ${errorMessage(err)}` });
          this.scheduleFlush(this.retryIntervalMs);
        },
      );
    }, delayMs);
    this.timer.unref();
  }

  private async drain(): Promise<FlushResult> {
    let applied = 0;
    let failed = 0;
    // New entries may arrive while we replay; keep going until the journal is empty.
    for (let pass = 0; pass < 1000; pass++) {
      const ids = await this.journal.ids();
      if (ids.length === 0) break;
      for (const id of ids) {
        let entry;
        try {
          entry = await this.journal.read(id);
        } catch (err) {
          if (!(err instanceof JournalCorruptError)) throw err;
          await this.journal.deadLetter(id, err.message);
          this.report({ kind: 'rejected', message: err.message });
          failed++;
          continue;
        }
        if (!entry) continue;
        try {
          const res = await this.apply(entry.op, entry.at, this.journal.blobDir(id));
          if (res.conflicts?.length) {
            this.report({ kind: 'conflict', message: new ParamConflictError(entry.op.run.key, res.conflicts).message, runKey: entry.op.run.key, op: entry.op.type });
          }
          await this.journal.remove(id);
          applied++;
        } catch (err) {
          if (isTransient(err)) {
            this.offline = true;
            return { applied, failed, remaining: await this.journal.count(), busy: false, error: errorMessage(err) };
          }
          const message = `${entry.op.type} on ${entry.op.run.key}: ${errorMessage(err)}`;
          await this.journal.deadLetter(id, message);
          this.report({ kind: 'rejected', message: `buffered ${message} (kept in ${this.journal.dir}/failed)`, runKey: entry.op.run.key, op: entry.op.type });
          failed++;
        }
      }
    }
    this.offline = false;
    await this.journal.sweepOrphans().catch(() => {});
    return { applied, failed, remaining: await this.journal.count(), busy: false };
  }

  // ---- internals: applying operations (idempotent) --------------------------------------

  /** Applies one operation to the server. Every branch is idempotent: replays and retries are safe. */
  private async apply(op: TrackingOp, at: number, blobDir?: string): Promise<Omit<LogResult, 'status'>> {
    switch (op.type) {
      case 'ensureRun':
        return this.applyEnsure(op.run, op.tags, at);
      case 'logParams':
        return this.applyParams(op.run, op.params, at);
      case 'logMetrics':
        return this.applyMetrics(op.run, op.metrics, at);
      case 'setTags': {
        const state = await this.resolve(op.run, at);
        const tags = Object.entries(op.tags).map(([key, value]) => ({ key, value }));
        await this.client.logBatch(state.run.info.run_id, { tags });
        for (const t of tags) setTag(state.run, t.key, t.value);
        return { written: tags.length, skipped: 0 };
      }
      case 'logArtifacts': {
        const state = await this.resolve(op.run, at);
        for (const f of op.files) {
          const source = f.source ?? (blobDir ? join(blobDir, f.path) : undefined);
          if (!source) throw new TrackingError(`artifact ${f.path} has no local source`);
          // PUT overwrites: uploading the same file again is a no-op in effect.
          await this.client.uploadArtifactFile(state.run, f.path, source);
        }
        return { written: op.files.length, skipped: 0 };
      }
      case 'endRun':
        return this.applyEnd(op.run, op.status, at);
    }
  }

  private async applyEnsure(ref: RunRef, tags: Record<string, string>, at: number): Promise<Omit<LogResult, 'status'>> {
    // Refresh: this is a new attempt, and another process may have logged since we last looked.
    const state = await this.resolve(ref, at, true);
    const runId = state.run.info.run_id;
    const current = fromKeyValues(state.run.data.tags);
    const wanted = { ...tags, ...this.identityTags(ref) };
    if (ref.parent && !current[TAGS.mlflowParentRunId]) {
      // Only a run created outside Curio's resolve can lack it; the UI needs it to nest the run.
      wanted[TAGS.mlflowParentRunId] = (await this.resolve(ref.parent, at)).run.info.run_id;
    }
    const changed = Object.entries(wanted).filter(([k, v]) => current[k] !== v);
    if (changed.length) {
      await this.client.logBatch(runId, { tags: changed.map(([key, value]) => ({ key, value })) });
      for (const [k, v] of changed) setTag(state.run, k, v);
    }
    // A retry reopens the run an earlier attempt ended, unless a later status change exists.
    if (state.run.info.status !== 'RUNNING' && at >= statusAt(state.run)) {
      await this.client.updateRun(runId, 'RUNNING');
      await this.client.setTag(runId, TAGS.statusAt, String(at));
      state.run.info.status = 'RUNNING';
      setTag(state.run, TAGS.statusAt, String(at));
    }
    return { written: changed.length, skipped: Object.keys(wanted).length - changed.length };
  }

  private async applyParams(ref: RunRef, params: Record<string, string>, at: number): Promise<Omit<LogResult, 'status'>> {
    const state = await this.resolve(ref, at);
    const runId = state.run.info.run_id;
    const split = () => {
      const fresh: { key: string; value: string }[] = [];
      const conflicts: ParamConflict[] = [];
      let skipped = 0;
      for (const [key, value] of Object.entries(params)) {
        const logged = state.params.get(key);
        if (logged === undefined) fresh.push({ key, value });
        else if (logged === value) skipped++;
        else conflicts.push({ key, logged, attempted: value });
      }
      return { fresh, conflicts, skipped };
    };
    let { fresh, conflicts, skipped } = split();
    if (fresh.length) {
      try {
        await this.client.logBatch(runId, { params: fresh });
      } catch (err) {
        // Another process logged some of these meanwhile: reload and log only what is really new.
        if (!(err instanceof MlflowError && /param/i.test(err.message) && err.status === 400)) throw err;
        const run = await this.client.getRun(runId);
        state.params = new Map(Object.entries(fromKeyValues(run.data.params)));
        ({ fresh, conflicts, skipped } = split());
        if (fresh.length) await this.client.logBatch(runId, { params: fresh });
      }
      for (const p of fresh) state.params.set(p.key, p.value);
    }
    return { written: fresh.length, skipped, ...(conflicts.length ? { conflicts } : {}) };
  }

  private async applyMetrics(ref: RunRef, metrics: Metric[], at: number): Promise<Omit<LogResult, 'status'>> {
    const state = await this.resolve(ref, at);
    const runId = state.run.info.run_id;
    // A (metric, step) pair is written once: a resumed training re-logging epoch 3 is a no-op.
    let fresh: Metric[] = [];
    let skipped = 0;
    for (const key of new Set(metrics.map((m) => m.key))) {
      if (!state.steps.has(key)) {
        const known = state.metricKeys.has(key) ? (await this.client.getMetricHistory(runId, key)).map((m) => m.step) : [];
        state.steps.set(key, new Set(known));
      }
    }
    const batchSeen = new Set<string>();
    for (const m of metrics) {
      const id = `${m.key}\u0000${m.step}`;
      if (state.steps.get(m.key)?.has(m.step) || batchSeen.has(id)) {
        skipped++;
        continue;
      }
      batchSeen.add(id);
      fresh.push(m);
    }
    if (fresh.length) {
      try {
        await this.client.logBatch(runId, { metrics: fresh });
      } catch (err) {
        // A request that timed out may have landed after all, and its retry then collides with it:
        // reload the histories and send only what is still missing; if nothing landed, the error is real.
        if (!(err instanceof MlflowError && err.status === 400)) throw err;
        for (const key of new Set(fresh.map((m) => m.key))) {
          state.steps.set(key, new Set((await this.client.getMetricHistory(runId, key)).map((m) => m.step)));
        }
        const missing = fresh.filter((m) => !state.steps.get(m.key)?.has(m.step));
        if (missing.length === fresh.length) throw err;
        if (missing.length) await this.client.logBatch(runId, { metrics: missing });
        skipped += fresh.length - missing.length;
        fresh = missing;
      }
    }
    for (const m of fresh) {
      state.steps.get(m.key)?.add(m.step);
      state.metricKeys.add(m.key);
    }
    return { written: fresh.length, skipped };
  }

  private async applyEnd(ref: RunRef, status: TerminalStatus, at: number): Promise<Omit<LogResult, 'status'>> {
    const state = await this.resolve(ref, at);
    const runId = state.run.info.run_id;
    const run = await this.client.getRun(runId);
    state.run.info = run.info;
    state.run.data.tags = run.data.tags;
    // Last writer wins by operation time, so a late replay of an old "FAILED" cannot undo a newer "FINISHED".
    if (at < statusAt(run)) return { written: 0, skipped: 1 };
    if (run.info.status === status && at === statusAt(run)) return { written: 0, skipped: 1 };
    await this.client.updateRun(runId, status, at);
    await this.client.setTag(runId, TAGS.statusAt, String(at));
    state.run.info.status = status;
    setTag(state.run, TAGS.statusAt, String(at));
    return { written: 1, skipped: 0 };
  }

  // ---- internals: resolving keys to runs ------------------------------------------------

  private experimentId(): Promise<string> {
    this.experimentIdPromise ??= this.client.getOrCreateExperiment(this.experimentName, { 'curio.purpose': 'retrain run trees' });
    // A failure (MLflow down) must not be cached.
    this.experimentIdPromise.catch(() => {
      this.experimentIdPromise = undefined;
    });
    return this.experimentIdPromise;
  }

  /** The run of `ref` on the server, created (with missing ancestors) if none exists. */
  private resolve(ref: RunRef, at: number, refresh = false): Promise<RunState> {
    const cached = this.states.get(ref.key);
    if (cached && !refresh) return Promise.resolve(cached);
    const running = this.inflight.get(ref.key);
    if (running) return running;
    const p = (async () => {
      const experimentId = await this.experimentId();
      let run = await this.findByKey(experimentId, ref.key);
      if (!run) {
        const parent = ref.parent ? await this.resolve(ref.parent, at) : undefined;
        const created = await this.client.createRun({
          experimentId,
          runName: ref.name,
          startTime: at,
          tags: { ...this.identityTags(ref), ...(parent ? { [TAGS.mlflowParentRunId]: parent.run.info.run_id } : {}), [TAGS.statusAt]: String(at) },
        });
        run = await this.settle(experimentId, ref.key, created);
      }
      return this.remember(ref.key, run);
    })();
    this.inflight.set(ref.key, p);
    const clear = () => {
      if (this.inflight.get(ref.key) === p) this.inflight.delete(ref.key);
    };
    p.then(clear, clear);
    return p;
  }

  private remember(key: string, run: Run): RunState {
    const state: RunState = {
      run,
      params: new Map(Object.entries(fromKeyValues(run.data.params))),
      metricKeys: new Set((run.data.metrics ?? []).map((m) => m.key)),
      steps: new Map(),
    };
    this.states.delete(key);
    this.states.set(key, state);
    // A worker lives for days and opens thousands of runs: keep only the most recently resolved.
    if (this.states.size > MAX_CACHED_RUNS) this.states.delete(this.states.keys().next().value as string);
    return state;
  }

  private async findByKey(experimentId: string, key: string): Promise<Run | undefined> {
    const { runs } = await this.client.searchRuns({
      experimentIds: [experimentId],
      filter: `tags.\`${TAGS.keyId}\` = '${keyId(key)}'`,
      maxResults: 50,
    });
    const mine = runs.filter((r) => fromKeyValues(r.data.tags)[TAGS.key] === key);
    if (mine.length <= 1) return mine[0];
    const [winner, ...losers] = mine.sort(byCreation);
    for (const l of losers) await this.client.deleteRun(l.info.run_id).catch(() => {});
    return winner;
  }

  /**
   * MLflow cannot create a run under a client-chosen id, so two processes racing to create the
   * same key can both succeed. Both then see both runs and keep the same one (earliest start,
   * then smallest id); the other is deleted.
   */
  private async settle(experimentId: string, key: string, created: Run): Promise<Run> {
    const winner = await this.findByKey(experimentId, key);
    if (!winner) return created;
    return winner.info.run_id === created.info.run_id ? created : winner;
  }

  private identityTags(ref: RunRef): Record<string, string> {
    return {
      [TAGS.key]: ref.key,
      [TAGS.keyId]: keyId(ref.key),
      [TAGS.kind]: ref.kind,
      [TAGS.mlflowRunName]: ref.name,
      ...(ref.parent ? { [TAGS.parentKey]: ref.parent.key } : {}),
    };
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

// ---- a run handle ----------------------------------------------------------------------

/** A run of the tree, addressed by its key. Cheap to create; every call is idempotent. */
export class TrackedRun {
  constructor(
    readonly tracker: Tracker,
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

  async logMetric(key: string, value: number, step = 0): Promise<LogResult> {
    return this.logPoints([{ key, value, step, timestamp: Date.now() }]);
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

  /** Uploads `text` as the artifact `artifactPath` (e.g. an HTML report). */
  async logText(text: string, artifactPath: string): Promise<LogResult> {
    const dir = await mkdtemp(join(tmpdir(), 'curio-text-'));
    try {
      const file = join(dir, `${randomBytes(4).toString('hex')}.txt`);
      await writeFile(file, text);
      return await this.logArtifact(file, artifactPath);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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

// ---- helpers ---------------------------------------------------------------------------

function emptyResult(hadInput: boolean): LogResult {
  return hadInput ? { status: 'failed', written: 0, skipped: 0, error: 'every entry was invalid' } : { status: 'sent', written: 0, skipped: 0 };
}

function byCreation(a: Run, b: Run): number {
  return (a.info.start_time ?? 0) - (b.info.start_time ?? 0) || a.info.run_id.localeCompare(b.info.run_id);
}

function statusAt(run: Run): number {
  const raw = fromKeyValues(run.data.tags)[TAGS.statusAt];
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) ? n : (run.info.end_time ?? run.info.start_time ?? 0);
}

function setTag(run: Run, key: string, value: string): void {
  const tags = (run.data.tags ??= []);
  const t = tags.find((x) => x.key === key);
  if (t) t.value = value;
  else tags.push({ key, value });
}

/** Connection refused, timeouts, 5xx and 429: worth buffering and retrying. Anything else is final. */
export function isTransient(err: unknown): boolean {
  if (err instanceof MlflowError || err instanceof TrackingError) return err.retryable;
  const code = (err as { cause?: { code?: string } })?.cause?.code ?? (err as { code?: string })?.code;
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|UND_ERR)/.test(code)) return true;
  return err instanceof TypeError && /fetch failed|terminated|other side closed/i.test(err.message);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
