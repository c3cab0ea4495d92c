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
import { attachDatabase, openDatabase, runSqlFile } from '../platform/duckdb';
import { ItemCf } from '../retrieval/itemCf';

/**
 * Item-CF's daily recomputation over the whole click history, two ways side by side: the SQL
 * specification (sql/retrieval/item_cf_until.sql) and the TypeScript accumulation the pipeline
 * runs (retrieval/itemCf.ts). Agreement: items whose neighbour ids match exactly, and the largest
 * score difference at the same rank (ids may differ only where two scores are a rounding error apart).
 */
async function itemCfSideBySide(featuresDb: string, topK: number): Promise<Record<string, number | string>> {
  const db = await openDatabase(':memory:');
  try {
    await attachDatabase(db.connection, featuresDb, 'feat');
    const reader = await db.connection.runAndReadAll('SELECT epoch_ms(min(ts)) AS lo, epoch_ms(max(ts)) + 1 AS hi FROM feat.behaviours');
    const span = reader.getRowObjectsJS()[0];
    const window = { since: Number(span?.lo), until: Number(span?.hi), topK };
    // TypeScript first: at large the SQL self-join runs out of memory (every co-clicked pair at once),
    // and the figure that matters is the one the pipeline runs.
    let t = process.hrtime.bigint();
    const cf = await ItemCf.compute(db.connection, window);
    const tsSeconds = Number(process.hrtime.bigint() - t) / 1e9;
    console.error(`[bench:data] item-CF in TypeScript: ${tsSeconds.toFixed(1)} s, ${cf.itemCount} items; peak RSS so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
    t = process.hrtime.bigint();
    let spec: Awaited<ReturnType<typeof runSqlFile>>;
    try {
      spec = await runSqlFile(db.connection, 'retrieval/item_cf_until', { since_ms: window.since, until_ms: window.until, top_k: topK });
    } catch (err) {
      return { itemCfTsItems: cf.itemCount, itemCfTsSeconds: tsSeconds, itemCfSqlError: (err as Error).message.split('\n')[0] ?? String(err) };
    }
    const sqlSeconds = Number(process.hrtime.bigint() - t) / 1e9;
    let sameIds = 0;
    let maxScoreDiff = 0;
    for (const row of spec) {
      const ids = row.neighbors as number[];
      const scores = row.scores as number[];
      const got = cf.neighboursOf(Number(row.item_idx));
      if (got.length === ids.length && got.every((g, k) => g.itemIdx === ids[k])) sameIds++;
      got.forEach((g, k) => (maxScoreDiff = Math.max(maxScoreDiff, Math.abs(g.score - (scores[k] ?? Infinity)))));
    }
    return { itemCfItems: spec.length, itemCfTsItems: cf.itemCount, itemCfSqlSeconds: sqlSeconds, itemCfTsSeconds: tsSeconds, itemCfSameIds: sameIds, itemCfMaxScoreDiff: maxScoreDiff };
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  const scale = process.argv[2] ?? 'small';
  if (!isScaleName(scale)) throw new Error(`unknown scale ${scale}`);
  const dir = mkdtempSync(join(tmpdir(), `curio-bench-${scale}-`));
  try {
    // Each step as it ends, on stderr: a large scale runs for many minutes, and a run stopped part
    // way still leaves the figures of the steps it finished.
    const done = (step: string, secs: number) =>
      console.error(`[bench:data ${scale}] ${step} ${secs.toFixed(1)} s; peak RSS so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
    const gen = await generateMarketplace({ scale, seed: 7, out: join(dir, 'data') });
    done(`generate (${gen.items} items, ${gen.events} events)`, gen.seconds);
    const load = await loadDataset({ dir: join(dir, 'data'), out: join(dir, 'dataset.duckdb') });
    done('load + validate', load.seconds);
    const feat = await runFeatureSql(join(dir, 'dataset.duckdb'), join(dir, 'features.duckdb'));
    done('feature SQL', feat.seconds);
    const tags = await tagCatalogue(join(dir, 'dataset.duckdb'), join(dir, 'tags.duckdb'));
    done('tagging', tags.seconds);
    const peakRssMb = process.resourceUsage().maxRSS / 1024; // before the item-CF comparison
    const itemCf = await itemCfSideBySide(join(dir, 'features.duckdb'), 100);
    done('item-CF, TypeScript and SQL', Number(itemCf.itemCfSqlSeconds ?? 0) + Number(itemCf.itemCfTsSeconds ?? 0));
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
        peakRssMb,
        ...itemCf,
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
