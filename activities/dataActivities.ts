import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateMarketplace } from '../data/generator/generate';
import { contentKey, produceStage } from '../stages/artifacts';
import { featuresSpec } from '../stages/features';
import { digestOfFolder } from '../stages/identity';
import { loadSpec } from '../stages/load';
import { taggingSpec } from '../stages/tagging';
import { resolveWithOverrides, type ResolvedConfig } from '../config/retrainConfig';
import type { RetrainInput, StageRef } from '../workflows/types';
import { artifactsRoot, heartbeater, runSpec, toFailure } from './stageRunner';

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
  return runSpec(loadSpec, { dir: input.dir, digest, quarantine: input.quarantine });
}

export async function buildFeatures(input: { load: StageRef; params: ResolvedConfig['features'] }): Promise<StageRef> {
  return runSpec(featuresSpec, input);
}

export async function tagItems(input: { load: StageRef; params: ResolvedConfig['tagging'] }): Promise<StageRef> {
  return runSpec(taggingSpec, input);
}
