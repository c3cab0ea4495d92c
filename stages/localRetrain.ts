import { resolveRetrainConfig } from '../config/retrainConfig';
import type { Progress } from '../models/training';
import { bestTrial, trainedByStage } from '../workflows/sweepChoice';
import type { RetrainInput, StageRef } from '../workflows/types';
import { contentKey, folderDigest, produceStage } from './artifacts';
import { evaluationSpec } from './evaluation';
import type { EvaluationReport } from './evaluationStage';
import { featuresSpec } from './features';
import { digestOfFolder } from './identity';
import { itemEmbeddingSpec } from './itemEmbedding';
import { keywordSpec } from './keyword';
import { loadSpec } from './load';
import type { ItemEmbeddingReport, KeywordReport, MultiInterestReport } from './modelStages';
import { lambdaTrialSpec, multiInterestSpec } from './multiInterest';
import type { StageSpec } from './spec';
import { taggingSpec } from './tagging';

/**
 * The retrain in this process, without Temporal: load → features → tagging → item embeddings →
 * keyword DSSM → multi-interest (with the YouTube-DNN baseline) → one trial per λ of the sweep, λ
 * chosen on validation → evaluation. The same stage specs as the workflow's activities, the same
 * config schema and the same content keys, so `curio train` and a workflow on the same data and
 * settings share every folder: whichever runs second reuses what the first one trained.
 */

export interface LocalRetrainOptions extends Omit<RetrainInput, 'data' | 'experimentName' | 'registry' | 'timeouts' | 'sweepParallelism'> {
  dataDir: string;
  artifactsRoot: string;
  quarantine?: boolean;
  log?: (m: string) => void;
  onProgress?: (p: Progress) => void;
  /** Aborting stops a training at its next step (Ctrl-C in `curio train`). */
  signal?: AbortSignal;
}

export interface LocalRetrainResult {
  /** Each stage's folder; sweep trials as `multi_interest_trial:λ`. */
  dirs: Record<string, string>;
  seconds: Record<string, number>;
  itemEmbedding: ItemEmbeddingReport;
  keyword: KeywordReport;
  /** The `multi_interest` stage: the config's λ, with the YouTube-DNN baseline. */
  multiInterest: MultiInterestReport;
  /** The sweep's λ = 0 trial, when the grid has one. */
  lambdaZero?: MultiInterestReport;
  /** The λ the sweep chose on validation, and its trial (what the evaluation serves). */
  bestLambda: number;
  best: MultiInterestReport;
  evaluation: EvaluationReport;
}

export async function localRetrain(o: LocalRetrainOptions): Promise<LocalRetrainResult> {
  const { dataDir, artifactsRoot: root, quarantine, log = () => {}, onProgress, signal, ...sections } = o;
  const cfg = resolveRetrainConfig({ ...sections, data: { dir: dataDir, quarantine: quarantine ?? false } });
  const seconds: Record<string, number> = {};
  const dirs: Record<string, string> = {};
  const trainingIo = { ...(onProgress ? { onProgress } : {}), ...(signal ? { signal } : {}) };

  async function run<I, R>(spec: StageSpec<I, R>, input: I, label = spec.name): Promise<StageRef & { report: R }> {
    const t0 = Date.now();
    const key = contentKey(spec.key(input));
    const r = await produceStage(root, spec.name, key, (io) => spec.run(input, { ...io, ...trainingIo, phase: (m) => log(`  ${label}: ${m}`) }));
    seconds[label] = (Date.now() - t0) / 1000;
    dirs[label] = r.dir;
    log(`${label}: ${r.reused ? 'reused' : 'done'} in ${seconds[label].toFixed(1)} s → ${r.dir}`);
    return { stage: spec.name, key, dir: r.dir, digest: folderDigest(r.manifest), reused: r.reused, summary: spec.summary(r.manifest.report, input), report: r.manifest.report };
  }

  const load = await run(loadSpec, { dir: cfg.data.dir as string, digest: await digestOfFolder(cfg.data.dir as string), quarantine: cfg.data.quarantine });
  const features = await run(featuresSpec, { load, params: cfg.features });
  const tags = await run(taggingSpec, { load, params: cfg.tagging });
  const itemEmbedding = await run(itemEmbeddingSpec, { features, tags, itemUnit: cfg.itemUnit, item2vec: cfg.item2vec });
  const keyword = await run(keywordSpec, { features, tags, itemEmbedding, itemUnit: cfg.itemUnit, keyword: cfg.keyword });
  const models = { features, tags, itemEmbedding, itemUnit: cfg.itemUnit };
  const baseline = await run(multiInterestSpec, { ...models, multiInterest: cfg.multiInterest });
  const trials: (StageRef & { report: MultiInterestReport })[] = [];
  for (const lambda of cfg.lambdaGrid) {
    if (trainedByStage(lambda, cfg.multiInterest.lambda)) {
      log(`multi_interest_trial:${lambda}: the multi_interest stage's training → ${baseline.dir}`);
      trials.push({ ...baseline, stage: lambdaTrialSpec.name, reused: true });
    } else trials.push(await run(lambdaTrialSpec, { ...models, multiInterest: { ...cfg.multiInterest, lambda } }, `multi_interest_trial:${lambda}`));
  }
  const best = bestTrial(trials);
  const zero = trials.find((t) => Number(t.summary.lambda) === 0);
  const evaluation = await run(evaluationSpec, { features, itemEmbedding, best, ...(zero ? { lambdaZero: zero } : {}), baseline, goalRatio: cfg.evaluation.goalRatio });
  return {
    dirs,
    seconds,
    itemEmbedding: itemEmbedding.report,
    keyword: keyword.report,
    multiInterest: baseline.report,
    ...(zero ? { lambdaZero: zero.report } : {}),
    bestLambda: Number(best.summary.lambda),
    best: best.report,
    evaluation: evaluation.report,
  };
}
