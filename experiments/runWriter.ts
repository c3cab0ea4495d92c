import { join } from 'node:path';
import { fromKeyValues, MlflowError, type Metric, type MlflowClient, type Run } from './mlflowClient';
import { TAGS, type RunRef } from './naming';
import type { RunResolver } from './runResolver';
import { TrackingError, type LogResult, type ParamConflict, type TerminalStatus, type TrackingOp } from './trackingOps';

/**
 * Applies one tracking operation to the server. Every branch is idempotent — a param already
 * logged, a (metric, step) already there, an older status change arriving late — so an activity's
 * retry and the journal's replay never duplicate or undo anything.
 */
export class RunWriter {
  constructor(
    private readonly client: MlflowClient,
    private readonly runs: RunResolver,
  ) {}

  /** Applies one operation to the server. Every branch is idempotent: replays and retries are safe. */
  async apply(op: TrackingOp, at: number, blobDir?: string): Promise<Omit<LogResult, 'status'>> {
    switch (op.type) {
      case 'ensureRun':
        return this.applyEnsure(op.run, op.tags, at);
      case 'logParams':
        return this.applyParams(op.run, op.params, at);
      case 'logMetrics':
        return this.applyMetrics(op.run, op.metrics, at);
      case 'setTags': {
        const state = await this.runs.resolve(op.run, at);
        const tags = Object.entries(op.tags).map(([key, value]) => ({ key, value }));
        await this.client.logBatch(state.run.info.run_id, { tags });
        for (const t of tags) setTag(state.run, t.key, t.value);
        return { written: tags.length, skipped: 0 };
      }
      case 'logArtifacts': {
        const state = await this.runs.resolve(op.run, at);
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
    const state = await this.runs.resolve(ref, at, true);
    const runId = state.run.info.run_id;
    const current = fromKeyValues(state.run.data.tags);
    const wanted = { ...tags, ...this.runs.identityTags(ref) };
    if (ref.parent && !current[TAGS.mlflowParentRunId]) {
      // Only a run created outside Curio's resolve can lack it; the UI needs it to nest the run.
      wanted[TAGS.mlflowParentRunId] = (await this.runs.resolve(ref.parent, at)).run.info.run_id;
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
    const state = await this.runs.resolve(ref, at);
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
    const state = await this.runs.resolve(ref, at);
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
    const state = await this.runs.resolve(ref, at);
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
