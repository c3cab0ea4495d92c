import { resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { attachDatabase, openDatabase, runSqlFile } from '../platform/duckdb';
import { ConstrainedIndex, type ConstrainedIndexOptions } from './constrainedIndex';
import type { Catalogue, ItemVectors } from './types';

/**
 * Every item of the feature DB (attached as `feat`) with its auction window and the coarse category
 * tagging gave it (attached as `tags`), indexed by item_idx. An item without a category is an error:
 * the constrained index has no dimension for it, and silently dropping it would hide a tagging bug.
 */
export async function loadCatalogue(conn: DuckDBConnection): Promise<Catalogue> {
  const rows = await runSqlFile(conn, 'retrieval/catalogue');
  const n = rows.length;
  const itemIds: string[] = new Array<string>(n);
  const categories: string[] = new Array<string>(n);
  const listedAt = new Float64Array(n);
  const endsAt = new Float64Array(n);
  rows.forEach((r, i) => {
    if (Number(r.item_idx) !== i) throw new Error(`item_index is not dense: row ${i} has item_idx ${String(r.item_idx)}`);
    itemIds[i] = String(r.item_id);
    categories[i] = String(r.category);
    listedAt[i] = Number(r.listed_at);
    endsAt[i] = Number(r.ends_at);
  });
  const uncategorised = categories.indexOf('');
  if (uncategorised >= 0) throw new Error(`item ${itemIds[uncategorised]} has no category in the tags DB: run tagging on this dataset first`);
  return { itemIds, categories, listedAt, endsAt };
}

export interface BuildItemIndexReport {
  indexFile: string;
  mapFile: string;
  items: number;
  categories: number;
  offset: number;
  seconds: number;
}

/** The pipeline's index stage: the trained item vectors + the catalogue's categories → files in outDir. */
export async function buildItemIndex(
  featuresDb: string,
  tagsDb: string,
  itemVectors: ItemVectors,
  outDir: string,
  options: ConstrainedIndexOptions = {},
): Promise<BuildItemIndexReport> {
  const t0 = Date.now();
  const db = await openDatabase(':memory:');
  let catalogue: Catalogue;
  try {
    await attachDatabase(db.connection, resolve(featuresDb), 'feat');
    await attachDatabase(db.connection, resolve(tagsDb), 'tags');
    catalogue = await loadCatalogue(db.connection);
  } finally {
    db.close();
  }
  const index = ConstrainedIndex.build(
    { dim: itemVectors.dim, vectors: itemVectors.vectors, itemIds: catalogue.itemIds, itemCategories: catalogue.categories },
    options,
  );
  const files = index.write(outDir);
  return { ...files, items: index.size, categories: index.categories.length, offset: index.offset, seconds: (Date.now() - t0) / 1000 };
}
