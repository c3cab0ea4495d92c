import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ItemSearch } from '../evaluation/fullRanking';
import { evaluateKeyword, type KeywordMetrics } from '../evaluation/keywordEval';
import { evaluateNextClick, loadNextClickPairs, type NextClickResult } from '../evaluation/nextClick';
import {
  loadItemCf,
  rankByInterests,
  rankByItemCf,
  rankByMeanVector,
  rankByPopularity,
  scoreRankings,
  type DiversityContext,
  type MethodMetrics,
} from '../evaluation/userEval';
import {
  validateItem2Vec,
  validateItemUnit,
  validateKeyword,
  validateMultiInterest,
  type Item2VecConfig,
  type ItemUnitConfig,
  type KeywordConfig,
  type MultiInterestConfig,
} from '../models/config';
import { loadItemFeatures, openStageDatabases, type ItemFeatures } from '../models/itemFeatures';
import { computeItemVectors, item2vecVectors, loadSkipGramPairs, trainItem2Vec, trainItemUnit } from '../models/itemUnit';
import { computeQueryVectors, loadKeywordData, trainKeywordModel } from '../models/keywordDssm';
import { computeInterests, interestCollapse, loadEvalUsers, loadMiExamples, trainUserModel, type EvalUsers } from '../models/multiInterest';
import type { EpochStats, Progress } from '../models/training';
import { loadModel, readItemVectors, saveModel, writeInterests, writeItemVectors } from '../models/vectorFiles';
import { readColumns } from '../platform/duckdb';
import { assertNativeBackend, tf } from '../platform/tf';
import { loadLexicon } from '../tagging/lexicon';
import { Tokenizer } from '../tagging/tokenizer';

/**
 * The model stages as plain functions (the Temporal activities and `curio train` call them): each
 * reads its inputs from earlier stages' folders, trains, evaluates, and writes its artifacts —
 * vectors as Parquet, models in the tfjs format, a report — into the folder it is given.
 */

export interface StageIo {
  out: string;
  /** Survives a crash of the attempt: checkpoints live here. */
  scratch: string;
  onProgress?: (p: Progress) => void;
}

export interface TrainingSummary {
  epochs: EpochStats[];
  resumedFromEpoch: number;
  epochsRun: number[];
  seconds: number;
  /** RSS growth from the first to the last epoch (MB): tensors leaking would show here. */
  rssGrowthMb: number;
}

function summary(r: { epochs: EpochStats[]; resumedFromEpoch: number; epochsRun: number[] }, t0: number): TrainingSummary {
  const first = r.epochs[0];
  const last = r.epochs[r.epochs.length - 1];
  return { ...r, seconds: (Date.now() - t0) / 1000, rssGrowthMb: first && last ? last.rssMb - first.rssMb : 0 };
}

export async function loadPopularity(featuresDb: string, n: number): Promise<Float64Array> {
  const db = await openStageDatabases(featuresDb);
  try {
    const c = await readColumns(db.connection, 'models/item_freq');
    const pop = new Float64Array(n);
    (c.item_idx ?? []).forEach((i, k) => (pop[i as number] = Number(c.n?.[k] ?? 0)));
    return pop;
  } finally {
    db.close();
  }
}

// ---- item embeddings -----------------------------------------------------------------------

export interface ItemEmbeddingInput {
  featuresDb: string;
  tagsDb: string;
  itemUnit: ItemUnitConfig;
  item2vec: Item2VecConfig;
}

export interface ItemEmbeddingReport {
  items: number;
  pairs: number;
  dim: number;
  vocab: ItemFeatures['vocab'];
  itemUnit: TrainingSummary;
  item2vec: TrainingSummary;
  nextClick: { itemUnit: NextClickResult; item2vec: NextClickResult };
}

export async function itemEmbeddingStage(input: ItemEmbeddingInput, io: StageIo): Promise<ItemEmbeddingReport> {
  assertNativeBackend();
  validateItemUnit(input.itemUnit);
  validateItem2Vec(input.item2vec);
  const f = await loadItemFeatures(input.featuresDb, input.tagsDb, input.itemUnit.maxTags, input.itemUnit.minSellerItems);
  const pairs = await loadSkipGramPairs(input.featuresDb);
  const progress = io.onProgress ? { onProgress: io.onProgress } : {};

  let t0 = Date.now();
  const iu = await trainItemUnit(input.itemUnit, f, pairs, { checkpointDir: join(io.scratch, 'item_unit'), ...progress });
  const itemUnit = summary(iu.result, t0);
  t0 = Date.now();
  const i2v = await trainItem2Vec(input.item2vec, f.n, pairs, { checkpointDir: join(io.scratch, 'item2vec'), ...progress });
  const item2vec = summary(i2v.result, t0);

  const vectors = computeItemVectors(iu.model, f, input.itemUnit.timePeriods);
  const idVectors = item2vecVectors(i2v.model, f.n);
  const nc = await loadNextClickPairs(input.featuresDb, 5000, input.itemUnit.seed);
  const nextClick = {
    itemUnit: evaluateNextClick(new ItemSearch(vectors, input.itemUnit.dim), nc),
    item2vec: evaluateNextClick(new ItemSearch(idVectors, input.item2vec.dim), nc),
  };
  await writeItemVectors(join(io.out, 'item_vectors.parquet'), { ids: f.itemIds, categories: f.categoryCodes, vectors, dim: input.itemUnit.dim });
  await writeItemVectors(join(io.out, 'item2vec_vectors.parquet'), { ids: f.itemIds, categories: f.categoryCodes, vectors: idVectors, dim: input.item2vec.dim });
  await saveModel(iu.model, join(io.out, 'item_unit'));
  await saveModel(i2v.model, join(io.out, 'item2vec'));
  iu.model.dispose();
  i2v.model.dispose();
  const report: ItemEmbeddingReport = { items: f.n, pairs: pairs.label.length, dim: input.itemUnit.dim, vocab: f.vocab, itemUnit, item2vec, nextClick };
  writeFileSync(join(io.out, 'report.json'), JSON.stringify(report, null, 2));
  return report;
}

// ---- keyword DSSM --------------------------------------------------------------------------

export interface KeywordInput {
  featuresDb: string;
  tagsDb: string;
  itemEmbeddingDir: string;
  itemUnit: ItemUnitConfig;
  keyword: KeywordConfig;
}

export interface KeywordReport {
  trainPairs: number;
  searchPairs: number;
  heldOutSearches: number;
  vocabulary: number;
  withTransfer: KeywordMetrics & { training: TrainingSummary };
  withoutTransfer: KeywordMetrics & { training: TrainingSummary };
}

export async function keywordStage(input: KeywordInput, io: StageIo): Promise<KeywordReport> {
  assertNativeBackend();
  validateKeyword(input.keyword, input.itemUnit.dim);
  const f = await loadItemFeatures(input.featuresDb, input.tagsDb, input.itemUnit.maxTags, input.itemUnit.minSellerItems);
  const pretrained = await loadModel(join(input.itemEmbeddingDir, 'item_unit'));
  const popularity = await loadPopularity(input.featuresDb, f.n);
  const tokenizer = new Tokenizer(loadLexicon());
  const { pairs, heldOut } = await loadKeywordData(input.featuresDb, tokenizer);
  const progress = io.onProgress ? { onProgress: io.onProgress } : {};
  const run = async (transfer: boolean) => {
    const t0 = Date.now();
    const cfg = { ...input.keyword, transfer };
    const m = await trainKeywordModel(cfg, input.itemUnit, f, pairs, popularity, transfer ? pretrained : undefined, {
      checkpointDir: join(io.scratch, transfer ? 'transfer' : 'scratch'),
      ...progress,
    });
    const training = summary(m.result, t0);
    const itemVectors = computeItemVectors(m.item, f, input.itemUnit.timePeriods);
    const queryVectors = computeQueryVectors(m, cfg, input.itemUnit.timePeriods, heldOut.texts, heldOut.days);
    const metrics = evaluateKeyword(itemVectors, input.keyword.dim, queryVectors, heldOut.clicked);
    return { m, metrics: { ...metrics, training }, itemVectors };
  };
  const withT = await run(true);
  const without = await run(false);
  // The served keyword model is the transfer one: its query tower, item tower and vocabulary.
  await saveModel(withT.m.query, join(io.out, 'query_tower'));
  await saveModel(withT.m.item, join(io.out, 'item_tower'));
  writeFileSync(join(io.out, 'vocabulary.json'), JSON.stringify(withT.m.vocab));
  await writeItemVectors(join(io.out, 'keyword_item_vectors.parquet'), { ids: f.itemIds, categories: f.categoryCodes, vectors: withT.itemVectors, dim: input.keyword.dim });
  for (const x of [withT.m, without.m]) {
    x.query.dispose();
    x.item.dispose();
  }
  pretrained.dispose();
  const report: KeywordReport = {
    trainPairs: pairs.items.length,
    searchPairs: pairs.isSearch.reduce((s, x) => s + x, 0),
    heldOutSearches: heldOut.ids.length,
    vocabulary: withT.m.vocab.tokens.length,
    withTransfer: withT.metrics,
    withoutTransfer: without.metrics,
  };
  writeFileSync(join(io.out, 'report.json'), JSON.stringify(report, null, 2));
  return report;
}

// ---- multi-interest user model -------------------------------------------------------------

export interface MultiInterestInput {
  featuresDb: string;
  itemEmbeddingDir: string;
  multiInterest: MultiInterestConfig;
  /** Also train the single-vector YouTube-DNN baseline (once per retrain, not per λ). */
  singleVectorBaseline: boolean;
}

export interface UserModelMetrics {
  valid: MethodMetrics;
  test: MethodMetrics;
  /** Mean pairwise cosine between a user's interests (test users): 1 = collapsed into one. */
  interestCollapse: number;
}

export interface MultiInterestReport {
  lambda: number;
  examples: number;
  multiInterest: UserModelMetrics & { training: TrainingSummary };
  youtubeDnn?: UserModelMetrics & { training: TrainingSummary };
}

async function scoreUserModel(
  model: tf.LayersModel,
  method: string,
  vectors: Float32Array,
  dim: number,
  users: { valid: EvalUsers; test: EvalUsers },
  div: DiversityContext,
  featuresDb: string,
  out?: string,
): Promise<UserModelMetrics> {
  const search = new ItemSearch(vectors, dim);
  const score = (u: EvalUsers) => {
    const ints = computeInterests(model, vectors, dim, u);
    return { ints, metrics: scoreRankings(method, rankByInterests(search, ints.vectors, u.count, ints.k), u.targets, div) };
  };
  const valid = score(users.valid);
  const test = score(users.test);
  if (out) await writeInterests(out, featuresDb, users.test.users, test.ints.vectors, test.ints.k, dim);
  return { valid: valid.metrics, test: test.metrics, interestCollapse: interestCollapse(test.ints.vectors, users.test.count, test.ints.k, dim) };
}

export async function multiInterestStage(input: MultiInterestInput, io: StageIo): Promise<MultiInterestReport> {
  assertNativeBackend();
  const cfg = input.multiInterest;
  validateMultiInterest(cfg);
  const iv = await readItemVectors(join(input.itemEmbeddingDir, 'item_vectors.parquet'));
  const examples = await loadMiExamples(input.featuresDb, cfg.maxLong, cfg.maxShort);
  const popularity = await loadPopularity(input.featuresDb, iv.ids.length);
  const users = {
    valid: await loadEvalUsers(input.featuresDb, 'valid', cfg.maxLong, cfg.maxShort),
    test: await loadEvalUsers(input.featuresDb, 'test', cfg.maxLong, cfg.maxShort),
  };
  const div: DiversityContext = { categoryOf: (i) => iv.categories[i] ?? '', vectors: iv.vectors, dim: iv.dim };
  const progress = io.onProgress ? { onProgress: io.onProgress } : {};

  let t0 = Date.now();
  const mi = await trainUserModel(cfg, iv.vectors, iv.dim, examples, popularity, { checkpointDir: join(io.scratch, 'multi_interest'), ...progress });
  const miTraining = summary(mi.result, t0);
  const miMetrics = await scoreUserModel(mi.model, 'multi_interest', iv.vectors, iv.dim, users, div, input.featuresDb, join(io.out, 'test_user_interests.parquet'));
  await saveModel(mi.model, join(io.out, 'multi_interest'));
  mi.model.dispose();
  const report: MultiInterestReport = { lambda: cfg.lambda, examples: examples.count, multiInterest: { ...miMetrics, training: miTraining } };

  if (input.singleVectorBaseline) {
    t0 = Date.now();
    const yt = await trainUserModel(cfg, iv.vectors, iv.dim, examples, popularity, { singleVector: true, checkpointDir: join(io.scratch, 'youtube_dnn'), ...progress });
    const ytTraining = summary(yt.result, t0);
    const ytMetrics = await scoreUserModel(yt.model, 'youtube_dnn', iv.vectors, iv.dim, users, div, input.featuresDb);
    await saveModel(yt.model, join(io.out, 'youtube_dnn'));
    yt.model.dispose();
    report.youtubeDnn = { ...ytMetrics, training: ytTraining };
  }
  writeFileSync(join(io.out, 'report.json'), JSON.stringify(report, null, 2));
  return report;
}

// ---- evaluation against baselines ------------------------------------------------------------

export interface EvaluationInput {
  featuresDb: string;
  itemEmbeddingDir: string;
  /** The chosen multi-interest run (best λ) and, for the collapse comparison, the λ = 0 run. */
  multiInterestDir: string;
  lambdaZeroDir?: string;
  /** The run that trained the YouTube-DNN baseline. */
  baselineDir: string;
  goalRatio: number;
}

export interface EvaluationReport {
  split: 'test';
  users: number;
  methods: MethodMetrics[];
  lambda: number;
  interestCollapse: { lambda: number; value: number }[];
  goal: { metric: 'recall_at_50'; multiInterest: number; itemCf: number; ratio: number; target: number; met: boolean };
}

export async function evaluationStage(input: EvaluationInput, io: StageIo): Promise<EvaluationReport> {
  assertNativeBackend();
  const iv = await readItemVectors(join(input.itemEmbeddingDir, 'item_vectors.parquet'));
  const idv = await readItemVectors(join(input.itemEmbeddingDir, 'item2vec_vectors.parquet'));
  const miReport = JSON.parse(readFileSync(join(input.multiInterestDir, 'report.json'), 'utf8')) as MultiInterestReport;
  const base = JSON.parse(readFileSync(join(input.baselineDir, 'report.json'), 'utf8')) as MultiInterestReport;
  const test = await loadEvalUsers(input.featuresDb, 'test', 50, 10);
  const div: DiversityContext = { categoryOf: (i) => iv.categories[i] ?? '', vectors: iv.vectors, dim: iv.dim };
  const popularity = await loadPopularity(input.featuresDb, iv.ids.length);
  const cf = await loadItemCf(input.featuresDb);
  const methods: MethodMetrics[] = [
    miReport.multiInterest.test,
    ...(base.youtubeDnn ? [base.youtubeDnn.test] : []),
    scoreRankings('item2vec', rankByMeanVector(new ItemSearch(idv.vectors, idv.dim), test.history), test.targets, div),
    scoreRankings('item_cf', rankByItemCf(cf, test.history), test.targets, div),
    scoreRankings('popularity', rankByPopularity(popularity, test.count), test.targets, div),
  ];
  const collapse = [{ lambda: miReport.lambda, value: miReport.multiInterest.interestCollapse }];
  if (input.lambdaZeroDir) {
    const z = JSON.parse(readFileSync(join(input.lambdaZeroDir, 'report.json'), 'utf8')) as MultiInterestReport;
    collapse.unshift({ lambda: z.lambda, value: z.multiInterest.interestCollapse });
  }
  const miR = miReport.multiInterest.test.recall_at_50;
  const cfR = methods.find((m) => m.method === 'item_cf')?.recall_at_50 ?? 0;
  const ratio = cfR > 0 ? miR / cfR : Infinity;
  const report: EvaluationReport = {
    split: 'test',
    users: test.count,
    methods,
    lambda: miReport.lambda,
    interestCollapse: collapse,
    goal: { metric: 'recall_at_50', multiInterest: miR, itemCf: cfR, ratio, target: input.goalRatio, met: ratio >= input.goalRatio },
  };
  mkdirSync(io.out, { recursive: true });
  writeFileSync(join(io.out, 'evaluation.json'), JSON.stringify(report, null, 2));
  writeFileSync(join(io.out, 'evaluation.md'), evaluationMarkdown(report));
  return report;
}

export function evaluationMarkdown(r: EvaluationReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const lines = [
    `# Full-ranking evaluation (${r.users} held-out test users, ComiRec protocol)`,
    '',
    'First 80% of each user\'s clicks build the interests, the last 20% are targets; every interest retrieves top-N over all items; merged by score, de-duplicated. Metrics averaged per user.',
    '',
    '| method | Recall@20 | Recall@50 | HitRate@20 | HitRate@50 | NDCG@20 | NDCG@50 | categories in top 50 | intra-list diversity@50 |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.methods.map(
      (m) =>
        `| ${m.method} | ${pct(m.recall_at_20)} | ${pct(m.recall_at_50)} | ${pct(m.hit_rate_at_20)} | ${pct(m.hit_rate_at_50)} | ${m.ndcg_at_20.toFixed(4)} | ${m.ndcg_at_50.toFixed(4)} | ${m.category_coverage_at_50.toFixed(2)} | ${m.intra_list_diversity_at_50.toFixed(3)} |`,
    ),
    '',
    `Interest collapse (mean pairwise cosine of a user's interests): ${r.interestCollapse.map((c) => `λ = ${c.lambda}: ${c.value.toFixed(3)}`).join('; ')}.`,
    '',
    `Goal: multi-interest Recall@50 ≥ ${r.goal.target}× item-CF's — ${pct(r.goal.multiInterest)} vs ${pct(r.goal.itemCf)} = ${r.goal.ratio.toFixed(2)}× (${r.goal.met ? 'met' : 'not met'}).`,
    '',
  ];
  return lines.join('\n');
}
