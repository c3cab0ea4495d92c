import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ServedArm } from '../stages/servedArm';
import type { MultiInterestRecallConfig } from '../retrieval/recall';
import type { Catalogue } from '../retrieval/types';
import type { TaggingVocabulary } from '../tagging/titleTags';
import { loadCatalogue } from '../retrieval/catalogue';
import { attachDatabase, openDatabase, readColumns, runSqlFile } from '../platform/duckdb';
import { readItemVectors } from '../models/vectorFiles';
import { CurioError } from '../platform/errors';

/**
 * The part of a registered recall bundle the recall service needs beyond the models: the catalogue
 * the index was built on, the served item vectors, the popular fallback's counts, the served
 * choice of the offline validation, and what it takes to describe a lot listed later exactly as
 * the item tower was trained to read one (tag, seller and price-band ids, category vocabulary,
 * listing-day origin, the tagging stage's mined phrases and lexicon decision). Written by the
 * registration step into `serving/` of the bundle, read by serve/bundle.ts.
 */

export const SERVING_DIR = 'serving';
export const SERVING_FILES = {
  manifest: 'manifest.json',
  catalogue: 'catalogue.json',
  popularity: 'popularity.json',
  itemVectors: 'item_vectors.parquet',
  itemTower: 'item_tower',
} as const;

/** How a lot listed after training becomes item-tower input (models/itemFeatures.ts itemInputs). */
export interface ItemTowerVocabulary {
  maxTags: number;
  timePeriods: number[];
  /** Listing days count from here (epoch ms), as item_attributes' listed_day. */
  dataStartMs: number;
  /** Tag → tag_id (the tower reads tag_id + 1; category tags are not among its inputs). */
  tags: Record<string, number>;
  /** Seller → seller index; sellers outside it share index 0, as in training. */
  sellers: Record<string, number>;
  /** The smallest start price of each price band, band 0 first. */
  priceFloors: number[];
  /** The tower's category vocabulary (index + 1 is the category input; 0 unknown). */
  categories: string[];
}

export interface ServingManifest {
  format: 'curio.serving-bundle';
  version: 1;
  dim: number;
  items: number;
  served: ServedArm;
  recall: Omit<MultiInterestRecallConfig, 'size'>;
  /** Clicks of a history the user model reads (the A/B's maxLongTerm). */
  maxLongTerm: number;
  itemTower: ItemTowerVocabulary;
  tagging: TaggingVocabulary & { categorySynonyms: [string, string][] };
  /** The popular fallback counts clicks in this window (epoch ms), the last before the data ends. */
  popularity: { since: number; until: number };
}

export class ServingBundleError extends CurioError {
  constructor(message: string) {
    super(message, { type: 'ServingBundleError', retryable: false });
  }
}

export interface ServingInputs {
  featuresDb: string;
  tagsDb: string;
  /** The tagging stage's report.json (its lexicon decision). */
  taggingReport: string;
  /** The served item vectors (stages/servedArm.ts servedItemVectorsFile) and the tower that made them. */
  itemVectorsFile: string;
  itemTowerDir: string;
  served: ServedArm;
  recall: Omit<MultiInterestRecallConfig, 'size'>;
  maxLongTerm: number;
  popularityWindowHours: number;
  itemUnit: { maxTags: number; minSellerItems: number; timePeriods: number[] };
  tagging: { maxN: number; categorySynonyms: [string, string][] };
}

export async function writeServingFiles(bundleDir: string, input: ServingInputs): Promise<ServingManifest> {
  const dir = join(bundleDir, SERVING_DIR);
  mkdirSync(dir, { recursive: true });
  const iv = await readItemVectors(input.itemVectorsFile);
  const db = await openDatabase(':memory:');
  try {
    const conn = db.connection;
    await attachDatabase(conn, input.featuresDb, 'feat');
    await attachDatabase(conn, input.tagsDb, 'tags');
    const catalogue = await loadCatalogue(conn);
    const bad = catalogue.itemIds.findIndex((id, i) => iv.ids[i] !== id);
    if (bad >= 0 || iv.ids.length !== catalogue.itemIds.length) {
      throw new ServingBundleError(`${input.itemVectorsFile} is not aligned with the catalogue at row ${bad} (${iv.ids.length} vectors, ${catalogue.itemIds.length} items)`);
    }
    const [window] = await runSqlFile(conn, 'serve/data_window');
    const dataStartMs = Number(window?.data_start_ms);
    const until = Number(window?.data_end_ms) + 1;
    const since = until - input.popularityWindowHours * 3_600_000;
    const clicks = new Array<number>(catalogue.itemIds.length).fill(0);
    for (const r of await runSqlFile(conn, 'retrieval/popularity_until', { since_ms: since, until_ms: until })) clicks[Number(r.item_idx)] = Number(r.clicks);

    const attrs = await readColumns(conn, 'models/item_attributes', { max_tags: input.itemUnit.maxTags, min_seller_items: input.itemUnit.minSellerItems });
    const sellers: Record<string, number> = {};
    const priceFloors: number[] = [];
    (attrs.item_idx ?? []).forEach((_, r) => {
      const s = Number(attrs.seller_idx?.[r] ?? 0);
      if (s > 0) sellers[String(attrs.seller_id?.[r])] = s;
      const band = Number(attrs.price_band?.[r] ?? 0);
      const price = Number(attrs.start_price?.[r] ?? 0);
      priceFloors[band] = Math.min(priceFloors[band] ?? Number.POSITIVE_INFINITY, price);
    });
    const categories = [...new Set((attrs.category ?? []).map((c) => String(c ?? '')))].filter((c) => c !== '').sort();
    const tags: Record<string, number> = {};
    for (const r of await runSqlFile(conn, 'serve/tag_vocabulary')) tags[String(r.tag)] = Number(r.tag_id);
    const mined = (await runSqlFile(conn, 'serve/mined_phrases')).map((r) => ({ phrase: String(r.phrase), tokens: (r.tokens as string[]).map(String) }));
    const report = JSON.parse(readFileSync(input.taggingReport, 'utf8')) as { lexicon?: { inScope?: boolean } };

    const manifest: ServingManifest = {
      format: 'curio.serving-bundle',
      version: 1,
      dim: iv.dim,
      items: catalogue.itemIds.length,
      served: input.served,
      recall: input.recall,
      maxLongTerm: input.maxLongTerm,
      itemTower: { maxTags: input.itemUnit.maxTags, timePeriods: input.itemUnit.timePeriods, dataStartMs, tags, sellers, priceFloors: Array.from(priceFloors, (p) => p ?? 0), categories },
      tagging: { lexiconInScope: report.lexicon?.inScope === true, mined, maxN: input.tagging.maxN, categorySynonyms: input.tagging.categorySynonyms },
      popularity: { since, until },
    };
    writeFileSync(join(dir, SERVING_FILES.catalogue), JSON.stringify({ itemIds: catalogue.itemIds, categories: catalogue.categories, listedAt: Array.from(catalogue.listedAt), endsAt: Array.from(catalogue.endsAt) }));
    writeFileSync(join(dir, SERVING_FILES.popularity), JSON.stringify(clicks));
    cpSync(input.itemVectorsFile, join(dir, SERVING_FILES.itemVectors));
    cpSync(input.itemTowerDir, join(dir, SERVING_FILES.itemTower), { recursive: true });
    // The manifest last: a folder with one is complete.
    writeFileSync(join(dir, SERVING_FILES.manifest), JSON.stringify(manifest, null, 2));
    return manifest;
  } finally {
    db.close();
  }
}

const CatalogueFile = z.object({ itemIds: z.array(z.string()), categories: z.array(z.string()), listedAt: z.array(z.number()), endsAt: z.array(z.number()) });

export interface ServingFiles {
  manifest: ServingManifest;
  catalogue: Catalogue;
  popularity: Float64Array;
  vectors: Float32Array;
  itemTowerDir: string;
}

/** Reads and cross-checks `serving/` of a downloaded bundle; anything missing or misaligned is a ServingBundleError naming the file. */
export async function readServingFiles(bundleDir: string): Promise<ServingFiles> {
  const dir = join(bundleDir, SERVING_DIR);
  const path = (f: keyof typeof SERVING_FILES) => join(dir, SERVING_FILES[f]);
  for (const f of Object.keys(SERVING_FILES) as (keyof typeof SERVING_FILES)[]) {
    if (!existsSync(path(f))) throw new ServingBundleError(`${path(f)} is missing: the bundle was registered before it carried serving files, or its download was cut short`);
  }
  const manifest = JSON.parse(readFileSync(path('manifest'), 'utf8')) as ServingManifest;
  if (manifest.format !== 'curio.serving-bundle' || manifest.version !== 1) throw new ServingBundleError(`${path('manifest')} is not a version-1 serving manifest`);
  const parsed = CatalogueFile.safeParse(JSON.parse(readFileSync(path('catalogue'), 'utf8')));
  if (!parsed.success) throw new ServingBundleError(`${path('catalogue')}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  const c = parsed.data;
  const n = c.itemIds.length;
  if (c.categories.length !== n || c.listedAt.length !== n || c.endsAt.length !== n || n !== manifest.items) throw new ServingBundleError(`${path('catalogue')}: columns of unequal length or not the manifest's ${manifest.items} items`);
  const popularity = Float64Array.from(JSON.parse(readFileSync(path('popularity'), 'utf8')) as number[]);
  if (popularity.length !== n) throw new ServingBundleError(`${path('popularity')} has ${popularity.length} counts for ${n} items`);
  const iv = await readItemVectors(path('itemVectors'));
  const bad = c.itemIds.findIndex((id, i) => iv.ids[i] !== id);
  if (bad >= 0 || iv.ids.length !== n || iv.dim !== manifest.dim) throw new ServingBundleError(`${path('itemVectors')} does not match the catalogue (row ${bad}, ${iv.ids.length} vectors of dimension ${iv.dim})`);
  return {
    manifest,
    catalogue: { itemIds: c.itemIds, categories: c.categories, listedAt: Float64Array.from(c.listedAt), endsAt: Float64Array.from(c.endsAt) },
    popularity,
    vectors: iv.vectors,
    itemTowerDir: path('itemTower'),
  };
}
