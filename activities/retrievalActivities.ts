import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_AB, runAbTest as simulateAb, type AbConfig } from '../evaluation/abTest';
import { formatAbReport } from '../evaluation/abReport';
import { mergeConfig } from '../pipeline/retrainConfig';
import { buildItemIndex } from '../retrieval/catalogue';
import type { StageRef } from '../workflows/types';
import { runStage, toFailure } from './stageRunner';

/** The category-constrained Faiss index over the trained item vectors (pipeline worker: Faiss only). */
export async function buildIndex(input: { features: StageRef; itemEmbedding: StageRef; tags: StageRef; factory: string }): Promise<StageRef> {
  const { readItemVectors } = await import('../models/vectorFiles');
  const { ref } = await runStage(
    'index',
    { embedding: input.itemEmbedding.digest, tags: input.tags.digest, features: input.features.digest, factory: input.factory },
    async (io) => {
      const iv = await readItemVectors(join(input.itemEmbedding.dir, 'item_vectors.parquet'));
      const r = await buildItemIndex(join(input.features.dir, 'features.duckdb'), join(input.tags.dir, 'tags.duckdb'), { dim: iv.dim, vectors: iv.vectors }, io.out, { factory: input.factory });
      writeFileSync(join(io.out, 'report.json'), JSON.stringify(r, null, 2));
      return r;
    },
    (r) => ({ items: r.items, categories: r.categories, offset: r.offset, seconds: r.seconds }),
  );
  return ref;
}

/**
 * The simulated A/B CTR test: item-CF against the multi-interest model + constrained retrieval, with
 * clicks from the synthetic marketplace's ground-truth click model. Runs on the training worker: arm B
 * asks the tfjs model for every user's interests.
 */
export async function runAbTest(input: {
  prepared: StageRef;
  dataDir: string;
  features: StageRef;
  tags: StageRef;
  itemEmbedding: StageRef;
  best: StageRef;
  settings: Record<string, unknown>;
}): Promise<StageRef> {
  let config: AbConfig;
  try {
    config = mergeConfig('abTest', DEFAULT_AB, input.settings);
  } catch (err) {
    throw toFailure(err);
  }
  const hasTruth = existsSync(join(input.dataDir, 'truth', 'items.parquet'));
  const { ref } = await runStage(
    'ab_test',
    { best: input.best.digest, embedding: input.itemEmbedding.digest, features: input.features.digest, tags: input.tags.digest, data: input.prepared.digest, config, hasTruth },
    async (io) => {
      if (!hasTruth) {
        const note = { skipped: true, reason: `${input.dataDir} has no truth/ folder: there is no click model to simulate an A/B test with` };
        writeFileSync(join(io.out, 'report.json'), JSON.stringify(note, null, 2));
        return note;
      }
      const { readItemVectors } = await import('../models/vectorFiles');
      const { trainedInterestModel } = await import('../models/trainedInterestModel');
      const iv = await readItemVectors(join(input.itemEmbedding.dir, 'item_vectors.parquet'));
      const model = await trainedInterestModel(join(input.best.dir, 'multi_interest'), iv.vectors, iv.dim);
      try {
        const report = await simulateAb(
          {
            featuresDb: join(input.features.dir, 'features.duckdb'),
            tagsDb: join(input.tags.dir, 'tags.duckdb'),
            datasetDir: input.dataDir,
            armB: { label: 'multi-interest', itemVectors: { dim: iv.dim, vectors: iv.vectors }, modelFor: () => model },
          },
          config,
          (m) => io.phase(m),
        );
        writeFileSync(join(io.out, 'report.json'), JSON.stringify(report, null, 2));
        writeFileSync(join(io.out, 'report.md'), formatAbReport(report));
        return report;
      } finally {
        model.dispose();
      }
    },
    (r): Record<string, number | string> =>
      'skipped' in r
        ? { skipped: 'no truth/ folder' }
        : {
            ctr_item_cf: r.armA.ctr,
            ctr_multi_interest: r.armB.ctr,
            ctr_lift: r.bootstrap.lift,
            ctr_lift_ci_low: r.bootstrap.ci[0],
            ctr_lift_ci_high: r.bootstrap.ci[1],
            ctr_lift_z_ci_low: r.zTest.liftCi[0],
            ctr_lift_z_ci_high: r.zTest.liftCi[1],
            p_value: r.zTest.pValue,
            categories_per_feed_item_cf: r.armA.categoriesPerFeed,
            categories_per_feed_multi_interest: r.armB.categoriesPerFeed,
          },
  );
  return ref;
}
