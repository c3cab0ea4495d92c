import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tagCatalogue, type TaggingParams, type TaggingReport } from '../tagging/tagItems';
import { lexiconDigest } from './identity';
import { loadSpec } from './load';
import { defineStage, type StageOutput } from './spec';
import { trackReport } from './trackingHelpers';

export interface TaggingInput {
  load: StageOutput;
  params: TaggingParams;
}

/** Tokens, entities, mined phrase tags, visual clusters and a category for every item. */
export const taggingSpec = defineStage<TaggingInput, TaggingReport>()({
  name: 'tagging',
  queue: 'pipeline',
  files: { db: 'tags.duckdb', report: 'report.json' },
  key: (input) => ({ load: input.load.digest, params: input.params, lexicon: lexiconDigest() }),
  async run(input, io) {
    const report = await tagCatalogue(join(input.load.dir, loadSpec.files.db), join(io.out, taggingSpec.files.db), input.params);
    // report.json also feeds the stage's MLflow metrics (every number in it, flattened).
    writeFileSync(join(io.out, taggingSpec.files.report), JSON.stringify(report, null, 2));
    return report;
  },
  summary: (r) => taggingSummary(r),
  track: trackReport,
});

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
