import { fromKeyValues, type MlflowClient, type Run } from './mlflowClient';
import { keyId, TAGS, type RunRef } from './naming';

/**
 * Finds each run of the tree on the MLflow server by its key (a tag), creating it and any missing
 * ancestors when it is not there, and caches what is known of it: params, metric keys, steps.
 */

const MAX_CACHED_RUNS = 1000;
/** How long a creator waits before it checks again that its run is the key's only one. */
const SETTLE_RECHECK_MS = 150;

/** What the tracker knows of a run it has resolved on the server. */
export interface RunState {
  run: Run;
  params: Map<string, string>;
  /** Metric keys the server has points for (from the run's latest metrics). */
  metricKeys: Set<string>;
  /** Steps per metric key already on the server, loaded on first use. */
  steps: Map<string, Set<number>>;
}

export class RunResolver {
  private experimentIdPromise: Promise<string> | undefined;
  private readonly states = new Map<string, RunState>();
  private readonly inflight = new Map<string, Promise<RunState>>();

  constructor(
    private readonly client: MlflowClient,
    private readonly experimentName: string,
  ) {}

  /** What is known of a key without asking the server. */
  cached(key: string): RunState | undefined {
    return this.states.get(key);
  }

  experimentId(): Promise<string> {
    this.experimentIdPromise ??= this.client.getOrCreateExperiment(this.experimentName, { 'curio.purpose': 'retrain run trees' });
    // A failure (MLflow down) must not be cached.
    this.experimentIdPromise.catch(() => {
      this.experimentIdPromise = undefined;
    });
    return this.experimentIdPromise;
  }
  /** The run of `ref` on the server, created (with missing ancestors) if none exists. */
  resolve(ref: RunRef, at: number, refresh = false): Promise<RunState> {
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
  remember(key: string, run: Run): RunState {
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
  async findByKey(experimentId: string, key: string): Promise<Run | undefined> {
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
    let winner = await this.findByKey(experimentId, key);
    if (!winner || winner.info.run_id === created.info.run_id) {
      // Seeing only our own run does not prove that no one else is creating the same key right now
      // (their run may not be searchable yet): look once more after a moment, so racing creators agree.
      await new Promise((r) => setTimeout(r, SETTLE_RECHECK_MS));
      winner = (await this.findByKey(experimentId, key)) ?? winner;
    }
    if (!winner) return created;
    return winner.info.run_id === created.info.run_id ? created : winner;
  }
  identityTags(ref: RunRef): Record<string, string> {
    return {
      [TAGS.key]: ref.key,
      [TAGS.keyId]: keyId(ref.key),
      [TAGS.kind]: ref.kind,
      [TAGS.mlflowRunName]: ref.name,
      ...(ref.parent ? { [TAGS.parentKey]: ref.parent.key } : {}),
    };
  }
}

function byCreation(a: Run, b: Run): number {
  return (a.info.start_time ?? 0) - (b.info.start_time ?? 0) || a.info.run_id.localeCompare(b.info.run_id);
}
