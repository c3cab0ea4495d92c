import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromKeyValues, type Run } from '../experiments/mlflowClient';
import { retrainRef, TAGS, TrackingInputError } from '../experiments/naming';
import { mlflowRunUrl, temporalRunUrl } from '../experiments/lineage';
import { ParamConflictError, TrackingError } from '../experiments/trackingOps';
import { freePort } from '../platform/freePort';
import { testMlflowClient } from './helpers/mlflow';
import { logRetrainTree, removeTestBuffers, testTracker } from './helpers/retrainTree';

afterAll(removeTestBuffers);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const client = testMlflowClient();

async function experimentRuns(experimentName: string): Promise<Run[]> {
  const exp = await client.getExperimentByName(experimentName);
  if (!exp) return [];
  return client.searchAllRuns({ experimentIds: [exp.experiment_id] });
}

const tagsOf = (r: Run) => fromKeyValues(r.data.tags);

describe('Tracker against the real MLflow server', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'curio-tracking-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('logs a retrain as a run tree: parent, stages, models and sweep points, nested by mlflow.parentRunId', async () => {
    const tracker = testTracker();
    const tree = await logRetrainTree(tracker, { workflowId: 'wf-tree', runId: 'run-a', quality: 1 });
    const runs = await experimentRuns(tracker.experimentName);
    expect(runs).toHaveLength(1 + 2 + 3 + 2 + 1);

    const parent = runs.find((r) => tagsOf(r)[TAGS.kind] === 'retrain')!;
    const pt = tagsOf(parent);
    expect(pt[TAGS.key]).toBe('wf-tree/run-a');
    expect(pt[TAGS.workflowId]).toBe('wf-tree');
    expect(pt[TAGS.temporalRunId]).toBe('run-a');
    expect(pt[TAGS.datasetDigest]).toBe('sha256:wf-tree');
    expect(pt[TAGS.scale]).toBe('tiny');
    expect(pt[TAGS.gitCommit]).toBe('0123456789abcdef0123456789abcdef01234567');
    expect(pt[TAGS.mlflowGitCommit]).toBe(pt[TAGS.gitCommit]);
    expect(pt[TAGS.temporalUiUrl]).toBe(temporalRunUrl('http://127.0.0.1:8233', 'default', 'wf-tree', 'run-a'));
    expect(pt[TAGS.mlflowParentRunId]).toBeUndefined();
    expect(parent.info.run_name).toBe('retrain wf-tree');

    const children = runs.filter((r) => r !== parent);
    for (const c of children) {
      expect(tagsOf(c)[TAGS.mlflowParentRunId]).toBe(parent.info.run_id);
      expect(tagsOf(c)[TAGS.parentKey]).toBe('wf-tree/run-a');
    }
    const byKey = Object.fromEntries(children.map((c) => [tagsOf(c)[TAGS.key], c]));
    expect(Object.keys(byKey).sort()).toEqual(
      ['stage:ab_eval', 'stage:features', 'stage:tagging', 'model:item_unit', 'model:keyword_dssm', 'model:multi_interest', 'sweep:lambda=0.05', 'sweep:lambda=0.1']
        .map((s) => `wf-tree/run-a/${s}`)
        .sort(),
    );
    const sweep = byKey['wf-tree/run-a/sweep:lambda=0.1']!;
    expect(sweep.info.run_name).toBe('lambda=0.1');
    expect(tagsOf(sweep)[TAGS.kind]).toBe('sweep');
    expect(fromKeyValues(sweep.data.params)).toEqual({ lambda: '0.1' });
    expect(children.every((c) => c.info.status === 'FINISHED')).toBe(true);

    // Lineage the other way: the memo holds the run id and its UI URL.
    const memo = await tree.parent.memo();
    expect(memo).toEqual({
      curioTrackingKey: 'wf-tree/run-a',
      mlflowRunId: parent.info.run_id,
      mlflowExperimentId: parent.info.experiment_id,
      mlflowRunUrl: mlflowRunUrl(client.trackingUri, parent.info.experiment_id, parent.info.run_id),
    });
    expect(memo.mlflowRunUrl).toBe(`${client.trackingUri}/#/experiments/${parent.info.experiment_id}/runs/${parent.info.run_id}`);
    await tracker.close();
  });

  it('round-trips params and stepped metrics exactly (NaN included)', async () => {
    const tracker = testTracker();
    const parent = await tracker.startRetrain({ workflowId: 'wf-rt', temporalRunId: 'r', datasetDigest: 'd', scale: 's' });
    const model = await parent.model('item_unit');
    const params = { 'model.dim': 64, 'model.lr': 0.001, 'sampler.negatives': 5, 'model.item_unit.attrs': 'tags,category,seller,price_band', use_images: false };
    expect(await model.logParams(params)).toMatchObject({ status: 'sent', written: 5 });
    const loss = [0.693, 0.5123456789, 0.41, Number.NaN, 0.3];
    expect(await model.logHistory('loss', loss)).toMatchObject({ status: 'sent', written: 5 });
    await model.logMetrics({ recall_at_50: 0.0847, ndcg_at_50: 0.031 });

    const { runId } = (await model.lookup())!;
    const run = await client.getRun(runId);
    expect(fromKeyValues(run.data.params)).toEqual(Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])));
    const history = await client.getMetricHistory(runId, 'loss');
    expect(history.map((m) => m.step)).toEqual([0, 1, 2, 3, 4]);
    expect(history.map((m) => m.value)).toEqual(loss);
    const latest = Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, m.value]));
    expect(latest.recall_at_50).toBe(0.0847);
    expect(latest.ndcg_at_50).toBe(0.031);
    await tracker.close();
  });

  it('is idempotent under retries: reopening a stage, re-logging params and steps creates no duplicates', async () => {
    const experimentName = `tracking-idem-${Date.now()}`;
    const attempt1 = testTracker({ experimentName });
    const parent = await attempt1.startRetrain({ workflowId: 'wf-idem', temporalRunId: 'r', datasetDigest: 'd', scale: 's' });
    const stage1 = await parent.model('multi_interest');
    await stage1.logParams({ epochs: 5, lambda: 0.1 });
    await stage1.logHistory('loss', [1, 0.8, 0.6]); // crashed after epoch 2
    await stage1.end('FAILED');

    // The retry runs on another worker: a new tracker, same keys.
    const attempt2 = testTracker({ experimentName });
    const parent2 = await attempt2.startRetrain({ workflowId: 'wf-idem', temporalRunId: 'r', datasetDigest: 'd', scale: 's' });
    const stage2 = await parent2.model('multi_interest');
    expect(await stage2.logParams({ epochs: 5, lambda: 0.1 })).toMatchObject({ status: 'sent', written: 0, skipped: 2 });
    // It resumes from the checkpoint of epoch 1, so epochs 1-2 are logged again (with other values).
    const res = await stage2.logHistory('loss', [0.79, 0.61, 0.5, 0.45], 1);
    expect(res).toMatchObject({ status: 'sent', written: 2, skipped: 2 });
    expect(await stage2.logHistory('loss', [0.79, 0.61, 0.5, 0.45], 1)).toMatchObject({ written: 0, skipped: 4 });
    await stage2.end('FINISHED');

    const runs = await experimentRuns(experimentName);
    expect(runs).toHaveLength(2);
    const child = runs.find((r) => tagsOf(r)[TAGS.kind] === 'model')!;
    expect(child.info.status).toBe('FINISHED');
    const history = await client.getMetricHistory(child.info.run_id, 'loss');
    expect(history.map((m) => [m.step, m.value])).toEqual([
      [0, 1],
      [1, 0.8],
      [2, 0.6],
      [3, 0.5],
      [4, 0.45],
    ]);

    await attempt1.close();
    await attempt2.close();
  });

  it('rejects a changed param clearly: reported (non-strict) or thrown (strict), other params still logged', async () => {
    const tracker = testTracker();
    const problems: string[] = [];
    const lenient = testTracker({ experimentName: tracker.experimentName, onProblem: (p) => problems.push(`${p.kind}: ${p.message}`) });
    const run = await lenient.startRetrain({ workflowId: 'wf-conflict', temporalRunId: 'r', datasetDigest: 'd', scale: 's' });
    await run.logParams({ dim: 64 });
    const res = await run.logParams({ dim: 128, lr: 0.1 });
    expect(res.status).toBe('sent');
    expect(res.conflicts).toEqual([{ key: 'dim', logged: '64', attempted: '128' }]);
    expect(problems.join('\n')).toContain("dim is '64', attempted '128'");

    const strict = testTracker({ experimentName: tracker.experimentName, strict: true });
    const same = strict.attach(run.ref);
    const err = await same.logParams({ dim: 256 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParamConflictError);
    expect((err as ParamConflictError).conflicts).toEqual([{ key: 'dim', logged: '64', attempted: '256' }]);
    const { runId } = (await run.lookup())!;
    expect(fromKeyValues((await client.getRun(runId)).data.params)).toEqual({ dim: '64', lr: '0.1' });

    // Invalid names are dropped and reported, never sent.
    expect(await run.logMetrics({ 'bad name!': 1 })).toMatchObject({ status: 'failed' });
    expect(problems.some((p) => p.startsWith('invalid:'))).toBe(true);
    await expect(strict.attach(run.ref).logMetrics({ 'bad name!': 1 })).rejects.toThrow(TrackingInputError);
  });

  it('uploads a folder recursively, byte-identical, and re-uploading is harmless', async () => {
    const tracker = testTracker();
    const parent = await tracker.startRetrain({ workflowId: 'wf-art', temporalRunId: 'r', datasetDigest: 'd', scale: 's' });
    const index = await parent.stage('index');
    const local = join(dir, 'art');
    mkdirSync(join(local, 'tfjs', 'item_unit'), { recursive: true });
    const files: Record<string, Buffer> = {
      'item_vectors.f32': randomBytes(256 * 1024 + 3),
      'tfjs/item_unit/model.json': Buffer.from(JSON.stringify({ format: 'layers-model', 名前: '玉' })),
      'tfjs/item_unit/group1-shard1of1.bin': randomBytes(40_000),
      'items.faiss': randomBytes(100_000),
    };
    for (const [p, b] of Object.entries(files)) writeFileSync(join(local, p), b);
    expect(await index.logArtifacts(local, 'outputs')).toMatchObject({ status: 'sent', written: 4 });
    expect(await index.logArtifacts(local, 'outputs')).toMatchObject({ status: 'sent', written: 4 });

    const { runId } = (await index.lookup())!;
    const run = await client.getRun(runId);
    for (const [p, b] of Object.entries(files)) expect(sha(await client.downloadArtifact(run, `outputs/${p}`))).toBe(sha(b));
    expect((await client.listArtifacts(run, 'outputs/tfjs/item_unit')).map((f) => f.path).sort()).toEqual([
      'outputs/tfjs/item_unit/group1-shard1of1.bin',
      'outputs/tfjs/item_unit/model.json',
    ]);
  });

  it('creates one run when two workers open the same key at the same moment', async () => {
    const experimentName = `tracking-race-${Date.now()}`;
    const a = testTracker({ experimentName });
    const b = testTracker({ experimentName });
    const ref = retrainRef('wf-race', 'r');
    await Promise.all([a.open(ref), b.open(ref)]);
    const [ra, rb] = await Promise.all([a.lookup(ref), b.lookup(ref)]);
    expect(ra?.runId).toBe(rb?.runId);
    expect(await experimentRuns(experimentName)).toHaveLength(1);
  });

  it('never throws when MLflow is unreachable, unless strict', async () => {
    const port = await freePort();
    const dead = testTracker({ trackingUri: `http://127.0.0.1:${port}`, requestTimeoutMs: 2000 });
    const run = await dead.startRetrain({ workflowId: 'wf-dead', temporalRunId: 'r', datasetDigest: 'd', scale: 's' });
    expect(await run.logMetrics({ recall_at_50: 0.1 })).toMatchObject({ status: 'buffered' });
    expect(await dead.pending()).toBe(2);
    expect(await run.memo()).toEqual({ curioTrackingKey: 'wf-dead/r' });
    expect(dead.problems().map((p) => p.kind)).toEqual(['offline']);

    const strict = testTracker({ trackingUri: `http://127.0.0.1:${port}`, strict: true, requestTimeoutMs: 2000 });
    const err = await strict.startRetrain({ workflowId: 'wf-dead', temporalRunId: 'r', datasetDigest: 'd', scale: 's' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrackingError);
    expect((err as TrackingError).transient).toBe(true);
    expect(await strict.pending()).toBe(0);
  });

});
