import { join } from 'node:path';
import { DEFAULT_FEATURE_PARAMS, type FeatureParams } from '../data/features';
import {
  DEFAULT_ITEM2VEC,
  DEFAULT_ITEM_UNIT,
  DEFAULT_KEYWORD,
  DEFAULT_MULTI_INTEREST,
  type Item2VecConfig,
  type ItemUnitConfig,
  type KeywordConfig,
  type MultiInterestConfig,
} from '../models/config';
import type { Progress } from '../models/training';
import { DEFAULT_TAGGING, type TaggingParams } from '../tagging/tagItems';
import { contentKey, produceStage } from './artifacts';
import { digestOfFolder, featuresStage, lexiconDigest, loadStage, taggingStage } from './dataStages';
import { evaluationStage, type EvaluationReport } from './evaluationStage';
import { itemEmbeddingStage, keywordStage, multiInterestStage, type ItemEmbeddingReport, type KeywordReport, type MultiInterestReport } from './modelStages';

/**
 * Load → features → tagging → item embeddings → keyword DSSM → multi-interest (chosen λ and λ = 0)
 * → evaluation, in this process, with the same content-addressed stage folders the Temporal workflow
 * uses. `curio train` and the model benchmark run it.
 */

export interface LocalRetrainOptions {
  dataDir: string;
  artifactsRoot: string;
  quarantine?: boolean;
  features?: FeatureParams;
  tagging?: TaggingParams;
  itemUnit?: ItemUnitConfig;
  item2vec?: Item2VecConfig;
  keyword?: KeywordConfig;
  multiInterest?: MultiInterestConfig;
  goalRatio?: number;
  log?: (m: string) => void;
  onProgress?: (p: Progress) => void;
}

export interface LocalRetrainResult {
  dirs: Record<string, string>;
  seconds: Record<string, number>;
  itemEmbedding: ItemEmbeddingReport;
  keyword: KeywordReport;
  multiInterest: MultiInterestReport;
  lambdaZero: MultiInterestReport;
  evaluation: EvaluationReport;
}

export async function localRetrain(o: LocalRetrainOptions): Promise<LocalRetrainResult> {
  const log = o.log ?? (() => {});
  const root = o.artifactsRoot;
  const features = o.features ?? DEFAULT_FEATURE_PARAMS;
  const tagging = o.tagging ?? DEFAULT_TAGGING;
  const itemUnit = o.itemUnit ?? DEFAULT_ITEM_UNIT;
  const item2vec = o.item2vec ?? DEFAULT_ITEM2VEC;
  const keyword = o.keyword ?? DEFAULT_KEYWORD;
  const mi = o.multiInterest ?? DEFAULT_MULTI_INTEREST;
  const seconds: Record<string, number> = {};
  const dirs: Record<string, string> = {};
  const timed = async <R>(stage: string, key: string, run: (io: { out: string; scratch: string }) => Promise<R>) => {
    const t0 = Date.now();
    const r = await produceStage(root, stage, key, (io) => run({ ...io }));
    seconds[stage] = (Date.now() - t0) / 1000;
    dirs[stage] = r.dir;
    log(`${stage}: ${r.reused ? 'reused' : 'done'} in ${seconds[stage].toFixed(1)} s → ${r.dir}`);
    return r.manifest.report;
  };
  const progress = o.onProgress ? { onProgress: o.onProgress } : {};

  const digest = await digestOfFolder(o.dataDir);
  const loadKey = contentKey({ digest, quarantine: o.quarantine ?? false });
  await timed('load', loadKey, (io) => loadStage({ dir: o.dataDir, quarantine: o.quarantine ?? false }, io));
  const datasetDb = join(dirs.load as string, 'dataset.duckdb');
  const featKey = contentKey({ loadKey, features });
  await timed('features', featKey, (io) => featuresStage({ datasetDb, params: features }, io));
  const tagKey = contentKey({ loadKey, tagging, lexicon: lexiconDigest() });
  await timed('tagging', tagKey, (io) => taggingStage({ datasetDb, params: tagging }, io));
  const featuresDb = join(dirs.features as string, 'features.duckdb');
  const tagsDb = join(dirs.tagging as string, 'tags.duckdb');

  const embKey = contentKey({ featKey, tagKey, itemUnit, item2vec });
  const itemEmbedding = await timed('item_embedding', embKey, (io) => itemEmbeddingStage({ featuresDb, tagsDb, itemUnit, item2vec }, { ...io, ...progress }));
  const embDir = dirs.item_embedding as string;
  const kwReport = await timed('keyword', contentKey({ embKey, keyword }), (io) =>
    keywordStage({ featuresDb, tagsDb, itemEmbeddingDir: embDir, itemUnit, keyword }, { ...io, ...progress }),
  );
  const miReport = await timed('multi_interest', contentKey({ embKey, featKey, tagKey, mi, baseline: true }), (io) =>
    multiInterestStage({ featuresDb, tagsDb, itemUnit, itemEmbeddingDir: embDir, multiInterest: mi, singleVectorBaseline: true }, { ...io, ...progress }),
  );
  const miDir = dirs.multi_interest as string;
  const zero = { ...mi, lambda: 0 };
  const zeroReport = await timed('multi_interest_lambda0', contentKey({ embKey, featKey, tagKey, mi: zero, baseline: false }), (io) =>
    multiInterestStage({ featuresDb, tagsDb, itemUnit, itemEmbeddingDir: embDir, multiInterest: zero, singleVectorBaseline: false }, { ...io, ...progress }),
  );
  const evalReport = await timed('evaluation', contentKey({ miDir, zero: dirs.multi_interest_lambda0, goal: o.goalRatio ?? 1.2 }), (io) =>
    evaluationStage(
      {
        featuresDb,
        itemEmbeddingDir: embDir,
        multiInterestDir: miDir,
        lambdaZeroDir: dirs.multi_interest_lambda0 as string,
        baselineDir: miDir,
        goalRatio: o.goalRatio ?? 1.2,
      },
      io,
      log,
    ),
  );
  return { dirs, seconds, itemEmbedding, keyword: kwReport, multiInterest: miReport, lambdaZero: zeroReport, evaluation: evalReport };
}
