import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { types } from 'node:util';
import * as faissNode from 'faiss-node';
import { FaissError, kmeans, VectorIndex, type SearchResult } from '../platform/faiss';

// Real Faiss (Debian 1.7.3) throughout: these tests exist to catch what the library actually does.

/** Small seeded PRNG so every run sees the same data. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

function randomMatrix(n: number, d: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n * d }, () => gaussian(rng));
}

/** n points around `clusters` well separated centres. */
function clusteredMatrix(n: number, d: number, clusters: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  const centres = Float32Array.from({ length: clusters * d }, () => 10 * gaussian(rng));
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rng() * clusters);
    for (let j = 0; j < d; j++) x[i * d + j] = centres[c * d + j]! + gaussian(rng);
  }
  return x;
}

const row = (m: Float32Array, d: number, i: number): Float32Array => m.subarray(i * d, (i + 1) * d);

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function l2sq(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

/** Exact top-k labels per query by brute force; `among` restricts the candidates. */
function bruteForce(
  xb: Float32Array,
  xq: Float32Array,
  d: number,
  k: number,
  metric: 'ip' | 'l2',
  among?: readonly number[],
): number[][] {
  const candidates = among ?? Array.from({ length: xb.length / d }, (_, i) => i);
  const out: number[][] = [];
  for (let q = 0; q < xq.length / d; q++) {
    const query = row(xq, d, q);
    const scored = candidates.map((id) => ({
      id,
      // Sort ascending: negate inner products so "best first" is uniform.
      key: metric === 'ip' ? -dot(row(xb, d, id), query) : l2sq(row(xb, d, id), query),
    }));
    scored.sort((a, b) => a.key - b.key);
    out.push(scored.slice(0, k).map((s) => s.id));
  }
  return out;
}

function labelRows(res: SearchResult, k: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < res.labels.length; i += k) rows.push(Array.from(res.labels.subarray(i, i + k)));
  return rows;
}

/** Fraction of the exact top-k that the approximate top-k found. */
function recall(approx: number[][], exact: number[][]): number {
  let hit = 0;
  let total = 0;
  exact.forEach((truth, i) => {
    const found = new Set(approx[i]);
    hit += truth.filter((id) => found.has(id)).length;
    total += truth.length;
  });
  return hit / total;
}

describe('VectorIndex flat search', () => {
  const d = 32;
  const xb = randomMatrix(2000, d, 1);

  it.each([1, 25])('equals brute-force inner-product top-k (%i queries)', (nq) => {
    // nq >= 20 takes Faiss's BLAS path, fewer the sequential one: check both.
    const xq = randomMatrix(nq, d, 2);
    const index = VectorIndex.flatIP(d);
    index.add(xb);
    const res = index.search(xq, 10);
    // Made by native code in Node's main realm, so instanceof against jest's globals would fail.
    expect(types.isFloat32Array(res.distances)).toBe(true);
    expect(types.isFloat64Array(res.labels)).toBe(true);
    expect(labelRows(res, 10)).toEqual(bruteForce(xb, xq, d, 10, 'ip'));
    const top = res.labels[0]!;
    expect(res.distances[0]).toBeCloseTo(dot(row(xb, d, top), row(xq, d, 0)), 3);
  });

  it('accepts one Float32Array per row as well as a flat matrix', () => {
    const index = VectorIndex.flatIP(d);
    index.add(Array.from({ length: 100 }, (_, i) => row(xb, d, i)));
    const flat = VectorIndex.flatIP(d);
    flat.add(xb.subarray(0, 100 * d));
    const q = [row(xb, d, 7), row(xb, d, 8)];
    expect(index.search(q, 5)).toEqual(flat.search(xb.subarray(7 * d, 9 * d), 5));
  });

  it('pads with label -1 when k > ntotal', () => {
    const index = VectorIndex.flatIP(4);
    index.add(new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]));
    const res = index.search(new Float32Array([1, 0.5, 0.2, 0]), 5);
    expect(Array.from(res.labels)).toEqual([0, 1, 2, -1, -1]);
    expect(res.distances[3]).toBeLessThan(-1e38);

    // Faiss 1.7.3 answers k=1 on an empty L2 index with label 0; the binding maps it to -1.
    const empty = VectorIndex.fromFactory(4, 'Flat', 'l2');
    expect(Array.from(empty.search(new Float32Array(4), 1).labels)).toEqual([-1]);
  });
});

describe('faiss-node binding (patched)', () => {
  it('gives the same neighbours for number[] and Float32Array input, in the old and typed shapes', () => {
    const d = 8;
    const xb = randomMatrix(300, d, 3);
    const xq = randomMatrix(4, d, 4);
    const fromArray = new faissNode.IndexFlatIP(d);
    fromArray.add(Array.from(xb));
    const fromTyped = new faissNode.IndexFlatIP(d);
    fromTyped.add(xb);

    const plain = fromArray.search(Array.from(xq), 6);
    const typed = fromTyped.search(xq, 6);
    expect(Array.isArray(plain.labels)).toBe(true);
    expect(Array.isArray(plain.distances)).toBe(true);
    expect(types.isFloat64Array(typed.labels)).toBe(true);
    expect(types.isFloat32Array(typed.distances)).toBe(true);
    expect(Array.from(typed.labels)).toEqual(plain.labels);
    expect(Array.from(typed.distances)).toEqual(plain.distances);
  });

  it('throws JS errors instead of crashing on misuse', () => {
    const idx = new faissNode.Index(4);
    expect(() => idx.search([1, 2, 3], 1)).toThrow(/length 3 is not a multiple of the index dimension 4/);
    expect(() => idx.search([1, 2, 3, 4], 0)).toThrow(/k must be an integer/);
    expect(() => idx.add(new Float64Array(4) as unknown as Float32Array)).toThrow(/Float32Array/);
    // An instance without a dimension used to dereference a null index.
    const bare = new (faissNode.Index as unknown as new () => faissNode.Index)();
    expect(() => bare.ntotal()).toThrow(/not initialized/);
    expect(() => faissNode.Index.fromFactory(4, 'NoSuchIndex')).toThrow(/could not parse|NoSuchIndex/);
    expect(() => idx.write('/nonexistent-dir/x.faiss')).toThrow(/could not open/);
    const buf = new faissNode.IndexFlatL2(2);
    buf.add([1, 2, 3, 4]);
    expect(faissNode.IndexFlatL2.fromBuffer(buf.toBuffer()).ntotal()).toBe(2);
    expect(() => faissNode.Index.fromBuffer(Buffer.from('garbage'))).toThrow(/not recognized/);
  });
});

describe('IVF', () => {
  const d = 16;
  const nlist = 32;
  const xb = clusteredMatrix(4000, d, 40, 5);
  const xq = clusteredMatrix(50, d, 40, 5 + 100).map((v, i) => v + (i % 3)); // off-centre queries
  const k = 20;

  function ivf(): VectorIndex {
    const index = VectorIndex.fromFactory(d, `IVF${nlist},Flat`, 'l2');
    expect(index.isTrained).toBe(false);
    index.train(xb);
    index.add(xb);
    return index;
  }

  it('with nprobe = nlist equals exact search; with nprobe = 1 it misses some neighbours', () => {
    const exact = bruteForce(xb, xq, d, k, 'l2');
    const index = ivf();
    index.setSearchParameter('nprobe', nlist);
    expect(labelRows(index.search(xq, k), k)).toEqual(exact);

    index.setSearchParameter('nprobe', 1);
    const r1 = recall(labelRows(index.search(xq, k), k), exact);
    console.log(`IVF${nlist},Flat recall@${k} with nprobe=1: ${r1.toFixed(3)} (nprobe=${nlist}: 1.000)`);
    expect(r1).toBeLessThan(1);
    expect(r1).toBeGreaterThan(0);
  });

  it('rejects parameters the index does not have', () => {
    expect(() => VectorIndex.flatIP(4).setSearchParameter('nprobe', 4)).toThrow(
      /cannot set search parameter nprobe=4 on "Flat".*could not set parameter nprobe/,
    );
    expect(() => ivf().setSearchParameter('nprobe', 0)).toThrow(/nprobe must be a positive integer, got 0/);
  });

  it('clear() empties the index but keeps it trained, so it can be refilled for another query set', () => {
    const index = ivf();
    index.setSearchParameter('nprobe', nlist);
    index.clear();
    expect(index.ntotal).toBe(0);
    expect(index.isTrained).toBe(true);
    expect(Array.from(index.search(xq.subarray(0, d), 1).labels)).toEqual([-1]);
    const half = xb.subarray(0, 2000 * d);
    index.add(half);
    expect(index.ntotal).toBe(2000);
    expect(labelRows(index.search(xq, k), k)).toEqual(bruteForce(half, xq, d, k, 'l2'));
  });

  it('removeIds removes exactly the given labels, also when they are most of the index', () => {
    const index = faissNode.Index.fromFactory(d, `IVF${nlist},Flat`);
    index.train(xb);
    index.add(xb);
    index.setSearchParameter('nprobe', nlist);
    expect(index.removeIds(Float64Array.from({ length: 3000 }, (_, i) => i))).toBe(3000);
    expect(index.ntotal()).toBe(1000);
    const labels = Array.from(index.search(xq, k).labels);
    expect(labels).toHaveLength(xq.length / d * k);
    for (const label of labels) expect(label).toBeGreaterThanOrEqual(3000);
    expect(index.removeIds([3000, 3000, 5, 9999])).toBe(1);
  });
});

describe('IVF with lists the caller chose (setIvfCentroids, searchWithinLists)', () => {
  const d = 8;
  const nlist = 12;
  const xb = clusteredMatrix(3000, d, 12, 21);
  const xq = clusteredMatrix(40, d, 12, 22);
  const k = 10;
  const centroids = kmeans(d, nlist, xb, { seed: 3 }).centroids;

  function withCentroids(metric: 'ip' | 'l2'): VectorIndex {
    const index = VectorIndex.fromFactory(d, `IVF${nlist},Flat`, metric);
    index.setIvfCentroids(centroids);
    expect(index.isTrained).toBe(true);
    index.add(xb);
    return index;
  }

  /** The list Faiss files each vector under: its best centroid by the index's metric. */
  function listOf(x: Float32Array, i: number, metric: 'ip' | 'l2'): number {
    let best = -1;
    let bestScore = Infinity;
    for (let l = 0; l < nlist; l++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += metric === 'ip' ? -x[i * d + j]! * centroids[l * d + j]! : (x[i * d + j]! - centroids[l * d + j]!) ** 2;
      if (s < bestScore) [best, bestScore] = [l, s];
    }
    return best;
  }

  it('keeps the centroids it is given, and with every list probed equals exact search', () => {
    for (const metric of ['ip', 'l2'] as const) {
      const index = withCentroids(metric);
      expect(Array.from(index.ivfCentroids())).toEqual(Array.from(centroids));
      index.setSearchParameter('nprobe', nlist);
      const all = Float64Array.from({ length: nlist }, (_, l) => l);
      expect(labelRows(index.searchWithinLists(xq, k, all), k)).toEqual(bruteForce(xb, xq, d, k, metric));
      expect(labelRows(index.searchWithinLists(xq, k, all), k)).toEqual(labelRows(index.search(xq, k), k));
    }
  });

  it('probes only the given lists: answers are exact among the vectors filed under them', () => {
    for (const metric of ['ip', 'l2'] as const) {
      const index = withCentroids(metric);
      index.setSearchParameter('nprobe', nlist); // more than given: every given list is probed
      const lists = [1, 4, 7];
      const inLists = Array.from({ length: 3000 }, (_, i) => i).filter((i) => lists.includes(listOf(xb, i, metric)));
      expect(inLists.length).toBeGreaterThan(k);
      const sub = new Float32Array(inLists.length * d);
      inLists.forEach((i, r) => sub.set(xb.subarray(i * d, (i + 1) * d), r * d));
      const want = bruteForce(sub, xq, d, k, metric).map((r) => r.map((l) => inLists[l]));
      expect(labelRows(index.searchWithinLists(xq, k, Float64Array.from(lists)), k)).toEqual(want);
    }
  });

  it('with nprobe below the given lists, probes each query\'s nearest of them, as plain search does among all', () => {
    const index = withCentroids('l2');
    index.setSearchParameter('nprobe', 2);
    const all = Float64Array.from({ length: nlist }, (_, l) => l);
    expect(labelRows(index.searchWithinLists(xq, k, all), k)).toEqual(labelRows(index.search(xq, k), k));
  });

  it('rejects what it cannot do, naming the reason', () => {
    expect(() => withCentroids('l2').setIvfCentroids(centroids)).toThrow(/already trained/);
    expect(() => VectorIndex.fromFactory(d, `IVF${nlist},Flat`, 'l2').setIvfCentroids(centroids.subarray(0, 3 * d))).toThrow(/3 centroids for an index of 12 lists/);
    expect(() => VectorIndex.fromFactory(d, `IVF${nlist},PQ2`, 'l2').setIvfCentroids(centroids)).toThrow(/only IVF...,Flat/);
    expect(() => VectorIndex.flatIP(d).ivfCentroids()).toThrow(/not an IVF index/);
    expect(() => VectorIndex.flatIP(d).searchWithinLists(xq, k, Float64Array.of(0))).toThrow(/not an IVF index/);
    expect(() => withCentroids('l2').searchWithinLists(xq, k, Float64Array.of(0, 12))).toThrow(/lists\[1\] = 12 is not a list of this index \(0..11\)/);
    // No list given: nothing found, padded as Faiss pads.
    expect(Array.from(withCentroids('l2').searchWithinLists(xq.subarray(0, d), 2, new Float64Array(0)).labels)).toEqual([-1, -1]);
  });
});

describe('HNSW', () => {
  it('efSearch trades speed for recall', () => {
    const d = 32;
    const xb = randomMatrix(5000, d, 6);
    const xq = randomMatrix(100, d, 7);
    const k = 10;
    const exact = bruteForce(xb, xq, d, k, 'l2');
    const index = VectorIndex.fromFactory(d, 'HNSW16', 'l2');
    index.add(xb);

    index.setSearchParameter('efSearch', 10);
    const low = labelRows(index.search(xq, k), k);
    index.setSearchParameter('efSearch', 256);
    const high = labelRows(index.search(xq, k), k);
    const rLow = recall(low, exact);
    const rHigh = recall(high, exact);
    console.log(`HNSW16 recall@${k}: efSearch=10 ${rLow.toFixed(3)}, efSearch=256 ${rHigh.toFixed(3)}`);
    expect(high).not.toEqual(low);
    expect(rHigh).toBeGreaterThan(rLow);
    expect(rHigh).toBeGreaterThan(0.9);
  });
});

describe('searchSubset (IDSelector)', () => {
  const d = 16;
  const xb = clusteredMatrix(3000, d, 30, 8);
  const xq = randomMatrix(10, d, 9).map((v) => 5 * v);
  const rng = mulberry32(10);
  const subset = Array.from(new Set(Array.from({ length: 300 }, () => Math.floor(rng() * 3000)))).sort(
    (a, b) => a - b,
  );
  const k = 8;

  it('on a flat index equals brute force restricted to the subset', () => {
    for (const metric of ['ip', 'l2'] as const) {
      const index = VectorIndex.fromFactory(d, 'Flat', metric);
      index.add(xb);
      expect(index.supportsIdSelector()).toBe(true);
      const res = index.searchSubset(xq, k, subset);
      expect(labelRows(res, k)).toEqual(bruteForce(xb, xq, d, k, metric, subset));
    }
  });

  it('on IVF (nprobe = nlist) equals brute force restricted to the subset, also through a PCA transform', () => {
    const index = VectorIndex.fromFactory(d, 'IVF16,Flat', 'l2');
    index.train(xb);
    index.add(xb);
    index.setSearchParameter('nprobe', 16);
    expect(index.supportsIdSelector()).toBe(true);
    // Float64Array ids take the same path as number[].
    const res = index.searchSubset(xq, k, Float64Array.from(subset));
    expect(labelRows(res, k)).toEqual(bruteForce(xb, xq, d, k, 'l2', subset));

    const pca = VectorIndex.fromFactory(d, 'PCA8,IVF16,Flat', 'l2');
    pca.train(xb);
    pca.add(xb);
    pca.setSearchParameter('nprobe', 16);
    expect(pca.supportsIdSelector()).toBe(true);
    const allowed = new Set(subset);
    expect(Array.from(pca.searchSubset(xq, k, subset).labels).every((l) => allowed.has(l))).toBe(true);
  });

  it('on HNSW returns only subset members (approximate, recall reported)', () => {
    const index = VectorIndex.fromFactory(d, 'HNSW32', 'l2');
    index.add(xb);
    index.setSearchParameter('efSearch', 128);
    expect(index.supportsIdSelector()).toBe(true);
    const res = index.searchSubset(xq, k, subset);
    const allowed = new Set(subset);
    expect(Array.from(res.labels).every((l) => l === -1 || allowed.has(l))).toBe(true);
    const r = recall(labelRows(res, k), bruteForce(xb, xq, d, k, 'l2', subset));
    console.log(`HNSW32 searchSubset recall@${k} over ${subset.length} ids: ${r.toFixed(3)}`);
    expect(r).toBeGreaterThan(0.5);
  });

  it('pads with -1 when the subset has fewer than k members', () => {
    const index = VectorIndex.fromFactory(d, 'Flat', 'l2');
    index.add(xb);
    expect(Array.from(index.searchSubset(row(xq, d, 0), 3, [5, 9]).labels.slice(2))).toEqual([-1]);
    expect(Array.from(index.searchSubset(row(xq, d, 0), 1, []).labels)).toEqual([-1]);
  });

  it('reports and surfaces index types that cannot honour a selector in Faiss 1.7.3', () => {
    const lsh = VectorIndex.fromFactory(d, 'LSH', 'l2');
    lsh.add(xb);
    expect(lsh.supportsIdSelector()).toBe(false);
    expect(() => lsh.searchSubset(xq, k, subset)).toThrow(/searchSubset in "LSH" failed: .*not supported/);
    const idmap = VectorIndex.fromFactory(d, 'IDMap,Flat', 'l2');
    expect(idmap.supportsIdSelector()).toBe(false);
    expect(() => VectorIndex.fromFactory(d, 'IVF16,Flat', 'l2').supportsIdSelector()).toThrow(/train the index first/);
  });
});

describe('kmeans', () => {
  const d = 8;
  const k = 10;
  const x = clusteredMatrix(2000, d, k, 11);

  function nearest(centroids: Float32Array, p: Float32Array): number {
    let best = 0;
    for (let c = 1; c < k; c++) if (l2sq(row(centroids, d, c), p) < l2sq(row(centroids, d, best), p)) best = c;
    return best;
  }

  function objectiveOf(centroids: Float32Array): number {
    let s = 0;
    for (let i = 0; i < x.length / d; i++) s += l2sq(row(centroids, d, nearest(centroids, row(x, d, i))), row(x, d, i));
    return s;
  }

  it('is deterministic for a seed and differs across seeds', () => {
    const a = kmeans(d, k, x, { niter: 10, seed: 42 });
    const b = kmeans(d, k, x, { niter: 10, seed: 42 });
    const c = kmeans(d, k, x, { niter: 1, seed: 7 });
    expect(a.centroids).toEqual(b.centroids);
    expect(a.assignments).toEqual(b.assignments);
    expect(a.objective).toBe(b.objective);
    expect(c.centroids).not.toEqual(a.centroids);
  });

  it('assigns every point to its nearest centroid and reports that objective', () => {
    const r = kmeans(d, k, x, { niter: 5, seed: 1, maxPointsPerCentroid: 50 }); // trains on a 500-point sample
    expect(r.centroids).toHaveLength(k * d);
    expect(r.assignments).toHaveLength(x.length / d);
    for (let i = 0; i < x.length / d; i++) {
      const p = row(x, d, i);
      const assigned = l2sq(row(r.centroids, d, r.assignments[i]!), p);
      expect(assigned).toBeLessThanOrEqual(l2sq(row(r.centroids, d, nearest(r.centroids, p)), p) * (1 + 1e-5) + 1e-5);
    }
    expect(r.objective / objectiveOf(r.centroids)).toBeCloseTo(1, 4);
  });

  it('improves with iterations and beats random centroids', () => {
    const one = kmeans(d, k, x, { niter: 1, seed: 3 });
    const many = kmeans(d, k, x, { niter: 25, seed: 3 });
    const rng = mulberry32(12);
    const random = new Float32Array(k * d);
    for (let c = 0; c < k; c++) random.set(row(x, d, Math.floor(rng() * (x.length / d))), c * d);
    console.log(
      `kmeans objective: random centroids ${objectiveOf(random).toFixed(0)}, niter=1 ${one.objective.toFixed(0)}, niter=25 ${many.objective.toFixed(0)}`,
    );
    expect(many.objective).toBeLessThanOrEqual(one.objective);
    expect(many.objective).toBeLessThan(objectiveOf(random));
  });

  it('spherical k-means gives unit-norm centroids', () => {
    const r = kmeans(d, k, x, { spherical: true, seed: 5, minPointsPerCentroid: 1 });
    for (let c = 0; c < k; c++) expect(Math.sqrt(dot(row(r.centroids, d, c), row(r.centroids, d, c)))).toBeCloseTo(1, 4);
  });

  it('rejects bad input with clear errors', () => {
    expect(() => kmeans(d, 3000, x)).toThrow(/2000 points cannot make 3000 clusters/);
    expect(() => kmeans(d, k, x.subarray(0, 2001))).toThrow(/expected dimension 8/);
    expect(() => kmeans(d, k, x, { niter: 1.5 })).toThrow(/niter/);
  });
});

describe('persistence', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'curio-faiss-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const d = 16;
  const xb = clusteredMatrix(2000, d, 20, 13);
  const xq = randomMatrix(5, d, 14);

  it.each([
    ['Flat', 'ip'],
    ['IVF16,Flat', 'l2'],
    ['HNSW16', 'l2'],
  ] as const)('write -> read round trip of %s (%s) gives identical search results', (description, metric) => {
    const index = VectorIndex.fromFactory(d, description, metric);
    index.train(xb);
    index.add(xb);
    if (description.startsWith('IVF')) index.setSearchParameter('nprobe', 4);
    const path = join(dir, `${description.replace(/,/g, '_')}.faiss`);
    index.write(path);
    const back = VectorIndex.read(path);
    expect(back.ntotal).toBe(2000);
    expect(back.dimension).toBe(d);
    expect(back.search(xq, 10)).toEqual(index.search(xq, 10));
  });

  it("is readable by Python's faiss, which finds the same neighbours", () => {
    const index = VectorIndex.flatIP(d);
    index.add(xb);
    const path = join(dir, 'for-python.faiss');
    index.write(path);
    const script = [
      'import json, sys, faiss, numpy as np',
      'index = faiss.read_index(sys.argv[1])',
      'q = np.array(json.loads(sys.argv[2]), dtype="float32").reshape(-1, index.d)',
      'D, I = index.search(q, 5)',
      'print(json.dumps({"ntotal": index.ntotal, "labels": I.tolist()}))',
    ].join('\n');
    const out = execFileSync('/usr/bin/python3', ['-c', script, path, JSON.stringify(Array.from(xq))], {
      encoding: 'utf8',
    });
    const py = JSON.parse(out) as { ntotal: number; labels: number[][] };
    expect(py.ntotal).toBe(2000);
    expect(py.labels).toEqual(labelRows(index.search(xq, 5), 5));
  });

  it('names the path when the file is missing or not an index', () => {
    const missing = join(dir, 'missing.faiss');
    expect(() => VectorIndex.read(missing)).toThrow(new FaissError(`cannot read Faiss index ${missing}: file does not exist`));
    expect(() => VectorIndex.flatIP(4).write(join(dir, 'no', 'such', 'dir.faiss'))).toThrow(
      /cannot write Faiss index to .*no\/such\/dir\.faiss/,
    );
  });
});

describe('input validation', () => {
  const index = VectorIndex.flatIP(4);
  index.add(new Float32Array([1, 0, 0, 0, 0, 1, 0, 0]));

  it('names expected and actual dimension', () => {
    expect(() => index.search(new Float32Array(3), 1)).toThrow(
      'search: dimension mismatch: expected dimension 4, got a vector of dimension 3',
    );
    expect(() => index.add(new Float32Array(10))).toThrow(
      'add: dimension mismatch: expected dimension 4, got 10 values, which is not a whole number of rows of dimension 4',
    );
    expect(() => index.add([new Float32Array(4), new Float32Array(5)])).toThrow(
      'add: dimension mismatch: expected dimension 4, got 5 in row 1',
    );
  });

  it('rejects NaN and Infinity, naming the row', () => {
    const bad = new Float32Array(12);
    bad[9] = NaN;
    expect(() => index.add(bad)).toThrow('add: row 2 contains NaN (column 1)');
    expect(() => index.search(new Float32Array([0, 0, Infinity, 0]), 1)).toThrow('search: row 0 contains Infinity (column 2)');
    expect(index.ntotal).toBe(2);
  });

  it('rejects bad k and ids, and faiss errors leave the process and the index usable', () => {
    expect(() => index.search(new Float32Array(4), 0)).toThrow('k must be a positive integer, got 0');
    expect(() => index.searchSubset(new Float32Array(4), 1, [1.5])).toThrow('ids[0] is not a valid label: 1.5');
    const ivf = VectorIndex.fromFactory(4, 'IVF8,Flat', 'l2');
    expect(() => ivf.add(new Float32Array(8))).toThrow(/add to "IVF8,Flat" failed: .*is_trained/);
    expect(() => ivf.train(new Float32Array(8))).toThrow(FaissError); // fewer points than centroids
    expect(() => VectorIndex.fromFactory(4, 'Flat', 'cosine' as 'ip')).toThrow(/unknown metric 'cosine'/);
    expect(Array.from(index.search(new Float32Array([0, 1, 0, 0]), 1).labels)).toEqual([1]);
  });
});
