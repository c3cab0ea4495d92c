import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromKeyValues } from '../experiments/mlflowClient';
import { TAGS } from '../experiments/naming';
import { beats, getAliased, liftGate, registerBundle, RegistryError, VERSION_TAGS } from '../experiments/registry';
import type { Tracker } from '../experiments/tracking';
import { testMlflowClient } from './helpers/mlflow';
import { removeTestBuffers, testTracker, writeBundle } from './helpers/retrainTree';

const client = testMlflowClient();
let dir: string;
let tracker: Tracker;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'curio-registry-'));
  tracker = testTracker();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeTestBuffers();
});

/** A retrain run with its headline metric and a bundle folder uploaded to `bundle/`. */
async function retrain(name: string, recall: number): Promise<string> {
  const run = await tracker.startRetrain({ workflowId: name, temporalRunId: 'r', datasetDigest: 'd', scale: 'tiny' });
  await run.logMetrics({ recall_at_50: recall, ndcg_at_50: recall / 2 });
  await run.logArtifacts(writeBundle(join(dir, name), Math.round(recall * 1000)), 'bundle');
  await run.end();
  return (await run.lookup())!.runId;
}

describe('beats', () => {
  it('compares in the configured direction with a margin', () => {
    expect(beats(0.2, 0.1, { name: 'm' })).toBe(true);
    expect(beats(0.1, 0.1, { name: 'm' })).toBe(false);
    expect(beats(0.1, 0.2, { name: 'loss', higherIsBetter: false })).toBe(true);
    expect(beats(0.105, 0.1, { name: 'm', minDelta: 0.01 })).toBe(false);
  });
});

describe('liftGate', () => {
  it('blocks only when the whole interval lies below zero', () => {
    expect(liftGate('A/B CTR lift', { lift: -0.22, ci: [-0.28, -0.16] })).toMatchObject({ blocked: true, reason: expect.stringMatching(/entirely below 0/) });
    expect(liftGate('A/B CTR lift', { lift: -0.05, ci: [-0.12, 0.01] }).blocked).toBe(false);
    expect(liftGate('replay lift', undefined)).toEqual({ blocked: false, reason: 'no replay lift estimate' });
  });
});

describe('registerBundle against the real registry', () => {
  it('makes the first version champion, moves champion only on improvement, and is idempotent', async () => {
    const model = `curio-recall-test-${Date.now()}`;
    const r1 = await retrain(`reg-a-${Date.now()}`, 0.08);
    const first = await registerBundle({ client, runId: r1, modelName: model });
    expect(first).toMatchObject({ version: '1', decision: 'promoted', value: 0.08, alreadyRegistered: false });
    expect(first.previousChampion).toBeUndefined();

    // Worse: becomes challenger, champion stays.
    const r2 = await retrain(`reg-b-${Date.now()}`, 0.07);
    const second = await registerBundle({ client, runId: r2, modelName: model });
    expect(second).toMatchObject({ version: '2', decision: 'challenger', previousChampion: { version: '1', value: 0.08 } });
    expect(second.reason).toContain('does not beat');
    expect((await getAliased(client, model, 'champion'))?.version).toBe('1');
    expect((await getAliased(client, model, 'challenger'))?.version).toBe('2');

    // Equal is not an improvement.
    const r3 = await retrain(`reg-c-${Date.now()}`, 0.08);
    expect(await registerBundle({ client, runId: r3, modelName: model })).toMatchObject({ version: '3', decision: 'challenger' });

    // Better: champion moves.
    const r4 = await retrain(`reg-d-${Date.now()}`, 0.095);
    const fourth = await registerBundle({ client, runId: r4, modelName: model });
    expect(fourth).toMatchObject({ version: '4', decision: 'promoted', previousChampion: { version: '1', value: 0.08 } });
    const champion = await getAliased(client, model, 'champion');
    expect(champion).toMatchObject({ version: '4', run_id: r4, value: 0.095, primaryMetric: 'recall_at_50' });
    expect(fromKeyValues(champion?.tags)[`${VERSION_TAGS.metricPrefix}recall_at_50`]).toBe('0.095');
    expect(champion?.source).toMatch(/^mlflow-artifacts:\/.*\/artifacts\/bundle$/);
    expect((await getAliased(client, model, 'challenger'))?.version).toBe('3');

    // A retried registration activity adds no version and returns the same decision.
    const again = await registerBundle({ client, runId: r4, modelName: model });
    expect(again).toMatchObject({ version: '4', decision: 'promoted', alreadyRegistered: true });
    const again2 = await registerBundle({ client, runId: r2, modelName: model });
    expect(again2).toMatchObject({ version: '2', decision: 'challenger', alreadyRegistered: true });
    expect((await getAliased(client, model, 'challenger'))?.version).toBe('3'); // a later challenger stays
    expect(await client.searchModelVersions(`name='${model}'`)).toHaveLength(4);

    // The run points back at its version.
    const tags = fromKeyValues((await client.getRun(r4)).data.tags);
    expect(tags[TAGS.modelVersion]).toBe(`${model}/4`);
    expect(tags[TAGS.registryDecision]).toBe('promoted');
  });

  it('honours a lower-is-better primary metric, and refuses an incomplete bundle or a missing metric', async () => {
    const model = `curio-recall-lower-${Date.now()}`;
    const primaryMetric = { name: 'ndcg_at_50', higherIsBetter: false };
    const a = await retrain(`reg-low-a-${Date.now()}`, 0.1); // ndcg 0.05
    const b = await retrain(`reg-low-b-${Date.now()}`, 0.2); // ndcg 0.1: higher, so worse here
    expect(await registerBundle({ client, runId: a, modelName: model, primaryMetric })).toMatchObject({ decision: 'promoted', value: 0.05 });
    expect(await registerBundle({ client, runId: b, modelName: model, primaryMetric })).toMatchObject({ decision: 'challenger', value: 0.1 });
    // An explicit value overrides the run's metric.
    const c = await retrain(`reg-low-c-${Date.now()}`, 0.3);
    expect(await registerBundle({ client, runId: c, modelName: model, primaryMetric, metrics: { ndcg_at_50: 0.01 } })).toMatchObject({ decision: 'promoted', value: 0.01 });

    await expect(registerBundle({ client, runId: a, modelName: model, requiredParts: ['user_model', 'missing_part'] })).rejects.toThrow(/lacks missing_part/);
    await expect(registerBundle({ client, runId: a, modelName: model, primaryMetric: { name: 'hitrate_at_20' } })).rejects.toThrow(RegistryError);
    await expect(registerBundle({ client, runId: 'not-a-run', modelName: model })).rejects.toThrow(/not an MLflow run id/);
  });

  it('never promotes past a blocking gate, and compares raw metrics only on the same dataset', async () => {
    const model = `curio-recall-data-${Date.now()}`;
    const primaryMetric = { name: 'next_session_recall_at_50' };
    const m = (raw: number, ratio: number) => ({ next_session_recall_at_50: raw, next_session_recall_at_50_over_item_cf: ratio });
    const crossDatasetMetric = 'next_session_recall_at_50_over_item_cf';
    const run = () => retrain(`reg-data-${Date.now()}-${Math.random()}`, 0.1);
    const blocked = liftGate('A/B CTR lift', { lift: -0.2, ci: [-0.3, -0.1] });

    // A blocked first version does not become champion: there is none.
    const v1 = await registerBundle({ client, runId: await run(), modelName: model, primaryMetric, metrics: m(0.3, 1.5), datasetDigest: 'aaa', crossDatasetMetric, gate: blocked });
    expect(v1).toMatchObject({ version: '1', decision: 'challenger', reason: blocked.reason });
    expect(await getAliased(client, model, 'champion')).toBeUndefined();

    const v2 = await registerBundle({ client, runId: await run(), modelName: model, primaryMetric, metrics: m(0.3, 1.1), datasetDigest: 'aaa', crossDatasetMetric });
    expect(v2).toMatchObject({ version: '2', decision: 'promoted' });
    expect(fromKeyValues((await getAliased(client, model, 'champion'))?.tags)[VERSION_TAGS.datasetDigest]).toBe('aaa');

    // Other data: a lower raw recall, but a higher ratio over item-CF on its own data, wins.
    const v3 = await registerBundle({ client, runId: await run(), modelName: model, primaryMetric, metrics: m(0.2, 1.3), datasetDigest: 'bbb', crossDatasetMetric });
    expect(v3).toMatchObject({ version: '3', decision: 'promoted', reason: expect.stringMatching(/dataset aaa.*relative to the baseline: next_session_recall_at_50_over_item_cf 1.300 beats champion v2's 1.100/) });

    // Same data as the champion: raw recall decides, even though the ratio is higher.
    const v4 = await registerBundle({ client, runId: await run(), modelName: model, primaryMetric, metrics: m(0.19, 2), datasetDigest: 'bbb', crossDatasetMetric });
    expect(v4).toMatchObject({ version: '4', decision: 'challenger', reason: expect.stringMatching(/^same dataset: next_session_recall_at_50 0.1900 does not beat champion v3's 0.2000/) });

    // A gate that does not block is quoted in the reason; a blocking one wins over a better metric.
    const open = liftGate('A/B CTR lift', { lift: 0.1, ci: [-0.02, 0.2] });
    const v5 = await registerBundle({ client, runId: await run(), modelName: model, primaryMetric, metrics: m(0.25, 1), datasetDigest: 'bbb', crossDatasetMetric, gate: open });
    expect(v5).toMatchObject({ decision: 'promoted', reason: expect.stringContaining(open.reason) });
    const v6 = await registerBundle({ client, runId: await run(), modelName: model, primaryMetric, metrics: m(0.4, 3), datasetDigest: 'bbb', crossDatasetMetric, gate: blocked });
    expect(v6).toMatchObject({ decision: 'challenger', reason: blocked.reason, previousChampion: { version: '5' } });
    expect((await getAliased(client, model, 'champion'))?.version).toBe('5');
  });
});
