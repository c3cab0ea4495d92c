import { join } from 'node:path';
import type { ItemUnitConfig, KeywordConfig } from '../models/config';
import { featuresSpec } from './features';
import type { KeywordReport } from './modelStages';
import { defineStage, type StageOutput } from './spec';
import { taggingSpec } from './tagging';
import { logTraining, readReport, uploadIfPresent, type TrainingLog } from './trackingHelpers';

export interface KeywordInput {
  features: StageOutput;
  tags: StageOutput;
  itemEmbedding: StageOutput;
  /** The item-unit settings its item tower is built with (transferred from the item-embedding stage). */
  itemUnit: ItemUnitConfig;
  keyword: KeywordConfig;
}

/** The keyword DSSM: a query tower and an item tower transferred from the item-unit network. */
export const keywordSpec = defineStage<KeywordInput, KeywordReport>()({
  name: 'keyword',
  queue: 'training',
  files: { queryTower: 'query_tower', itemTower: 'item_tower', vocabulary: 'vocabulary.json', report: 'report.json' },
  // The item-unit settings are in the embedding's digest already.
  key: (input) => ({ embedding: input.itemEmbedding.digest, features: input.features.digest, tags: input.tags.digest, keyword: input.keyword }),
  async run(input, io) {
    const { keywordStage } = await import('./modelStages');
    return keywordStage(
      {
        featuresDb: join(input.features.dir, featuresSpec.files.db),
        tagsDb: join(input.tags.dir, taggingSpec.files.db),
        itemEmbeddingDir: input.itemEmbedding.dir,
        itemUnit: input.itemUnit,
        keyword: input.keyword,
      },
      io,
    );
  },
  summary: (r) => ({ recall_at_50: r.withTransfer.recall_at_50, recall_at_50_no_transfer: r.withoutTransfer.recall_at_50, held_out_searches: r.heldOutSearches }),
  async track({ ref, model }) {
    const r = readReport<Record<string, { training: TrainingLog } & Record<string, number>>>(ref.dir);
    if (!r) return;
    for (const [name, key] of [['keyword_dssm', 'withTransfer'], ['keyword_dssm_no_transfer', 'withoutTransfer']] as const) {
      const m = await model(name);
      const x = r[key];
      await logTraining(m, x?.training);
      await m.logMetrics({ recall_at_50: x?.recall_at_50 ?? NaN, recall_at_20: x?.recall_at_20 ?? NaN, hitrate_at_50: x?.hit_rate_at_50 ?? NaN });
      if (name === 'keyword_dssm') await uploadIfPresent(m, ref.dir, [keywordSpec.files.queryTower, keywordSpec.files.itemTower, keywordSpec.files.vocabulary] as string[]);
      await m.end('FINISHED');
    }
  },
});
