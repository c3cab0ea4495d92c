import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { FeatureParamsSchema } from '../data/features';
import { AbTestSchema } from '../evaluation/abConfig';
import { PRIMARY_METRICS } from '../evaluation/headlineMetrics';
import { Item2VecSchema, ItemUnitSchema, KeywordSchema, MultiInterestSchema } from '../models/config';
import { projectRoot } from '../platform/paths';
import { ConfigError, flag, nonNegativeInt, nonNegativeNumber, oneOf, parseConfig, positiveInt, positiveNumber, section } from '../platform/schema';
import { TaggingSchema } from '../tagging/tagItems';
import { SCALES, type RetrainInput } from '../workflows/types';

/**
 * The retrain's configuration, checked once, at the validate stage: one zod schema composed of every
 * section's own (each beside its defaults), so a typo, a value out of range or a misspelt primary
 * metric fails the retrain before anything runs, with the field and the reason.
 */

export const DEFAULT_LAMBDA_GRID = [0, 0.1, 0.3, 1];

const DataSchema = z
  .strictObject(
    {
      dir: z.string({ error: 'must be a path' }).min(1, { error: 'must be a path' }).optional(),
      generate: z
        .strictObject({ scale: oneOf(SCALES), seed: nonNegativeInt().default(7), lang: oneOf(['zh', 'en', 'mixed']).default('zh') }, { error: 'must be {"scale": "small"} (seed and lang optional)' })
        .optional(),
      quarantine: flag().default(false),
    },
    { error: 'is required: {"dir": "/path/to/data"} or {"generate": {"scale": "small"}}' },
  )
  .refine((d) => (d.dir === undefined) !== (d.generate === undefined), { error: "needs exactly one of 'dir' and 'generate'" });

const FACTORY = /^[A-Za-z0-9_,.]+$/;

export const RetrainConfigSchema = z
  .strictObject(
    {
      data: DataSchema,
      experimentName: z.string({ error: 'must be a name' }).min(1, { error: 'must be a name' }).default('curio-retrain'),
      features: FeatureParamsSchema,
      tagging: TaggingSchema,
      itemUnit: ItemUnitSchema,
      item2vec: Item2VecSchema,
      keyword: KeywordSchema,
      multiInterest: MultiInterestSchema,
      lambdaGrid: z
        .array(nonNegativeNumber(), { error: 'must be a list of numbers >= 0' })
        .min(1, { error: 'must be a non-empty list of numbers >= 0' })
        .default(() => [...DEFAULT_LAMBDA_GRID])
        .transform((grid) => [...new Set(grid)].sort((a, b) => a - b)),
      sweepParallelism: positiveInt().default(2),
      evaluation: section(
        {
          goalRatio: positiveNumber(),
          primaryMetric: z.string().refine((m) => PRIMARY_METRICS.includes(m), { error: `must be a metric the retrain reports (${PRIMARY_METRICS.join(', ')})` }),
        },
        { goalRatio: 1.2, primaryMetric: 'next_session_recall_at_50' },
      ),
      index: section(
        { factory: z.string().regex(FACTORY, { error: "must be a Faiss factory string such as 'Flat', 'IVF256,Flat' or 'HNSW32'" }) },
        { factory: 'Flat' },
      ),
      abTest: AbTestSchema,
      registry: section({ modelName: z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: 'must be a model name (letters, digits, _ . -)' }) }, { modelName: 'curio-recall' }),
      // Below 5 s a busy training step would miss its heartbeat; above an hour a dead worker goes unnoticed.
      timeouts: section({ trainingHeartbeatSeconds: z.int({ error: 'must be an integer number of seconds in [5, 3600]' }).min(5, { error: 'must be at least 5 seconds' }).max(3600, { error: 'must be at most 3600 seconds' }) }, { trainingHeartbeatSeconds: 60 }),
    },
    { error: 'must be one JSON object' },
  )
  .superRefine((c, ctx) => {
    if (c.keyword.transfer && c.keyword.dim !== c.itemUnit.dim) {
      ctx.addIssue({ code: 'custom', path: ['keyword', 'dim'], input: c.keyword.dim, message: `must equal the item-unit dimension ${c.itemUnit.dim} to transfer its tower` });
    }
  });

/** A retrain's complete configuration: the input with every default filled in and validated. */
export type ResolvedConfig = z.output<typeof RetrainConfigSchema>;

export function resolveRetrainConfig(input: RetrainInput | ResolvedConfig): ResolvedConfig {
  const cfg = parseConfig('', RetrainConfigSchema, input);
  if (cfg.data.dir !== undefined) {
    const dir = isAbsolute(cfg.data.dir) ? cfg.data.dir : resolve(projectRoot, cfg.data.dir);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`invalid configuration: data.dir ${dir} is not a folder`);
    cfg.data.dir = dir;
  }
  return cfg;
}

/** The sections a retry may change: everything but the data (only its quarantine switch) and the timeouts. */
const FIXED_ON_RETRY = new Set(['timeouts']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isObject(base) || !isObject(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = deepMerge(base[k], v);
  return out;
}

/**
 * Applies retryStage overrides (same shape as the input's config sections) to a resolved config and
 * checks the result with the same schema as the input, so an override is refused for what it is.
 */
export function applyOverrides(cfg: ResolvedConfig, overrides: Record<string, unknown>): ResolvedConfig {
  for (const [section, patch] of Object.entries(overrides)) {
    const quarantineOnly = section === 'data' && isObject(patch) && Object.keys(patch).every((k) => k === 'quarantine');
    if ((section === 'data' && !quarantineOnly) || FIXED_ON_RETRY.has(section) || !(section in cfg)) {
      throw new ConfigError(`override '${section}' is not a config section that can change on retry`);
    }
  }
  return resolveRetrainConfig(deepMerge(cfg, overrides) as ResolvedConfig);
}

/**
 * The validate stage: the input resolved, then each accepted retry's overrides in turn. When the input
 * itself does not resolve, the validate stage is what failed and nothing has run yet, so the
 * overrides repair the input (any section, data and timeouts included).
 */
export function resolveWithOverrides(input: RetrainInput, overrides: readonly Record<string, unknown>[] = []): ResolvedConfig {
  let cfg: ResolvedConfig;
  try {
    cfg = resolveRetrainConfig(input);
  } catch (err) {
    if (overrides.length === 0) throw err;
    return resolveRetrainConfig(overrides.reduce<unknown>((acc, o) => deepMerge(acc, o), input) as RetrainInput);
  }
  for (const o of overrides) cfg = applyOverrides(cfg, o);
  return cfg;
}
