import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareCommand } from '../cli/commands/compare';
import { compareRuns, CompareError, resolveRunSpec } from '../experiments/compare';
import { registerBundle } from '../experiments/registry';
import { testMlflowClient } from './helpers/mlflow';
import { logRetrainTree, removeTestBuffers, testTracker, writeBundle, type Tree } from './helpers/retrainTree';

const client = testMlflowClient();

describe('compare against the real MLflow server', () => {
  const experimentName = `compare-test-${Date.now()}`;
  const modelName = `curio-recall-compare-${Date.now()}`;
  let dir: string;
  let a: Tree;
  let b: Tree;
  let aId: string;
  let bId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'curio-compare-'));
    const tracker = testTracker({ experimentName });
    a = await logRetrainTree(tracker, { workflowId: 'wf-cmp-a', runId: 'r1', quality: 0, dim: 32 });
    await a.parent.logArtifacts(writeBundle(join(dir, 'a'), 1), 'bundle');
    aId = (await a.parent.lookup())!.runId;
    await registerBundle({ client, runId: aId, modelName });
    await a.parent.end();
    await new Promise((r) => setTimeout(r, 20)); // distinct start times
    b = await logRetrainTree(tracker, { workflowId: 'wf-cmp-b', runId: 'r1', quality: 1, dim: 64 });
    await b.parent.end();
    bId = (await b.parent.lookup())!.runId;
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    removeTestBuffers();
  });

  it('by default compares the latest retrain with the champion and logs the report on the newer run', async () => {
    const res = await compareRuns({ client, experimentName, modelName });
    expect(res.comparison.runs.map((r) => [r.snapshot.runId, r.label])).toEqual([
      [aId, 'A (champion v1)'],
      [bId, 'B (latest retrain)'],
    ]);
    const metric = (name: string) => res.comparison.metricRows.find((r) => r.name === name)?.values;
    expect(metric('recall_at_50')).toEqual([0.06, 0.07]);
    expect(metric('item_unit/recall_at_50')).toEqual([0.06, 0.07]);
    expect(metric('lambda=0.1/diversity_at_50')?.[0]).toBeCloseTo(0.4, 12);
    expect(metric('ab_eval/ctr_lift_ci_high')?.[1]).toBeCloseTo(0.25, 12);
    expect(res.comparison.runs[1]!.curves.get('multi_interest/loss')?.map((p) => p.step)).toEqual([0, 1, 2]);
    expect(res.comparison.paramRows.map((r) => r.name)).toEqual(['config.dim', 'item_unit/dim', 'keyword_dssm/dim', 'multi_interest/dim']);
    expect(res.text).toContain('Params that differ');
    expect(res.text).toMatch(/item_unit\/recall_at_50\s+0\.06\s+0\.07\s+\+0\.01/);

    // Charts: loss curves per model, Recall@K per model, CTR lift with its interval — inline SVG only.
    for (const s of ['item_unit: loss', 'recall@50 per model', 'recall@20 per model', 'ctr_lift with interval', 'diversity@50 per model']) expect(res.html).toContain(s);
    expect((res.html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(8);
    expect(res.html).not.toMatch(/<script|https?:\/\/cdn/i);

    expect(res.artifact?.runId).toBe(bId);
    const run = await client.getRun(bId);
    expect((await client.downloadArtifact(run, res.artifact!.path)).toString()).toBe(res.html);
  });

  it('resolves run specifiers: champion, vN, latest, keys, ids', async () => {
    const ctx = { client, experimentName, modelName };
    expect((await resolveRunSpec(ctx, 'champion')).runId).toBe(aId);
    expect((await resolveRunSpec(ctx, 'v1')).runId).toBe(aId);
    expect((await resolveRunSpec(ctx, 'latest')).runId).toBe(bId);
    expect((await resolveRunSpec(ctx, 'latest~1')).runId).toBe(aId);
    expect((await resolveRunSpec(ctx, 'wf-cmp-b/r1')).runId).toBe(bId);
    expect((await resolveRunSpec(ctx, bId)).runId).toBe(bId);
    await expect(resolveRunSpec(ctx, 'no-such-key')).rejects.toThrow(CompareError);
    await expect(resolveRunSpec(ctx, 'challenger')).rejects.toThrow(/no version with alias 'challenger'/);
  });

  it('runs as `curio compare` with named runs and writes the HTML file', async () => {
    const out = join(dir, 'report.html');
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.join(' '));
    });
    try {
      await compareCommand.run(['wf-cmp-a/r1', 'latest', '--experiment', experimentName, '--model', modelName, '--out', out, '--no-log']);
    } finally {
      spy.mockRestore();
    }
    const printed = lines.join('\n');
    expect(printed).toContain('A (key wf-cmp-a/r1)');
    expect(printed).toContain('config.dim');
    expect(printed).toContain(`report: ${out}`);
    expect(printed).not.toContain('logged as artifact');
    expect(existsSync(out)).toBe(true);
    expect(readFileSync(out, 'utf8')).toContain('<svg');
    await expect(compareCommand.run(['latest', '--experiment', experimentName, '--model', modelName, '--depth', 'x'])).rejects.toThrow('--depth');
  });
});
