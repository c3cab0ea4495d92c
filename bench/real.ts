/**
 * npm run bench:real -- DIR [DIR ...] [--artifacts ROOT] [--no-replay]
 *
 * The retrain on data that nobody here wrote: each DIR is a data-contract folder, e.g. a public
 * dataset converted with `curio import` (docs/data-contract.md, scripts/datasets/README.md). Public
 * datasets are never part of the repository; this benchmark reads them from wherever they were
 * converted. For each dataset it prints the stage times, the tagging figures, next-click recall of
 * the item vectors, both offline protocol tables and the offline replay of the trained model's feed
 * against item-CF's (there is no simulator for real data, so no CTR).
 *
 * Each dataset gets a fresh artifacts folder (under ROOT when given, else a temporary one that is
 * removed afterwards), so every figure is measured from nothing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatAbReport } from '../evaluation/abReport';
import { DEFAULT_AB } from '../evaluation/abConfig';
import { runReplayOnly } from '../evaluation/abReplay';
import { trainedInterestModel } from '../models/trainedInterestModel';
import { readItemVectors } from '../models/vectorFiles';
import { localRetrain } from '../stages/localRetrain';
import type { TaggingReport } from '../tagging/tagItems';

const pct = (x: number | null | undefined) => (x === undefined || x === null || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(2)}%`);

async function benchOne(dir: string, root: string, replay: boolean): Promise<void> {
  const name = basename(resolve(dir));
  console.log(`\n==================== ${name} (${resolve(dir)}) ====================`);
  const t0 = Date.now();
  const r = await localRetrain({ dataDir: resolve(dir), artifactsRoot: root, log: (m) => console.log(`  ${m}`) });
  const total = (Date.now() - t0) / 1000;

  console.log(`\n## Stage times (${total.toFixed(0)} s in all)\n`);
  for (const [stage, s] of Object.entries(r.seconds)) console.log(`  ${stage.padEnd(24)} ${s.toFixed(1)} s`);

  const tagging = (JSON.parse(readFileSync(join(r.dirs.tagging as string, 'manifest.json'), 'utf8')) as { report: TaggingReport }).report;
  const c = tagging.categories;
  console.log('\n## Tagging\n');
  console.log(`  ${tagging.items} items, ${tagging.tags} tags (${Object.entries(tagging.tagsBySource).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  console.log(`  informative tags per item ${tagging.informativeTags.perItem.toFixed(2)}; items with >= 3: ${pct(tagging.informativeTags.shareWithAtLeastThree)}; with none: ${tagging.informativeTags.itemsWithNone}`);
  console.log(`  lexicon: ${tagging.lexicon.inScope ? 'in scope' : 'out of scope'} — ${tagging.lexicon.reason}`);
  console.log(`  categories: ${c.count} (${Object.entries(c.bySource).map(([k, v]) => `${k} ${v}`).join(', ')}); ${c.reason}`);
  if (c.classifier) console.log(`  classifier held-out accuracy ${pct(c.classifier.accuracy)} on ${c.classifier.heldOut} items (most common category: ${pct(c.classifier.majorityBaseline)})`);
  for (const k of c.clusterSummary.slice(0, 8)) console.log(`    ${k.category} (${k.items} items): ${k.topTags.slice(0, 4).join(', ')}`);
  console.log(`  top mined tags: ${tagging.topMinedTags.slice(0, 20).map((t) => `${t.tag} (${t.items})`).join(', ')}`);

  const nc = r.itemEmbedding.nextClick;
  console.log('\n## Next-click Recall@50 of the item vectors (held-out periods)\n');
  console.log('| vectors | warm | cold |\n| --- | --- | --- |');
  console.log(`| item-unit (attributes) | ${pct(nc.itemUnit.recallWarm)} | ${pct(nc.itemUnit.recallCold)} |`);
  console.log(nc.item2vec ? `| item2vec (ids) | ${pct(nc.item2vec.recallWarm)} | ${pct(nc.item2vec.recallCold)} |` : `| item2vec (ids) | not run: ${r.itemEmbedding.item2vecNotRun ?? ''} | |`);
  console.log(`| popularity (daily, best window: ${nc.popularity.windowDays ?? 'all'} days) | ${pct(nc.popularity.recallWarm)} | ${pct(nc.popularity.recallCold)} |`);
  console.log(`pairs: ${nc.itemUnit.warmPairs} warm, ${nc.itemUnit.coldPairs} cold; item-unit / item2vec on warm: ${nc.item2vec ? `${(nc.itemUnit.recallWarm / nc.item2vec.recallWarm).toFixed(2)}x` : '(item2vec not run)'}`);

  console.log(`\n${readFileSync(join(r.dirs.evaluation as string, 'evaluation.md'), 'utf8')}`);

  if (replay) {
    const iv = await readItemVectors(join(r.dirs.item_embedding as string, 'item_vectors.parquet'));
    const model = await trainedInterestModel(join(r.dirs.multi_interest as string, 'multi_interest'), iv.vectors, iv.dim);
    try {
      const report = await runReplayOnly(
        {
          featuresDb: join(r.dirs.features as string, 'features.duckdb'),
          tagsDb: join(r.dirs.tagging as string, 'tags.duckdb'),
          armB: { label: 'multi-interest (trained)', itemVectors: { dim: iv.dim, vectors: iv.vectors }, itemIds: iv.ids, modelFor: () => model },
        },
        DEFAULT_AB,
      );
      console.log('## Offline replay of the A/B arms (logged clicks in each arm\'s feed)\n');
      console.log(formatAbReport(report));
    } finally {
      model.dispose();
    }
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { artifacts: { type: 'string' }, 'no-replay': { type: 'boolean', default: false } } });
  if (positionals.length === 0) {
    console.error('usage: npm run bench:real -- DIR [DIR ...] [--artifacts ROOT] [--no-replay]\n  DIR: a data-contract folder, e.g. a public dataset converted with `curio import`');
    process.exit(2);
  }
  for (const dir of positionals) {
    const root = values.artifacts ? join(resolve(values.artifacts), basename(resolve(dir))) : mkdtempSync(join(tmpdir(), 'curio-bench-real-'));
    try {
      await benchOne(dir, root, !values['no-replay']);
    } finally {
      if (!values.artifacts) rmSync(root, { recursive: true, force: true });
    }
  }
  console.log(`\npeak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
