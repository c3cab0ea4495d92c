import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_FEATURE_PARAMS, validateFeatureParams, type FeatureParams } from '../data/features';
import {
  ConfigError,
  DEFAULT_ITEM2VEC,
  DEFAULT_ITEM_UNIT,
  DEFAULT_KEYWORD,
  DEFAULT_MULTI_INTEREST,
  validateItem2Vec,
  validateItemUnit,
  validateKeyword,
  validateMultiInterest,
  type Item2VecConfig,
  type ItemUnitConfig,
  type KeywordConfig,
  type MultiInterestConfig,
} from '../models/config';
import { projectRoot } from '../platform/paths';
import { DEFAULT_TAGGING, validateTaggingParams, type TaggingParams } from '../tagging/tagItems';
import { SCALES, type RetrainInput, type Scale } from '../workflows/types';

/** A retrain's complete configuration: the input with every default filled in and validated. */
export interface ResolvedConfig {
  data: { dir?: string; generate?: { scale: Scale; seed: number; lang: 'zh' | 'en' | 'mixed' }; quarantine: boolean };
  experimentName: string;
  features: FeatureParams;
  tagging: TaggingParams;
  itemUnit: ItemUnitConfig;
  item2vec: Item2VecConfig;
  keyword: KeywordConfig;
  multiInterest: MultiInterestConfig;
  lambdaGrid: number[];
  sweepParallelism: number;
  evaluation: { goalRatio: number; primaryMetric: string };
  index: { factory: string };
  abTest: Record<string, unknown>;
  registry: { modelName: string };
}

export const DEFAULT_LAMBDA_GRID = [0, 0.1, 0.3, 1];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Overrides replace defaults key by key. A key the defaults do not have is an error, so a typo in
 * the Start Workflow form fails loudly instead of being ignored.
 */
export function mergeConfig<T extends object>(path: string, defaults: T, overrides: unknown): T {
  if (overrides === undefined) return defaults;
  if (!isObject(overrides)) throw new ConfigError(`${path} must be an object, got ${JSON.stringify(overrides)}`);
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in out)) throw new ConfigError(`${path}.${k} is not a setting (known: ${Object.keys(out).join(', ')})`);
    const d = out[k];
    if (isObject(d)) out[k] = mergeConfig(`${path}.${k}`, d, v);
    else {
      if (typeof v !== typeof d || Array.isArray(v) !== Array.isArray(d)) {
        throw new ConfigError(`${path}.${k} must be ${Array.isArray(d) ? 'a list' : `a ${typeof d}`}, got ${JSON.stringify(v)}`);
      }
      out[k] = v;
    }
  }
  return out as T;
}

export function resolveRetrainConfig(input: RetrainInput): ResolvedConfig {
  if (!isObject(input)) throw new ConfigError('the retrain input must be one JSON object');
  const known = ['data', 'experimentName', 'features', 'tagging', 'itemUnit', 'item2vec', 'keyword', 'multiInterest', 'lambdaGrid', 'sweepParallelism', 'evaluation', 'index', 'abTest', 'registry', 'timeouts'];
  for (const k of Object.keys(input)) if (!known.includes(k)) throw new ConfigError(`'${k}' is not a retrain setting (known: ${known.join(', ')})`);
  const data = input.data;
  if (!isObject(data)) throw new ConfigError("'data' is required: {\"dir\": \"/path/to/data\"} or {\"generate\": {\"scale\": \"small\"}}");
  if ((data.dir === undefined) === (data.generate === undefined)) throw new ConfigError("'data' needs exactly one of 'dir' and 'generate'");
  let resolvedData: ResolvedConfig['data'];
  if (data.dir !== undefined) {
    if (typeof data.dir !== 'string' || data.dir === '') throw new ConfigError(`data.dir must be a path, got ${JSON.stringify(data.dir)}`);
    const dir = isAbsolute(data.dir) ? data.dir : resolve(projectRoot, data.dir);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`data.dir ${dir} is not a folder`);
    resolvedData = { dir, quarantine: data.quarantine === true };
  } else {
    const g = data.generate as { scale?: unknown; seed?: unknown; lang?: unknown };
    if (!isObject(g) || !SCALES.includes(g.scale as Scale)) throw new ConfigError(`data.generate.scale must be one of ${SCALES.join(', ')}, got ${JSON.stringify(g?.scale)}`);
    const seed = g.seed === undefined ? 7 : g.seed;
    if (!Number.isInteger(seed) || (seed as number) < 0) throw new ConfigError(`data.generate.seed must be a non-negative integer, got ${JSON.stringify(g.seed)}`);
    const lang = g.lang === undefined ? 'zh' : g.lang;
    if (lang !== 'zh' && lang !== 'en' && lang !== 'mixed') throw new ConfigError(`data.generate.lang must be zh, en or mixed, got ${JSON.stringify(g.lang)}`);
    resolvedData = { generate: { scale: g.scale as Scale, seed: seed as number, lang }, quarantine: data.quarantine === true };
  }
  const features = mergeConfig('features', DEFAULT_FEATURE_PARAMS, input.features);
  const tagging = mergeConfig('tagging', DEFAULT_TAGGING, input.tagging);
  // Checked here, at the validate stage, rather than when the tagging stage starts.
  validateTaggingParams(tagging);
  const itemUnit = mergeConfig('itemUnit', DEFAULT_ITEM_UNIT, input.itemUnit);
  const item2vec = mergeConfig('item2vec', DEFAULT_ITEM2VEC, input.item2vec);
  const keyword = mergeConfig('keyword', DEFAULT_KEYWORD, input.keyword);
  const multiInterest = mergeConfig('multiInterest', DEFAULT_MULTI_INTEREST, input.multiInterest);
  try {
    validateFeatureParams(features);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  validateItemUnit(itemUnit);
  validateItem2Vec(item2vec);
  validateKeyword(keyword, itemUnit.dim);
  validateMultiInterest(multiInterest);
  const lambdaGrid = input.lambdaGrid ?? DEFAULT_LAMBDA_GRID;
  if (!Array.isArray(lambdaGrid) || lambdaGrid.length === 0 || !lambdaGrid.every((l) => Number.isFinite(l) && l >= 0)) {
    throw new ConfigError(`lambdaGrid must be a non-empty list of numbers >= 0, got ${JSON.stringify(input.lambdaGrid)}`);
  }
  const sweepParallelism = input.sweepParallelism ?? 2;
  if (!Number.isInteger(sweepParallelism) || sweepParallelism < 1) throw new ConfigError(`sweepParallelism must be a positive integer, got ${sweepParallelism}`);
  const goalRatio = input.evaluation?.goalRatio ?? 1.2;
  if (!(goalRatio > 0)) throw new ConfigError(`evaluation.goalRatio must be > 0, got ${goalRatio}`);
  const factory = input.index?.factory ?? 'Flat';
  if (typeof factory !== 'string' || !/^[A-Za-z0-9_,.]+$/.test(factory)) throw new ConfigError(`index.factory must be a Faiss factory string such as 'Flat', 'IVF256,Flat' or 'HNSW32', got ${JSON.stringify(factory)}`);
  return {
    data: resolvedData,
    experimentName: input.experimentName ?? 'curio-retrain',
    features,
    tagging,
    itemUnit,
    item2vec,
    keyword,
    multiInterest,
    lambdaGrid: [...new Set(lambdaGrid)].sort((a, b) => a - b),
    sweepParallelism,
    evaluation: { goalRatio, primaryMetric: input.evaluation?.primaryMetric ?? 'next_session_recall_at_50' },
    index: { factory },
    abTest: isObject(input.abTest) ? input.abTest : {},
    registry: { modelName: input.registry?.modelName ?? 'curio-recall' },
  };
}

/** Applies retryStage overrides (same shape as the input's config sections) to a resolved config. */
export function applyOverrides(cfg: ResolvedConfig, overrides: Record<string, unknown>): ResolvedConfig {
  const out = { ...cfg } as Record<string, unknown>;
  for (const [section, patch] of Object.entries(overrides)) {
    if (!(section in out) || section === 'data') {
      if (section === 'data' && isObject(patch) && Object.keys(patch).every((k) => k === 'quarantine')) {
        out.data = { ...cfg.data, quarantine: patch.quarantine === true };
        continue;
      }
      throw new ConfigError(`override '${section}' is not a config section that can change on retry`);
    }
    const current = out[section];
    out[section] = isObject(current) ? mergeConfig(section, current, patch) : patch;
  }
  const merged = out as unknown as ResolvedConfig;
  validateItemUnit(merged.itemUnit);
  validateKeyword(merged.keyword, merged.itemUnit.dim);
  validateMultiInterest(merged.multiInterest);
  return merged;
}
