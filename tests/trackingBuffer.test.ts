import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackingCommand } from '../cli/commands/tracking';
import { Journal } from '../experiments/journal';
import { fromKeyValues, MlflowClient, type Run } from '../experiments/mlflowClient';
import { TAGS } from '../experiments/naming';
import { mlflowPython } from '../platform/paths';
import { startService, stopService, type ServiceSpec } from '../services/processManager';
import { freePort } from '../platform/freePort';
import { testMlflowClient } from './helpers/mlflow';
import { removeTestBuffers, testTracker } from './helpers/retrainTree';
import { testMlflowSpec } from './setup/testMlflow';

/**
 * A fresh MLflow database spends ~20 s in schema migrations on a small machine; the suite server's
 * database is already migrated, so the restart test starts from a consistent copy of it (SQLite's
 * online backup), or from scratch when there is none.
 */
function seedMigratedDatabase(dataDir: string): void {
  const raw = process.env.CURIO_TEST_MLFLOW_SPEC;
  if (!raw) return;
  const args = (JSON.parse(raw) as ServiceSpec).args;
  const uri = args[args.indexOf('--backend-store-uri') + 1] ?? '';
  if (!uri.startsWith('sqlite:///')) return;
  const script = 'import sqlite3,sys\ns=sqlite3.connect(sys.argv[1]);d=sqlite3.connect(sys.argv[2])\ns.backup(d);d.close();s.close()';
  execFileSync(mlflowPython, ['-c', script, uri.slice('sqlite:///'.length), join(dataDir, 'mlflow.db')], { timeout: 30_000 });
}

afterAll(removeTestBuffers);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const tagsOf = (r: Run) => fromKeyValues(r.data.tags);

async function runsOf(client: MlflowClient, experimentName: string): Promise<Run[]> {
  const exp = await client.getExperimentByName(experimentName);
  return exp ? client.searchAllRuns({ experimentIds: [exp.experiment_id] }) : [];
}

describe('Journal', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'curio-journal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps entries in append order with private copies of their files', async () => {
    const j = new Journal<{ n: number }>(dir);
    const src = join(dir, 'src.bin');
    writeFileSync(src, 'v1');
    const first = await j.append({ n: 1 }, { files: [{ source: src, rel: 'a/b.bin' }] });
    writeFileSync(src, 'v2'); // the caller changing its file later must not change the buffered copy
    for (let n = 2; n <= 30; n++) await j.append({ n });
    const ids = await j.ids();
    expect(ids).toHaveLength(30);
    const ops = await Promise.all(ids.map(async (id) => (await j.read(id))!.op.n));
    expect(ops).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(readFileSync(join(j.blobDir(first.id), 'a/b.bin'), 'utf8')).toBe('v1');
    await j.remove(first.id);
    expect(existsSync(j.blobDir(first.id))).toBe(false);
    expect(await j.count()).toBe(29);
  });

  it('lets one holder at a time flush, and takes over a lock whose holder died', async () => {
    const j = new Journal<unknown>(dir);
    const order: string[] = [];
    let release!: () => void;
    const held = j.withLock(async () => {
      order.push('a-start');
      await new Promise<void>((r) => (release = r));
      order.push('a-end');
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(await j.withLock(async () => 'b', { waitMs: 0 })).toEqual({ acquired: false });
    const waiting = j.withLock(async () => order.push('b'), { waitMs: 5000 });
    await new Promise((r) => setTimeout(r, 150));
    release();
    await held;
    await waiting;
    expect(order).toEqual(['a-start', 'a-end', 'b']);

    // A crashed holder (a pid that no longer exists on this host) does not block forever.
    writeFileSync(join(dir, 'flush.lock'), JSON.stringify({ token: 'dead', pid: 2 ** 22 + 12345, host: hostname(), since: 0 }));
    expect(await j.withLock(async () => 'taken', { waitMs: 2000 })).toEqual({ acquired: true, value: 'taken' });
  });
});

describe('buffer and flush', () => {
  const shared = testMlflowClient();

  it('replays concurrently from two processes without duplicates, and a late old status cannot win', async () => {
    const bufferDir = mkdtempSync(join(tmpdir(), 'curio-buffer-shared-'));
    const experimentName = `buffer-shared-${Date.now()}`;
    const port = await freePort();
    // Worker 1 cannot reach MLflow: everything lands in the shared buffer folder.
    const offline = testTracker({ experimentName, bufferDir, trackingUri: `http://127.0.0.1:${port}` });
    const parent = await offline.startRetrain({ workflowId: 'wf-buf', temporalRunId: 'r', datasetDigest: 'd', scale: 's' });
    const model = await parent.model('item_unit');
    await model.logParams({ dim: 32 });
    await model.logHistory('loss', [1, 0.5, 0.25]);
    await model.logHistory('loss', [1, 0.5, 0.25, 0.2]); // a retry repeating steps while still offline
    await model.end('FAILED');
    const pending = await offline.pending();
    expect(pending).toBe(6);

    // Meanwhile a retry on a connected worker finishes the stage: its FINISHED is newer.
    const online = testTracker({ experimentName });
    await new Promise((r) => setTimeout(r, 5));
    await (await online.open(model.ref)).end('FINISHED');

    // Two processes flush the same buffer at once: the lock serialises them.
    const a = testTracker({ experimentName, bufferDir });
    const b = testTracker({ experimentName, bufferDir });
    const [ra, rb] = await Promise.all([a.flush(), b.flush()]);
    expect(ra.applied + rb.applied).toBe(pending);
    expect(ra.remaining + rb.remaining).toBe(0);
    expect(await a.pending()).toBe(0);

    const runs = await runsOf(shared, experimentName);
    expect(runs).toHaveLength(2);
    const child = runs.find((r) => tagsOf(r)[TAGS.kind] === 'model')!;
    const parentRun = runs.find((r) => tagsOf(r)[TAGS.kind] === 'retrain')!;
    expect(tagsOf(child)[TAGS.mlflowParentRunId]).toBe(parentRun.info.run_id);
    expect(child.info.status).toBe('FINISHED');
    expect((await shared.getMetricHistory(child.info.run_id, 'loss')).map((m) => [m.step, m.value])).toEqual([
      [0, 1],
      [1, 0.5],
      [2, 0.25],
      [3, 0.2],
    ]);
    rmSync(bufferDir, { recursive: true, force: true });
  });

  it('`curio tracking status|flush` shows and replays the buffer', async () => {
    const bufferDir = mkdtempSync(join(tmpdir(), 'curio-buffer-cli-'));
    const experimentName = `buffer-cli-${Date.now()}`;
    const offline = testTracker({ experimentName, bufferDir, trackingUri: `http://127.0.0.1:${await freePort()}` });
    const run = await offline.startRetrain({ workflowId: 'wf-cli', temporalRunId: 'r', datasetDigest: 'd', scale: 's' });
    await run.logMetrics({ recall_at_50: 0.1 });
    const saved = { dir: process.env.CURIO_TRACKING_BUFFER_DIR, exp: process.env.CURIO_MLFLOW_EXPERIMENT };
    process.env.CURIO_TRACKING_BUFFER_DIR = bufferDir;
    process.env.CURIO_MLFLOW_EXPERIMENT = experimentName;
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      await trackingCommand.run(['status']);
      await trackingCommand.run(['flush']);
      await trackingCommand.run(['status']);
    } finally {
      spy.mockRestore();
      for (const [k, v] of [['CURIO_TRACKING_BUFFER_DIR', saved.dir], ['CURIO_MLFLOW_EXPERIMENT', saved.exp]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    expect(lines).toEqual([
      `2 operations buffered in ${bufferDir}`,
      `MLflow ${shared.trackingUri}: reachable`,
      'applied 2, rejected 0, still buffered 0',
      `0 operations buffered in ${bufferDir}`,
      `MLflow ${shared.trackingUri}: reachable`,
    ]);
    const runs = await runsOf(shared, experimentName);
    expect(runs.map((r) => (r.data.metrics ?? []).map((m) => [m.key, m.value]))).toEqual([[['recall_at_50', 0.1]]]);
    rmSync(bufferDir, { recursive: true, force: true });
  });

  describe('across an MLflow restart', () => {
    let spec: ServiceSpec;
    let dataDir: string;
    let work: string;
    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'curio-restart-mlflow-'));
      work = mkdtempSync(join(tmpdir(), 'curio-restart-work-'));
      const base = testMlflowSpec(await freePort(), dataDir);
      // One worker: it starts twice here, and on a small machine two workers importing MLflow double that time.
      spec = { ...base, args: base.args.map((a, i) => (base.args[i - 1] === '--workers' ? '1' : a)) };
      seedMigratedDatabase(dataDir);
      await startService(spec);
    });
    afterAll(async () => {
      await stopService(spec);
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    });

    it('buffers while the server is down and flushes the same run tree when it returns', async () => {
      const uri = `http://127.0.0.1:${spec.ports[0]!.port}`;
      const client = new MlflowClient(uri);
      const bufferDir = join(work, 'buffer');
      const problems: string[] = [];
      const experimentName = `restart-${Date.now()}`;
      const tracker = testTracker({ trackingUri: uri, bufferDir, experimentName, onProblem: (p) => problems.push(`${p.kind}: ${p.message}`) });

      const parent = await tracker.startRetrain({ workflowId: 'wf-restart', temporalRunId: 'r1', datasetDigest: 'sha256:abc', scale: 'tiny' });
      await parent.logParams({ 'config.epochs': 4 });
      const features = await parent.stage('features');
      await features.logMetrics({ rows: 5000 });
      const model = await parent.model('item_unit');
      await model.logHistory('loss', [0.9, 0.7]);
      expect(await tracker.pending()).toBe(0);

      await stopService(spec);

      // Training goes on: nothing throws, everything is buffered.
      const vectors = join(work, 'vectors');
      mkdirSync(join(vectors, 'shards'), { recursive: true });
      const blobs = { 'item_vectors.f32': randomBytes(70_000), 'shards/0.f32': randomBytes(5000) };
      for (const [p, b] of Object.entries(blobs)) writeFileSync(join(vectors, p), b);
      expect(await features.end()).toMatchObject({ status: 'buffered' });
      expect(await model.logHistory('loss', [0.9, 0.7, 0.55, 0.5])).toMatchObject({ status: 'buffered' }); // resumed: repeats 0-1
      expect(await model.logArtifacts(vectors, 'item_vectors')).toMatchObject({ status: 'buffered' });
      await model.end();
      const sweeps = [];
      for (const lambda of [0.05, 0.1]) {
        const s = await parent.sweep('lambda', lambda); // runs created while offline
        await s.logHistory('loss', [1, 0.8 - lambda]); // compared with the same expression below
        await s.logMetrics({ recall_at_50: 0.07 + lambda });
        await s.end();
        sweeps.push(s);
      }
      await parent.logMetrics({ recall_at_50: 0.08 });
      await parent.end();
      const pending = await tracker.pending();
      expect(pending).toBe(16);
      expect(problems).toEqual([expect.stringMatching(/^offline: MLflow at .* is unreachable/)]);
      rmSync(vectors, { recursive: true }); // the activity's temp folder is gone by the time we flush

      // Flushing while it is still down keeps everything and does not throw.
      expect(await tracker.flush()).toMatchObject({ applied: 0, remaining: pending, busy: false });

      await startService(spec); // same port, same data folder
      // A server under load may still time out its first answers; the background retry would go on, so do we.
      let applied = 0;
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
        const r = await tracker.flush();
        applied += r.applied;
        expect(r.failed).toBe(0);
        if (r.remaining === 0) break;
        await new Promise((res) => setTimeout(res, 1000));
      }
      expect({ applied, remaining: await tracker.pending() }).toEqual({ applied: pending, remaining: 0 });
      expect(readdirSync(join(bufferDir, 'blobs'))).toEqual([]);

      const exp = await client.getExperimentByName(experimentName);
      const runs = await client.searchAllRuns({ experimentIds: [exp!.experiment_id] });
      expect(runs).toHaveLength(5);
      const byKey = Object.fromEntries(runs.map((r) => [tagsOf(r)[TAGS.key], r]));
      const p = byKey['wf-restart/r1']!;
      expect(p.info.status).toBe('FINISHED');
      expect(fromKeyValues(p.data.params)).toEqual({ 'config.epochs': '4' });
      for (const key of ['stage:features', 'model:item_unit', 'sweep:lambda=0.05', 'sweep:lambda=0.1']) {
        const r = byKey[`wf-restart/r1/${key}`];
        expect(r).toBeDefined();
        expect(tagsOf(r!)[TAGS.mlflowParentRunId]).toBe(p.info.run_id);
        expect(r!.info.status).toBe('FINISHED');
      }
      const m = byKey['wf-restart/r1/model:item_unit']!;
      expect((await client.getMetricHistory(m.info.run_id, 'loss')).map((x) => [x.step, x.value])).toEqual([
        [0, 0.9],
        [1, 0.7],
        [2, 0.55],
        [3, 0.5],
      ]);
      for (const [path, b] of Object.entries(blobs)) expect(sha(await client.downloadArtifact(m, `item_vectors/${path}`))).toBe(sha(b));
      const s = byKey['wf-restart/r1/sweep:lambda=0.1']!;
      expect(fromKeyValues(s.data.params)).toEqual({ lambda: '0.1' });
      expect((s.data.metrics ?? []).find((x: { key: string }) => x.key === 'recall_at_50')?.value).toBeCloseTo(0.17, 12);
      expect((await client.getMetricHistory(s.info.run_id, 'loss')).map((x) => x.value)).toEqual([1, 0.8 - 0.1]);
      // The memo can be completed once the server is back.
      expect((await parent.memo()).mlflowRunId).toBe(p.info.run_id);
      await tracker.close();
    });
  });
});
