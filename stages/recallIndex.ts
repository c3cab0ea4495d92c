import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildItemIndex, type BuildItemIndexReport } from '../retrieval/catalogue';
import type { StageRef } from '../workflows/types';
import { featuresSpec } from './features';
import { itemEmbeddingSpec } from './itemEmbedding';
import { servedItemVectorsFile } from './servedArm';
import { defineStage } from './spec';
import { taggingSpec } from './tagging';
import { numericMetrics, readReport, uploadIfPresent } from './trackingHelpers';

export interface RecallIndexInput {
  features: StageRef;
  itemEmbedding: StageRef;
  tags: StageRef;
  factory: string;
  /** The served user model's folders: its co-trained item vectors are what the index holds. */
  best?: StageRef;
  evaluation?: StageRef;
}

/** The category-constrained Faiss index over the served item vectors (Faiss only: the pipeline worker). */
export const recallIndexSpec = defineStage<RecallIndexInput, BuildItemIndexReport>()({
  name: 'index',
  queue: 'pipeline',
  files: { index: 'items.faiss', idMap: 'items.idmap.json', report: 'report.json' },
  key: (input) => ({
    embedding: input.itemEmbedding.digest,
    tags: input.tags.digest,
    features: input.features.digest,
    factory: input.factory,
    vectors: servedItemVectorsFile(input.itemEmbedding, input.best, input.evaluation) === join(input.itemEmbedding.dir, itemEmbeddingSpec.files.itemVectors) ? 'item_unit' : (input.best?.digest ?? null),
  }),
  async run(input, io) {
    const { readItemVectors } = await import('../models/vectorFiles');
    const iv = await readItemVectors(servedItemVectorsFile(input.itemEmbedding, input.best, input.evaluation));
    const r = await buildItemIndex(join(input.features.dir, featuresSpec.files.db), join(input.tags.dir, taggingSpec.files.db), { dim: iv.dim, vectors: iv.vectors }, io.out, { factory: input.factory });
    writeFileSync(join(io.out, recallIndexSpec.files.report), JSON.stringify(r, null, 2));
    return r;
  },
  summary: (r) => ({ items: r.items, categories: r.categories, offset: r.offset, seconds: r.seconds }),
  async track({ ref, run }) {
    await run.logMetrics(numericMetrics(readReport(ref.dir)));
    await uploadIfPresent(run, ref.dir, [recallIndexSpec.files.index, recallIndexSpec.files.idMap, recallIndexSpec.files.report] as string[], 'index');
  },
});
