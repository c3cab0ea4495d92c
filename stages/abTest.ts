import { writeFileSync } from 'node:fs';
import { hasTruth } from '../evaluation/truth';
import { join } from 'node:path';
import type { AbConfig } from '../evaluation/abConfig';
import { abMetrics, formatAbReport } from '../evaluation/abReport';
import type { ReplayOnlyReport } from '../evaluation/abReplay';
import type { AbReport } from '../evaluation/abTest';
import type { StageRef } from '../workflows/types';
import { featuresSpec } from './features';
import { itemEmbeddingSpec } from './itemEmbedding';
import { multiInterestSpec } from './multiInterest';
import { servedArmFromSummary, servedItemVectorsFile } from './servedArm';
import { defineStage, type StageOutput } from './spec';
import { taggingSpec } from './tagging';
import { readReport, uploadIfPresent } from './trackingHelpers';

export interface AbTestInput {
  prepared: StageOutput;
  dataDir: string;
  features: StageRef;
  tags: StageRef;
  itemEmbedding: StageRef;
  best: StageRef;
  /** The offline evaluation: which user model is served, and how (chosen on validation). */
  evaluation?: StageRef;
  settings: AbConfig;
}

/**
 * The simulated A/B CTR test: item-CF against the multi-interest model + constrained retrieval, with
 * clicks from the synthetic marketplace's ground-truth click model. Data without truth/ (real logs)
 * has no click model: the stage then reports the offline replay estimate only (mode 'replay_only').
 */
export const abTestSpec = defineStage<AbTestInput, AbReport | ReplayOnlyReport>()({
  name: 'ab_test',
  queue: 'training',
  files: { report: 'report.json', markdown: 'report.md' },
  key: (input) => ({
    best: input.best.digest,
    embedding: input.itemEmbedding.digest,
    features: input.features.digest,
    tags: input.tags.digest,
    data: input.prepared.digest,
    config: input.settings,
    hasTruth: hasTruth(input.dataDir),
    served: servedArmFromSummary(input.evaluation?.summary),
  }),
  async run(input, io) {
    const { readItemVectors } = await import('../models/vectorFiles');
    const { openServedArm } = await import('./servedArm');
    const { simulateAbTest } = await import('../evaluation/abTest');
    const { runReplayOnly } = await import('../evaluation/abReplay');
    const served = servedArmFromSummary(input.evaluation?.summary);
    const iv = await readItemVectors(served.method === 'multi_interest' ? servedItemVectorsFile(input.itemEmbedding, input.best, input.evaluation) : join(input.itemEmbedding.dir, itemEmbeddingSpec.files.itemVectors));
    const armB = await openServedArm(served, join(input.best.dir, multiInterestSpec.files.model), iv);
    // An abort is heard at each progress report (every 1,000 sessions, and at each item-CF refresh).
    const phase = (m: string) => {
      io.signal?.throwIfAborted();
      io.phase?.(m);
    };
    try {
      const common = { featuresDb: join(input.features.dir, featuresSpec.files.db), tagsDb: join(input.tags.dir, taggingSpec.files.db), armB };
      const report = hasTruth(input.dataDir) ? await simulateAbTest({ ...common, datasetDir: input.dataDir }, input.settings, phase) : await runReplayOnly(common, input.settings, phase);
      writeFileSync(join(io.out, abTestSpec.files.report), JSON.stringify(report, null, 2));
      writeFileSync(join(io.out, abTestSpec.files.markdown), formatAbReport(report));
      return report;
    } finally {
      armB.dispose();
    }
  },
  summary: (r) => abMetrics(r),
  async track({ ref, run }) {
    const r = readReport<AbReport | ReplayOnlyReport>(ref.dir);
    if (r?.armA && r.armB) {
      const { mode, ...metrics } = abMetrics(r);
      await run.setTags({ 'curio.ab_mode': String(mode) });
      await run.logMetrics(metrics as Record<string, number>);
    }
    await uploadIfPresent(run, ref.dir, [abTestSpec.files.report, abTestSpec.files.markdown] as string[]);
  },
});
