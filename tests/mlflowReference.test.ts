import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mlflowPython } from '../platform/paths';
import { registerBundle } from '../experiments/registry';
import { testMlflowClient, testTrackingUri } from './helpers/mlflow';
import { logRetrainTree, removeTestBuffers, testTracker, writeBundle } from './helpers/retrainTree';

/**
 * MLflow's own Python client (the reference implementation, from the project's venv) must read
 * what Curio wrote over REST: the run tree, params, metric histories, the model alias and artifacts.
 */
const READER = String.raw`
import hashlib, json, sys, tempfile, os
import mlflow
from mlflow import MlflowClient
args = json.loads(sys.argv[1])
mlflow.set_tracking_uri(args["uri"])
client = MlflowClient()
key = args["key"]
parents = mlflow.search_runs(experiment_names=[args["experiment"]], filter_string="tags.\"curio.key\" = '%s'" % key, output_format="list")
p = parents[0]
children = mlflow.search_runs(experiment_names=[args["experiment"]], filter_string="tags.\"mlflow.parentRunId\" = '%s'" % p.info.run_id, output_format="list")
loss = {c.info.run_name: [[m.step, m.value] for m in sorted(client.get_metric_history(c.info.run_id, "loss"), key=lambda m: m.step)] for c in children}
mv = client.get_model_version_by_alias(args["model"], "champion")
dest = tempfile.mkdtemp()
local = mlflow.artifacts.download_artifacts(run_id=p.info.run_id, artifact_path="bundle/index/items.faiss", dst_path=dest)
print(json.dumps({
  "n_parents": len(parents),
  "parent": {"run_id": p.info.run_id, "name": p.info.run_name, "status": p.info.status, "params": p.data.params, "metrics": p.data.metrics, "tags": {k: v for k, v in p.data.tags.items() if k.startswith("curio.")}},
  "children": sorted([[c.info.run_name, c.data.tags.get("curio.key"), c.data.tags.get("mlflow.parentRunId")] for c in children]),
  "sweep_params": {c.info.run_name: c.data.params for c in children if c.data.tags.get("curio.kind") == "sweep"},
  "loss": loss,
  "champion": {"version": mv.version, "run_id": mv.run_id, "aliases": list(mv.aliases), "tags": mv.tags, "source": mv.source},
  "index_sha256": hashlib.sha256(open(local, "rb").read()).hexdigest(),
}))
`;

afterAll(removeTestBuffers);

it('the reference MLflow Python client reads the run tree, values and champion Curio wrote', async () => {
  expect(existsSync(mlflowPython)).toBe(true);
  const client = testMlflowClient();
  const dir = mkdtempSync(join(tmpdir(), 'curio-reference-'));
  try {
    const experimentName = `reference-${Date.now()}`;
    const modelName = `curio-recall-ref-${Date.now()}`;
    const tracker = testTracker({ experimentName });
    const tree = await logRetrainTree(tracker, { workflowId: 'wf-ref', runId: 'run-ref', quality: 2 });
    const bundle = writeBundle(join(dir, 'bundle'), 9);
    await tree.parent.logArtifacts(bundle, 'bundle');
    const { runId } = (await tree.parent.lookup())!;
    const reg = await registerBundle({ client, runId, modelName });
    await tree.parent.end();

    const { stdout } = await promisify(execFile)(mlflowPython, ['-c', READER, JSON.stringify({ uri: testTrackingUri(), experiment: experimentName, key: 'wf-ref/run-ref', model: modelName })], {
      timeout: 60_000,
      env: { ...process.env, MLFLOW_TRACKING_URI: testTrackingUri() },
    });
    const got = JSON.parse(stdout.trim().split('\n').pop()!);

    expect(got.n_parents).toBe(1);
    expect(got.parent).toMatchObject({
      run_id: runId,
      name: 'retrain wf-ref',
      status: 'FINISHED',
      params: { 'config.dim': '32', 'config.epochs': '3', 'config.seed': '7' },
      metrics: { recall_at_50: 0.08, ctr_lift: 0.25, ctr_lift_ci_low: 0.2, ctr_lift_ci_high: 0.3 },
    });
    expect(got.parent.tags).toMatchObject({
      'curio.key': 'wf-ref/run-ref',
      'curio.kind': 'retrain',
      'curio.temporal.workflow_id': 'wf-ref',
      'curio.temporal.run_id': 'run-ref',
      'curio.dataset_digest': 'sha256:wf-ref',
      'curio.scale': 'tiny',
      'curio.model_version': `${modelName}/1`,
    });
    expect(got.children).toHaveLength(8);
    for (const [, key, parentId] of got.children) {
      expect(key).toMatch(/^wf-ref\/run-ref\//);
      expect(parentId).toBe(runId);
    }
    expect(got.sweep_params).toEqual({ 'lambda=0.05': { lambda: '0.05' }, 'lambda=0.1': { lambda: '0.1' } });
    expect(got.loss.item_unit).toEqual([
      [0, 1],
      [1, 0.7 - 2 / 10],
      [2, 0.5 - 2 / 10],
    ]);
    expect(got.champion).toMatchObject({ version: reg.version, run_id: runId, aliases: ['champion'] });
    expect(got.champion.tags).toMatchObject({ 'curio.primary_metric': 'recall_at_50', 'curio.primary_metric_value': '0.08', 'curio.decision': 'promoted' });
    expect(got.champion.source).toBe(reg.source);
    expect(got.index_sha256).toBe(createHash('sha256').update(readFileSync(join(bundle, 'index', 'items.faiss'))).digest('hex'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
