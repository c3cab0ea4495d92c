import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFeatures, type FeatureParams, type FeatureReport } from '../data/features';
import { datasetDigest, loadDataset, locateTables, type LoadReport } from '../data/loadDataset';
import { lexiconDir } from '../tagging/lexicon';
import { tagItems, type TaggingParams, type TaggingReport } from '../tagging/tagItems';
import type { StageIo } from './modelStages';

/** The data stages as plain functions writing into the folder they are given. */

/** Identity of a dataset folder, computed before loading so a finished load can be found and reused. */
export async function digestOfFolder(dir: string): Promise<string> {
  return datasetDigest(dir, locateTables(dir));
}

/** Identity of the domain dictionary: tagging output depends on it. */
export function lexiconDigest(): string {
  const h = createHash('sha256');
  for (const f of readdirSync(lexiconDir).filter((x) => x.endsWith('.tsv')).sort()) h.update(f).update(readFileSync(join(lexiconDir, f)));
  return h.digest('hex').slice(0, 20);
}

export async function loadStage(input: { dir: string; quarantine: boolean }, io: StageIo): Promise<LoadReport> {
  const report = await loadDataset({ dir: input.dir, out: join(io.out, 'dataset.duckdb'), quarantine: input.quarantine });
  writeFileSync(join(io.out, 'report.json'), JSON.stringify(report, null, 2));
  return report;
}

export async function featuresStage(input: { datasetDb: string; params: FeatureParams }, io: StageIo): Promise<FeatureReport> {
  const report = await buildFeatures(input.datasetDb, join(io.out, 'features.duckdb'), input.params);
  writeFileSync(join(io.out, 'report.json'), JSON.stringify(report, null, 2));
  return report;
}

export async function taggingStage(input: { datasetDb: string; params: TaggingParams }, io: StageIo): Promise<TaggingReport> {
  const report = await tagItems(input.datasetDb, join(io.out, 'tags.duckdb'), input.params);
  // report.json also feeds the stage's MLflow metrics (every number in it, flattened).
  writeFileSync(join(io.out, 'report.json'), JSON.stringify(report, null, 2));
  return report;
}

/**
 * The tagging stage's headline numbers (the stage table, the workflow's progress query, the stage
 * run's MLflow metrics): what the tagger found and how each item's category was decided.
 * classifier_heldout_accuracy is absent when no classifier could be measured (too few labelled items).
 */
export function taggingSummary(r: TaggingReport): Record<string, number | string> {
  const c = r.categories;
  return {
    tags: r.tags,
    mined: r.minedTags,
    visual_clusters: r.visualClusters,
    titles_per_second: Math.round(r.titlesPerSecond),
    lexicon_in_scope: r.lexicon.inScope ? 1 : 0,
    lexicon_coverage: round(r.lexicon.coverage),
    items_with_3_tags: round(r.informativeTags.shareWithAtLeastThree),
    categories: c.count,
    category_method: c.method,
    categories_from_form: c.bySource.form ?? 0,
    categories_derived: (c.bySource.classifier ?? 0) + (c.bySource.visual ?? 0) + (c.bySource.cluster ?? 0),
    categories_missing: c.bySource.none ?? 0,
    category_clusters: c.clusters,
    ...(typeof c.classifier?.accuracy === 'number' ? { classifier_heldout_accuracy: round(c.classifier.accuracy) } : {}),
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
