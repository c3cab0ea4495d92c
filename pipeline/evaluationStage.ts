import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ItemSearch } from '../evaluation/fullRanking';
import {
  loadItemCf,
  rankByItemCf,
  rankByMeanVector,
  rankByPopularity,
  scoreRankings,
  type DiversityContext,
  type MethodMetrics,
} from '../evaluation/userEval';
import { openStageDatabases } from '../models/itemFeatures';
import { loadEvalUsers } from '../models/sequences';
import { readItemVectors } from '../models/vectorFiles';
import { readColumns } from '../platform/duckdb';
import type { MultiInterestReport, StageIo } from './modelStages';

/**
 * The offline evaluation stage: the chosen multi-interest model against every baseline on the
 * held-out test users, in one table. It needs no TensorFlow (the models' own metrics come from their
 * stage reports), so it runs on the pipeline worker.
 */

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
