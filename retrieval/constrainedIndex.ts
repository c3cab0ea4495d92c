import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VectorIndex, type Ids } from '../platform/faiss';
import { CurioError } from '../platform/errors';

/**
 * Category-constrained nearest neighbours from ONE Faiss inner-product index (the platform's
 * "offset trick"). Every item vector is L2-normalised and extended by one dimension per category,
 * carrying M on the item's own category and 0 elsewhere:
 *
 *   item i of category c(i):  x'_i = [ x̂_i ; M·e_c(i) ]
 *   query for category c:     q'   = [ q̂   ; 1·e_c    ]   →  <q', x'_i> = <q̂, x̂_i> + M·[c(i) = c]
 *   unconstrained query:      q'   = [ q̂   ; 0        ]   →  <q', x'_i> = <q̂, x̂_i>
 *
 * (The brief's "the query carries M too" is the same thing with the bonus M²; carrying 1 keeps the
 * bonus equal to M so the bound below reads directly.) Unconstrained top-K therefore comes from the
 * same index: with a zero category part every item's score is its plain inner product.
 *
 * Labels are item_idx: row i of the input is added i-th, and Faiss labels rows 0..N-1 in order.
 */

export interface ConstrainedIndexInput {
  dim: number;
  /** itemIds.length * dim, row i = item_idx i; need not be normalised (it is normalised here). */
  vectors: Float32Array;
  /** item_idx → item_id. */
  itemIds: readonly string[];
  /** item_idx → category; every value must be in `categories`. */
  itemCategories: readonly string[];
  /** The category vocabulary, in the order of the extra dimensions. Default: sorted distinct itemCategories. */
  categories?: readonly string[];
}

export interface ConstrainedIndexOptions {
  /** Faiss index_factory string over the extended vectors: 'Flat' (exact, default), 'IVF256,Flat', 'HNSW32', ... */
  factory?: string;
  /** Search-time knobs, e.g. { nprobe: 16 } for IVF or { efSearch: 128 } for HNSW. */
  searchParameters?: Record<string, number>;
  /** Rows used to train indexes that need training (IVF); default all rows up to 100k, evenly strided. */
  trainRows?: number;
}

/** The results of one query, best first. */
export interface ConstrainedHits {
  itemIdx: Int32Array;
  /** Plain inner product <q̂, x̂> of each hit (the category offset taken off again). */
  scores: Float32Array;
  /** The k that was asked for. */
  requested: number;
  /**
   * requested − returned. Positive when the category (or the `among` subset of it) holds fewer than
   * k items, or an approximate index found fewer. Constrained results are never padded with other
   * categories' items: a feed that wants more must ask another category.
   */
  shortfall: number;
}

export interface ConstrainedSearchOptions {
  /** Only among these item_idx (a Faiss IDSelector), e.g. the auctions live at the request time. */
  among?: Ids;
}

/** What is written next to the Faiss file: everything needed to form queries and read labels. */
export interface ConstrainedIndexMap {
  format: 'curio.constrained-index';
  version: 1;
  /** Dimension of the item/query vectors before the category part. */
  dim: number;
  /** The offset M on the item's own category dimension. */
  offset: number;
  metric: 'ip';
  factory: string;
  searchParameters: Record<string, number>;
  categories: string[];
  /** item_idx → item_id. */
  itemIds: string[];
  /** item_idx → position in `categories`. */
  itemCategory: number[];
}

export const INDEX_FILE = 'items.faiss';
export const MAP_FILE = 'items.idmap.json';

/** Bad input to the constrained index: wrong shapes, NaN vectors, unknown categories, missing files. */
export class ConstrainedIndexError extends CurioError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { type: 'ConstrainedIndexError', retryable: true, cause: options?.cause });
  }
}

const FLOAT32_UNIT_ROUNDOFF = 2 ** -24;
/** Subsets of at least this share of an exact index are searched by over-fetching (searchDenseSubset). */
const DENSE_SUBSET_SHARE = 0.5;

/**
 * The offset M, derived from the data.
 *
 * Claim: if M > 2·s_x·s_q + 2·e, every item of the requested category outranks every other item.
 *   s_x = max_i ‖x̂_i‖ over the stored (float32) item vectors, s_q = the same bound for queries;
 *   both are 1 up to float32 rounding of the normalisation (we measure s_x, and bound s_q by
 *   1 + d·2^-24, the worst case of rounding each normalised component).
 * Proof: by Cauchy–Schwarz |<q̂, x̂_i>| ≤ s_q·s_x. Faiss computes the extended inner product as a
 *   float32 sum of d + C products; the standard summation bound puts its error below
 *   e = γ_n·Σ|terms| ≤ γ_n·(s_x·s_q + M), γ_n = n·u / (1 − n·u), u = 2^-24, n = d + C (the M·1 term
 *   is exact because M is a power of two). So a same-category item scores at least
 *   M − s_x·s_q − e and any other item at most s_x·s_q + e; the first exceeds the second exactly
 *   when M > 2·s_x·s_q + 2e. For unit vectors the bound is 2 plus ~1e-5: "any M > 2 separates".
 * Choice: the smallest power of two ≥ 1.5 × the bound, i.e. M = 4 for unit vectors (twice the
 *   bound). Not larger, because an in-category score M + ip is stored in float32 whose spacing grows
 *   with M: near 4..8 it is 2^-21 ≈ 4.8e-7, so items whose inner products differ by less than that
 *   may tie; M = 1024 would coarsen this to 6e-5 and visibly reorder near-ties.
 */
export function deriveOffset(maxItemNorm: number, dim: number, categories: number): number {
  const n = dim + categories;
  const gamma = (n * FLOAT32_UNIT_ROUNDOFF) / (1 - n * FLOAT32_UNIT_ROUNDOFF);
  const sq = 1 + dim * FLOAT32_UNIT_ROUNDOFF;
  const ipBound = maxItemNorm * sq;
  // e depends on M; M ≤ 64·ipBound for any sane data, so bounding e with that M is safe.
  const e = gamma * (ipBound + 64 * ipBound);
  const required = 2 * ipBound + 2 * e;
  return 2 ** Math.ceil(Math.log2(1.5 * required));
}

export class ConstrainedIndex {
  private readonly categoryPos: Map<string, number>;
  private readonly categoryCounts: Int32Array;

  private constructor(
    private readonly index: VectorIndex,
    readonly dim: number,
    readonly offset: number,
    readonly factory: string,
    readonly categories: readonly string[],
    readonly itemIds: readonly string[],
    /** item_idx → position in `categories`. */
    private itemCategory: Uint16Array,
    readonly searchParameters: Readonly<Record<string, number>>,
  ) {
    this.categoryPos = new Map(categories.map((c, i) => [c, i]));
    this.categoryCounts = new Int32Array(categories.length);
    for (const c of itemCategory) this.categoryCounts[c]!++;
  }

  static build(input: ConstrainedIndexInput, opts: ConstrainedIndexOptions = {}): ConstrainedIndex {
    const { dim, vectors, itemIds, itemCategories } = input;
    if (!Number.isInteger(dim) || dim < 1) throw new ConstrainedIndexError(`dim must be a positive integer, got ${dim}`);
    const n = itemIds.length;
    if (n === 0) throw new ConstrainedIndexError('no items to index');
    if (itemCategories.length !== n) {
      throw new ConstrainedIndexError(`${n} item ids but ${itemCategories.length} item categories`);
    }
    if (vectors.length !== n * dim) {
      throw new ConstrainedIndexError(
        `dimension mismatch: ${n} items of dimension ${dim} need ${n * dim} values, got ${vectors.length}` +
          (vectors.length % n === 0 ? ` (dimension ${vectors.length / n}?)` : ''),
      );
    }
    const blank = itemCategories.findIndex((c) => !c);
    if (blank >= 0) throw new ConstrainedIndexError(`item ${blank} (${itemIds[blank]}) has no category`);
    const categories = input.categories ? [...input.categories] : [...new Set(itemCategories)].sort();
    if (categories.length === 0) throw new ConstrainedIndexError('no categories');
    if (categories.length > 65535) throw new ConstrainedIndexError(`${categories.length} categories; at most 65535`);
    const pos = new Map<string, number>();
    categories.forEach((c, i) => {
      if (!c) throw new ConstrainedIndexError(`category ${i} is empty`);
      if (pos.has(c)) throw new ConstrainedIndexError(`category '${c}' is listed twice`);
      pos.set(c, i);
    });
    const itemCategory = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const c = pos.get(itemCategories[i] as string);
      if (c === undefined) {
        throw new ConstrainedIndexError(
          `item ${i} (${itemIds[i]}) has unknown category '${itemCategories[i]}' (known: ${categories.join(', ')})`,
        );
      }
      itemCategory[i] = c;
    }

    const unit = normaliseRows(vectors, dim, (row) => `item ${row} (${itemIds[row]})`);
    let maxNorm = 0;
    for (let i = 0; i < n; i++) maxNorm = Math.max(maxNorm, Math.sqrt(sumSquares(unit, i * dim, dim)));
    const offset = deriveOffset(maxNorm, dim, categories.length);

    const width = dim + categories.length;
    const extended = new Float32Array(n * width);
    for (let i = 0; i < n; i++) {
      extended.set(unit.subarray(i * dim, (i + 1) * dim), i * width);
      extended[i * width + dim + (itemCategory[i] as number)] = offset;
    }
    const factory = opts.factory ?? 'Flat';
    const index = VectorIndex.fromFactory(width, factory, 'ip');
    if (!index.isTrained) index.train(strideSample(extended, width, opts.trainRows ?? 100_000));
    index.add(extended);
    const params = { ...(opts.searchParameters ?? {}) };
    for (const [name, value] of Object.entries(params)) index.setSearchParameter(name, value);
    return new ConstrainedIndex(index, dim, offset, factory, categories, [...itemIds], itemCategory, params);
  }

  /** Reads what `write` wrote; a missing or inconsistent file is a ConstrainedIndexError naming it. */
  static read(dir: string): ConstrainedIndex {
    const indexPath = join(dir, INDEX_FILE);
    const mapPath = join(dir, MAP_FILE);
    for (const p of [indexPath, mapPath]) {
      if (!existsSync(p)) throw new ConstrainedIndexError(`cannot read constrained index: ${p} does not exist`);
    }
    let map: ConstrainedIndexMap;
    try {
      map = JSON.parse(readFileSync(mapPath, 'utf8')) as ConstrainedIndexMap;
    } catch (err) {
      throw new ConstrainedIndexError(`cannot read ${mapPath}: ${(err as Error).message}`, { cause: err });
    }
    if (map.format !== 'curio.constrained-index' || map.version !== 1) {
      throw new ConstrainedIndexError(`${mapPath} is not a version-1 curio constrained-index map`);
    }
    let index: VectorIndex;
    try {
      index = VectorIndex.read(indexPath);
    } catch (err) {
      throw new ConstrainedIndexError((err as Error).message, { cause: err });
    }
    const width = map.dim + map.categories.length;
    if (index.dimension !== width) {
      throw new ConstrainedIndexError(`${indexPath} has dimension ${index.dimension}; ${mapPath} says ${map.dim} + ${map.categories.length} categories`);
    }
    if (index.ntotal !== map.itemIds.length || map.itemCategory.length !== map.itemIds.length) {
      throw new ConstrainedIndexError(`${indexPath} holds ${index.ntotal} vectors; ${mapPath} maps ${map.itemIds.length} items`);
    }
    for (const [name, value] of Object.entries(map.searchParameters)) index.setSearchParameter(name, value);
    return new ConstrainedIndex(
      index,
      map.dim,
      map.offset,
      map.factory,
      map.categories,
      map.itemIds,
      Uint16Array.from(map.itemCategory),
      map.searchParameters,
    );
  }

  get size(): number {
    return this.itemIds.length;
  }

  /**
   * Appends items after the indexed ones (item_idx size, size+1, ...): the recall service adds lots
   * listed after training. Their categories must be among the index's own (the category part has a
   * dimension per category, fixed when the index was built).
   */
  add(input: { vectors: Float32Array; itemIds: readonly string[]; itemCategories: readonly string[] }): void {
    const n = input.itemIds.length;
    if (n === 0) return;
    if (input.itemCategories.length !== n || input.vectors.length !== n * this.dim) {
      throw new ConstrainedIndexError(`adding ${n} items needs ${n} categories and ${n * this.dim} values, got ${input.itemCategories.length} and ${input.vectors.length}`);
    }
    const cats = input.itemCategories.map((c) => this.requireCategory(c));
    const unit = normaliseRows(input.vectors, this.dim, (row) => `item ${input.itemIds[row]}`);
    const width = this.dim + this.categories.length;
    const extended = new Float32Array(n * width);
    for (let i = 0; i < n; i++) {
      extended.set(unit.subarray(i * this.dim, (i + 1) * this.dim), i * width);
      extended[i * width + this.dim + (cats[i] as number)] = this.offset;
    }
    this.index.add(extended);
    const grown = new Uint16Array(this.itemCategory.length + n);
    grown.set(this.itemCategory);
    grown.set(cats, this.itemCategory.length);
    this.itemCategory = grown;
    (this.itemIds as string[]).push(...input.itemIds);
    for (const c of cats) this.categoryCounts[c]!++;
  }

  categoryOf(itemIdx: number): string {
    const c = this.itemCategory[itemIdx];
    if (c === undefined) throw new ConstrainedIndexError(`item_idx ${itemIdx} is not in the index (0..${this.size - 1})`);
    return this.categories[c] as string;
  }

  categorySize(category: string): number {
    return this.categoryCounts[this.requireCategory(category)] as number;
  }

  /** Top-k of one query: within `category`, or over all items when category is null. */
  search(query: Float32Array, k: number, category: string | null, opts: ConstrainedSearchOptions = {}): ConstrainedHits {
    return this.searchBatch([query], k, [category], opts)[0] as ConstrainedHits;
  }

  /**
   * Top-k of each query in one Faiss call; queries may ask for different categories (null =
   * unconstrained). Queries are normalised here, so any scale works.
   */
  searchBatch(
    queries: readonly Float32Array[],
    k: number,
    categories: readonly (string | null)[],
    opts: ConstrainedSearchOptions = {},
  ): ConstrainedHits[] {
    if (queries.length !== categories.length) {
      throw new ConstrainedIndexError(`${queries.length} queries but ${categories.length} categories`);
    }
    if (!Number.isInteger(k) || k < 1) throw new ConstrainedIndexError(`k must be a positive integer, got ${k}`);
    if (queries.length === 0) return [];
    const wanted = categories.map((c) => (c === null ? -1 : this.requireCategory(c)));
    const extended = this.extendQueries(queries, wanted);
    if (opts.among !== undefined) {
      const fast = this.searchDenseSubset(extended, queries.length, k, wanted, opts.among);
      if (fast) return fast;
    }
    const res = opts.among === undefined ? this.index.search(extended, k) : this.index.searchSubset(extended, k, opts.among);
    return wanted.map((c, q) => {
      const labels: number[] = [];
      const scores: number[] = [];
      for (let r = 0; r < k; r++) {
        const label = res.labels[q * k + r] as number;
        if (label < 0) continue;
        // Exact membership, not a score threshold: with k beyond the category's size Faiss ranks the
        // other categories next, and those must not leak into a constrained answer.
        if (c >= 0 && this.itemCategory[label] !== c) continue;
        labels.push(label);
        scores.push((res.distances[q * k + r] as number) - (c >= 0 ? this.offset : 0));
      }
      return { itemIdx: Int32Array.from(labels), scores: Float32Array.from(scores), requested: k, shortfall: k - labels.length };
    });
  }

  /**
   * A subset search without Faiss's IDSelector, where the subset is most of an exact (Flat) index:
   * building the selector costs about as much as the scan itself (0.9 ms for 20k ids), and a request
   * searches the same live set up to ten times. So: an over-fetched plain search, filtered by a
   * membership bitmap (cached for the subset array). Exact: a query's list stands only when it holds
   * min(k, members eligible for it) items; any other query is answered by the selector search.
   */
  private searchDenseSubset(extended: Float32Array, nq: number, k: number, wanted: readonly number[], among: Ids): ConstrainedHits[] | undefined {
    if (this.factory !== 'Flat' || among.length < DENSE_SUBSET_SHARE * this.size) return undefined;
    const members = this.membership(among);
    const fetch = Math.min(this.size, Math.ceil((k * this.size) / Math.max(1, members.count) * 1.5) + 32);
    const res = this.index.search(extended, fetch);
    const width = this.dim + this.categories.length;
    return wanted.map((c, q) => {
      const eligible = c >= 0 ? (members.perCategory[c] as number) : members.count;
      const labels: number[] = [];
      const scores: number[] = [];
      for (let r = 0; r < fetch && labels.length < k; r++) {
        const label = res.labels[q * fetch + r] as number;
        if (label < 0 || !members.bits[label]) continue;
        if (c >= 0 && this.itemCategory[label] !== c) continue;
        labels.push(label);
        scores.push((res.distances[q * fetch + r] as number) - (c >= 0 ? this.offset : 0));
      }
      if (labels.length < Math.min(k, eligible)) {
        return this.searchOneWithSelector(extended.subarray(q * width, (q + 1) * width), k, c, among);
      }
      return { itemIdx: Int32Array.from(labels), scores: Float32Array.from(scores), requested: k, shortfall: k - labels.length };
    });
  }

  private searchOneWithSelector(extended: Float32Array, k: number, c: number, among: Ids): ConstrainedHits {
    const res = this.index.searchSubset(extended, k, among);
    const labels: number[] = [];
    const scores: number[] = [];
    for (let r = 0; r < k; r++) {
      const label = res.labels[r] as number;
      if (label < 0) continue;
      if (c >= 0 && this.itemCategory[label] !== c) continue;
      labels.push(label);
      scores.push((res.distances[r] as number) - (c >= 0 ? this.offset : 0));
    }
    return { itemIdx: Int32Array.from(labels), scores: Float32Array.from(scores), requested: k, shortfall: k - labels.length };
  }

  private lastMembership: { among: Ids; size: number; bits: Uint8Array; count: number; perCategory: Int32Array } | undefined;

  private membership(among: Ids): { bits: Uint8Array; count: number; perCategory: Int32Array } {
    const cached = this.lastMembership;
    if (cached && cached.among === among && cached.size === this.size) return cached;
    const bits = new Uint8Array(this.size);
    const perCategory = new Int32Array(this.categories.length);
    let count = 0;
    for (let i = 0; i < among.length; i++) {
      const id = Number(among[i]);
      if (id < 0 || id >= this.size || bits[id]) continue;
      bits[id] = 1;
      count++;
      perCategory[this.itemCategory[id] as number]!++;
    }
    this.lastMembership = { among, size: this.size, bits, count, perCategory };
    return this.lastMembership;
  }

  /** The extended query Faiss sees: normalised q, then 1 on the requested category (none for -1). */
  private extendQueries(queries: readonly Float32Array[], categories: readonly number[]): Float32Array {
    const width = this.dim + this.categories.length;
    const out = new Float32Array(queries.length * width);
    queries.forEach((q, i) => {
      if (q.length !== this.dim) {
        throw new ConstrainedIndexError(`query ${i}: dimension mismatch: expected ${this.dim}, got ${q.length}`);
      }
      out.set(normaliseRows(q, this.dim, () => `query ${i}`), i * width);
      const c = categories[i] as number;
      if (c >= 0) out[i * width + this.dim + c] = 1;
    });
    return out;
  }

  private requireCategory(category: string): number {
    const c = this.categoryPos.get(category);
    if (c === undefined) {
      throw new ConstrainedIndexError(`unknown category '${category}' (known: ${this.categories.join(', ')})`);
    }
    return c;
  }

  /** Writes `dir/items.faiss` (Faiss's own format) and `dir/items.idmap.json`. */
  write(dir: string): { indexFile: string; mapFile: string } {
    mkdirSync(dir, { recursive: true });
    const indexFile = join(dir, INDEX_FILE);
    const mapFile = join(dir, MAP_FILE);
    this.index.write(indexFile);
    const map: ConstrainedIndexMap = {
      format: 'curio.constrained-index',
      version: 1,
      dim: this.dim,
      offset: this.offset,
      metric: 'ip',
      factory: this.factory,
      searchParameters: { ...this.searchParameters },
      categories: [...this.categories],
      itemIds: [...this.itemIds],
      itemCategory: Array.from(this.itemCategory),
    };
    // Written last and renamed into place: a reader never pairs a new map with an old index.
    writeFileSync(`${mapFile}.tmp`, JSON.stringify(map));
    renameSync(`${mapFile}.tmp`, mapFile);
    return { indexFile, mapFile };
  }
}

/**
 * Row-wise L2 normalisation in float64, rounded once to float32. A NaN/Infinity or an all-zero row
 * cannot be normalised and is rejected by name: Faiss would index it and return garbage.
 */
export function normaliseRows(x: Float32Array, dim: number, name: (row: number) => string = (r) => `row ${r}`): Float32Array {
  if (x.length % dim !== 0) throw new ConstrainedIndexError(`dimension mismatch: ${x.length} values are not rows of ${dim}`);
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / dim; r++) {
    const o = r * dim;
    for (let j = 0; j < dim; j++) {
      if (!Number.isFinite(x[o + j] as number)) throw new ConstrainedIndexError(`${name(r)} contains ${x[o + j]} (column ${j})`);
    }
    const norm = Math.sqrt(sumSquares(x, o, dim));
    if (norm === 0) throw new ConstrainedIndexError(`${name(r)} is the zero vector; it has no direction to normalise`);
    for (let j = 0; j < dim; j++) out[o + j] = (x[o + j] as number) / norm;
  }
  return out;
}

function sumSquares(x: Float32Array, offset: number, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) s += (x[offset + j] as number) ** 2;
  return s;
}

function strideSample(x: Float32Array, width: number, maxRows: number): Float32Array {
  const n = x.length / width;
  if (n <= maxRows) return x;
  const out = new Float32Array(maxRows * width);
  for (let r = 0; r < maxRows; r++) {
    const src = Math.floor((r * n) / maxRows);
    out.set(x.subarray(src * width, (src + 1) * width), r * width);
  }
  return out;
}

