import { attachDatabase, openDatabase, readColumns, runSqlFile } from '../platform/duckdb';
import { tf } from '../platform/tf';
import { CurioError } from '../platform/errors';

/**
 * Every item's attribute ids (tags, seller, price band, category) as dense arrays indexed by item_idx:
 * the input of the item-unit network. Items are described by attributes, not ids, so an item listed
 * after training still gets a vector.
 */
export interface ItemFeatures {
  n: number;
  maxTags: number;
  itemIds: string[];
  /** n × maxTags tag indices, 0 = padding (tag_id + 1 otherwise). */
  tagIds: Int32Array;
  /** n × maxTags weights, 0 for padding. */
  tagWeights: Float32Array;
  seller: Int32Array;
  price: Int32Array;
  category: Int32Array;
  /** Listing time, days since the start of the logged behaviour. */
  listedDay: Float32Array;
  /** Category code of every item (the constrained index and the evaluation use it). */
  categoryCodes: string[];
  categoryVocab: string[];
  vocab: { tags: number; sellers: number; prices: number; categories: number };
}

export class ItemAttributeError extends CurioError {
  constructor(message: string) {
    super(message, { type: 'TrainingDataError', retryable: false });
  }
}

/** Opens the feature and tag databases side by side, read-only. */
export async function openStageDatabases(featuresDb: string, tagsDb?: string): Promise<Awaited<ReturnType<typeof openDatabase>>> {
  const db = await openDatabase(':memory:');
  await attachDatabase(db.connection, featuresDb, 'feat');
  if (tagsDb) await attachDatabase(db.connection, tagsDb, 'tags');
  return db;
}

export async function loadItemFeatures(featuresDb: string, tagsDb: string, maxTags: number, minSellerItems: number): Promise<ItemFeatures> {
  const db = await openStageDatabases(featuresDb, tagsDb);
  try {
    const cols = await readColumns(db.connection, 'models/item_attributes', { max_tags: maxTags, min_seller_items: minSellerItems });
    const [sizes] = await runSqlFile(db.connection, 'models/vocab_sizes');
    const itemIds = (cols.item_id ?? []).map(String);
    const n = itemIds.length;
    if (n === 0) throw new ItemAttributeError('the feature database has no items');
    const tagIds = new Int32Array(n * maxTags);
    const tagWeights = new Float32Array(n * maxTags);
    const seller = new Int32Array(n);
    const price = new Int32Array(n);
    const category = new Int32Array(n);
    const listedDay = new Float32Array(n);
    const categoryCodes: string[] = new Array<string>(n);
    const vocab = [...new Set((cols.category ?? []).map((c) => String(c ?? '')))].filter((c) => c !== '').sort();
    const catIndex = new Map(vocab.map((c, i) => [c, i + 1]));
    const bare: string[] = [];
    for (let i = 0; i < n; i++) {
      if ((cols.item_idx?.[i] as number) !== i) throw new ItemAttributeError(`item_idx is not dense at row ${i}`);
      const ids = (cols.tag_ids?.[i] ?? []) as number[];
      const ws = (cols.tag_weights?.[i] ?? []) as number[];
      const code = String(cols.category?.[i] ?? '');
      if (ids.length === 0 && code === '') bare.push(itemIds[i] as string);
      ids.forEach((t, k) => {
        tagIds[i * maxTags + k] = t + 1;
        tagWeights[i * maxTags + k] = ws[k] ?? 1;
      });
      seller[i] = Number(cols.seller_idx?.[i] ?? 0);
      price[i] = Number(cols.price_band?.[i] ?? 0);
      category[i] = catIndex.get(code) ?? 0;
      listedDay[i] = Number(cols.listed_day?.[i] ?? 0);
      categoryCodes[i] = code;
    }
    if (bare.length > 0) {
      throw new ItemAttributeError(
        `${bare.length} item(s) have no attribute at all (no tag, no category), e.g. ${bare.slice(0, 5).join(', ')}; ` +
          'the item-unit network cannot describe them — check the tagging stage',
      );
    }
    return {
      n,
      maxTags,
      itemIds,
      tagIds,
      tagWeights,
      seller,
      price,
      category,
      listedDay,
      categoryCodes,
      categoryVocab: vocab,
      vocab: {
        tags: Number(sizes?.tags ?? 0) + 1,
        // reduce, not Math.max(...seller): spreading 500k arguments overflows the call stack
        sellers: seller.reduce((m, s) => Math.max(m, s), 0) + 1,
        prices: Number(sizes?.price_bands ?? 1),
        categories: vocab.length + 1,
      },
    };
  } finally {
    db.close();
  }
}

/**
 * Periodic encoding of the listing time: sin and cos of 2πt/P for each period P (days). Nearby
 * listing times get nearby codes, and a time after training maps into the same space, so new items
 * still get meaningful codes.
 */
export function timeCode(day: number, periods: readonly number[], out: Float32Array, at: number): void {
  periods.forEach((p, k) => {
    out[at + 2 * k] = Math.sin((2 * Math.PI * day) / p);
    out[at + 2 * k + 1] = Math.cos((2 * Math.PI * day) / p);
  });
}

/** The item-unit network's inputs for the given items. Weights are rescaled to sum to 1 per item. */
export function itemInputs(f: ItemFeatures, items: Int32Array | number[], timePeriods: readonly number[] = []): tf.Tensor[] {
  const b = items.length;
  const t = f.maxTags;
  const ids = new Int32Array(b * t);
  const ws = new Float32Array(b * t);
  const seller = new Int32Array(b);
  const price = new Int32Array(b);
  const cat = new Int32Array(b);
  for (let r = 0; r < b; r++) {
    const i = items[r] as number;
    let sum = 0;
    for (let k = 0; k < t; k++) sum += f.tagWeights[i * t + k] as number;
    for (let k = 0; k < t; k++) {
      ids[r * t + k] = f.tagIds[i * t + k] as number;
      ws[r * t + k] = sum > 0 ? (f.tagWeights[i * t + k] as number) / sum : 0;
    }
    seller[r] = f.seller[i] as number;
    price[r] = f.price[i] as number;
    cat[r] = f.category[i] as number;
  }
  const inputs = [
    tf.tensor2d(ids, [b, t], 'int32'),
    tf.tensor2d(ws, [b, t], 'float32'),
    tf.tensor2d(seller, [b, 1], 'int32'),
    tf.tensor2d(price, [b, 1], 'int32'),
    tf.tensor2d(cat, [b, 1], 'int32'),
  ];
  if (timePeriods.length > 0) {
    const codes = new Float32Array(b * 2 * timePeriods.length);
    for (let r = 0; r < b; r++) timeCode(f.listedDay[items[r] as number] as number, timePeriods, codes, r * 2 * timePeriods.length);
    inputs.push(tf.tensor2d(codes, [b, 2 * timePeriods.length]));
  }
  return inputs;
}
