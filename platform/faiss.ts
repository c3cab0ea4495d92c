import { existsSync } from 'node:fs';
import { types } from 'node:util';
import * as native from 'faiss-node';
import { CurioError } from './errors';

/**
 * Curio's only door to Faiss (faiss-node patched for Debian's Faiss 1.7.3, see
 * patches/faiss-node+0.5.1.patch). It takes Float32Arrays so vectors reach Faiss without
 * per-element copies, and it rejects malformed input here, with row numbers, because
 * Faiss itself would silently index NaN or misread a wrong-sized matrix.
 */

export type Metric = 'ip' | 'l2';

/** A batch of vectors: one flat row-major Float32Array (n * d), or one Float32Array per row. */
export type Vectors = Float32Array | readonly Float32Array[];

/** Labels for searchSubset. */
export type Ids = readonly number[] | Float64Array | BigInt64Array;

/**
 * k results per query, row-major (nq * k), best first. Where fewer than k results exist
 * (k > ntotal, an IVF probe reaching fewer vectors, a small subset) the row is padded with
 * label -1 and distance +3.4e38 (l2) or -3.4e38 (ip).
 */
export interface SearchResult {
  distances: Float32Array;
  /** Float64 so that -1 padding and ids up to 2^53 survive. */
  labels: Float64Array;
}

export interface KMeansOptions {
  /** Lloyd iterations (Faiss default 25). */
  niter?: number;
  /** Same seed, same data: same centroids (Faiss default 1234). */
  seed?: number;
  /** Unit-norm centroids, assignment by inner product. */
  spherical?: boolean;
  /** Training subsamples to k * this many points (Faiss default 256); all points are still assigned. */
  maxPointsPerCentroid?: number;
  /** Faiss warns on stderr below k * this many points (Faiss default 39). */
  minPointsPerCentroid?: number;
}

export interface KMeansResult {
  /** k * d. */
  centroids: Float32Array;
  /** Nearest final centroid of every input point. */
  assignments: Int32Array;
  /** Sum of squared L2 distances to the assigned centroids (lower is better); with `spherical`, sum of inner products (higher is better). */
  objective: number;
}

/** Any failure in this module: bad input caught here, or an error raised by Faiss. */
export class FaissError extends CurioError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { type: 'FaissError', retryable: true, cause: options?.cause });
  }
}

const METRICS: Record<Metric, native.MetricType> = {
  ip: native.MetricType.METRIC_INNER_PRODUCT,
  l2: native.MetricType.METRIC_L2,
};

/** Parameters Faiss reads as counts; ParameterSpace would silently truncate 2.5 or accept 0. */
const COUNT_PARAMETERS = new Set(['nprobe', 'efSearch']);

export class VectorIndex {
  // Index type never changes, so one successful probe answers for the instance's lifetime.
  private idSelectorSupport: boolean | undefined;

  private constructor(
    private readonly index: native.Index,
    /** The factory string, or where the index was read from: used in error messages. */
    readonly description: string,
  ) {}

  /** Exact inner-product search (Faiss "Flat" with METRIC_INNER_PRODUCT). */
  static flatIP(d: number): VectorIndex {
    return VectorIndex.fromFactory(d, 'Flat', 'ip');
  }

  /** Any Faiss index_factory string, e.g. 'Flat', 'IVF256,Flat', 'HNSW32', 'PCA64,IVF1024,Flat'. */
  static fromFactory(d: number, description: string, metric: Metric): VectorIndex {
    requirePositiveInteger(d, 'dimension');
    if (!(metric in METRICS)) throw new FaissError(`unknown metric '${String(metric)}' (expected 'ip' or 'l2')`);
    const index = callFaiss(`cannot create Faiss index "${description}" (d=${d}, ${metric})`, () =>
      native.Index.fromFactory(d, description, METRICS[metric]),
    );
    return new VectorIndex(index, description);
  }

  static read(path: string): VectorIndex {
    // Faiss would report this too, but buried in a C++ signature; say it plainly.
    if (!existsSync(path)) throw new FaissError(`cannot read Faiss index ${path}: file does not exist`);
    const index = callFaiss(`cannot read Faiss index ${path}`, () => native.Index.read(path));
    return new VectorIndex(index, path);
  }

  get ntotal(): number {
    return this.index.ntotal();
  }

  get dimension(): number {
    return this.index.getDimension();
  }

  get isTrained(): boolean {
    return this.index.isTrained();
  }

  /** Needed before add for IVF/PQ/PCA indexes; a no-op for Flat and HNSW. */
  train(x: Vectors): void {
    const m = checkedMatrix(x, this.dimension, 'train');
    callFaiss(`train on "${this.description}" failed`, () => this.index.train(m));
  }

  /** Appends vectors; they get labels ntotal .. ntotal + n - 1. */
  add(x: Vectors): void {
    const m = checkedMatrix(x, this.dimension, 'add');
    callFaiss(`add to "${this.description}" failed`, () => this.index.add(m));
  }

  /**
   * Removes every vector (the next add is labelled from 0 again). A Flat index keeps its allocation,
   * so an index refilled this way holds no more native memory than its largest fill; a new index per
   * fill instead holds each old one until V8 happens to collect its wrapper (faiss-node does not
   * report native memory to V8).
   */
  clear(): void {
    const n = this.ntotal;
    if (n === 0) return;
    callFaiss(`clearing "${this.description}" failed`, () => this.index.reset());
    if (this.ntotal !== 0) throw new FaissError(`clearing "${this.description}" left ${this.ntotal} of ${n} vectors`);
  }

  /** The k nearest neighbours of every query row. */
  search(queries: Vectors, k: number): SearchResult {
    const q = checkedMatrix(queries, this.dimension, 'search');
    requirePositiveInteger(k, 'k');
    return callFaiss(`search in "${this.description}" failed`, () => this.index.search(q, k));
  }

  /**
   * Like search, but only among `ids` (a Faiss IDSelector). Supported in Faiss 1.7.3 by Flat,
   * IVF*, HNSW*, SQ and PCA/OPQ wrappers of those; IDMap, PQ, LSH and Refine indexes throw.
   */
  searchSubset(queries: Vectors, k: number, ids: Ids): SearchResult {
    const q = checkedMatrix(queries, this.dimension, 'searchSubset');
    requirePositiveInteger(k, 'k');
    const labels = types.isFloat64Array(ids) || types.isBigInt64Array(ids) ? ids : checkedIds(ids as readonly number[]);
    return callFaiss(`searchSubset in "${this.description}" failed`, () => this.index.searchSubset(q, k, labels));
  }

  /** Whether searchSubset works on this index type, found by trying it. The index must be trained. */
  supportsIdSelector(): boolean {
    if (this.idSelectorSupport === undefined) {
      this.idSelectorSupport = callFaiss(`cannot probe IDSelector support of "${this.description}"`, () =>
        this.index.supportsIdSelector(),
      );
    }
    return this.idSelectorSupport;
  }

  /** A search-time knob through Faiss's ParameterSpace: 'nprobe' (IVF), 'efSearch' (HNSW), ... */
  setSearchParameter(name: string, value: number): void {
    if (!Number.isFinite(value)) throw new FaissError(`search parameter ${name} must be a finite number, got ${value}`);
    if (COUNT_PARAMETERS.has(name)) requirePositiveInteger(value, name);
    callFaiss(`cannot set search parameter ${name}=${value} on "${this.description}"`, () =>
      this.index.setSearchParameter(name, value),
    );
  }

  /**
   * Sets the coarse centroids (nlist rows) of an untrained 'IVF<nlist>,Flat' index, which then
   * counts as trained: lists chosen by the caller (one k-means per partition of the data, say)
   * instead of one k-means over everything.
   */
  setIvfCentroids(centroids: Float32Array): void {
    const m = checkedMatrix(centroids, this.dimension, 'setIvfCentroids');
    callFaiss(`cannot set the coarse centroids of "${this.description}"`, () => this.index.ivfSetCentroids(m));
  }

  /** The coarse centroids of an IVF index (nlist rows of the index's dimension). */
  ivfCentroids(): Float32Array {
    return callFaiss(`cannot read the coarse centroids of "${this.description}"`, () => this.index.ivfCentroids());
  }

  /**
   * IVF search probing only among `lists` (list numbers 0..nlist-1): each query's nprobe nearest of
   * them, then Faiss's search of those lists. Equal to `search` whenever a query's nprobe nearest
   * lists overall are among `lists`; cheaper by the centroids it does not score.
   */
  searchWithinLists(queries: Float32Array, k: number, lists: Float64Array, ids?: Ids): SearchResult {
    const q = checkedMatrix(queries, this.dimension, 'searchWithinLists');
    requirePositiveInteger(k, 'k');
    const among = ids === undefined || types.isFloat64Array(ids) || types.isBigInt64Array(ids) ? ids : checkedIds(ids as readonly number[]);
    return callFaiss(`searchWithinLists in "${this.description}" failed`, () =>
      among === undefined ? this.index.ivfSearchWithin(q, k, lists) : this.index.ivfSearchWithin(q, k, lists, among),
    );
  }

  /** For every row, the nearest of `lists` (list numbers) by the index's coarse metric. */
  assignWithinLists(x: Float32Array, lists: Float64Array): Float64Array {
    const m = checkedMatrix(x, this.dimension, 'assignWithinLists');
    return callFaiss(`assignWithinLists in "${this.description}" failed`, () => this.index.ivfAssignWithin(m, lists));
  }

  /** Appends rows to the IVF lists named (one list number per row) instead of each row's nearest list; labels as add. */
  addToLists(x: Float32Array, lists: Float64Array): void {
    const m = checkedMatrix(x, this.dimension, 'addToLists');
    callFaiss(`addToLists to "${this.description}" failed`, () => this.index.ivfAddPreassigned(m, lists));
  }

  /** Faiss's own file format: readable by VectorIndex.read and by Python's faiss.read_index. */
  write(path: string): void {
    callFaiss(`cannot write Faiss index to ${path}`, () => this.index.write(path));
  }
}

/** k-means with faiss::Clustering over n = x.length / d points, then every point assigned to its nearest centroid. */
export function kmeans(d: number, k: number, x: Vectors, opts: KMeansOptions = {}): KMeansResult {
  requirePositiveInteger(d, 'dimension');
  requirePositiveInteger(k, 'k');
  const m = checkedMatrix(x, d, 'kmeans');
  const n = m.length / d;
  if (n < k) throw new FaissError(`kmeans: ${n} points cannot make ${k} clusters`);
  return callFaiss('kmeans failed', () => native.kmeans(d, k, m, opts));
}

/** Faiss errors arrive as plain Errors with a C++ location; prefix what we were doing. */
function callFaiss<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof FaissError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new FaissError(`${context}: ${reason}`, { cause: err });
  }
}

function requirePositiveInteger(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1) throw new FaissError(`${what} must be a positive integer, got ${value}`);
}

/** Flattens and validates a batch: right dimension, no NaN/Infinity. */
function checkedMatrix(x: Vectors, d: number, what: string): Float32Array {
  // util.types, not instanceof: arrays made by native code or in another realm (jest's vm) count too.
  const m = types.isFloat32Array(x) ? x : concatRows(x as readonly Float32Array[], d, what);
  if (m.length % d !== 0) {
    const got =
      m.length < d
        ? `a vector of dimension ${m.length}`
        : `${m.length} values, which is not a whole number of rows of dimension ${d}`;
    throw new FaissError(`${what}: dimension mismatch: expected dimension ${d}, got ${got}`);
  }
  assertFinite(m, d, what);
  return m;
}

function concatRows(rows: readonly Float32Array[], d: number, what: string): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((row, i) => {
    if (row.length !== d) {
      throw new FaissError(`${what}: dimension mismatch: expected dimension ${d}, got ${row.length} in row ${i}`);
    }
    out.set(row, i * d);
  });
  return out;
}

// Faiss indexes NaN without complaint and then returns garbage neighbours for every query.
function assertFinite(m: Float32Array, d: number, what: string): void {
  for (let i = 0; i < m.length; i++) {
    const v = m[i]!;
    if (!Number.isFinite(v)) {
      throw new FaissError(`${what}: row ${Math.floor(i / d)} contains ${v} (column ${i % d})`);
    }
  }
}

function checkedIds(ids: readonly number[]): Float64Array {
  const out = Float64Array.from(ids);
  const bad = out.findIndex((id) => !Number.isSafeInteger(id) || id < 0);
  if (bad >= 0) throw new FaissError(`ids[${bad}] is not a valid label: ${out[bad]}`);
  return out;
}
