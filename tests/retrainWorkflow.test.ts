import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { projectRoot, temporalBinary } from '../platform/paths';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker as WorkerType } from '@temporalio/worker';
import { fromKeyValues, MlflowClient } from '../experiments/mlflowClient';
import { generateMarketplace } from '../data/generator/generate';
import { attachDatabase, openDatabase } from '../platform/duckdb';
import { servedFeed } from '../evaluation/abFeeds';
import { readItemVectors } from '../models/vectorFiles';
import { ConstrainedIndex } from '../retrieval/constrainedIndex';
import { LiveItems } from '../retrieval/liveItems';
import { PopularItems } from '../retrieval/popularFallback';
import { buildServer } from '../serve/server';
import { RecallService } from '../serve/service';
import { readServingFiles } from '../serve/servingFiles';
import { openServedArm } from '../stages/servedArm';
import { createTrainingWorker } from '../workers/createWorkers';
import { abortSignal, progressQuery, retrainRecall, retryStageSignal, OUTCOME_KEY } from '../workflows/retrainRecall';
import { PIPELINE_TASK_QUEUE } from '../workflows/taskQueues';
import { STAGES, type RetrainInput, type StageRow } from '../workflows/types';
import { testTrackingUri } from './helpers/mlflow';
import { startTemporal } from './helpers/temporal';
import { until } from './helpers/until';

/**
 * The retrain workflow end to end on the real Temporal dev server and the real MLflow server, at
 * tiny scale with one-epoch models: a bad input file that waits for retryStage, the whole pipeline
 * once fixed, the MLflow run tree and registry it leaves, and replay of the recorded histories.
 * The pipeline worker runs as its own process (the built one, as `curio workers` starts it) with a
 * tripwire on TensorFlow: the retrain proves that process never loads it.
 */

const stamp = Date.now();
function quickInput(data: RetrainInput['data']): RetrainInput {
  return {
    data,
    experimentName: `retrain-test-${stamp}`,
    registry: { modelName: `curio-recall-test-${stamp}` },
    itemUnit: { epochs: 1, batchSize: 2048 },
    item2vec: { epochs: 1, batchSize: 2048 },
    keyword: { epochs: 1, frozenEpochs: 0 },
    multiInterest: { epochs: 1, sampledNegatives: 64 },
    lambdaGrid: [0, 0.3],
    sweepParallelism: 2,
    abTest: { bootstrapSamples: 200, pagesPerSession: 1 },
    timeouts: { trainingHeartbeatSeconds: 20 },
  };
}

describe('retrainRecall on the real dev server', () => {
  let env: TestWorkflowEnvironment;
  let workers: WorkerType[];
  let pipelineWorker: ChildProcess | undefined;
  let root: string;
  let running: Promise<void>;
  let tfLoads: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'curio-retrain-'));
    tfLoads = join(root, 'pipeline-worker-tf-loads.txt');
    process.env.CURIO_ARTIFACTS_DIR = join(root, 'artifacts');
    process.env.CURIO_TRACKING_BUFFER_DIR = join(root, 'mlflow-buffer');
    env = await startTemporal();
    const script = join(projectRoot, 'dist', 'workers', 'pipelineWorker.js');
    if (!existsSync(script)) throw new Error(`${script} is missing: run \`make build\` first`);
    const ready = join(root, 'pipeline-worker.ready');
    pipelineWorker = spawn(process.execPath, ['--require', join(__dirname, 'helpers', 'tfTripwire.js'), script], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace ?? 'default', CURIO_WORKER_READY_FILE: ready, CURIO_TF_TRIPWIRE: tfLoads },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const ctx = { connection: env.nativeConnection, namespace: env.namespace ?? 'default' };
    workers = [await createTrainingWorker(ctx)];
    running = Promise.all(workers.map((w) => w.run())).then(() => undefined);
    // Its stderr shows here if it fails to start.
    await until('the pipeline worker to poll', async () => (existsSync(ready) ? true : undefined), 120_000);
  });

  afterAll(async () => {
    workers?.forEach((w) => w.shutdown());
    await running;
    if (pipelineWorker && pipelineWorker.exitCode === null) {
      const exited = new Promise((r) => pipelineWorker?.once('exit', r));
      pipelineWorker.kill('SIGTERM');
      await exited;
    }
    await env?.teardown();
    rmSync(root, { recursive: true, force: true });
  });

  it('waits on bad data, resumes on retryStage without redoing finished stages, and completes every stage', async () => {
    const data = join(root, 'data');
    await generateMarketplace({ scale: 'tiny', seed: 3, out: data });
    // Break the items file: one lot loses its title.
    const items = join(data, 'items.parquet');
    copyFileSync(items, join(root, 'items.good.parquet'));
    const db = await openDatabase(':memory:');
    await db.connection.run(`COPY (SELECT * REPLACE (CASE WHEN item_id = 'it0000005' THEN NULL ELSE title END AS title) FROM '${join(root, 'items.good.parquet')}') TO '${items}' (FORMAT parquet)`);
    db.close();

    const workflowId = `retrain-test-${stamp}`;
    const handle = await env.client.workflow.start(retrainRecall, { taskQueue: PIPELINE_TASK_QUEUE, workflowId, args: [quickInput({ dir: data })] });
    const waiting = await until(
      'the load stage to wait for a retry',
      async () => (await handle.query(progressQuery)).find((r) => r.stage === 'load' && r.status === 'waiting_for_retry'),
      120_000,
    );
    expect(waiting.errorType).toBe('DataValidationError');
    expect(waiting.error).toContain(`${items}, row 5, column title: missing value`);

    copyFileSync(join(root, 'items.good.parquet'), items);
    await handle.signal(retryStageSignal, { stage: 'load' });
    const result = await handle.result();

    // Every stage finished; only the failed stage ran twice.
    expect(result.stages.map((s) => [s.stage, s.status])).toEqual(STAGES.map((s) => [s, 'done']));
    const attempts = Object.fromEntries(result.stages.map((s: StageRow) => [s.stage, s.attempt]));
    expect(attempts).toEqual({ ...Object.fromEntries(STAGES.map((s) => [s, 1])), load: 2 });
    expect([0, 0.3]).toContain(result.bestLambda);
    expect(result.recallAt50).toBeGreaterThan(0);
    expect(result.ctrLift).toBeDefined();
    // The registry's decision follows its gate: a version whose A/B lift interval lies entirely below
    // zero is never promoted, even as the first version; otherwise the first version is champion.
    const ab = result.stages.find((s) => s.stage === 'ab_test')?.summary ?? {};
    const blocked = Number(ab.ctr_lift_ci_high) < 0;
    expect(result.registry).toMatchObject(
      blocked
        ? { decision: 'challenger', version: '1', champion: '', reason: expect.stringMatching(/A\/B CTR lift .* entirely below 0/) }
        : { decision: 'promoted', version: '1', champion: '1', reason: expect.stringMatching(/^no champion yet.*A\/B CTR lift/) },
    );

    // Every stage's output is a finished, content-addressed folder.
    for (const stage of ['load', 'features', 'tagging', 'item_embedding', 'keyword', 'multi_interest', 'evaluation', 'index', 'ab_test']) {
      const dirs = readdirSync(join(root, 'artifacts', stage)).filter((d) => !d.includes('.'));
      expect({ stage, finished: dirs.some((d) => existsSync(join(root, 'artifacts', stage, d, 'manifest.json'))) }).toEqual({ stage, finished: true });
    }
    expect(readdirSync(join(root, 'artifacts', 'multi_interest_trial')).filter((d) => !d.includes('.'))).toHaveLength(2);
    // The pipeline worker ran every workflow task and every pipeline activity of a whole retrain without loading TensorFlow.
    expect(existsSync(tfLoads) ? readFileSync(tfLoads, 'utf8') : 'no TensorFlow loaded').toBe('no TensorFlow loaded');

    // Lineage: memo → MLflow run; MLflow run → Temporal UI; the run tree under it.
    const desc = await handle.describe();
    const memo = desc.memo as Record<string, string>;
    expect(memo.mlflowRunId).toBe(result.mlflowRunId);
    expect(desc.typedSearchAttributes.get(OUTCOME_KEY)).toBe(blocked ? 'challenger' : 'champion');
    const client = new MlflowClient(testTrackingUri());
    const parent = await client.getRun(memo.mlflowRunId as string);
    const tags = fromKeyValues(parent.data.tags);
    expect(tags['curio.temporal.workflow_id']).toBe(workflowId);
    expect(tags['curio.temporal.ui_url']).toContain(`/workflows/${workflowId}/`);
    expect(tags['curio.model_version']).toBe(`curio-recall-test-${stamp}/1`);
    const children = await client.searchAllRuns({ experimentIds: [parent.info.experiment_id], filter: `tags.mlflow.parentRunId = '${parent.info.run_id}'` });
    const names = children.map((r) => fromKeyValues(r.data.tags)['mlflow.runName']).sort();
    expect(names).toEqual(
      expect.arrayContaining(['load', 'features', 'tagging', 'item_embedding', 'item_unit', 'item2vec', 'keyword', 'keyword_dssm', 'multi_interest', 'youtube_dnn', 'lambda=0', 'lambda=0.3', 'evaluation', 'index', 'ab_test']),
    );
    const itemUnit = children.find((r) => fromKeyValues(r.data.tags)['mlflow.runName'] === 'item_unit');
    expect((await client.getMetricHistory(itemUnit?.info.run_id as string, 'loss')).length).toBe(1);
    expect((await client.getModelVersionByAlias(`curio-recall-test-${stamp}`, 'champion'))?.version).toBe(blocked ? undefined : '1');
    expect(tags['curio.registry_reason']).toBe(result.registry?.reason);

    // Determinism: the histories just recorded (exported with the real CLI) replay against the
    // workflow sources, and so does one recorded when this workflow was written (a change that breaks
    // it needs workflow versioning; CURIO_RECORD_HISTORY=1 re-records it deliberately). Replay runs in
    // a plain Node process: protobufjs does not survive jest's module sandbox.
    const exportHistory = (id: string) =>
      JSON.parse(execFileSync(temporalBinary, ['workflow', 'show', '--workflow-id', id, '--address', env.address, '--output', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as unknown;
    const fixture = join(__dirname, 'fixtures', 'retrain-history.json');
    if (process.env.CURIO_RECORD_HISTORY === '1') {
      mkdirSync(dirname(fixture), { recursive: true });
      writeFileSync(fixture, JSON.stringify({ workflowId, history: exportHistory(workflowId) }));
    }
    const replay = (file: string, id?: string) =>
      execFileSync(process.execPath, [join(projectRoot, 'dist', 'cli', 'main.js'), 'replay', file, '--workflows', join(projectRoot, 'workflows', 'index.ts'), ...(id ? ['--workflow-id', id] : [])], { encoding: 'utf8' });
    for (const id of [workflowId, `${workflowId}-lambda-0-attempt-1`, `${workflowId}-lambda-0.3-attempt-1`]) {
      const file = join(root, `${id}.json`);
      writeFileSync(file, JSON.stringify(exportHistory(id)));
      expect(replay(file, id)).toContain('deterministic');
    }
    expect(replay(fixture)).toContain('deterministic');
  });

  it('serves the registered bundle through MLflow: the offline top-K, exact categories, fresh and ended lots, a swap under load without a failed request, SIGTERM', async () => {
    const model = `curio-recall-test-${stamp}`;
    const client = new MlflowClient(testTrackingUri());
    // An alias of its own: the first version may be challenger (blocked by its A/B gate), and serving does not care.
    await client.setAlias(model, 'serving-test', '1');
    const cacheDir = join(root, 'serving');
    const watchDir = join(root, 'watched-lots');
    mkdirSync(watchDir, { recursive: true });
    const logged: string[] = [];
    const service = new RecallService({ client, ref: { model, alias: 'serving-test' }, cacheDir, pollSeconds: 0, graceMs: 2000, watchDir, watchSeconds: 0.2, log: (l) => logged.push(l) });
    await service.start();
    expect(service.version).toBe(`${model}/1`);
    const now = service.dataEnd() as number;
    const app = buildServer({ engine: service.engine, now: () => now, registry: service.registry, lots: (l) => service.addLots(l), maxK: 100 });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const call = async (path: string, body?: unknown) => {
        const r = await fetch(`${address}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: r.status, body: (await r.json()) as Record<string, unknown> & { items: { id: string; route: string; score: number }[] } };
      };
      const files = await readServingFiles(join(cacheDir, model, '1'));
      const { catalogue, manifest } = files;
      const live = new LiveItems(catalogue).at(now);
      const liveSet = new Set(live);
      // A history of lots clicked in the popularity window (so they exist, and some still run).
      const clicked = Array.from(files.popularity.keys()).filter((i) => (files.popularity[i] as number) > 0).slice(0, 6);
      expect(clicked.length).toBeGreaterThan(2);
      const history = clicked.map((i) => catalogue.itemIds[i] as string);

      // The same feed as the offline code (the A/B's arm B function) on the registration's local bundle and stage files.
      const served = await call('/v1/recall', { history, k: 30 });
      expect(served.status).toBe(200);
      expect(served.body.version).toBe(`${model}/1`);
      const local = join(root, 'artifacts', 'bundles', readdirSync(join(root, 'artifacts', 'bundles'))[0] as string);
      const featuresDir = readdirSync(join(root, 'artifacts', 'features')).find((d) => existsSync(join(root, 'artifacts', 'features', d, 'manifest.json'))) as string;
      const iv = await readItemVectors(join(local, 'serving', 'item_vectors.parquet'));
      const arm = await openServedArm(manifest.served, join(local, 'user_model'), iv);
      const db = await openDatabase(':memory:');
      let offline: string[];
      try {
        await attachDatabase(db.connection, join(root, 'artifacts', 'features', featuresDir, 'features.duckdb'), 'feat');
        const popular = await PopularItems.compute(db.connection, catalogue.itemIds.length, catalogue.listedAt, manifest.popularity.since, manifest.popularity.until);
        const seen = new Set(clicked);
        const feed = servedFeed(arm, ConstrainedIndex.read(join(local, 'index')), arm.modelFor(0), { longTerm: Int32Array.from(clicked), shortTerm: new Int32Array(), live, seen }, { recall: manifest.recall, size: 30, popular, clicks: clicked });
        offline = feed.items.map((c) => `${catalogue.itemIds[c.itemIdx]}:${c.route}`);
      } finally {
        db.close();
        arm.dispose();
      }
      expect(served.body.items.map((x) => `${x.id}:${x.route}`)).toEqual(offline);
      const byId = new Map(catalogue.itemIds.map((id, i) => [id, i]));
      for (const x of served.body.items) expect({ id: x.id, live: liveSet.has(byId.get(x.id) as number), clicked: history.includes(x.id) }).toEqual({ id: x.id, live: true, clicked: false });

      // A category constraint is exact.
      const category = catalogue.categories[clicked[0] as number] as string;
      const constrained = await call('/v1/recall', { history, k: 20, category });
      expect(constrained.body.items.length).toBeGreaterThan(0);
      expect(new Set(constrained.body.items.map((x) => catalogue.categories[byId.get(x.id) as number]))).toEqual(new Set([category]));

      // A lot listed now, described like a running one, becomes searchable next to it; ended, it is gone.
      const twin = live[0] as number;
      const itemsDb = await openDatabase(':memory:');
      const [row] = (await itemsDb.connection.runAndReadAll(`SELECT title, seller_id, start_price, category FROM '${join(root, 'data', 'items.parquet')}' WHERE item_id = '${catalogue.itemIds[twin]}'`)).getRowObjectsJson();
      itemsDb.close();
      const lot = { item_id: 'fresh-lot-1', title: String(row?.title), seller_id: String(row?.seller_id), start_price: Number(row?.start_price), ...(row?.category ? { category: String(row.category) } : {}), listed_at: catalogue.listedAt[twin] as number, ends_at: now + 86_400_000 };
      const added = await call('/v1/items', { items: [lot] });
      expect(added.status).toBe(200);
      expect(added.body).toMatchObject({ added: 1, updated: 0, version: `${model}/1` });
      // Tagged with the retrain's vocabulary as the tagging stage tagged its twin, and embedded as the tower embedded it.
      const taggingDir = readdirSync(join(root, 'artifacts', 'tagging')).find((d) => existsSync(join(root, 'artifacts', 'tagging', d, 'manifest.json'))) as string;
      const tagsDb = await openDatabase(':memory:');
      await attachDatabase(tagsDb.connection, join(root, 'artifacts', 'tagging', taggingDir, 'tags.duckdb'), 'tags');
      const twinTags = (await tagsDb.connection.runAndReadAll(`SELECT g.tag FROM tags.item_tags t JOIN tags.tags g USING (tag_id) WHERE t.item_id = '${catalogue.itemIds[twin]}' AND g.type NOT IN ('category', 'visual') ORDER BY t.weight DESC, t.tag_id LIMIT ${manifest.itemTower.maxTags}`)).getRowObjectsJson().map((r) => String(r.tag));
      tagsDb.close();
      expect((added.body.tags as string[][])[0]).toEqual(twinTags);
      const near = await call(`/v1/items/${catalogue.itemIds[twin]}/similar?k=10`);
      expect(near.body.items.find((x) => x.id === 'fresh-lot-1')?.score).toBeGreaterThan(0.99);
      expect((await call('/v1/items/fresh-lot-1/similar?k=5')).status).toBe(200);
      expect((await call('/v1/recall', { history: ['fresh-lot-1'], k: 10 })).body.unknown).toEqual([]);
      const ended = await call('/v1/items', { items: [{ ...lot, ends_at: now - 1 }] });
      expect(ended.body).toMatchObject({ added: 0, updated: 1 });
      expect((await call(`/v1/items/${catalogue.itemIds[twin]}/similar?k=10`)).body.items.map((x) => x.id)).not.toContain('fresh-lot-1');
      const unknownCategory = await call('/v1/items', { items: [{ ...lot, item_id: 'fresh-lot-2', category: 'no-such-category-anywhere' }] });
      expect(unknownCategory).toMatchObject({ status: 400, body: { field: 'items.0.category' } });
      expect(await (await fetch(`${address}/metrics`)).text()).toMatch(/curio_freshness_lag_seconds_count 2/);

      // The watched folder: whole lines only, bad lines logged with file, line and reason, good ones searchable.
      const file = join(watchDir, 'lots.jsonl');
      const line = (id: string) => JSON.stringify({ ...lot, item_id: id });
      writeFileSync(file, `${line('watched-1')}\n{"item_id": \n${JSON.stringify({ ...lot, item_id: 'watched-bad', seller_id: undefined })}\n${line('watched-2').slice(0, 20)}`);
      await until('a watched lot to be searchable', async () => ((await call('/v1/items/watched-1/similar?k=3')).status === 200 ? true : undefined), 30_000);
      expect(logged.filter((l) => l.startsWith(`${file}:`))).toEqual([expect.stringMatching(new RegExp(`^${file}:2: not JSON`)), expect.stringMatching(new RegExp(`^${file}:3: seller_id: `))]);
      expect((await call('/v1/items/watched-2/similar?k=3')).status).toBe(404);
      // The half-written last line, completed, is read; a bad line after it is numbered in the whole file.
      writeFileSync(file, `${line('watched-2').slice(20)}\nnot json\n`, { flag: 'a' });
      await until('the completed line to be searchable', async () => ((await call('/v1/items/watched-2/similar?k=3')).status === 200 ? true : undefined), 30_000);
      await until('the next bad line to be logged', async () => (logged.some((l) => l.startsWith(`${file}:5: not JSON`)) ? true : undefined), 30_000);

      // A new version behind the alias: loaded beside the old and swapped in while 8 clients keep asking; none fails.
      const v1 = await client.getModelVersion(model, '1');
      const v2 = await client.createModelVersion({ name: model, source: v1.source as string, runId: v1.run_id as string, tags: { 'curio.bundle_path': 'bundle' } });
      await client.setAlias(model, 'serving-test', v2.version);
      let swapping = true;
      const outcomes: string[] = [];
      const load = Array.from({ length: 8 }, async () => {
        while (swapping) {
          const r = await fetch(`${address}/v1/recall`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ history, k: 30 }) }).catch((e: Error) => e);
          outcomes.push(r instanceof Error ? `error ${r.message}` : r.status === 200 ? `200 ${((await r.json()) as { version: string }).version}` : `status ${r.status}`);
        }
      });
      await service.refresh();
      await new Promise((r) => setTimeout(r, 300));
      swapping = false;
      await Promise.all(load);
      expect(outcomes.filter((o) => !o.startsWith('200 '))).toEqual([]);
      expect(new Set(outcomes)).toEqual(new Set([`200 ${model}/1`, `200 ${model}/${v2.version}`]));
      expect(service.version).toBe(`${model}/${v2.version}`);
      // The fresh lot survived the swap: the new bundle embedded it before answering.
      expect((await call('/v1/items/fresh-lot-1/similar?k=5')).body.version).toBe(`${model}/${v2.version}`);
    } finally {
      await app.close();
      await service.stop();
    }

    // The CLI: ready on the registered version, and a clean exit on SIGTERM.
    const cli = spawn(process.execPath, [join(projectRoot, 'dist', 'cli', 'main.js'), 'serve', '--model', model, '--version', '1', '--port', '0', '--clock', 'data-end', '--cache', cacheDir], { env: { ...process.env, MLFLOW_TRACKING_URI: testTrackingUri() }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    cli.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = await until('curio serve to listen', async () => /listening on (http:\/\/\S+)/.exec(stderr)?.[1], 60_000);
    expect(await (await fetch(`${url}/readyz`)).json()).toMatchObject({ ready: true, version: `${model}/1` });
    const exited = new Promise<number | null>((r) => cli.once('exit', r));
    cli.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('SIGTERM: finishing requests in flight');
  });

  it('abort cancels a real training while it runs: it stops at its next step and publishes nothing', async () => {
    // Same data as above, so load → tagging are reused; the item-unit trains long enough to abort it.
    const data = join(root, 'data');
    const workflowId = `retrain-abort-${stamp}`;
    const input = { ...quickInput({ dir: data }), itemUnit: { epochs: 400, batchSize: 256 }, timeouts: { trainingHeartbeatSeconds: 10 } };
    const handle = await env.client.workflow.start(retrainRecall, { taskQueue: PIPELINE_TASK_QUEUE, workflowId, args: [input] });
    const stageRoot = join(root, 'artifacts', 'item_embedding');
    const checkpointed = (): number => {
      const epochs = (existsSync(stageRoot) ? readdirSync(stageRoot) : [])
        .filter((d) => d.endsWith('.scratch'))
        .flatMap((d) => readdirSync(join(stageRoot, d)).map((attempt) => join(stageRoot, d, attempt, 'item_unit')))
        .flatMap((dir) => (existsSync(dir) ? readdirSync(dir) : []))
        .map((e) => /^epoch-(\d+)$/.exec(e))
        .map((m) => (m ? Number(m[1]) : 0));
      return Math.max(0, ...epochs);
    };
    await until('the item-unit to checkpoint an epoch', async () => (checkpointed() >= 1 ? true : undefined), 180_000);
    const abortedAt = Date.now();
    await handle.signal(abortSignal, 'wrong settings');
    const err = await handle.result().catch((e: unknown) => e);
    const stoppedWithin = Date.now() - abortedAt;
    expect((err as { cause?: { type?: string; message?: string } }).cause).toMatchObject({ type: 'Aborted', message: 'retrain aborted at stage item_embedding: wrong settings' });
    // Cancellation reaches the activity on a heartbeat (at most 5 s apart) and the loop stops at the next step.
    expect(stoppedWithin).toBeLessThan(30_000);
    const history = JSON.parse(execFileSync(temporalBinary, ['workflow', 'show', '--workflow-id', workflowId, '--address', env.address, '--output', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as { events: { eventType: string }[] };
    const types = history.events.map((e) => e.eventType);
    // The training acknowledged the cancellation (it threw it), and the workflow waited for that.
    expect(types).toContain('EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED');
    expect(types).toContain('EVENT_TYPE_ACTIVITY_TASK_CANCELED');
    const row = (await handle.query(progressQuery)).find((r) => r.stage === 'item_embedding');
    expect(row).toMatchObject({ status: 'failed', errorType: 'Aborted' });
    // Nothing trains on: no new checkpoint after the abort, and the stage never published a folder.
    const last = checkpointed();
    await new Promise((r) => setTimeout(r, 4000));
    expect(checkpointed()).toBe(last);
    expect(last).toBeLessThan(400);
    // Only the first retrain's item_embedding folder is finished.
    expect(readdirSync(stageRoot).filter((d) => existsSync(join(stageRoot, d, 'manifest.json')))).toHaveLength(1);
    // The aborted history replays too (the cancellation sits behind a patch marker).
    const file = join(root, `${workflowId}.json`);
    writeFileSync(file, JSON.stringify(history));
    expect(execFileSync(process.execPath, [join(projectRoot, 'dist', 'cli', 'main.js'), 'replay', file, '--workflows', join(projectRoot, 'workflows', 'index.ts'), '--workflow-id', workflowId], { encoding: 'utf8' })).toContain('deterministic');
  });

  it('curio train and a workflow with the same data and settings share every stage folder', async () => {
    const data = join(root, 'data');
    // Settings no earlier test used (another feature seed), so every stage from features on is new.
    const { data: _data, experimentName: _e, registry: _r, timeouts: _t, sweepParallelism: _p, ...settings } = { ...quickInput({ dir: data }), features: { seed: 11 } };
    const configFile = join(root, 'train-settings.json');
    writeFileSync(configFile, JSON.stringify(settings));
    const artifacts = join(root, 'artifacts');
    const out = execFileSync(process.execPath, [join(projectRoot, 'dist', 'cli', 'main.js'), 'train', data, '--artifacts', artifacts, '--config', configFile], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(out).toMatch(/evaluation: done/);
    const shared = ['load', 'features', 'tagging', 'item_embedding', 'keyword', 'multi_interest', 'multi_interest_trial', 'evaluation'];
    const finished = () => Object.fromEntries(shared.map((s) => [s, readdirSync(join(artifacts, s)).filter((d) => existsSync(join(artifacts, s, d, 'manifest.json'))).sort()]));
    const afterTrain = finished();

    const workflowId = `retrain-after-train-${stamp}`;
    const handle = await env.client.workflow.start(retrainRecall, { taskQueue: PIPELINE_TASK_QUEUE, workflowId, args: [{ ...quickInput({ dir: data }), features: { seed: 11 } }] });
    const result = await handle.result();
    expect(result.stages.every((s) => s.status === 'done')).toBe(true);
    // Not one new folder: the workflow found every stage curio train had finished, down to the sweep's trials and the evaluation.
    expect(finished()).toEqual(afterTrain);
  });
});
