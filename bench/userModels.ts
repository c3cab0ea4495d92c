/**
 * The user-model ablation on the next-session yardstick: trains variants of the multi-interest
 * model on one retrain's item vectors and features, and scores each with each merge beside the
 * baselines (item-CF refreshed daily and item-kNN with settings tuned on validation, the history-
 * clustering baseline, popularity), on the same validation and test sessions. Choices read the
 * validation column only; test is reported beside it.
 *
 *   node dist/bench/userModels.js --artifacts ROOT [--variants a,b] [--merges m1,m2] [--out FILE]
 *
 * ROOT is the artifacts folder of a `curio train` (or the local services' .data/artifacts).
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  choosePopularity,
  evaluateSessions,
  pickOnValidation,
  readNextSessionInputs,
  type NextSessionMetrics,
  type SessionSet,
} from '../evaluation/nextSession';
import {
  DailyItemCf,
  hybridRanker,
  itemCfRanker,
  lastClicksRanker,
  mergedQueryRanker,
  popularityRanker,
  type ItemCfConfig,
  type MergeConfig,
  type Ranker,
} from '../evaluation/rankers';
import { loadTruth, truthInterestCollapse } from '../evaluation/truth';
import type { DiversityContext } from '../evaluation/userEval';
import { DEFAULT_ITEM_UNIT, DEFAULT_MULTI_INTEREST, validateMultiInterest, type MultiInterestConfig } from '../models/config';
import { clusterHistory, DEFAULT_HISTORY_CLUSTERS, type HistoryClusterConfig } from '../models/historyClusters';
import { computeInterests, interestCollapse, longTermInterestModel, trainUserModel } from '../models/multiInterest';
import { loadMiExamples, sessionStartSequences } from '../models/sequences';
import { loadModel } from '../models/modelFiles';
import { readItemVectors } from '../models/vectorFiles';
import { loadItemFeatures } from '../models/itemFeatures';
import { computeItemVectors } from '../models/itemUnit';
import { loadPopularity } from '../evaluation/popularity';
import { ITEM_CF_GRID, ITEM_KNN_LAST_CLICKS } from '../stages/evaluationStage';
import { attachDatabase, openDatabase } from '../platform/duckdb';
import { dataDir } from '../platform/paths';

/** Named variants: what each changes from the defaults. */
/** The user model before this ablation: self-attentive extraction, one sigmoid gate for all interests. */
const PREVIOUS: Partial<MultiInterestConfig> = { interests: 3, extraction: 'self_attentive', fusion: 'sigmoid_gate', sampledNegatives: 256, logQCorrection: false, learningRate: 0.003 };
const SA = { ...PREVIOUS, fusion: 'interest_attention' } as const;
const DR = { ...PREVIOUS, fusion: 'interest_attention', extraction: 'dynamic_routing', learningRate: 0.005 } as const;
export const USER_MODEL_VARIANTS: Record<string, Partial<MultiInterestConfig>> = {
  default: {},
  previous: PREVIOUS,
  previous_no_fusion: { ...PREVIOUS, fusion: 'none' },
  sa_interest_attention: SA,
  sa_session_channel: { ...PREVIOUS, fusion: 'session_channel' },
  sa_neg1024: { ...SA, sampledNegatives: 1024 },
  sa_logq: { ...SA, sampledNegatives: 1024, logQCorrection: true },
  sa_logq_in_batch: { ...SA, sampledNegatives: 1024, logQCorrection: true, inBatchNegatives: true },
  sa_in_batch: { ...SA, sampledNegatives: 1024, inBatchNegatives: true },
  sa_hinge: { ...SA, metricLoss: 'hinge', lambda: 1 },
  sa_lambda0: { ...SA, lambda: 0 },
  sa_hidden256: { ...SA, attentionHidden: 256 },
  sa_reference: { ...PREVIOUS, fusion: 'none', attentionHidden: 256, interests: 4, lambda: 0, sampledNegatives: 1280, logQCorrection: true, learningRate: 0.001 },
  dr: DR,
  dr_none: { ...DR, fusion: 'none' },
  dr_lr003: { ...DR, learningRate: 0.003 },
  dr_k2: { ...DR, interests: 2 },
  dr_k4: { ...DR, interests: 4 },
  dr_logq: { ...DR, sampledNegatives: 1024, logQCorrection: true },
  dr_logq_in_batch: { ...DR, sampledNegatives: 1024, logQCorrection: true, inBatchNegatives: true },
  dr_lambda0: { ...DR, lambda: 0 },
  dr_hinge: { ...DR, metricLoss: 'hinge', lambda: 1 },
  dr_iter1: { ...DR, routingIterations: 1 },
  default_per_interest_maps: { routingMaps: 'per_interest' },
  default_per_interest_maps_lambda0: { routingMaps: 'per_interest', lambda: 0 },
  default_batch1024: { batchSize: 1024 },
  default_lambda0: { lambda: 0 },
  default_hinge: { metricLoss: 'hinge', lambda: 1 },
  default_hinge_m03_l1: { metricLoss: 'hinge', metricMargin: 0.3, lambda: 1 },
  default_hinge_m03_l3: { metricLoss: 'hinge', metricMargin: 0.3, lambda: 3 },
  default_cos_l1: { lambda: 1 },
  default_cos_l3: { lambda: 3 },
  default_soft: { selection: 'soft' },
  /**
   * Training budgets (examples per epoch; each epoch the head of its own shuffled order). The
   * `default*` variants without `_joint` train on frozen item-unit vectors; the retrain's default
   * is joint (`default_joint`), with every example each epoch.
   */
  default_budget50k: { examplesPerEpoch: 50_000 },
  default_budget100k: { examplesPerEpoch: 100_000 },
  default_budget200k: { examplesPerEpoch: 200_000 },
  default_budget400k: { examplesPerEpoch: 400_000 },
  /** Joint training: the item-unit tower fine-tuned with the user model, scored with its co-trained vectors. */
  default_joint: {},
  default_joint_budget100k: { examplesPerEpoch: 100_000 },
  default_joint_budget200k: { examplesPerEpoch: 200_000 },
  default_joint_lr001: { learningRate: 0.001 },
};

const MERGES: Record<string, MergeConfig> = {
  max_score: { kind: 'max_score' },
  quota: { kind: 'quota' },
  greedy: { kind: 'greedy_diversity', diversity: 0.1 },
};
const HYBRID_SHARES = [0.25, 0.5, 0.75];

const { values } = parseArgs({
  options: {
    artifacts: { type: 'string', default: join(dataDir, 'artifacts') },
    variants: { type: 'string', default: 'previous,sa_interest_attention,dr,default' },
    merges: { type: 'string', default: 'max_score,quota' },
    out: { type: 'string', default: '' },
    /** The generated dataset folder (its truth/ gives the collapse reference); optional. */
    data: { type: 'string', default: '' },
    epochs: { type: 'string', default: '' },
  },
});
const art = values.artifacts as string;
function latestStageDir(stage: string): string {
  const root = join(art, stage);
  const done = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'manifest.json'))) : [];
  if (done.length === 0) throw new Error(`no finished ${stage} stage under ${art}: run a retrain first (curio train DATA --artifacts ${art})`);
  const newest = done.map((d) => ({ d, t: statSync(join(root, d, 'manifest.json')).mtimeMs })).sort((a, b) => b.t - a.t)[0]?.d as string;
  return join(root, newest);
}

interface Row {
  method: string;
  valid: number;
  test: number;
  testCategories: number;
  collapse?: { afterGate: number; beforeGate?: number };
  trainSeconds?: number;
}

async function main(): Promise<void> {
  const featuresDb = join(latestStageDir('features'), 'features.duckdb');
  const iv = await readItemVectors(join(latestStageDir('item_embedding'), 'item_vectors.parquet'));
  const div: DiversityContext = { categoryOf: (i) => iv.categories[i] ?? '', vectors: iv.vectors, dim: iv.dim };
  const inputs = await readNextSessionInputs(featuresDb);
  const popularity = await choosePopularity(inputs.valid, inputs.clicks, div);
  const fallback = (set: SessionSet) => popularityRanker('popularity', inputs.clicks, set.listedAt, popularity.chosen);
  const rows: Row[] = [];
  const score = async (set: SessionSet, rankers: Ranker[]) => {
    const { metrics } = await evaluateSessions(set, rankers, fallback(set), div);
    return new Map(metrics.map((m) => [m.method, m]));
  };
  /** Scores named rankers on both splits (rankers are built per split: some precompute per session). */
  const both = async (make: (set: SessionSet) => Ranker[]) => ({ valid: await score(inputs.valid, make(inputs.valid)), test: await score(inputs.test, make(inputs.test)) });
  const addRow = (method: string, r: { valid: Map<string, NextSessionMetrics>; test: Map<string, NextSessionMetrics> }, extra: Partial<Row> = {}) => {
    const v = r.valid.get(method) as NextSessionMetrics;
    const t = r.test.get(method) as NextSessionMetrics;
    rows.push({ method, valid: v.recall_at_50, test: t.recall_at_50, testCategories: t.category_coverage_at_50, ...extra });
  };

  // ---- baselines, tuned on validation ----
  const db = await openDatabase(':memory:');
  await attachDatabase(db.connection, featuresDb, 'feat');
  const daily = new DailyItemCf(db.connection, inputs.dataStart, Math.max(...ITEM_CF_GRID.map((c) => c.topK)));
  const cfName = (c: ItemCfConfig) => `item_cf[${c.lookbackDays ?? 'all'},${c.topK},${c.recentClicks}]`;
  const cfValid = await score(inputs.valid, ITEM_CF_GRID.map((c) => itemCfRanker(cfName(c), daily, c)));
  const cf = pickOnValidation(ITEM_CF_GRID.map((config) => ({ config, metrics: cfValid.get(cfName(config)) as NextSessionMetrics }))).chosen;
  const knnValid = await score(inputs.valid, ITEM_KNN_LAST_CLICKS.map((m) => lastClicksRanker(`knn${m}`, iv.vectors, iv.dim, m)));
  const knnLast = pickOnValidation(ITEM_KNN_LAST_CLICKS.map((m) => ({ config: m, metrics: knnValid.get(`knn${m}`) as NextSessionMetrics }))).chosen;
  const knn = () => lastClicksRanker('item_knn', iv.vectors, iv.dim, knnLast);
  const base = await both((set) => [itemCfRanker('item_cf', daily, cf), knn(), fallback(set)]);
  addRow('item_cf', base);
  addRow('item_knn', base);
  addRow('popularity', base);
  const itemCfTest = base.test.get('item_cf')?.recall_at_50 ?? 0;
  let truthCollapse: { collapse: number; users: number } | undefined;
  if (values.data) {
    const truth = await loadTruth(db.connection, values.data, iv.ids.length);
    truthCollapse = truthInterestCollapse(truth, iv.vectors, iv.dim, new Set(inputs.test.cases.map((c) => c.userIdx)));
  }
  db.close();

  // ---- history clustering (non-learned multi-interest) ----
  const clusterGrid: HistoryClusterConfig[] = [2, 3, 4].flatMap((interests) => [5, 20].map((halfLife) => ({ ...DEFAULT_HISTORY_CLUSTERS, interests, halfLife })));
  const clusterRanker = (name: string, c: HistoryClusterConfig, merge: MergeConfig) =>
    mergedQueryRanker(name, iv.vectors, iv.dim, (req) => clusterHistory(req.history, iv.vectors, iv.dim, c), merge, div.categoryOf);
  const clName = (c: HistoryClusterConfig, m: string) => `clusters[k=${c.interests},half=${c.halfLife}]/${m}`;
  const merges = (values.merges as string).split(',').filter(Boolean);
  const clValid = await score(inputs.valid, clusterGrid.flatMap((c) => merges.map((m) => clusterRanker(clName(c, m), c, MERGES[m] as MergeConfig))));
  const clPick = pickOnValidation(clusterGrid.flatMap((c) => merges.map((m) => ({ config: { c, m }, metrics: clValid.get(clName(c, m)) as NextSessionMetrics })))).chosen;
  const clChosen = `history_clusters[k=${clPick.c.interests},half=${clPick.c.halfLife}]/${clPick.m}`;
  addRow(clChosen, await both(() => [clusterRanker(clChosen, clPick.c, MERGES[clPick.m] as MergeConfig)]));

  // ---- learned variants ----
  const examplesCache = new Map<string, Awaited<ReturnType<typeof loadMiExamples>>>();
  const pop = await loadPopularity(featuresDb, iv.ids.length);
  const loadJointTower = async () => ({
    model: await loadModel(join(latestStageDir('item_embedding'), 'item_unit')),
    features: await loadItemFeatures(featuresDb, join(latestStageDir('tagging'), 'tags.duckdb'), DEFAULT_ITEM_UNIT.maxTags, DEFAULT_ITEM_UNIT.minSellerItems),
    timePeriods: DEFAULT_ITEM_UNIT.timePeriods,
  });
  for (const name of (values.variants as string).split(',').filter(Boolean)) {
    const change = USER_MODEL_VARIANTS[name];
    if (!change) throw new Error(`unknown variant ${name}; known: ${Object.keys(USER_MODEL_VARIANTS).join(', ')}`);
    const cfg: MultiInterestConfig = { ...DEFAULT_MULTI_INTEREST, ...change, ...(values.epochs ? { epochs: Number(values.epochs) } : {}) };
    validateMultiInterest(cfg);
    const key = `${cfg.maxLong}/${cfg.maxShort}`;
    const examples = examplesCache.get(key) ?? (await loadMiExamples(featuresDb, cfg.maxLong, cfg.maxShort));
    examplesCache.set(key, examples);
    const t0 = Date.now();
    const joint = name.includes('_joint');
    const tower = joint ? await loadJointTower() : undefined;
    const { model } = await trainUserModel(cfg, iv.vectors, iv.dim, examples, pop, tower ? { jointTower: tower } : {});
    const trainSeconds = (Date.now() - t0) / 1000;
    // Joint training serves the co-trained item vectors; the frozen variants the item-unit ones.
    const vectors = tower ? computeItemVectors(tower.model, tower.features, tower.timePeriods) : iv.vectors;
    tower?.model.dispose();
    const queries = new Map<string, { vectors: Float32Array; k: number }>();
    for (const set of [inputs.valid, inputs.test]) queries.set(set.split, computeInterests(model, vectors, iv.dim, sessionStartSequences(set.cases.map((c) => c.history), cfg.maxLong, cfg.maxShort)));
    const testQ = queries.get('test') as { vectors: Float32Array; k: number };
    const lt = longTermInterestModel(model);
    const before = computeInterests(lt, vectors, iv.dim, sessionStartSequences(inputs.test.cases.map((c) => c.history), cfg.maxLong, cfg.maxShort));
    model.dispose();
    const collapse = { afterGate: interestCollapse(testQ.vectors, inputs.test.cases.length, testQ.k, iv.dim), beforeGate: interestCollapse(before.vectors, inputs.test.cases.length, before.k, iv.dim) };
    const per = testQ.k * iv.dim;
    const modelRanker = (set: SessionSet, method: string, merge: MergeConfig) => {
      const q = queries.get(set.split) as { vectors: Float32Array };
      return mergedQueryRanker(method, vectors, iv.dim, (req) => ({ vectors: q.vectors.subarray(req.caseNo * per, (req.caseNo + 1) * per) }), merge, div.categoryOf);
    };
    const methods = merges.map((m) => `${name}/${m}`);
    const hybrids = HYBRID_SHARES.map((s) => `${name}/max_score+knn(${s})`);
    const r = await both((set) => [
      ...merges.map((m) => modelRanker(set, `${name}/${m}`, MERGES[m] as MergeConfig)),
      ...HYBRID_SHARES.map((s) => hybridRanker(`${name}/max_score+knn(${s})`, modelRanker(set, 'mi', MERGES.max_score as MergeConfig), knn(), s)),
    ]);
    for (const m of [...methods, ...hybrids]) addRow(m, r, { collapse, trainSeconds });
    console.error(`${name}: trained in ${trainSeconds.toFixed(0)} s; collapse ${collapse.beforeGate.toFixed(3)} → ${collapse.afterGate.toFixed(3)}`);
  }

  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `# User-model ablation — ${art}`,
    '',
    ...(truthCollapse ? [`Truth's interests in this item space (the collapse reference): mean pairwise cosine ${truthCollapse.collapse.toFixed(3)} over ${truthCollapse.users} test users with two or more.`, ''] : []),
    `Next-session Recall@50; valid ${inputs.valid.cases.length} sessions, test ${inputs.test.cases.length}. item-CF ${JSON.stringify(cf)}, item-kNN last ${knnLast}, popularity window ${popularity.chosen.windowDays ?? 'all'}.`,
    '',
    '| method | valid R@50 | test R@50 | test / item-CF | categories@50 (test) | collapse before → after gate | train s |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.method} | ${pct(r.valid)} | ${pct(r.test)} | ${(itemCfTest > 0 ? r.test / itemCfTest : 0).toFixed(2)}× | ${r.testCategories.toFixed(2)} | ${r.collapse ? `${r.collapse.beforeGate?.toFixed(3)} → ${r.collapse.afterGate.toFixed(3)}` : ''} | ${r.trainSeconds?.toFixed(0) ?? ''} |`,
    ),
  ];
  console.log(lines.join('\n'));
  if (values.out) writeFileSync(values.out, JSON.stringify({ artifacts: art, itemCf: cf, itemKnnLastClicks: knnLast, truthCollapse, rows }, null, 2));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
