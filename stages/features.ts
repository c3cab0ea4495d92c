import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFeatureSql, type FeatureParams, type FeatureReport } from '../data/features';
import { loadSpec } from './load';
import { defineStage, type StageOutput } from './spec';
import { trackReport } from './trackingHelpers';

export interface FeaturesInput {
  load: StageOutput;
  params: FeatureParams;
}

/** The feature SQL (sql/features/): sessions, periods, popularity, skip-gram pairs, user sequences. */
export const featuresSpec = defineStage<FeaturesInput, FeatureReport>()({
  name: 'features',
  queue: 'pipeline',
  files: { db: 'features.duckdb', report: 'report.json' },
  key: (input) => ({ load: input.load.digest, params: input.params }),
  async run(input, io) {
    const report = await runFeatureSql(join(input.load.dir, loadSpec.files.db), join(io.out, featuresSpec.files.db), input.params);
    writeFileSync(join(io.out, featuresSpec.files.report), JSON.stringify(report, null, 2));
    return report;
  },
  summary: (r) => ({ seconds: r.seconds, mi_examples: r.rows.mi_examples ?? 0, skipgram_positive: r.rows.skipgram_positive ?? 0, eval_users: r.rows.eval_users ?? 0 }),
  track: trackReport,
});
