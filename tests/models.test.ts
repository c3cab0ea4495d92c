import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMarketplace } from '../data/generator/generate';
import { hitAt, ndcgAt, recallAt, intraListDiversity } from '../evaluation/metrics';
import {
  DEFAULT_ITEM2VEC,
  DEFAULT_ITEM_UNIT,
  DEFAULT_KEYWORD,
  DEFAULT_MULTI_INTEREST,
  validateItemUnit,
  validateKeyword,
  validateMultiInterest,
} from '../models/config';
import { ConfigError } from '../platform/schema';
import { loadItemFeatures, type ItemFeatures } from '../models/itemFeatures';
import { computeItemVectors, loadSkipGramPairs, trainItemUnit, type SkipGramPairs } from '../models/itemUnit';
import { trainUserModel } from '../models/multiInterest';
import { loadMiExamples } from '../models/sequences';
import { EmptyTrainingSetError, NanLossError } from '../models/training';
import { loadModel } from '../models/modelFiles';
import { readItemVectors } from '../models/vectorFiles';
import { evaluationSummary } from '../stages/evaluation';
import { DEFAULT_HISTORY_CLUSTERS } from '../models/historyClusters';
import { localRetrain, type LocalRetrainResult } from '../stages/localRetrain';
import { servedArmFromReport, servedArmFromSummary } from '../stages/servedArm';
import { openDatabase } from '../platform/duckdb';
import { tf } from '../platform/tf';

const quick = {
  itemUnit: { ...DEFAULT_ITEM_UNIT, epochs: 2, batchSize: 2048 },
  item2vec: { ...DEFAULT_ITEM2VEC, epochs: 2, batchSize: 2048 },
  keyword: { ...DEFAULT_KEYWORD, epochs: 2, frozenEpochs: 1 },
  multiInterest: { ...DEFAULT_MULTI_INTEREST, epochs: 2, sampledNegatives: 64 },
  // Two sweep trials: the evaluation compares the chosen λ's collapse with λ = 0's.
  lambdaGrid: [0, DEFAULT_MULTI_INTEREST.lambda],
};

describe('model configuration', () => {
  it('rejects impossible values before training, naming each', () => {
    expect(() => validateMultiInterest({ ...DEFAULT_MULTI_INTEREST, interests: 0 })).toThrow(/multiInterest\.interests \(K\) must be >= 1, got 0/);
    expect(() => validateMultiInterest({ ...DEFAULT_MULTI_INTEREST, lambda: -0.5 })).toThrow(/multiInterest\.lambda \(λ\) must be >= 0, got -0.5/);
    expect(() => validateItemUnit({ ...DEFAULT_ITEM_UNIT, dim: 0 })).toThrow(ConfigError);
    expect(() => validateKeyword({ ...DEFAULT_KEYWORD, dim: 32 }, 64)).toThrow(/must equal the item-unit dimension 64 to transfer its tower, got 32/);
  });
});

describe('ranking metrics', () => {
  it('follow the standard definitions', () => {
    const ranked = [5, 1, 9, 3];
    const t = new Set([1, 3, 7]);
    expect(recallAt(ranked, t, 2)).toBeCloseTo(1 / 3);
    expect(recallAt(ranked, t, 4)).toBeCloseTo(2 / 3);
    expect(hitAt(ranked, t, 1)).toBe(0);
    expect(hitAt(ranked, t, 2)).toBe(1);
    // Hits at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); IDCG over 3 targets = 1 + 1/log2(3) + 1/log2(4).
    expect(ndcgAt(ranked, t, 4)).toBeCloseTo((1 / Math.log2(3) + 1 / Math.log2(5)) / (1 + 1 / Math.log2(3) + 0.5));
    const v = new Float32Array([1, 0, 0, 1, 1, 0]);
    expect(intraListDiversity([0, 1, 2], v, 2, 3)).toBeCloseTo(1 - 1 / 3);
  });
});

describe('models on a synthetic marketplace (tiny)', () => {
  let root: string;
  let run: LocalRetrainResult;
  let features: ItemFeatures;
  let pairs: SkipGramPairs;
  let featuresDb: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'curio-models-'));
    await generateMarketplace({ scale: 'tiny', seed: 21, out: join(root, 'data') });
    run = await localRetrain({ dataDir: join(root, 'data'), artifactsRoot: join(root, 'artifacts'), ...quick });
    featuresDb = join(run.dirs.features as string, 'features.duckdb');
    features = await loadItemFeatures(featuresDb, join(run.dirs.tagging as string, 'tags.duckdb'), quick.itemUnit.maxTags, quick.itemUnit.minSellerItems);
    pairs = await loadSkipGramPairs(featuresDb);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes item vectors as Parquet for every item, cold ones included, and models in the tfjs format', async () => {
    const iv = await readItemVectors(join(run.dirs.item_embedding as string, 'item_vectors.parquet'));
    expect(iv.ids).toHaveLength(2000);
    expect(iv.dim).toBe(64);
    for (let i = 0; i < iv.ids.length; i += 97) {
      const norm = Math.hypot(...iv.vectors.subarray(i * 64, (i + 1) * 64));
      expect(norm).toBeCloseTo(1, 4);
    }
    for (const m of ['item_embedding/item_unit', 'item_embedding/item2vec', 'keyword/query_tower', 'keyword/item_tower', 'multi_interest/multi_interest', 'multi_interest/youtube_dnn']) {
      const [stage, name] = m.split('/') as [string, string];
      const dir = join(run.dirs[stage] as string, name);
      expect(existsSync(join(dir, 'model.json'))).toBe(true);
      const model = await loadModel(dir);
      expect(model.outputs.length).toBe(1);
      model.dispose();
    }
    const db = await openDatabase(':memory:');
    try {
      const r = (await db.connection.runAndReadAll(`SELECT count(*) AS n, min(len(interests)) AS k FROM '${join(run.dirs.multi_interest as string, 'test_user_interests.parquet')}'`)).getRowObjectsJS();
      expect(Number(r[0]?.n)).toBeGreaterThan(0);
      expect(Number(r[0]?.k)).toBe(quick.multiInterest.interests);
    } finally {
      db.close();
    }
  });

  it('reports every metric for every method under both protocols, and the item-unit beats id-only item2vec on cold items', () => {
    const everyMethod = ['item2vec', 'item_cf', 'item_knn', 'multi_interest', 'popularity', 'youtube_dnn'];
    const withClusters = ['history_clusters', ...everyMethod].sort();
    const tables = [run.evaluation.nextSession.valid.methods, run.evaluation.nextSession.test.methods, run.evaluation.comirec.methods];
    for (const methods of tables) {
      expect(methods.map((m) => m.method).sort()).toEqual(methods === run.evaluation.comirec.methods ? everyMethod : withClusters);
      for (const m of methods) {
        for (const k of ['recall_at_20', 'recall_at_50', 'hit_rate_at_50', 'ndcg_at_50', 'category_coverage_at_50', 'intra_list_diversity_at_50'] as const) {
          expect(Number.isFinite(m[k])).toBe(true);
        }
        expect(m.recall_at_50).toBeGreaterThanOrEqual(m.recall_at_20);
      }
    }
    // The next-session numbers the λ sweep reads are the evaluation stage's for the plain merge (best
    // score over open routes; Faiss's float32 inner products may order a near-tie differently).
    const ns = run.evaluation.nextSession;
    const plain = ns.tuning.serving.multi_interest?.points.find((p) => p.config.merge === 'score' && p.config.categoriesPerInterest === 0 && p.config.recentShare === 0);
    // The serving search ranks with the sweep's chosen trial, the model the evaluation serves.
    expect(plain?.recall_at_50).toBeCloseTo(run.best.multiInterest.nextSession.valid.recall_at_50, 2);
    expect(ns.test.scoredSessions).toBeGreaterThan(0);
    const testRecall = (method: string) => ns.test.methods.find((m) => m.method === method)?.recall_at_50;
    expect(run.evaluation.goal.itemCf).toBe(testRecall('item_cf'));
    // The served user model is whichever of the learned one and the clustering baseline won on validation.
    const { multi_interest: validMi, history_clusters: validClusters } = ns.served.valid;
    expect(ns.served.method).toBe(validMi >= validClusters ? 'multi_interest' : 'history_clusters');
    expect(run.evaluation.goal.model).toBe(ns.served.method);
    expect(run.evaluation.goal.recall).toBe(testRecall(ns.served.method));
    // The A/B reads the served choice back from the stage summary exactly as the report states it.
    expect(servedArmFromSummary(evaluationSummary(run.evaluation))).toEqual(servedArmFromReport(run.evaluation));
    const clusters = { ...DEFAULT_HISTORY_CLUSTERS, interests: 3, halfLife: 20 };
    const servedClusters = { ...ns.served, method: 'history_clusters' as const, clusters, serving: { ...ns.served.serving, weighting: 'strength' as const, minStrength: 0.5, recentShare: 0.25, popularShare: 0.25 } };
    const asClusters = { ...run.evaluation, nextSession: { ...ns, served: servedClusters } };
    expect(servedArmFromSummary(evaluationSummary(asClusters))).toEqual(servedArmFromReport(asClusters));
    expect(servedArmFromReport(asClusters)).toMatchObject({ method: 'history_clusters', clusters, weighting: 'strength', minStrength: 0.5, recent: { share: 0.25 }, popularShare: 0.25 });
    const sc = run.multiInterest.multiInterest.sessionStartCollapse;
    expect(sc.afterGate).toBeGreaterThan(-1);
    expect(sc.afterGate).toBeLessThanOrEqual(1);
    const nc = run.itemEmbedding.nextClick;
    expect(nc.itemUnit.coldPairs).toBeGreaterThan(0);
    expect(nc.item2vec).not.toBeNull();
    expect(nc.itemUnit.recallCold).toBeGreaterThan(nc.item2vec?.recallCold ?? Infinity);
    expect(run.evaluation.interestCollapse.map((c) => c.lambda)).toEqual([0, run.bestLambda]);
    expect(run.keyword.withTransfer.searches).toBeGreaterThan(0);
  });

  it('reuses finished stages on a re-run', async () => {
    const again = await localRetrain({ dataDir: join(root, 'data'), artifactsRoot: join(root, 'artifacts'), ...quick });
    expect(again.dirs).toEqual(run.dirs);
    expect(again.evaluation).toEqual(run.evaluation);
    for (const s of Object.values(again.seconds)) expect(s).toBeLessThan(5);
  });

  it('leaves item2vec and the single-vector baseline out above their size limits, and every report says so', async () => {
    const limited = await localRetrain({
      dataDir: join(root, 'data'),
      artifactsRoot: join(root, 'artifacts'),
      ...quick,
      item2vec: { ...quick.item2vec, maxItems: 10 },
      multiInterest: { ...quick.multiInterest, singleVectorBaselineMaxItems: 10 },
    });
    const items = limited.itemEmbedding.items;
    expect(limited.itemEmbedding.item2vec).toBeNull();
    expect(limited.itemEmbedding.nextClick.item2vec).toBeNull();
    expect(limited.itemEmbedding.item2vecNotRun).toBe(`${items} items > item2vec max items 10`);
    expect(existsSync(join(limited.dirs.item_embedding as string, 'item2vec_vectors.parquet'))).toBe(false);
    expect(limited.multiInterest.youtubeDnn).toBeUndefined();
    expect(limited.multiInterest.youtubeDnnNotRun).toBe(`${items} items > single-vector baseline max items 10`);
    expect(limited.evaluation.notRun?.map((x) => x.method)).toEqual(['item2vec', 'youtube_dnn']);
    for (const table of [limited.evaluation.nextSession.test, limited.evaluation.nextSession.valid, limited.evaluation.comirec]) {
      const methods = table.methods.map((m) => m.method);
      expect(methods).not.toContain('item2vec');
      expect(methods).not.toContain('youtube_dnn');
      expect(methods).toContain('item_cf');
    }
    // Where they ran (the default limits on this catalogue) they are in the tables.
    expect(run.evaluation.notRun).toBeUndefined();
    expect(run.evaluation.nextSession.test.methods.map((m) => m.method)).toEqual(expect.arrayContaining(['item2vec', 'youtube_dnn']));
    expect(readFileSync(join(limited.dirs.evaluation as string, 'evaluation.md'), 'utf8')).toContain(`Not run on this catalogue: item2vec (${items} items > item2vec max items 10)`);
  });

  it('is reproducible for a seed, disposes its tensors, and resumes from the latest checkpoint as if never interrupted', async () => {
    const cfg = { ...quick.itemUnit, epochs: 3 };
    const straight = await trainItemUnit(cfg, features, pairs);
    const again = await trainItemUnit(cfg, features, pairs);
    expect(again.result.epochs.map((e) => e.loss)).toEqual(straight.result.epochs.map((e) => e.loss));
    const tensors = straight.result.epochs.map((e) => e.numTensors);
    expect(new Set(tensors).size).toBe(1);

    const ckpt = join(root, 'ckpt');
    const partial = await trainItemUnit({ ...cfg, epochs: 2 }, features, pairs, { checkpointDir: ckpt });
    expect(partial.result.epochsRun).toEqual([1, 2]);
    partial.model.dispose();
    // A new attempt with the full budget picks up after epoch 2 and runs epoch 3 only.
    const resumed = await trainItemUnit(cfg, features, pairs, { checkpointDir: ckpt });
    expect(resumed.result.resumedFromEpoch).toBe(2);
    expect(resumed.result.epochsRun).toEqual([3]);
    // Restored optimizer state recomputes Adam's bias corrections from the step count, which can differ
    // from the running product in the last float bits: equal to 1e-6, not bit for bit.
    resumed.result.epochs.forEach((e, i) => expect(e.loss).toBeCloseTo(straight.result.epochs[i]?.loss ?? NaN, 6));
    const a = computeItemVectors(straight.model, features, cfg.timePeriods);
    const b = computeItemVectors(resumed.model, features, cfg.timePeriods);
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs((a[i] as number) - (b[i] as number)));
    // Those last-bit differences grow over the remaining steps to about 1e-5 (seen up to 5e-5 on a busy
    // machine) in the unit-norm vectors.
    expect(maxDiff).toBeLessThan(2e-4);
    for (const m of [straight.model, again.model, resumed.model]) m.dispose();
  });

  it('stops with the step and batch when the loss becomes NaN, and refuses empty training sets', async () => {
    const iv = await readItemVectors(join(run.dirs.item_embedding as string, 'item_vectors.parquet'));
    const poisoned = iv.vectors.slice();
    poisoned.fill(NaN, 0, 64 * 50);
    const ex = await loadMiExamples(featuresDb, 50, 10);
    const pop = new Float64Array(iv.ids.length).fill(1);
    const err = (await trainUserModel(quick.multiInterest, poisoned, 64, ex, pop).catch((e: unknown) => e)) as NanLossError;
    expect(err).toBeInstanceOf(NanLossError);
    expect(err.message).toMatch(/^multi_interest: loss became NaN at epoch 1, step \d+ \(batch of shuffled rows \d+\.\.\d+\)/);
    await expect(trainItemUnit(quick.itemUnit, features, { center: new Int32Array(0), context: new Int32Array(0), label: new Float32Array(0) })).rejects.toThrow(EmptyTrainingSetError);
    expect(tf.getBackend()).toBe('tensorflow');
  });
});
