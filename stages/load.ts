import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, type LoadReport } from '../data/loadDataset';
import { defineStage } from './spec';
import { trackReport } from './trackingHelpers';

export interface LoadInput {
  dir: string;
  /** The folder's content hash (stages/identity.ts), recomputed by the caller before every attempt. */
  digest: string;
  quarantine: boolean;
}

/** Validates a data folder against the contract and loads it into DuckDB. */
export const loadSpec = defineStage<LoadInput, LoadReport>()({
  name: 'load',
  queue: 'pipeline',
  files: { db: 'dataset.duckdb', report: 'report.json' },
  key: (input) => ({ digest: input.digest, quarantine: input.quarantine }),
  async run(input, io) {
    const report = await loadDataset({ dir: input.dir, out: join(io.out, loadSpec.files.db), quarantine: input.quarantine });
    writeFileSync(join(io.out, loadSpec.files.report), JSON.stringify(report, null, 2));
    return report;
  },
  summary: (r, input) => ({
    digest: r.digest,
    data_dir: input.dir,
    items: r.rows.items,
    events: r.rows.events,
    searches: r.rows.searches,
    quarantined: r.quarantined.items + r.quarantined.events + r.quarantined.searches,
  }),
  track: trackReport,
});
