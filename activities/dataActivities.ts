import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateMarketplace } from '../data/generator/generate';
import { contentKey, produceStage } from '../stages/artifacts';
import { digestOfFolder, featuresStage, lexiconDigest, loadStage, taggingStage, taggingSummary } from '../stages/dataStages';
import { resolveWithOverrides, type ResolvedConfig } from '../config/retrainConfig';
import type { RetrainInput, StageRef } from '../workflows/types';
import { artifactsRoot, heartbeater, runStage, toFailure } from './stageRunner';

/** Validates the workflow input and fills in every default (non-retryable ConfigError on bad input). */
export async function resolveConfig(input: { retrain: RetrainInput; overrides?: Record<string, unknown>[] }): Promise<ResolvedConfig> {
  try {
    return resolveWithOverrides(input.retrain, input.overrides);
  } catch (err) {
    throw toFailure(err);
  }
}

/** The data folder of a retrain: the given one, or a synthetic marketplace generated once per (scale, seed, lang). */
export async function prepareData(input: { data: ResolvedConfig['data'] }): Promise<{ dir: string; digest: string; generated: boolean }> {
  const hb = heartbeater('load');
  try {
    if (input.data.dir) return { dir: input.data.dir, digest: await digestOfFolder(input.data.dir), generated: false };
    const g = input.data.generate;
    if (!g) throw new Error('data has neither dir nor generate');
    hb.phase('generating');
    const { dir } = await produceStage(artifactsRoot(), 'generated', contentKey(g), async ({ out }) => {
      const s = await generateMarketplace({ scale: g.scale, seed: g.seed, lang: g.lang, out: join(out, 'data') });
      return { items: s.items, users: s.users, events: s.events };
    });
    const dataDir = join(dir, 'data');
    return { dir: dataDir, digest: await digestOfFolder(dataDir), generated: true };
  } catch (err) {
    throw toFailure(err);
  } finally {
    hb.stop();
  }
}

export async function loadData(input: { dir: string; digest: string; quarantine: boolean }): Promise<StageRef> {
  // The digest is recomputed: the caller's may be stale if the files were fixed before a retry.
  const digest = existsSync(input.dir) ? await digestOfFolder(input.dir).catch(() => input.digest) : input.digest;
  const { ref } = await runStage(
    'load',
    { digest, quarantine: input.quarantine },
    (io) => loadStage({ dir: input.dir, quarantine: input.quarantine }, io),
    (r) => ({ digest: r.digest, data_dir: input.dir, items: r.rows.items, events: r.rows.events, searches: r.rows.searches, quarantined: r.quarantined.items + r.quarantined.events + r.quarantined.searches }),
  );
  return ref;
}

export async function buildFeatures(input: { load: StageRef; params: ResolvedConfig['features'] }): Promise<StageRef> {
  const { ref } = await runStage(
    'features',
    { load: input.load.digest, params: input.params },
    (io) => featuresStage({ datasetDb: join(input.load.dir, 'dataset.duckdb'), params: input.params }, io),
    (r) => ({ seconds: r.seconds, mi_examples: r.rows.mi_examples ?? 0, skipgram_positive: r.rows.skipgram_positive ?? 0, eval_users: r.rows.eval_users ?? 0 }),
  );
  return ref;
}

export async function tagItems(input: { load: StageRef; params: ResolvedConfig['tagging'] }): Promise<StageRef> {
  const { ref } = await runStage(
    'tagging',
    { load: input.load.digest, params: input.params, lexicon: lexiconDigest() },
    (io) => taggingStage({ datasetDb: join(input.load.dir, 'dataset.duckdb'), params: input.params }, io),
    taggingSummary,
  );
  return ref;
}
