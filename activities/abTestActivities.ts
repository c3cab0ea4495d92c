import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateAbConfig, type AbConfig } from '../evaluation/abConfig';
import { hasTruth as datasetHasTruth, runAbTest as simulateAb, runReplayOnly, type AbReport, type ReplayOnlyReport } from '../evaluation/abTest';
import { abMetrics, formatAbReport } from '../evaluation/abReport';
import { openServedArm, servedArmFromSummary, servedItemVectorsFile } from '../stages/servedArm';
import type { StageRef } from '../workflows/types';
import { runStage, toFailure } from './stageRunner';

/**
 * The simulated A/B CTR test: item-CF against the multi-interest model + constrained retrieval, with
 * clicks from the synthetic marketplace's ground-truth click model. Runs on the training worker: arm B
 * asks the tfjs model for every user's interests. Data without truth/ (real logs) has no click model:
 * the stage then reports the offline replay estimate only (mode 'replay_only', no CTR).
 */
export async function runAbTest(input: {
  prepared: StageRef;
  dataDir: string;
  features: StageRef;
  tags: StageRef;
  itemEmbedding: StageRef;
  best: StageRef;
  /** The offline evaluation: which user model is served, and how (chosen on validation). */
  evaluation?: StageRef;
  settings: Partial<AbConfig>;
}): Promise<StageRef> {
  let config: AbConfig;
  try {
    // The resolved config holds the full section; a retrain started before it did passes a partial one.
    config = validateAbConfig(input.settings);
  } catch (err) {
    throw toFailure(err);
  }
  const hasTruth = datasetHasTruth(input.dataDir);
  const served = servedArmFromSummary(input.evaluation?.summary);
  const { ref } = await runStage(
    'ab_test',
    { best: input.best.digest, embedding: input.itemEmbedding.digest, features: input.features.digest, tags: input.tags.digest, data: input.prepared.digest, config, hasTruth, served },
    async (io): Promise<AbReport | ReplayOnlyReport> => {
      const { readItemVectors } = await import('../models/vectorFiles');
      const iv = await readItemVectors(served.method === 'multi_interest' ? servedItemVectorsFile(input.itemEmbedding, input.best, input.evaluation) : join(input.itemEmbedding.dir, 'item_vectors.parquet'));
      const armB = await openServedArm(served, join(input.best.dir, 'multi_interest'), iv);
      try {
        const common = { featuresDb: join(input.features.dir, 'features.duckdb'), tagsDb: join(input.tags.dir, 'tags.duckdb'), armB };
        const report = hasTruth
          ? await simulateAb({ ...common, datasetDir: input.dataDir }, config, (m) => io.phase(m))
          : await runReplayOnly(common, config, (m) => io.phase(m));
        writeFileSync(join(io.out, 'report.json'), JSON.stringify(report, null, 2));
        writeFileSync(join(io.out, 'report.md'), formatAbReport(report));
        return report;
      } finally {
        armB.dispose();
      }
    },
    abMetrics,
  );
  return ref;
}
