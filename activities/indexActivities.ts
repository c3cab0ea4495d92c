import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { servedItemVectorsFile } from '../stages/servedArm';
import { buildItemIndex } from '../retrieval/catalogue';
import type { StageRef } from '../workflows/types';
import { runStage } from './stageRunner';

/** The category-constrained Faiss index over the served item vectors (pipeline worker: Faiss only). */
export async function buildIndex(input: { features: StageRef; itemEmbedding: StageRef; tags: StageRef; factory: string; best?: StageRef; evaluation?: StageRef }): Promise<StageRef> {
  const { readItemVectors } = await import('../models/vectorFiles');
  const vectorsFile = servedItemVectorsFile(input.itemEmbedding, input.best, input.evaluation);
  const { ref } = await runStage(
    'index',
    { embedding: input.itemEmbedding.digest, tags: input.tags.digest, features: input.features.digest, factory: input.factory, vectors: vectorsFile === join(input.itemEmbedding.dir, 'item_vectors.parquet') ? 'item_unit' : (input.best?.digest ?? null) },
    async (io) => {
      const iv = await readItemVectors(vectorsFile);
      const r = await buildItemIndex(join(input.features.dir, 'features.duckdb'), join(input.tags.dir, 'tags.duckdb'), { dim: iv.dim, vectors: iv.vectors }, io.out, { factory: input.factory });
      writeFileSync(join(io.out, 'report.json'), JSON.stringify(r, null, 2));
      return r;
    },
    (r) => ({ items: r.items, categories: r.categories, offset: r.offset, seconds: r.seconds }),
  );
  return ref;
}
