import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ItemSearch } from '../evaluation/fullRanking';
import { evaluateKeyword, type KeywordMetrics } from '../evaluation/keywordEval';
import { evaluateNextClick, loadNextClickPairs, nextClickPopularity, type NextClickResult } from '../evaluation/nextClick';
import {
  rankByInterests,
  scoreRankings,
  type DiversityContext,
  type MethodMetrics,
} from '../evaluation/userEval';
import {
  type Item2VecConfig,
  type ItemUnitConfig,
  type KeywordConfig,
  type MultiInterestConfig,
} from '../models/config';
import { loadItemFeatures, type ItemFeatures } from '../models/itemFeatures';
import { computeItemVectors, item2vecVectors, loadSkipGramPairs, trainItem2Vec, trainItemUnit } from '../models/itemUnit';
import { computeQueryVectors, loadKeywordData, trainKeywordDssm } from '../models/keywordDssm';
import { computeInterests, interestCollapse, longTermInterestModel, trainUserModel } from '../models/multiInterest';
import { loadEvalUsers, loadMiExamples, sessionStartSequences, type EvalUsers } from '../models/sequences';
import { choosePopularity, evaluateSessions, readClickTimes, readNextSessionInputs, type NextSessionInputs, type NextSessionMetrics } from '../evaluation/nextSession';
import { popularityRanker, queryRanker, type PopularityConfig } from '../evaluation/rankers';
import { writeSessionQueries, type SessionQueries } from '../evaluation/sessionQueries';
import type { EpochStats, Progress } from '../models/training';
import { loadModel, saveModel } from '../models/modelFiles';
import { readItemVectors, writeInterests, writeItemVectors } from '../models/vectorFiles';
import { loadPopularity } from '../evaluation/popularity';
import type { StageIo } from './spec';
import { CO_TRAINED_ITEM_VECTORS, MULTI_INTEREST_SESSION_QUERIES, YOUTUBE_DNN_ITEM_VECTORS, YOUTUBE_DNN_SESSION_QUERIES } from './stageFiles';
import { assertNativeBackend, tf } from '../platform/tf';
import { loadLexicon } from '../tagging/lexicon';
import { Tokenizer } from '../tagging/tokenizer';

/**
 * The model stages as plain functions (the Temporal activities and `curio train` call them): each
 * reads its inputs from earlier stages' folders, trains, evaluates, and writes its artifacts —
 * vectors as Parquet, models in the tfjs format, a report — into the folder it is given.
 */

function trainingOptions(io: StageIo): { onProgress?: (p: Progress) => void; signal?: AbortSignal } {
  return { ...(io.onProgress ? { onProgress: io.onProgress } : {}), ...(io.signal ? { signal: io.signal } : {}) };
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
  /** null when the catalogue is larger than item2vec.maxItems (item2vecNotRun says so). */
  item2vec: TrainingSummary | null;
  item2vecNotRun?: string;
  nextClick: { itemUnit: NextClickResult; item2vec: NextClickResult | null; popularity: NextClickResult & { windowDays: number | null } };
}

/** Why a size-limited baseline is not trained on this catalogue, or undefined when it is. */
export function baselineNotRun(name: string, items: number, maxItems: number): string | undefined {
  if (maxItems === 0) return `${name} is off (max items 0)`;
  return items > maxItems ? `${items} items > ${name} max items ${maxItems}` : undefined;
}

export async function itemEmbeddingStage(input: ItemEmbeddingInput, io: StageIo): Promise<ItemEmbeddingReport> {
  assertNativeBackend();
  const f = await loadItemFeatures(input.featuresDb, input.tagsDb, input.itemUnit.maxTags, input.itemUnit.minSellerItems);
  const pairs = await loadSkipGramPairs(input.featuresDb);
  const progress = trainingOptions(io);

  let t0 = Date.now();
  const iu = await trainItemUnit(input.itemUnit, f, pairs, { checkpointDir: join(io.scratch, 'item_unit'), ...progress });
  const itemUnit = summary(iu.result, t0);
  const item2vecNotRun = baselineNotRun('item2vec', f.n, input.item2vec.maxItems);
  t0 = Date.now();
  const i2v = item2vecNotRun === undefined ? await trainItem2Vec(input.item2vec, f.n, pairs, { checkpointDir: join(io.scratch, 'item2vec'), ...progress }) : undefined;
  const item2vec = i2v ? summary(i2v.result, t0) : null;

  const vectors = computeItemVectors(iu.model, f, input.itemUnit.timePeriods);
  const idVectors = i2v ? item2vecVectors(i2v.model, f.n) : undefined;
  const nc = await loadNextClickPairs(input.featuresDb, 5000, input.itemUnit.seed);
  const nextClick = {
    itemUnit: evaluateNextClick(vectors, input.itemUnit.dim, nc),
    item2vec: idVectors ? evaluateNextClick(idVectors, input.item2vec.dim, nc) : null,
    popularity: nextClickPopularity(nc, await readClickTimes(input.featuresDb), f.n),
  };
  await writeItemVectors(join(io.out, 'item_vectors.parquet'), { ids: f.itemIds, categories: f.categoryCodes, vectors, dim: input.itemUnit.dim });
  if (idVectors) await writeItemVectors(join(io.out, 'item2vec_vectors.parquet'), { ids: f.itemIds, categories: f.categoryCodes, vectors: idVectors, dim: input.item2vec.dim });
  await saveModel(iu.model, join(io.out, 'item_unit'));
  if (i2v) await saveModel(i2v.model, join(io.out, 'item2vec'));
  iu.model.dispose();
  i2v?.model.dispose();
  const report: ItemEmbeddingReport = { items: f.n, pairs: pairs.label.length, dim: input.itemUnit.dim, vocab: f.vocab, itemUnit, item2vec, ...(item2vecNotRun ? { item2vecNotRun } : {}), nextClick };
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
  const f = await loadItemFeatures(input.featuresDb, input.tagsDb, input.itemUnit.maxTags, input.itemUnit.minSellerItems);
  const pretrained = await loadModel(join(input.itemEmbeddingDir, 'item_unit'));
  const popularity = await loadPopularity(input.featuresDb, f.n);
  const tokenizer = new Tokenizer(loadLexicon());
  const { pairs, heldOut } = await loadKeywordData(input.featuresDb, tokenizer);
  const progress = trainingOptions(io);
  const run = async (transfer: boolean) => {
    const t0 = Date.now();
    const cfg = { ...input.keyword, transfer };
    const m = await trainKeywordDssm(cfg, input.itemUnit, f, pairs, popularity, transfer ? pretrained : undefined, {
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
  /** The tags DB and item-unit settings the tower reads its attributes with (joint training). */
  tagsDb: string;
  itemUnit: ItemUnitConfig;
  itemEmbeddingDir: string;
  multiInterest: MultiInterestConfig;
  /** Also train the single-vector YouTube-DNN baseline (once per retrain, not per λ). */
  singleVectorBaseline: boolean;
}

export interface UserModelMetrics {
  /** ComiRec protocol (held-out users' first 80% → last 20%). */
  valid: MethodMetrics;
  test: MethodMetrics;
  /** Next-session protocol (evaluation/nextSession.ts): the numbers decisions are made on. */
  nextSession: { valid: NextSessionMetrics; test: NextSessionMetrics };
  /** Mean pairwise cosine between a user's interests (test users): 1 = collapsed into one. */
  interestCollapse: number;
  /**
   * The same at the start of the next-session protocol's test sessions, before the session enters
   * (long-term interests) and after (what is served): what the fusion does to the interests.
   */
  sessionStartCollapse: { beforeGate: number; afterGate: number };
}

export interface MultiInterestReport {
  lambda: number;
  examples: number;
  itemTower: MultiInterestConfig['itemTower'];
  multiInterest: UserModelMetrics & { training: TrainingSummary };
  youtubeDnn?: UserModelMetrics & { training: TrainingSummary };
  /** Why the single-vector baseline was not trained (multiInterest.singleVectorBaselineMaxItems). */
  youtubeDnnNotRun?: string;
}

/** What the next-session scoring of a user model reads: the sessions, the clicks and the chosen fallback. */
interface NextSessionContext {
  inputs: NextSessionInputs;
  popularity: PopularityConfig;
}

async function scoreUserModel(
  model: tf.LayersModel,
  method: string,
  vectors: Float32Array,
  dim: number,
  users: { valid: EvalUsers; test: EvalUsers },
  sessions: NextSessionContext,
  cfg: MultiInterestConfig,
  div: DiversityContext,
  featuresDb: string,
  out: { interests?: string; sessionQueries: string },
): Promise<UserModelMetrics> {
  const search = new ItemSearch(vectors, dim);
  const score = (u: EvalUsers) => {
    const ints = computeInterests(model, vectors, dim, u);
    return { ints, metrics: scoreRankings(method, rankByInterests(search, ints.vectors, u.count, ints.k), u.targets, div) };
  };
  const valid = score(users.valid);
  const test = score(users.test);
  if (out.interests) await writeInterests(out.interests, featuresDb, users.test.users, test.ints.vectors, test.ints.k, dim);

  // Next-session protocol: the model's queries at every scored session's start, written for the
  // evaluation stage, and scored here for the λ choice with the same code the evaluation stage uses.
  const parts: SessionQueries[] = [];
  const nextSession = {} as UserModelMetrics['nextSession'];
  const sessionStartCollapse = { beforeGate: 0, afterGate: 0 };
  for (const set of [sessions.inputs.valid, sessions.inputs.test]) {
    const starts = sessionStartSequences(set.cases.map((c) => c.history), cfg.maxLong, cfg.maxShort);
    const q = computeInterests(model, vectors, dim, starts, 1024, undefined, { strengths: true });
    if (set.split === 'test' && q.k > 1) {
      const before = computeInterests(longTermInterestModel(model), vectors, dim, starts);
      sessionStartCollapse.beforeGate = interestCollapse(before.vectors, set.cases.length, before.k, dim);
      sessionStartCollapse.afterGate = interestCollapse(q.vectors, set.cases.length, q.k, dim);
    }
    parts.push({ set, vectors: q.vectors, ...(q.strengths ? { strengths: q.strengths } : {}), k: q.k, dim });
    const per = q.k * dim;
    const ranker = queryRanker(method, vectors, dim, (req) => q.vectors.subarray(req.caseNo * per, (req.caseNo + 1) * per));
    const fallback = popularityRanker('popularity', sessions.inputs.clicks, set.listedAt, sessions.popularity);
    nextSession[set.split] = (await evaluateSessions(set, [ranker], fallback, div)).metrics[0] as NextSessionMetrics;
  }
  await writeSessionQueries(out.sessionQueries, parts);
  return { valid: valid.metrics, test: test.metrics, nextSession, interestCollapse: interestCollapse(test.ints.vectors, users.test.count, test.ints.k, dim), sessionStartCollapse };
}


export async function multiInterestStage(input: MultiInterestInput, io: StageIo): Promise<MultiInterestReport> {
  assertNativeBackend();
  const cfg = input.multiInterest;
  const iv = await readItemVectors(join(input.itemEmbeddingDir, 'item_vectors.parquet'));
  const examples = await loadMiExamples(input.featuresDb, cfg.maxLong, cfg.maxShort);
  const popularity = await loadPopularity(input.featuresDb, iv.ids.length);
  const users = {
    valid: await loadEvalUsers(input.featuresDb, 'valid', cfg.maxLong, cfg.maxShort),
    test: await loadEvalUsers(input.featuresDb, 'test', cfg.maxLong, cfg.maxShort),
  };
  const div: DiversityContext = { categoryOf: (i) => iv.categories[i] ?? '', vectors: iv.vectors, dim: iv.dim };
  const progress = trainingOptions(io);
  const nsInputs = await readNextSessionInputs(input.featuresDb);
  const sessions: NextSessionContext = { inputs: nsInputs, popularity: (await choosePopularity(nsInputs.valid, nsInputs.clicks, div)).chosen };

  // Joint training starts from the item-unit tower and serves its co-trained vectors (written here,
  // for the evaluation, the index and the A/B); frozen training reads the item-unit vectors.
  const features = cfg.itemTower === 'joint' ? await loadItemFeatures(input.featuresDb, input.tagsDb, input.itemUnit.maxTags, input.itemUnit.minSellerItems) : undefined;
  const trainOne = async (singleVector: boolean, name: string) => {
    const t0 = Date.now();
    const tower = features ? { model: await loadModel(join(input.itemEmbeddingDir, 'item_unit')), features, timePeriods: input.itemUnit.timePeriods } : undefined;
    const r = await trainUserModel(cfg, iv.vectors, iv.dim, examples, popularity, { singleVector, checkpointDir: join(io.scratch, name), ...progress, ...(tower ? { jointTower: tower } : {}) });
    const vectors = tower ? computeItemVectors(tower.model, tower.features, tower.timePeriods) : iv.vectors;
    return { ...r, tower: tower?.model, vectors, training: summary(r.result, t0) };
  };

  const mi = await trainOne(false, 'multi_interest');
  const miMetrics = await scoreUserModel(mi.model, 'multi_interest', mi.vectors, iv.dim, users, sessions, cfg, div, input.featuresDb, {
    interests: join(io.out, 'test_user_interests.parquet'),
    sessionQueries: join(io.out, MULTI_INTEREST_SESSION_QUERIES),
  });
  await saveModel(mi.model, join(io.out, 'multi_interest'));
  if (mi.tower) {
    await writeItemVectors(join(io.out, CO_TRAINED_ITEM_VECTORS), { ids: iv.ids, categories: iv.categories, vectors: mi.vectors, dim: iv.dim });
    await saveModel(mi.tower, join(io.out, 'item_unit'));
    mi.tower.dispose();
  }
  mi.model.dispose();
  const report: MultiInterestReport = { lambda: cfg.lambda, examples: examples.count, itemTower: cfg.itemTower, multiInterest: { ...miMetrics, training: mi.training } };

  const singleVectorNotRun = input.singleVectorBaseline ? baselineNotRun('single-vector baseline', iv.ids.length, cfg.singleVectorBaselineMaxItems) : undefined;
  if (singleVectorNotRun) report.youtubeDnnNotRun = singleVectorNotRun;
  if (input.singleVectorBaseline && singleVectorNotRun === undefined) {
    const yt = await trainOne(true, 'youtube_dnn');
    const ytMetrics = await scoreUserModel(yt.model, 'youtube_dnn', yt.vectors, iv.dim, users, sessions, cfg, div, input.featuresDb, {
      sessionQueries: join(io.out, YOUTUBE_DNN_SESSION_QUERIES),
    });
    await saveModel(yt.model, join(io.out, 'youtube_dnn'));
    if (yt.tower) {
      await writeItemVectors(join(io.out, YOUTUBE_DNN_ITEM_VECTORS), { ids: iv.ids, categories: iv.categories, vectors: yt.vectors, dim: iv.dim });
      yt.tower.dispose();
    }
    yt.model.dispose();
    report.youtubeDnn = { ...ytMetrics, training: yt.training };
  }
  writeFileSync(join(io.out, 'report.json'), JSON.stringify(report, null, 2));
  return report;
}

