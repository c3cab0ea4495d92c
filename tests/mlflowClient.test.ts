import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunkBatch, fromKeyValues, LOG_BATCH_LIMITS, MlflowClient, MlflowError, type Metric } from '../experiments/mlflowClient';
import { freePort } from '../platform/freePort';
import { testMlflowClient } from './helpers/mlflow';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('chunkBatch', () => {
  it('splits a large batch into requests within every MLflow limit, losing nothing', () => {
    const metrics: Metric[] = Array.from({ length: 2500 }, (_, i) => ({ key: `m${i % 7}`, value: i, step: i, timestamp: 1 }));
    const params = Array.from({ length: 250 }, (_, i) => ({ key: `p${i}`, value: 'x'.repeat(i % 300) }));
    const tags = Array.from({ length: 130 }, (_, i) => ({ key: `t${i}`, value: String(i) }));
    const chunks = chunkBatch({ metrics, params, tags });
    for (const c of chunks) {
      expect(c.metrics.length).toBeLessThanOrEqual(LOG_BATCH_LIMITS.metrics);
      expect(c.params.length).toBeLessThanOrEqual(LOG_BATCH_LIMITS.params);
      expect(c.tags.length).toBeLessThanOrEqual(LOG_BATCH_LIMITS.tags);
      expect(c.metrics.length + c.params.length + c.tags.length).toBeLessThanOrEqual(LOG_BATCH_LIMITS.total);
      expect(JSON.stringify(c).length).toBeLessThan(LOG_BATCH_LIMITS.bytes);
    }
    expect(chunks.flatMap((c) => c.metrics)).toEqual(metrics);
    expect(chunks.flatMap((c) => c.params)).toEqual(params);
    expect(chunks.flatMap((c) => c.tags)).toEqual(tags);
  });

  it('splits by size when values are large', () => {
    const params = Array.from({ length: 90 }, (_, i) => ({ key: `p${i}`, value: 'v'.repeat(6000) }));
    const tags = Array.from({ length: 90 }, (_, i) => ({ key: `t${i}`, value: 'v'.repeat(7000) }));
    const chunks = chunkBatch({ params, tags });
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(JSON.stringify(c).length).toBeLessThan(LOG_BATCH_LIMITS.bytes);
  });
});

describe('MlflowClient against the real MLflow server', () => {
  const client = testMlflowClient();
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'curio-mlflow-client-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gets or creates an experiment idempotently', async () => {
    const name = `client-exp-${Date.now()}`;
    const a = await client.getOrCreateExperiment(name);
    const b = await client.getOrCreateExperiment(name);
    expect(a).toBe(b);
    expect((await client.getExperimentByName(name))?.experiment_id).toBe(a);
    expect(await client.getExperimentByName(`${name}-missing`)).toBeUndefined();
  });

  it('logs more metrics, params and tags than one request allows, and reads them all back', async () => {
    const experimentId = await client.getOrCreateExperiment(`client-batch-${Date.now()}`);
    const run = await client.createRun({ experimentId, runName: 'batch', tags: { owner: 'tests' } });
    const metrics: Metric[] = Array.from({ length: 1500 }, (_, i) => ({ key: 'loss', value: 1 / (i + 1), step: i, timestamp: 1000 + i }));
    const params = Array.from({ length: 150 }, (_, i) => ({ key: `param_${i}`, value: `v${i}` }));
    const tags = Array.from({ length: 120 }, (_, i) => ({ key: `tag_${i}`, value: `t${i}` }));
    await client.logBatch(run.info.run_id, { metrics, params, tags });
    await client.updateRun(run.info.run_id, 'FINISHED');

    const got = await client.getRun(run.info.run_id);
    expect(got.info.status).toBe('FINISHED');
    const gotParams = fromKeyValues(got.data.params);
    expect(Object.keys(gotParams)).toHaveLength(150);
    expect(gotParams.param_149).toBe('v149');
    expect(fromKeyValues(got.data.tags).tag_119).toBe('t119');
    expect(fromKeyValues(got.data.tags).owner).toBe('tests');
    const history = await client.getMetricHistory(run.info.run_id, 'loss');
    expect(history).toHaveLength(1500);
    expect(history.find((m) => m.step === 1499)?.value).toBeCloseTo(1 / 1500, 10);

    const found = await client.searchAllRuns({ experimentIds: [experimentId], filter: "tags.owner = 'tests'" });
    expect(found.map((r) => r.info.run_id)).toEqual([run.info.run_id]);
  });

  it('uploads, lists and downloads artifacts byte-identically through the proxy', async () => {
    const experimentId = await client.getOrCreateExperiment(`client-art-${Date.now()}`);
    const run = await client.createRun({ experimentId });
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const local = join(dir, 'index.faiss');
    writeFileSync(local, big);
    await client.uploadArtifactFile(run, 'index/index.faiss', local);
    await client.uploadArtifact(run, 'report.json', '{"ok":true}');

    const top = await client.listArtifacts(run);
    expect(top.map((f) => f.path).sort()).toEqual(['index', 'report.json']);
    const inner = await client.listArtifacts(run, 'index');
    expect(inner).toEqual([{ path: 'index/index.faiss', is_dir: false, file_size: big.length }]);

    expect(sha(await client.downloadArtifact(run, 'index/index.faiss'))).toBe(sha(big));
    const copy = join(dir, 'copy.faiss');
    await client.downloadArtifactToFile(run, 'index/index.faiss', copy);
    expect(sha(readFileSync(copy))).toBe(sha(big));
    expect((await client.downloadArtifact(run, 'report.json')).toString()).toBe('{"ok":true}');
  });

  it('registers model versions and moves aliases', async () => {
    const experimentId = await client.getOrCreateExperiment(`client-reg-${Date.now()}`);
    const run = await client.createRun({ experimentId });
    const name = `curio-recall-test-${Date.now()}`;
    await client.getOrCreateRegisteredModel(name);
    await client.getOrCreateRegisteredModel(name); // idempotent
    const source = `mlflow-artifacts:/${MlflowClient.artifactRootPath(run)}/bundle`;
    const v1 = await client.createModelVersion({ name, source, runId: run.info.run_id, tags: { recall_at_50: '0.1' } });
    const v2 = await client.createModelVersion({ name, source, runId: run.info.run_id });
    expect([v1.version, v2.version]).toEqual(['1', '2']);
    await client.setAlias(name, 'champion', v1.version);
    expect((await client.getModelVersionByAlias(name, 'champion'))?.version).toBe('1');
    await client.setAlias(name, 'champion', v2.version);
    expect((await client.getModelVersionByAlias(name, 'champion'))?.version).toBe('2');
    await client.deleteAlias(name, 'champion');
    expect(await client.getModelVersionByAlias(name, 'champion')).toBeUndefined();
  });

  it('turns MLflow error answers into MlflowError with the error code', async () => {
    const err = (await client.getRun('0123456789abcdef0123456789abcdef').catch((e: unknown) => e)) as MlflowError;
    expect(err).toBeInstanceOf(MlflowError);
    expect(err.notFound).toBe(true);
    expect(err.message).toContain('runs/get');
  });

  it('reports an unreachable server clearly', async () => {
    const port = await freePort();
    const dead = new MlflowClient(`http://127.0.0.1:${port}`, { retries: 0, timeoutMs: 2000 });
    const err = (await dead.getExperimentByName('x').catch((e: unknown) => e)) as MlflowError;
    expect(err).toBeInstanceOf(MlflowError);
    expect(err.errorCode).toBe('UNREACHABLE');
    expect(err.message).toContain(`127.0.0.1:${port} is unreachable`);
  });
});
