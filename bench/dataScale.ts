/**
 * One scale of the data benchmark, in its own process so its peak RSS is its own:
 * generation, load + validation, feature SQL per stage, tagging.
 * Prints one JSON line; bench/data.ts formats it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFeatureSql } from '../data/features';
import { generateMarketplace } from '../data/generator/generate';
import { isScaleName } from '../data/generator/scales';
import { loadDataset } from '../data/loadDataset';
import { tagCatalogue } from '../tagging/tagItems';

async function main(): Promise<void> {
  const scale = process.argv[2] ?? 'small';
  if (!isScaleName(scale)) throw new Error(`unknown scale ${scale}`);
  const dir = mkdtempSync(join(tmpdir(), `curio-bench-${scale}-`));
  try {
    const gen = await generateMarketplace({ scale, seed: 7, out: join(dir, 'data') });
    const load = await loadDataset({ dir: join(dir, 'data'), out: join(dir, 'dataset.duckdb') });
    const feat = await runFeatureSql(join(dir, 'dataset.duckdb'), join(dir, 'features.duckdb'));
    const tags = await tagCatalogue(join(dir, 'dataset.duckdb'), join(dir, 'tags.duckdb'));
    const rows = gen.events + gen.items + gen.searches;
    console.log(
      JSON.stringify({
        scale,
        items: gen.items,
        users: gen.users,
        events: gen.events,
        generateSeconds: gen.seconds,
        loadSeconds: load.seconds,
        loadRowsPerSecond: rows / load.seconds,
        featureStageSeconds: feat.stageSeconds,
        featureSeconds: feat.seconds,
        featureEventsPerSecond: gen.events / feat.seconds,
        taggingSeconds: tags.seconds,
        titlesPerSecond: tags.titlesPerSecond,
        tags: tags.tags,
        pipelineSeconds: load.seconds + feat.seconds + tags.seconds,
        peakRssMb: process.resourceUsage().maxRSS / 1024,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
