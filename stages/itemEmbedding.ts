import { join } from 'node:path';
import type { Item2VecConfig, ItemUnitConfig } from '../models/config';
import { featuresSpec } from './features';
import type { ItemEmbeddingReport } from './modelStages';
import { defineStage, type StageOutput } from './spec';
import { taggingSpec } from './tagging';
import { logTraining, readReport, uploadIfPresent, type TrainingLog } from './trackingHelpers';

export interface ItemEmbeddingInput {
  features: StageOutput;
  tags: StageOutput;
  itemUnit: ItemUnitConfig;
  item2vec: Item2VecConfig;
}

/** The item-unit network on the skip-gram pairs (attribute inputs), and the ID-only item2vec baseline. */
export const itemEmbeddingSpec = defineStage<ItemEmbeddingInput, ItemEmbeddingReport>()({
  name: 'item_embedding',
  queue: 'training',
  files: { itemVectors: 'item_vectors.parquet', item2vecVectors: 'item2vec_vectors.parquet', itemUnitModel: 'item_unit', item2vecModel: 'item2vec', report: 'report.json' },
  key: (input) => ({ features: input.features.digest, tags: input.tags.digest, itemUnit: input.itemUnit, item2vec: input.item2vec }),
  async run(input, io) {
    const { itemEmbeddingStage } = await import('./modelStages');
    return itemEmbeddingStage(
      { featuresDb: join(input.features.dir, featuresSpec.files.db), tagsDb: join(input.tags.dir, taggingSpec.files.db), itemUnit: input.itemUnit, item2vec: input.item2vec },
      io,
    );
  },
  summary: (r) => ({
    resumed_from_epoch: r.itemUnit.resumedFromEpoch,
    epochs_run: r.itemUnit.epochsRun.join(','),
    next_click_recall_cold: r.nextClick.itemUnit.recallCold,
    next_click_recall_warm: r.nextClick.itemUnit.recallWarm,
    ...(r.nextClick.item2vec ? { item2vec_recall_cold: r.nextClick.item2vec.recallCold, item2vec_recall_warm: r.nextClick.item2vec.recallWarm } : { item2vec_not_run: r.item2vecNotRun ?? 'yes' }),
    popularity_recall_cold: r.nextClick.popularity.recallCold,
  }),
  async track({ ref, model }) {
    const r = readReport<{ itemUnit: TrainingLog; item2vec: TrainingLog | null; item2vecNotRun?: string; nextClick: Record<string, Record<string, number> | null> }>(ref.dir);
    if (!r) return;
    const f = itemEmbeddingSpec.files;
    for (const [name, key, files] of [
      ['item_unit', 'itemUnit', [f.itemUnitModel, f.itemVectors]],
      ['item2vec', 'item2vec', [f.item2vecModel, f.item2vecVectors]],
    ] as const) {
      const m = await model(name);
      const log = r[key];
      if (!log) {
        // A baseline above its size limit: the model run says so instead of holding no metrics.
        await m.logParams({ not_run: r.item2vecNotRun ?? 'not run' });
        await m.end('FINISHED');
        continue;
      }
      await logTraining(m, log);
      const nc = r.nextClick[key] ?? {};
      await m.logMetrics({ next_click_recall_at_50_warm: nc.recallWarm ?? NaN, next_click_recall_at_50_cold: nc.recallCold ?? NaN, next_click_recall_at_50: nc.recallAll ?? NaN });
      await uploadIfPresent(m, ref.dir, files as readonly string[]);
      await m.end('FINISHED');
    }
  },
});
