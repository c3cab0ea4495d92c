import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ItemSearch } from '../evaluation/fullRanking';
import {
  choosePopularity,
  evaluateSessions,
  pairedSessionLift,
  pickOnValidation,
  readNextSessionInputs,
  type NextSessionMetrics,
  type SessionSet,
} from '../evaluation/nextSession';
import {
  DailyItemCf,
  itemCfRanker,
  LastClicksNeighbours,
  meanVectorRanker,
  oncePerRequest,
  popularityRanker,
  queriesOncePerRequest,
  RequestSearchCache,
  servedRanker,
  servingName,
  SERVING_GRID,
  type ItemCfConfig,
  type PopularityConfig,
  type Ranker,
  type RankRequest,
  type ServingConfig,
  type WeightedQueries,
  secondServingPass,
} from '../evaluation/rankers';
import type { BootstrapResult } from '../evaluation/abStats';
import { readSessionQueries } from '../evaluation/sessionQueries';
import { loadItemCf, rankByItemCf } from '../evaluation/itemCfTable';
import {
  rankByLastClicks,
  rankByMeanVector,
  rankByPopularity,
  scoreRankings,
  type DiversityContext,
  type MethodMetrics,
} from '../evaluation/userEval';
import { clusterHistory, DEFAULT_HISTORY_CLUSTERS, type HistoryClusterConfig } from '../models/historyClusters';
import { ConstrainedIndex } from '../retrieval/constrainedIndex';
import { loadEvalUsers } from '../models/sequences';
import { readItemVectors } from '../models/vectorFiles';
import { attachDatabase, openDatabase } from '../platform/duckdb';
import { readPopularity } from '../evaluation/popularity';
import type { MultiInterestReport } from './modelStages';
import type { StageIo } from './spec';
import { CO_TRAINED_ITEM_VECTORS, MULTI_INTEREST_SESSION_QUERIES, YOUTUBE_DNN_ITEM_VECTORS, YOUTUBE_DNN_SESSION_QUERIES } from './stageFiles';

/**
 * The offline evaluation stage: every method under the two protocols, each method shown the same
 * requests and candidates within a protocol, baselines tuned on validation like the models.
 * - next-session (evaluation/nextSession.ts): the number the λ sweep, the goal and the registry use;
 * - ComiRec (evaluation/userEval.ts): kept for comparison with the literature.
 * It needs no TensorFlow: the user models' queries come from their stages' files.
 */

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

/** The baselines' settings tried on validation (next-session protocol); the best one is used on test. */
export const ITEM_CF_GRID: readonly ItemCfConfig[] = [30, null].flatMap((lookbackDays) =>
  [50, 100, 200].flatMap((topK) => [5, 20, 50].map((recentClicks) => ({ lookbackDays, topK, recentClicks }))),
);
export const ITEM_KNN_LAST_CLICKS: readonly number[] = [1, 3, 5, 10];
/** The non-learned multi-interest baseline's settings tried on validation (models/historyClusters.ts). */
export const HISTORY_CLUSTER_GRID: readonly HistoryClusterConfig[] = [2, 3, 4].flatMap((interests) => [5, 20].map((halfLife) => ({ ...DEFAULT_HISTORY_CLUSTERS, interests, halfLife })));

/** The user model a retrain serves: the learned one only while it beats the clustering baseline on validation. */
export interface ServedUserModel {
  method: 'multi_interest' | 'history_clusters';
  serving: ServingConfig;
  /** With 'history_clusters': its settings. */
  clusters?: HistoryClusterConfig;
  valid: { multi_interest: number; history_clusters: number };
}

export interface SessionSetSummary {
  sessions: number;
  scoredSessions: number;
  users: number;
  targets: number;
  clickedBefore: number;
  notOnSale: number;
  period: { start: string; end: string };
}

export interface NextSessionTable extends SessionSetSummary {
  methods: NextSessionMetrics[];
}

export interface EvaluationReport {
  nextSession: {
    valid: NextSessionTable;
    test: NextSessionTable;
    tuning: {
      popularity: { chosen: PopularityConfig; points: { config: PopularityConfig; recall_at_50: number }[] };
      itemCf: { chosen: ItemCfConfig; points: { config: ItemCfConfig; recall_at_50: number }[] };
      itemKnn: { chosen: { lastClicks: number }; points: { config: { lastClicks: number }; recall_at_50: number }[] };
      /** Per user model: its merge and hybrid share. */
      serving: Record<string, { chosen: ServingConfig; points: { config: ServingConfig; recall_at_50: number }[] }>;
      historyClusters: {
        chosen: { clusters: HistoryClusterConfig; serving: ServingConfig };
        /** The settings tried under the plain serving, then the chosen settings' serving choices. */
        settings: { config: HistoryClusterConfig; recall_at_50: number }[];
        serving: { config: ServingConfig; recall_at_50: number }[];
      };
    };
    served: ServedUserModel;
    saw: Record<string, string>;
  };
  comirec: { split: 'test'; users: number; methods: MethodMetrics[]; saw: Record<string, string> };
  /** Baselines left out of both tables because the catalogue is larger than their size limit, with the reason. */
  notRun?: { method: string; reason: string }[];
  lambda: number;
  interestCollapse: { lambda: number; value: number }[];
  /** The served user model over item-CF on the test sessions; ratioCi: paired bootstrap over users, 95%. */
  goal: { metric: 'next_session_recall_at_50'; model: ServedUserModel['method']; recall: number; itemCf: number; ratio: number; ratioCi: [number, number]; target: number; met: boolean };
}

function summarise(set: SessionSet): SessionSetSummary {
  return {
    sessions: set.sessions,
    scoredSessions: set.cases.length,
    users: set.users,
    targets: set.clicks.targets,
    clickedBefore: set.clicks.clickedBefore,
    notOnSale: set.clicks.notOnSale,
    period: { start: new Date(set.period.start).toISOString(), end: new Date(set.period.end).toISOString() },
  };
}

/** A user model's queries per session of a split, from its stage's file. */
async function userModelQueries(models: { method: string; file: string }[], set: SessionSet): Promise<Map<string, (req: RankRequest) => WeightedQueries>> {
  const out = new Map<string, (req: RankRequest) => WeightedQueries>();
  for (const m of models) {
    const queries = await readSessionQueries(m.file, set);
    out.set(m.method, (req) => queries(req.caseNo));
  }
  return out;
}

export async function evaluationStage(input: EvaluationInput, io: StageIo, log: (m: string) => void = () => {}): Promise<EvaluationReport> {
  const iv = await readItemVectors(join(input.itemEmbeddingDir, 'item_vectors.parquet'));
  // Absent when the catalogue was larger than item2vec.maxItems: the tables then go without it.
  const item2vecFile = join(input.itemEmbeddingDir, 'item2vec_vectors.parquet');
  const idv = existsSync(item2vecFile) ? await readItemVectors(item2vecFile) : undefined;
  const miReport = JSON.parse(readFileSync(join(input.multiInterestDir, 'report.json'), 'utf8')) as MultiInterestReport;
  const base = JSON.parse(readFileSync(join(input.baselineDir, 'report.json'), 'utf8')) as MultiInterestReport;
  const div: DiversityContext = { categoryOf: (i) => iv.categories[i] ?? '', vectors: iv.vectors, dim: iv.dim };

  // ---- next-session protocol ----
  const inputs = await readNextSessionInputs(input.featuresDb);
  const db = await openDatabase(':memory:');
  let nextSession: EvaluationReport['nextSession'];
  let testLift: BootstrapResult;
  try {
    await attachDatabase(db.connection, input.featuresDb, 'feat');
    const daily = new DailyItemCf(db.connection, inputs.dataStart, Math.max(...ITEM_CF_GRID.map((c) => c.topK)));
    const userModels = [
      { method: 'multi_interest', file: join(input.multiInterestDir, MULTI_INTEREST_SESSION_QUERIES), vectors: join(input.multiInterestDir, CO_TRAINED_ITEM_VECTORS) },
      ...(existsSync(join(input.baselineDir, YOUTUBE_DNN_SESSION_QUERIES))
        ? [{ method: 'youtube_dnn', file: join(input.baselineDir, YOUTUBE_DNN_SESSION_QUERIES), vectors: join(input.baselineDir, YOUTUBE_DNN_ITEM_VECTORS) }]
        : []),
    ];
    const popularity = await choosePopularity(inputs.valid, inputs.clicks, div);
    const popular = (set: SessionSet) => popularityRanker('popularity', inputs.clicks, set.listedAt, popularity.chosen);
    // The A/B's recall over the same category-constrained index the A/B builds (exact search), in
    // each method's own item space: a jointly trained user model serves its co-trained vectors, and
    // its hybrid's last-click neighbours come from them too.
    const space = (vectors: Float32Array) => {
      const index = ConstrainedIndex.build({ dim: iv.dim, vectors, itemIds: iv.ids, itemCategories: iv.categories }, { factory: 'Flat' });
      return { vectors, index, searches: new RequestSearchCache(index) };
    };
    const itemUnitSpace = space(iv.vectors);
    const spaces = new Map<string, ReturnType<typeof space>>();
    for (const m of userModels) spaces.set(m.method, existsSync(m.vectors) ? space((await readItemVectors(m.vectors)).vectors) : itemUnitSpace);
    const spaceOf = (method: string) => spaces.get(method) ?? itemUnitSpace;
    const serve = (method: string, queriesFor: (req: RankRequest) => WeightedQueries, serving: ServingConfig, recent: Ranker, popularLots: Ranker, at = itemUnitSpace) =>
      servedRanker(method, at.index, iv.dim, queriesFor, serving, recent, popularLots);
    const clusters = (c: HistoryClusterConfig) => (req: RankRequest) => clusterHistory(req.history, iv.vectors, iv.dim, c);

    // Validation, first pass: every grid point of the baselines that have settings.
    const cfName = (c: ItemCfConfig) => `item_cf[lookback=${c.lookbackDays ?? 'all'},k=${c.topK},recent=${c.recentClicks}]`;
    const knnName = (m: number) => `item_knn[last=${m}]`;
    const item2vec = () => (idv ? [meanVectorRanker('item2vec', idv.vectors, idv.dim)] : []);
    const validFallback = popular(inputs.valid);
    // Every item-kNN list of a validation session, in the item tower's space, is computed once: the
    // grid's, the clustering baseline's and the hybrids' "recent" part all read this.
    const itemUnitNeighbours = new LastClicksNeighbours(iv.vectors, iv.dim, ITEM_KNN_LAST_CLICKS);
    const validRankers = [
      ...item2vec(),
      ...ITEM_CF_GRID.map((c) => itemCfRanker(cfName(c), daily, c)),
      ...ITEM_KNN_LAST_CLICKS.map((m) => itemUnitNeighbours.ranker(knnName(m), m)),
      validFallback,
    ];
    log(`next-session validation: ${inputs.valid.cases.length} sessions, ${validRankers.length} baselines and settings`);
    const { metrics: validMetrics } = await evaluateSessions(inputs.valid, validRankers, validFallback, div, log);
    const byName = new Map(validMetrics.map((m) => [m.method, m]));
    const itemCf = pickOnValidation(ITEM_CF_GRID.map((config) => ({ config, metrics: byName.get(cfName(config)) as NextSessionMetrics })));
    const itemKnn = pickOnValidation(ITEM_KNN_LAST_CLICKS.map((lastClicks) => ({ config: { lastClicks }, metrics: byName.get(knnName(lastClicks)) as NextSessionMetrics })));
    const chosenLast = itemKnn.chosen.lastClicks;
    // The chosen item-kNN per item space, for one session set (validation, then test).
    const neighboursFor = (known: Map<Float32Array, LastClicksNeighbours>) => (vectors: Float32Array) => {
      let found = known.get(vectors);
      if (!found) known.set(vectors, (found = new LastClicksNeighbours(vectors, iv.dim, [chosenLast])));
      return found;
    };
    const validNeighbours = neighboursFor(new Map([[iv.vectors, itemUnitNeighbours]]));
    const knn = (method = 'item_knn') => validNeighbours(iv.vectors).ranker(method, chosenLast);

    // Validation, second pass: how each user model is served — the merge, category routes and cap,
    // and the share of the last clicks' neighbours (needs the tuned item-kNN) over SERVING_GRID, then
    // for the best of those the interests' weighting, the adaptive K and the popular share (STRENGTH_GRID). The
    // clustering baseline first picks its settings under the plain serving, then is served the same way.
    const plainServing: ServingConfig = SERVING_GRID[0] as ServingConfig;
    const servingMetrics: NextSessionMetrics[] = [];
    const recentIn = (at: ReturnType<typeof space>) => validNeighbours(at.vectors).ranker('recent', chosenLast);
    const tuneServing = async (method: string, queriesFor: (req: RankRequest) => WeightedQueries, name: (s: ServingConfig) => string, at = itemUnitSpace) => {
      const pass = async (configs: ServingConfig[]) => {
        // A popularity ranker's window only moves forward: every pass over the sessions gets its own.
        // Every choice of a pass ranks the same requests with the same interests: searches, the
        // last clicks' neighbours and per-request clusterings are computed once per request.
        const recent = oncePerRequest(recentIn(at));
        const once = queriesOncePerRequest(queriesFor);
        const fallback = popular(inputs.valid);
        const popularLots = oncePerRequest(fallback);
        const { metrics } = await evaluateSessions(inputs.valid, configs.map((c) => servedRanker(name(c), at.searches, iv.dim, once, c, recent, popularLots)), fallback, div);
        servingMetrics.push(...metrics);
        return configs.map((config, i) => ({ config, metrics: metrics[i] as NextSessionMetrics }));
      };
      const first = await pass([...SERVING_GRID]);
      const best = pickOnValidation(first).chosen;
      const second = await pass(secondServingPass(best));
      const all = [...first, ...second];
      const picked = pickOnValidation(all);
      log(`next-session validation: ${method} served as ${servingName(picked.chosen)} (${all.length} choices tried)`);
      return { ...picked, validRecall: (all.find((p) => p.config === picked.chosen) as { metrics: NextSessionMetrics }).metrics.recall_at_50 };
    };
    const validQueries = await userModelQueries(userModels, inputs.valid);
    const servedAs = (method: string) => (s: ServingConfig) => `${method}[${servingName(s)}]`;
    const serving: Record<string, { chosen: ServingConfig; points: { config: ServingConfig; recall_at_50: number }[]; validRecall: number }> = {};
    for (const m of userModels) serving[m.method] = await tuneServing(m.method, validQueries.get(m.method) as (req: RankRequest) => WeightedQueries, servedAs(m.method), spaceOf(m.method));

    const clusterName = (c: HistoryClusterConfig) => (s: ServingConfig) => `history_clusters[k=${c.interests},half=${c.halfLife},${servingName(s)}]`;
    const clusterFallback = popular(inputs.valid);
    const clusterSettings = await evaluateSessions(
      inputs.valid,
      HISTORY_CLUSTER_GRID.map((c) => serve(clusterName(c)(plainServing), clusters(c), plainServing, knn(), clusterFallback)),
      clusterFallback,
      div,
    );
    const clusterPick = pickOnValidation(HISTORY_CLUSTER_GRID.map((config, i) => ({ config, metrics: clusterSettings.metrics[i] as NextSessionMetrics })));
    const chosenClusters = clusterPick.chosen;
    const clusterServing = await tuneServing('history_clusters', clusters(chosenClusters), clusterName(chosenClusters));
    const historyClusters = { chosen: { clusters: chosenClusters, serving: clusterServing.chosen }, settings: clusterPick.points, serving: clusterServing.points };
    const miServing = serving.multi_interest as { chosen: ServingConfig; validRecall: number };
    const validMi = miServing.validRecall;
    const validClusters = clusterServing.validRecall;
    const served: ServedUserModel =
      validMi >= validClusters
        ? { method: 'multi_interest', serving: miServing.chosen, valid: { multi_interest: validMi, history_clusters: validClusters } }
        : { method: 'history_clusters', serving: clusterServing.chosen, clusters: chosenClusters, valid: { multi_interest: validMi, history_clusters: validClusters } };
    log(`served user model (validation): ${served.method} [${servingName(served.serving)}] — multi-interest ${validMi.toFixed(4)}, history clusters ${validClusters.toFixed(4)}`);

    const chosenNames = new Map([
      [cfName(itemCf.chosen), 'item_cf'],
      [knnName(itemKnn.chosen.lastClicks), 'item_knn'],
      ...userModels.map((m) => [servedAs(m.method)((serving[m.method] as { chosen: ServingConfig }).chosen), m.method] as [string, string]),
      [clusterName(chosenClusters)(clusterServing.chosen), 'history_clusters'],
    ]);
    const validTable = validMetrics
      .filter((m) => !m.method.includes('['))
      .concat([...validMetrics, ...servingMetrics].filter((m) => chosenNames.has(m.method)).map((m) => ({ ...m, method: chosenNames.get(m.method) as string })));

    // Test: the same methods with the settings validation chose.
    const testFallback = popular(inputs.test);
    const testQueries = await userModelQueries(userModels, inputs.test);
    const testNeighbours = neighboursFor(new Map());
    const testKnn = (method = 'item_knn') => testNeighbours(iv.vectors).ranker(method, chosenLast);
    const testRankers = [
      ...userModels.map((m) =>
        serve(
          m.method,
          testQueries.get(m.method) as (req: RankRequest) => WeightedQueries,
          (serving[m.method] as { chosen: ServingConfig }).chosen,
          testNeighbours(spaceOf(m.method).vectors).ranker('recent', chosenLast),
          testFallback,
          spaceOf(m.method),
        ),
      ),
      serve('history_clusters', clusters(historyClusters.chosen.clusters), historyClusters.chosen.serving, testKnn(), testFallback),
      ...item2vec(),
      itemCfRanker('item_cf', daily, itemCf.chosen),
      testKnn(),
      testFallback,
    ];
    log(`next-session test: ${inputs.test.cases.length} sessions`);
    const { metrics: testMetrics, recallAt50 } = await evaluateSessions(inputs.test, testRankers, testFallback, div, log);
    const perSession = (method: string) => recallAt50.get(method) as Float64Array;
    testLift = pairedSessionLift(inputs.test, perSession('item_cf'), perSession(served.method));
    nextSession = {
      valid: { ...summarise(inputs.valid), methods: orderMethods(validTable) },
      test: { ...summarise(inputs.test), methods: orderMethods(testMetrics) },
      tuning: { popularity, itemCf, itemKnn, serving, historyClusters },
      served,
      saw: nextSessionSaw(itemCf.chosen, itemKnn.chosen.lastClicks, popularity.chosen, serving, historyClusters.chosen, miReport.itemTower ?? 'frozen'),
    };
  } finally {
    db.close();
  }

  // ---- ComiRec protocol ----
  const test = await loadEvalUsers(input.featuresDb, 'test', 50, 10);
  const comirecPopularity = await readPopularity(input.featuresDb, 'evaluation/comirec_popularity', 'clicks', iv.ids.length);
  const cf = await loadItemCf(input.featuresDb);
  const comirecMethods: MethodMetrics[] = orderMethods([
    miReport.multiInterest.test,
    ...(base.youtubeDnn ? [base.youtubeDnn.test] : []),
    ...(idv ? [scoreRankings('item2vec', rankByMeanVector(new ItemSearch(idv.vectors, idv.dim), test.history), test.targets, div)] : []),
    scoreRankings('item_knn', rankByLastClicks(new ItemSearch(iv.vectors, iv.dim), test.history, nextSession.tuning.itemKnn.chosen.lastClicks), test.targets, div),
    scoreRankings('item_cf', rankByItemCf(cf, test.history), test.targets, div),
    scoreRankings('popularity', rankByPopularity(comirecPopularity, test.count), test.targets, div),
  ]);

  const collapse = [{ lambda: miReport.lambda, value: miReport.multiInterest.interestCollapse }];
  if (input.lambdaZeroDir) {
    const z = JSON.parse(readFileSync(join(input.lambdaZeroDir, 'report.json'), 'utf8')) as MultiInterestReport;
    collapse.unshift({ lambda: z.lambda, value: z.multiInterest.interestCollapse });
  }
  const recallOf = (method: string) => nextSession.test.methods.find((m) => m.method === method)?.recall_at_50 ?? 0;
  const servedR = recallOf(nextSession.served.method);
  const cfR = recallOf('item_cf');
  const ratio = cfR > 0 ? servedR / cfR : Infinity;
  const ratioCi: [number, number] = [1 + testLift.ci[0], 1 + testLift.ci[1]];
  const embeddingReport = JSON.parse(readFileSync(join(input.itemEmbeddingDir, 'report.json'), 'utf8')) as { item2vecNotRun?: string };
  const notRun = [
    ...(idv ? [] : [{ method: 'item2vec', reason: embeddingReport.item2vecNotRun ?? 'not trained' }]),
    ...(base.youtubeDnnNotRun ? [{ method: 'youtube_dnn', reason: base.youtubeDnnNotRun }] : []),
  ];
  const report: EvaluationReport = {
    ...(notRun.length ? { notRun } : {}),
    nextSession,
    comirec: { split: 'test', users: test.count, methods: comirecMethods, saw: COMIREC_SAW },
    lambda: miReport.lambda,
    interestCollapse: collapse,
    goal: { metric: 'next_session_recall_at_50', model: nextSession.served.method, recall: servedR, itemCf: cfR, ratio, ratioCi, target: input.goalRatio, met: ratio >= input.goalRatio },
  };
  mkdirSync(io.out, { recursive: true });
  writeFileSync(join(io.out, 'evaluation.json'), JSON.stringify(report, null, 2));
  writeFileSync(join(io.out, 'evaluation.md'), evaluationMarkdown(report));
  return report;
}

const METHOD_ORDER = ['multi_interest', 'youtube_dnn', 'history_clusters', 'item2vec', 'item_knn', 'item_cf', 'popularity'];
function orderMethods<M extends { method: string }>(ms: M[]): M[] {
  const rank = (m: string) => (METHOD_ORDER.includes(m) ? METHOD_ORDER.indexOf(m) : METHOD_ORDER.length);
  return [...ms].sort((a, b) => rank(a.method) - rank(b.method));
}

function nextSessionSaw(
  cf: ItemCfConfig,
  lastClicks: number,
  pop: PopularityConfig,
  serving: Record<string, { chosen: ServingConfig }>,
  clusters: { clusters: HistoryClusterConfig; serving: ServingConfig },
  itemTower: MultiInterestReport['itemTower'],
): Record<string, string> {
  const days = (d: number | null) => (d === null ? 'all days' : `${d} day${d === 1 ? '' : 's'}`);
  const served = (s: ServingConfig | undefined) =>
    !s
      ? ''
      : `; served through the A/B's recall: ${s.categoriesPerInterest > 0 ? `${s.categoriesPerInterest} category-constrained routes per interest plus an open one` : 'open routes only'}, merged by ${s.merge === 'quota' ? `quota (interests take turns${s.maxCategoryShare < 1 ? `, a category at most ${100 * s.maxCategoryShare}% of the list` : ''})` : 'best score (ComiRec merge)'}${s.recentShare > 0 ? `, ${100 * s.recentShare}% of the personal part of the list from the neighbours of the last clicks (item-kNN)` : ''}${(s.popularShare ?? 0) > 0 ? `, ${100 * s.popularShare}% of the list from the popular lots` : ''} (chosen on validation)`;
  return {
    every_method:
      'requests: every session of a held-out user in the split\'s period, at its start; history: the user\'s clicks before it; candidates: the lots on sale at the start that the user has not clicked; targets: the session\'s distinct clicked candidates; lists shorter than 50 are topped up by the popularity fallback',
    multi_interest: `trained on the training users' train-period clicks${itemTower === 'joint' ? ', the item-unit tower fine-tuned with it (candidates scored in its co-trained item vectors)' : ' on the item-unit vectors'}; input: the last 50 clicks of the history${served(serving.multi_interest?.chosen)}`,
    youtube_dnn: `trained like multi_interest with one interest${served(serving.youtube_dnn?.chosen)}`,
    history_clusters: `no training: the last ${clusters.clusters.maxHistory} clicks' item-unit vectors clustered per request into ${clusters.clusters.interests} interests (recency half-life ${clusters.clusters.halfLife} clicks)${served(clusters.serving)}`,
    item2vec: 'id embeddings from the training users\' train-period sessions; query: the mean of the history\'s vectors (lots unseen in training keep untrained vectors)',
    item_knn: `item-unit vectors (from attributes, trained on the train period); queries: the last ${lastClicks} distinct clicks of the history, chosen on validation`,
    item_cf: `co-clicks of all users in the ${days(cf.lookbackDays)} before the session's day, recomputed every day; top ${cf.topK} neighbours per lot; from the last ${cf.recentClicks} clicks of the history (settings chosen on validation)`,
    popularity: `clicks of all users in the ${days(pop.windowDays)} before the session's day, recomputed every day (window chosen on validation); also every method's fallback`,
  };
}

const COMIREC_SAW: Record<string, string> = {
  every_method:
    'held-out test users: the first 80% of each user\'s clicks are the history, the last 20% (de-duplicated) the targets; candidates: the whole catalogue, history included; no fallback',
  multi_interest: 'trained on the training users\' train-period clicks; input: the history (last session as short-term); merged by score',
  youtube_dnn: 'trained like multi_interest with one interest',
  item2vec: 'id embeddings from the training users\' train-period sessions; the mean of the history\'s vectors',
  item_knn: 'item-unit vectors; the last clicks of the history (count chosen on next-session validation), the clicked lots themselves left out',
  item_cf: 'co-clicks of the training users in every period (more than the models saw: the train period only)',
  popularity: 'clicks of the training users in every period',
};

export function evaluationMarkdown(r: EvaluationReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const header = '| method | Recall@20 | Recall@50 | HitRate@20 | HitRate@50 | NDCG@50 | categories in top 50 | diversity@50 |';
  const row = (m: MethodMetrics) =>
    `| ${m.method} | ${pct(m.recall_at_20)} | ${pct(m.recall_at_50)} | ${pct(m.hit_rate_at_20)} | ${pct(m.hit_rate_at_50)} | ${m.ndcg_at_50.toFixed(4)} | ${m.category_coverage_at_50.toFixed(2)} | ${m.intra_list_diversity_at_50.toFixed(3)} |`;
  const nsTable = (name: string, t: NextSessionTable) => [
    `### ${name}: ${t.scoredSessions} sessions of ${t.users} users, ${t.period.start.slice(0, 10)} – ${t.period.end.slice(0, 10)}`,
    '',
    `${t.sessions} sessions with clicks, ${t.sessions - t.scoredSessions} of them without a target; ${t.targets} targets (distinct clicked candidates); clicks left out: ${t.clickedBefore} on lots the user had clicked before, ${t.notOnSale} on lots not on sale at the session's start.`,
    '',
    `${header} Recall@50 95% CI | fallback share |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...t.methods.map((m) => `${row(m)} ${pct(m.recall_at_50_ci[0])} – ${pct(m.recall_at_50_ci[1])} | ${pct(m.fallback_share_at_50)} |`),
    '',
  ];
  const tuning = r.nextSession.tuning;
  return [
    '# Offline evaluation',
    '',
    '## Next-session protocol (decisions use this one)',
    '',
    ...nsTable('Test', r.nextSession.test),
    ...(r.notRun?.length ? [`Not run on this catalogue: ${r.notRun.map((x) => `${x.method} (${x.reason})`).join('; ')}.`, ''] : []),
    ...nsTable('Validation', r.nextSession.valid),
    `Chosen on validation: item-CF ${JSON.stringify(tuning.itemCf.chosen)}, item-kNN last ${tuning.itemKnn.chosen.lastClicks} clicks, popularity window ${tuning.popularity.chosen.windowDays ?? 'all'} days.`,
    '',
    'What each method saw:',
    '',
    ...Object.entries(r.nextSession.saw).map(([k, v]) => `- **${k}**: ${v}`),
    '',
    `## ComiRec protocol (${r.comirec.users} held-out test users)`,
    '',
    header,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.comirec.methods.map(row),
    '',
    'What each method saw:',
    '',
    ...Object.entries(r.comirec.saw).map(([k, v]) => `- **${k}**: ${v}`),
    '',
    `Interest collapse (mean pairwise cosine of a user's interests): ${r.interestCollapse.map((c) => `λ = ${c.lambda}: ${c.value.toFixed(3)}`).join('; ')}.`,
    '',
    `Served user model (chosen on validation, the learned one only while it beats the clustering baseline): ${r.nextSession.served.method} — validation Recall@50 multi-interest ${pct(r.nextSession.served.valid.multi_interest)}, history clusters ${pct(r.nextSession.served.valid.history_clusters)}.`,
    '',
    `Goal: next-session Recall@50 of the served user model (${r.goal.model}) ≥ ${r.goal.target}× item-CF's — ${pct(r.goal.recall)} vs ${pct(r.goal.itemCf)} = ${r.goal.ratio.toFixed(2)}× (paired bootstrap over users, 95%: ${r.goal.ratioCi[0].toFixed(2)}× – ${r.goal.ratioCi[1].toFixed(2)}×; ${r.goal.met ? 'met' : 'not met'}).`,
    '',
  ].join('\n');
}
