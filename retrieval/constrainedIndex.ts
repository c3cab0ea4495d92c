import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kmeans, VectorIndex, type Ids, type SearchResult } from '../platform/faiss';
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
  /**
   * Rows used to train indexes that need training (IVF); default all rows up to 100k, evenly
   * strided (per-category lists: up to 256 per list, as Faiss trains an IVF).
   */
  trainRows?: number;
  /**
   * 'IVF<nlist>,Flat' only: how the lists are made. 'category' (default): one k-means per category,
   * the nlist lists shared out by √(category size), every item filed under its own category's
   * nearest list; the lists hold the plain unit vectors (no category part: within a list of one
   * category it would add the same M to every score) and a constrained query probes its category's
   * lists only (see listCategory). 'joint': the offset trick as with Flat, Faiss's own k-means over
   * every extended vector.
   */
  ivfLists?: 'category' | 'joint';
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

/** One query of a searchMany call. */
export interface ConstrainedQuery {
  query: Float32Array;
  k: number;
  /** null: over all items. */
  category: string | null;
  /** Only among these item_idx. */
  among?: Ids;
}

interface Membership {
  bits: Uint8Array;
  count: number;
  perCategory: Int32Array;
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
  /**
   * An IVF with per-category lists ('ivfLists: category'): list number → position in `categories`.
   * The Faiss index then holds the plain unit vectors (dimension `dim`, no category part).
   */
  ivfListCategory?: number[];
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
/** Subsets of at least this share of an exact index are searched by over-fetch and filter (searchMany), without a selector. */
const DENSE_SUBSET_SHARE = 0.5;
/** Sub-indexes of live-lot subsets kept at once (the service's moment: all lots and a dozen categories fit). */
const SUB_INDEX_POOL = 16;

interface SubIndex {
  index: VectorIndex;
  ids: Int32Array;
  /** The index's size when built: lots added since make it stale. */
  size: number;
}

/** Faiss (1.7.3) scores a batch of at least this many queries by one BLAS matrix product (distance_compute_blas_threshold). */
const FAISS_BLAS_THRESHOLD = 20;

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
    private knobs: Record<string, number>,
    /**
     * Per-category IVF lists: list number → category. Undefined for the offset layout (Flat, HNSW,
     * 'joint' IVF), where the Faiss index holds [x̂ ; M·e_c] and a query carries its category part.
     */
    private readonly listCategory?: Uint16Array,
  ) {
    this.categoryPos = new Map(categories.map((c, i) => [c, i]));
    this.categoryCounts = new Int32Array(categories.length);
    for (const c of itemCategory) this.categoryCounts[c]!++;
    if (listCategory) {
      const lists: number[][] = categories.map(() => []);
      listCategory.forEach((c, l) => lists[c]!.push(l));
      this.categoryLists = lists.map((l) => Float64Array.from(l));
    }
  }

  /**
   * The list numbers of each category (per-category lists only). A constrained query probes its
   * nprobe nearest lists of its own category (searchWithinLists), scoring only that category's
   * centroids: the work of one IVF per category, from one index that also answers unconstrained
   * queries (plain search over every list).
   */
  private readonly categoryLists: readonly Float64Array[] | undefined;

  /** Whether constrained queries probe only their category's IVF lists (diagnostics and tests). */
  get partitionedLists(): boolean {
    return this.categoryLists !== undefined;
  }

  /** The width of the vectors Faiss holds: the unit vector, plus one dimension per category in the offset layout. */
  private get width(): number {
    return this.listCategory ? this.dim : this.dim + this.categories.length;
  }

  /** The search-time knobs in force (saved with the index). */
  get searchParameters(): Readonly<Record<string, number>> {
    return this.knobs;
  }

  /**
   * Sets a search-time knob through Faiss's ParameterSpace ('nprobe' for IVF, 'efSearch' for HNSW):
   * a tuned index keeps it, in this process and in the files `save` writes. A knob the index type
   * does not have fails with the Faiss message.
   */
  setSearchParameter(name: string, value: number): void {
    try {
      this.index.setSearchParameter(name, value);
    } catch (err) {
      throw new ConstrainedIndexError(`cannot set ${name}=${value} on the "${this.factory}" constrained index: ${(err as Error).message}`, { cause: err });
    }
    this.knobs = { ...this.knobs, [name]: value };
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

    const factory = opts.factory ?? 'Flat';
    const nlist = Number(/^IVF(\d+),Flat$/.exec(factory)?.[1] ?? 0);
    const perCategory = nlist > 0 && (opts.ivfLists ?? 'category') === 'category' ? shareLists(nlist, countsOf(itemCategory, categories.length)) : undefined;
    const params = { ...(opts.searchParameters ?? {}) };
    if (perCategory) {
      const index = VectorIndex.fromFactory(dim, factory, 'ip');
      const { centroids, listCategory } = categoryCentroids(unit, dim, itemCategory, perCategory, opts.trainRows);
      index.setIvfCentroids(centroids);
      index.addToLists(unit, listsWithinCategories(index, unit, dim, itemCategory, listCategory));
      for (const [name, value] of Object.entries(params)) index.setSearchParameter(name, value);
      return new ConstrainedIndex(index, dim, offset, factory, categories, [...itemIds], itemCategory, params, listCategory);
    }

    const width = dim + categories.length;
    const extended = new Float32Array(n * width);
    for (let i = 0; i < n; i++) {
      extended.set(unit.subarray(i * dim, (i + 1) * dim), i * width);
      extended[i * width + dim + (itemCategory[i] as number)] = offset;
    }
    const index = VectorIndex.fromFactory(width, factory, 'ip');
    if (!index.isTrained) index.train(strideSample(extended, width, opts.trainRows ?? 100_000));
    index.add(extended);
    for (const [name, value] of Object.entries(params)) index.setSearchParameter(name, value);
    const built = new ConstrainedIndex(index, dim, offset, factory, categories, [...itemIds], itemCategory, params);
    if (factory === 'Flat') built.rows = extended;
    return built;
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
    const listCategory = map.ivfListCategory === undefined ? undefined : Uint16Array.from(map.ivfListCategory);
    const width = listCategory ? map.dim : map.dim + map.categories.length;
    if (index.dimension !== width) {
      throw new ConstrainedIndexError(
        `${indexPath} has dimension ${index.dimension}; ${mapPath} says ${map.dim}${listCategory ? ' (per-category lists)' : ` + ${map.categories.length} categories`}`,
      );
    }
    if (listCategory) {
      const nlist = index.ivfCentroids().length / map.dim;
      if (listCategory.length !== nlist || listCategory.some((c) => c >= map.categories.length)) {
        throw new ConstrainedIndexError(`${mapPath} names the categories of ${listCategory.length} IVF lists; ${indexPath} has ${nlist}`);
      }
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
      listCategory,
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
    if (this.listCategory) {
      this.index.addToLists(unit, listsWithinCategories(this.index, unit, this.dim, Uint16Array.from(cats), this.listCategory));
    } else {
      const width = this.width;
      const extended = new Float32Array(n * width);
      for (let i = 0; i < n; i++) {
        extended.set(unit.subarray(i * this.dim, (i + 1) * this.dim), i * width);
        extended[i * width + this.dim + (cats[i] as number)] = this.offset;
      }
      this.index.add(extended);
      this.appendRows(extended);
    }
    const grown = new Uint16Array(this.itemCategory.length + n);
    grown.set(this.itemCategory);
    grown.set(cats, this.itemCategory.length);
    this.itemCategory = grown;
    // one push per id: spreading a large catalogue's ids as arguments overflows the call stack
    for (const id of input.itemIds) (this.itemIds as string[]).push(id);
    for (const c of cats) this.categoryCounts[c]!++;
  }

  /** Keeps an exact index's copy of its rows in step with Faiss's. */
  private appendRows(extended: Float32Array): void {
    if (!this.rows) return;
    const rows = new Float32Array(this.rows.length + extended.length);
    rows.set(this.rows);
    rows.set(extended, this.rows.length);
    this.rows = rows;
  }

  /**
   * Keeps the rows of an exact index read from disk (Faiss keeps its own copy, out of reach):
   * `vectors` are the item vectors it was built from, in item_idx order, extended again exactly as
   * build does. With them a sparse subset (at a serving moment only a few percent of the lots are
   * live) is searched through a small exact index of its own rows instead of Faiss's IDSelector
   * over every row. A no-op for an approximate index, whose answers the sub-index would not match.
   */
  useItemVectors(vectors: Float32Array): void {
    if (this.factory !== 'Flat') return;
    if (vectors.length !== this.size * this.dim) throw new ConstrainedIndexError(`${vectors.length / this.dim} item vectors for an index of ${this.size} items`);
    const unit = normaliseRows(vectors, this.dim, (row) => `item ${row} (${this.itemIds[row]})`);
    const width = this.width;
    const rows = new Float32Array(this.size * width);
    for (let i = 0; i < this.size; i++) {
      rows.set(unit.subarray(i * this.dim, (i + 1) * this.dim), i * width);
      rows[i * width + this.dim + (this.itemCategory[i] as number)] = this.offset;
    }
    // Each sampled row must be one Faiss holds: its best match scores its own squared norm.
    for (const i of new Set([0, this.size >> 1, this.size - 1])) {
      const row = rows.subarray(i * width, (i + 1) * width);
      const self = row.reduce((a, x) => a + x * x, 0);
      const best = this.index.search(row, 1).distances[0] as number;
      if (!(Math.abs(best - self) <= 1e-4 * self)) throw new ConstrainedIndexError(`the item vectors are not the ones the index holds (item_idx ${i}: best inner product ${best}, its own ${self})`);
    }
    this.rows = rows;
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
    return this.searchMany([{ query, k, category, ...(opts.among !== undefined ? { among: opts.among } : {}) }])[0] as ConstrainedHits;
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
    return this.searchMany(queries.map((query, q) => ({ query, k, category: categories[q] ?? null, ...(opts.among !== undefined ? { among: opts.among } : {}) })));
  }

  /**
   * Queries that each bring their own k, category and subset (the recall service answers the
   * routes of concurrent requests at once, each request with its own live lots). On an exact index,
   * every query whose subset is dense (or absent) is answered from ONE Faiss call: past about 20
   * queries Faiss computes the scores as one matrix product (BLAS), about six times cheaper per
   * query than single scans here. A query's answer does not depend on the others beside it, up to
   * the last bit of a score (BLAS rounds differently by batch shape), and ties are ordered by item_idx.
   */
  searchMany(specs: readonly ConstrainedQuery[]): ConstrainedHits[] {
    if (specs.length === 0) return [];
    for (const s of specs) {
      if (!Number.isInteger(s.k) || s.k < 1) throw new ConstrainedIndexError(`k must be a positive integer, got ${s.k}`);
    }
    const wanted = specs.map((s) => (s.category === null ? -1 : this.requireCategory(s.category)));
    const extended = this.extendQueries(specs.map((s) => s.query), wanted);
    const width = this.width;
    const out: ConstrainedHits[] = new Array(specs.length);
    const memberships = new Map<Ids, Membership>();
    const dense: number[] = [];
    const rest: number[] = [];
    const sparse = new Map<Ids, number[]>();
    specs.forEach((s, q) => {
      const isDense = this.factory === 'Flat' && (s.among === undefined || s.among.length >= DENSE_SUBSET_SHARE * this.size);
      if (isDense) dense.push(q);
      else if (this.rows && s.among !== undefined && s.among.length > 0) pushTo(sparse, s.among, q);
      else rest.push(q);
    });
    for (const [among, qs] of sparse) {
      const sub = this.subIndexOf(among);
      // One search to the largest k of the group (each query keeps its own top k of it: exact).
      const kk = Math.min(qs.reduce((m, q) => Math.max(m, specs[q]!.k), 0), sub.ids.length);
      const run = (rowsOf: readonly number[]) => {
        const rows = new Float32Array(rowsOf.length * width);
        rowsOf.forEach((q, j) => rows.set(extended.subarray(q * width, (q + 1) * width), j * width));
        const res = sub.index.search(rows, kk);
        // Sub-index labels are positions in the subset.
        const labels = new Float64Array(res.labels.length);
        for (let i = 0; i < labels.length; i++) {
          const l = res.labels[i] as number;
          labels[i] = l < 0 ? -1 : (sub.ids[l] as number);
        }
        rowsOf.forEach((q, j) => {
          out[q] = this.hitsOf({ labels, distances: res.distances }, j * kk, kk, specs[q]!.k, wanted[q] as number, undefined);
        });
      };
      if (qs.length < FAISS_BLAS_THRESHOLD) for (const q of qs) run([q]);
      else run(qs);
    }
    if (dense.length > 0) {
      // Over-fetch by the subset's thinness, so the filtered list still holds k; a list that comes
      // up short anyway (its best items mostly outside the subset) is asked again with a selector.
      const fetchOf = (q: number): number => {
        const s = specs[q] as ConstrainedQuery;
        if (s.among === undefined) return s.k;
        const m = this.membershipOf(s.among, memberships);
        return Math.ceil(((s.k * this.size) / Math.max(1, m.count)) * 1.5) + 32;
      };
      const answer = (q: number, res: SearchResult, from: number, fetch: number) => {
        const s = specs[q] as ConstrainedQuery;
        const c = wanted[q] as number;
        const m = s.among === undefined ? undefined : this.membershipOf(s.among, memberships);
        const eligible = m === undefined ? (c >= 0 ? (this.categoryCounts[c] as number) : this.size) : c >= 0 ? (m.perCategory[c] as number) : m.count;
        const hits = this.hitsOf(res, from, fetch, s.k, c, m?.bits);
        out[q] = hits.itemIdx.length < Math.min(s.k, eligible) && s.among !== undefined ? this.searchWith(extended.subarray(q * width, (q + 1) * width), 1, s.k, [c], s.among)[0] as ConstrainedHits : hits;
      };
      if (dense.length < FAISS_BLAS_THRESHOLD) {
        // Below Faiss's matrix-product threshold a batch is single scans anyway, split over OpenMP
        // threads whose fork/join costs more than the scans (5 ms for 6 queries with a core busy).
        for (const q of dense) {
          const fetch = Math.min(this.size, fetchOf(q));
          answer(q, this.index.search(extended.subarray(q * width, (q + 1) * width), fetch), 0, fetch);
        }
      } else {
        const fetch = Math.min(this.size, dense.reduce((m, q) => Math.max(m, fetchOf(q)), 0));
        const rows = new Float32Array(dense.length * width);
        dense.forEach((q, j) => rows.set(extended.subarray(q * width, (q + 1) * width), j * width));
        const res = this.index.search(rows, fetch);
        dense.forEach((q, j) => answer(q, res, j * fetch, fetch));
      }
    }
    // The others go to Faiss in groups that share a subset and a k (one selector per group).
    const groups = new Map<Ids | undefined, Map<number, number[]>>();
    for (const q of rest) {
      const s = specs[q] as ConstrainedQuery;
      const byK = groups.get(s.among) ?? new Map<number, number[]>();
      groups.set(s.among, byK);
      pushTo(byK, s.k, q);
    }
    for (const [among, byK] of groups) {
      for (const [k, qs] of byK) {
        if (this.categoryLists) {
          this.searchPartitioned(extended, width, k, qs, wanted, among, out);
          continue;
        }
        if (qs.length < FAISS_BLAS_THRESHOLD) {
          for (const q of qs) out[q] = this.searchWith(extended.subarray(q * width, (q + 1) * width), 1, k, [wanted[q] as number], among)[0] as ConstrainedHits;
          continue;
        }
        const rows = new Float32Array(qs.length * width);
        qs.forEach((q, j) => rows.set(extended.subarray(q * width, (q + 1) * width), j * width));
        this.searchWith(rows, qs.length, k, qs.map((q) => wanted[q] as number), among).forEach((h, j) => {
          out[qs[j] as number] = h;
        });
      }
    }
    return out;
  }

  /** Queries of one k (and subset) on per-category lists: each constrained group probes its category's lists only. */
  private searchPartitioned(
    queries: Float32Array,
    width: number,
    k: number,
    qs: readonly number[],
    wanted: readonly number[],
    among: Ids | undefined,
    out: ConstrainedHits[],
  ): void {
    const lists = this.categoryLists as readonly Float64Array[];
    const byCategory = new Map<number, number[]>();
    for (const q of qs) pushTo(byCategory, wanted[q] as number, q);
    for (const [c, group] of byCategory) {
      const rows = group.length === 1 ? queries.subarray((group[0] as number) * width, ((group[0] as number) + 1) * width) : new Float32Array(group.length * width);
      if (group.length > 1) group.forEach((q, j) => rows.set(queries.subarray(q * width, (q + 1) * width), j * width));
      const own = c >= 0 ? lists[c] : undefined;
      let res: SearchResult;
      if (own !== undefined && own.length > 0) res = this.index.searchWithinLists(rows, k, own, among);
      else if (c < 0) res = among === undefined ? this.index.search(rows, k) : this.index.searchSubset(rows, k, among);
      else {
        // A category without lists of its own (no items when the index was built): its later items
        // sit in other categories' lists, so every list is searched among its members only.
        const bits = among === undefined ? undefined : this.membershipOf(among, new Map()).bits;
        res = this.index.searchSubset(rows, k, this.membersOf(c).filter((i) => bits === undefined || bits[i] === 1));
      }
      group.forEach((q, j) => (out[q] = this.hitsOf(res, j * k, k, k, c, undefined)));
    }
  }

  /** The item_idx of one category (a scan: only for categories without lists, which hold just items added after the build). */
  private membersOf(c: number): Float64Array {
    const out: number[] = [];
    this.itemCategory.forEach((x, i) => {
      if (x === c) out.push(i);
    });
    return Float64Array.from(out);
  }

  private searchWith(rows: Float32Array, nq: number, k: number, wanted: readonly number[], among: Ids | undefined): ConstrainedHits[] {
    const res = among === undefined ? this.index.search(rows, k) : this.index.searchSubset(rows, k, among);
    return Array.from({ length: nq }, (_, q) => this.hitsOf(res, q * k, k, k, wanted[q] as number, undefined));
  }

  /**
   * One query's hits from Faiss's row: members only, and only the requested category (exact
   * membership, not a score threshold: with k beyond the category's size Faiss ranks the other
   * categories next, and those must not leak into a constrained answer); the offset taken off.
   */
  private hitsOf(res: SearchResult, from: number, width: number, k: number, c: number, bits: Uint8Array | undefined): ConstrainedHits {
    const labels = new Int32Array(Math.min(k, width));
    const raw = new Float32Array(labels.length);
    let n = 0;
    for (let r = 0; r < width && n < k; r++) {
      const label = res.labels[from + r] as number;
      if (label < 0 || (bits !== undefined && !bits[label])) continue;
      if (c >= 0 && this.itemCategory[label] !== c) continue;
      const distance = res.distances[from + r] as number;
      // Faiss's heap leaves equal scores in no fixed order; item_idx orders them, whatever the batch.
      let at = n++;
      while (at > 0 && raw[at - 1] === distance && (labels[at - 1] as number) > label) {
        labels[at] = labels[at - 1] as number;
        raw[at] = distance;
        at--;
      }
      labels[at] = label;
      raw[at] = distance;
    }
    // Per-category lists hold plain unit vectors: no offset to take off.
    const bonus = c >= 0 && !this.listCategory ? this.offset : 0;
    const scores = new Float32Array(n);
    for (let r = 0; r < n; r++) scores[r] = (raw[r] as number) - bonus;
    return { itemIdx: labels.slice(0, n), scores, requested: k, shortfall: k - n };
  }



  /**
   * A small exact index over a subset's rows, kept for the subset array (the live lots at a moment).
   * At most SUB_INDEX_POOL are kept, least recently used out first, and an evicted one's native index
   * is cleared and refilled: an A/B replaying thousands of moments (a new live set at nearly every
   * listing or end) then holds a bounded amount of native memory instead of one index per moment
   * waiting for V8 to collect it (1.4 MB each at 5,000 rows, measured with a loop of new live sets).
   */
  private subIndexOf(among: Ids): { index: VectorIndex; ids: Int32Array } {
    const key = among as object;
    const known = this.subIndexes.get(key);
    if (known) this.subIndexes.delete(key);
    if (known && known.size === this.size) {
      this.subIndexes.set(key, known);
      return known;
    }
    const rows = this.rows as Float32Array;
    const width = this.width;
    const ids = distinctIds(among);
    const sub = new Float32Array(ids.length * width);
    // Runs of consecutive ids are copied in one native call each: a live set is rebuilt at every
    // listing or end the A/B replays, and lots listed together sit next to each other.
    for (let j = 0; j < ids.length; ) {
      const first = ids[j] as number;
      let end = j + 1;
      while (end < ids.length && (ids[end] as number) === first + (end - j)) end++;
      const last = first + (end - j) - 1;
      if (!(first >= 0 && last < this.size)) throw new ConstrainedIndexError(`subset item_idx ${first < 0 ? first : Math.max(first, this.size)} is not in the index (0..${this.size - 1})`);
      sub.set(rows.subarray(first * width, (last + 1) * width), j * width);
      j = end;
    }
    let reuse = known?.index;
    if (!reuse && this.subIndexes.size >= SUB_INDEX_POOL) {
      const [oldestKey, oldest] = this.subIndexes.entries().next().value as [object, SubIndex];
      this.subIndexes.delete(oldestKey);
      reuse = oldest.index;
    }
    reuse?.clear();
    const index = reuse ?? VectorIndex.flatIP(width);
    index.add(sub);
    const entry = { index, ids, size: this.size };
    this.subIndexes.set(key, entry);
    return entry;
  }

  /** Sub-indexes held now (at most SUB_INDEX_POOL; an evicted one's native index is refilled for the next): for tests and diagnostics. */
  get subIndexCount(): number {
    return this.subIndexes.size;
  }

  /** Insertion order is recency (a hit is re-inserted): the first entry is the least recently used. */
  private readonly subIndexes = new Map<object, SubIndex>();
  /** The extended rows of an exact index (build, or useItemVectors), for sub-indexes of sparse subsets. */
  private rows: Float32Array | undefined;

  private lastMembership: (Membership & { among: Ids; size: number }) | undefined;

  /** Which items a subset holds (a bitmap), and how many per category: cached for the subset array. */
  private membershipOf(among: Ids, within: Map<Ids, Membership>): Membership {
    const known = within.get(among);
    if (known) return known;
    const cached = this.lastMembership;
    if (cached && cached.among === among && cached.size === this.size) {
      within.set(among, cached);
      return cached;
    }
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
    within.set(among, this.lastMembership);
    return this.lastMembership;
  }

  /** The extended query Faiss sees: normalised q, then 1 on the requested category (none for -1). */
  private extendQueries(queries: readonly Float32Array[], categories: readonly number[]): Float32Array {
    const width = this.width;
    const out = new Float32Array(queries.length * width);
    queries.forEach((q, i) => {
      if (q.length !== this.dim) {
        throw new ConstrainedIndexError(`query ${i}: dimension mismatch: expected ${this.dim}, got ${q.length}`);
      }
      out.set(normaliseRows(q, this.dim, () => `query ${i}`), i * width);
      const c = categories[i] as number;
      if (c >= 0 && !this.listCategory) out[i * width + this.dim + c] = 1;
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
      ...(this.listCategory ? { ivfListCategory: Array.from(this.listCategory) } : {}),
    };
    // Written last and renamed into place: a reader never pairs a new map with an old index.
    writeFileSync(`${mapFile}.tmp`, JSON.stringify(map));
    renameSync(`${mapFile}.tmp`, mapFile);
    return { indexFile, mapFile };
  }
}

/** The subset's ids once each, in order of first appearance; a strictly ascending subset (a live set) as it is. */
function distinctIds(among: Ids): Int32Array {
  const ids = among instanceof BigInt64Array ? Int32Array.from(among, (x) => Number(x)) : Int32Array.from(among);
  let ascending = true;
  for (let j = 1; j < ids.length && ascending; j++) ascending = (ids[j] as number) > (ids[j - 1] as number);
  return ascending ? ids : Int32Array.from(new Set(ids));
}

/** Appends to the list under a key (grouping a batch's queries without copying the list each time). */
function pushTo<K, V>(groups: Map<K, V[]>, key: K, value: V): void {
  const list = groups.get(key);
  if (list) list.push(value);
  else groups.set(key, [value]);
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

function countsOf(itemCategory: Uint16Array, categories: number): Int32Array {
  const counts = new Int32Array(categories);
  for (const c of itemCategory) counts[c]!++;
  return counts;
}

/** Faiss's k-means wants at least this many training points per centroid (it warns below). */
const MIN_POINTS_PER_LIST = 39;
/** Faiss's default cap on k-means training points per centroid, and the iterations an IVF trains its lists with (Level1Quantizer). */
const MAX_POINTS_PER_LIST = 256;
const IVF_KMEANS_ITERATIONS = 10;

/**
 * nlist lists shared out among the categories in proportion to √(items), by largest remainder: at
 * least one per non-empty category, and at most one per 39 of its items (Faiss's minimum for
 * k-means) while the other categories can take the rest, then at most one per item. √ because a
 * constrained query's cost is its category's centroids plus the lists it scans, L + nprobe·n_c / L,
 * least at L ∝ √n_c: the rule (≈ 4·√n lists, at most n/39) an index per category would follow.
 * Undefined when nlist cannot give every non-empty category a list, or exceeds the items (the
 * caller then trains jointly).
 */
export function shareLists(nlist: number, counts: Int32Array): Int32Array | undefined {
  const cats = [...counts.keys()].filter((c) => (counts[c] as number) > 0);
  const items = cats.reduce((a, c) => a + (counts[c] as number), 0);
  if (cats.length === 0 || nlist < cats.length || nlist > items) return undefined;
  const share = new Int32Array(counts.length);
  for (const c of cats) share[c] = 1;
  let left = nlist - cats.length;
  for (const cap of [(c: number) => Math.max(1, Math.floor((counts[c] as number) / MIN_POINTS_PER_LIST)), (c: number) => counts[c] as number]) {
    left = fillUpTo(share, cats, (c) => Math.sqrt(counts[c] as number), cap, left);
  }
  return share;
}

/** Gives `left` more lists to `cats` by weight, none beyond its cap; largest remainder, ties to the lower category. Returns what could not be given. */
function fillUpTo(share: Int32Array, cats: readonly number[], weight: (c: number) => number, cap: (c: number) => number, left: number): number {
  while (left > 0) {
    const open = cats.filter((c) => (share[c] as number) < cap(c));
    if (open.length === 0) return left;
    const wsum = open.reduce((a, c) => a + weight(c), 0);
    const want = open.map((c) => Math.min(cap(c) - (share[c] as number), (left * weight(c)) / wsum));
    let given = 0;
    open.forEach((c, i) => {
      const whole = Math.floor(want[i] as number);
      share[c] = (share[c] as number) + whole;
      given += whole;
    });
    let rest = left - given;
    const byRemainder = open
      .map((c, i) => ({ c, r: (want[i] as number) - Math.floor(want[i] as number) }))
      .filter(({ c }) => (share[c] as number) < cap(c))
      .sort((a, b) => b.r - a.r || a.c - b.c);
    for (const { c } of byRemainder) {
      if (rest === 0) break;
      share[c] = (share[c] as number) + 1;
      rest--;
    }
    // Every open category at its cap, or every remainder zero with lists left: loop with the rest.
    if (rest === left) return left;
    left = rest;
  }
  return 0;
}

/**
 * One k-means per category over its unit vectors, concatenated category by category: list numbers
 * run through category 0's lists, then 1's, ... Trained as Faiss trains an inner-product IVF
 * (spherical k-means, 10 iterations, at most 256 evenly strided rows per list), so each category's
 * lists are the ones an IVF of that category alone would get; `trainRows`, when given, caps the
 * rows in all, shared out by category size (at least one per list).
 */
function categoryCentroids(
  unit: Float32Array,
  dim: number,
  itemCategory: Uint16Array,
  lists: Int32Array,
  trainRows: number | undefined,
): { centroids: Float32Array; listCategory: Uint16Array } {
  const n = itemCategory.length;
  const members: number[][] = Array.from({ length: lists.length }, () => []);
  for (let i = 0; i < n; i++) members[itemCategory[i] as number]!.push(i);
  const nlist = lists.reduce((a, x) => a + x, 0);
  const centroids = new Float32Array(nlist * dim);
  const listCategory = new Uint16Array(nlist);
  let at = 0;
  for (let c = 0; c < lists.length; c++) {
    const k = lists[c] as number;
    if (k === 0) continue;
    const ids = members[c] as number[];
    const cap = trainRows === undefined ? Infinity : Math.max(k, Math.round((trainRows * ids.length) / n));
    const take = Math.min(ids.length, MAX_POINTS_PER_LIST * k, cap);
    const rows = new Float32Array(take * dim);
    for (let r = 0; r < take; r++) {
      const i = ids[Math.floor((r * ids.length) / take)] as number;
      rows.set(unit.subarray(i * dim, (i + 1) * dim), r * dim);
    }
    centroids.set(kmeans(dim, k, rows, { spherical: true, niter: IVF_KMEANS_ITERATIONS, minPointsPerCentroid: 1 }).centroids, at * dim);
    listCategory.fill(c, at, at + k);
    at += k;
  }
  return { centroids, listCategory };
}

/**
 * The list each row goes to: the nearest of its own category's lists; a category with no list
 * (empty when the index was built) takes the nearest list of any category.
 */
function listsWithinCategories(index: VectorIndex, unit: Float32Array, dim: number, rowCategory: Uint16Array, listCategory: Uint16Array): Float64Array {
  const out = new Float64Array(rowCategory.length);
  const rowsOf = new Map<number, number[]>();
  rowCategory.forEach((c, i) => pushTo(rowsOf, c, i));
  const listsOf = new Map<number, number[]>();
  listCategory.forEach((c, l) => pushTo(listsOf, c, l));
  const every = Float64Array.from(listCategory.keys());
  for (const [c, rows] of rowsOf) {
    const own = listsOf.get(c);
    const x = new Float32Array(rows.length * dim);
    rows.forEach((i, r) => x.set(unit.subarray(i * dim, (i + 1) * dim), r * dim));
    const assigned = index.assignWithinLists(x, own ? Float64Array.from(own) : every);
    rows.forEach((i, r) => (out[i] = assigned[r] as number));
  }
  return out;
}
