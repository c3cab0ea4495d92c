import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../../data/loadDataset';
import { dataDir } from '../../platform/paths';
import type { Command } from '../command';

export const ingestCommand: Command = {
  summary: 'validate a folder of items/events/searches (Parquet or CSV) and load it into DuckDB',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { out: { type: 'string' }, quarantine: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
    const dir = positionals[0];
    if (values.help || !dir) {
      console.log('usage: curio ingest DIR [--out FILE.duckdb] [--quarantine]\n  see docs/data-contract.md for the tables DIR must hold');
      return;
    }
    const out = resolve(values.out ?? join(dataDir, 'datasets', `${basename(resolve(dir))}.duckdb`));
    mkdirSync(resolve(out, '..'), { recursive: true });
    const r = await loadDataset({ dir, out, quarantine: values.quarantine ?? false, progress: (m) => console.log(`  ${m}`) });
    console.log(`loaded ${r.rows.items} items, ${r.rows.events} events, ${r.rows.searches} searches in ${r.seconds.toFixed(1)} s -> ${out}`);
    console.log(`dataset digest ${r.digest}`);
    const q = r.quarantined.items + r.quarantined.events + r.quarantined.searches;
    if (q > 0) {
      console.log(`quarantined ${r.quarantined.items} items, ${r.quarantined.events} events, ${r.quarantined.searches} searches (table 'quarantine'):`);
      for (const g of r.issueSummary) console.log(`  ${g.table}.${g.column}: ${g.reason} ×${g.count} (first: ${g.firstFile} row ${g.firstRow})`);
    }
  },
};
