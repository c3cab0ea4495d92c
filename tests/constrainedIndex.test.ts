import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConstrainedIndex,
  ConstrainedIndexError,
  deriveOffset,
  INDEX_FILE,
  MAP_FILE,
  normaliseRows,
  shareLists,
  type ConstrainedHits,
} from '../retrieval/constrainedIndex';
import { categorisedItems, exactTopK, randomQueries } from './helpers/retrievalFixtures';

// Real Faiss throughout. Exactness is checked against a float64 brute force; two items whose inner
// products differ by less than float32 can resolve near the offset (~5e-7) may legitimately swap,
// so rankings are compared by score with that tolerance, and labels must match everywhere else.
const TIE = 2e-6;

const items = categorisedItems(3000, 16, 11);
// A category with only three items, for "k larger than the category".
items.itemCategories[5] = items.itemCategories[17] = items.itemCategories[2900] = 'rare';
const unit = normaliseRows(items.vectors, items.dim);
const categories = [...new Set(items.itemCategories)].sort();
const queries = randomQueries(25, items.dim, 12);

/** Exact float64 inner product of item i with the normalised query. */
function exactScore(i: number, query: Float32Array): number {
  return exactTopK(unit, items.dim, query, 1, (j) => j === i).score[0] as number;
}

/** Got equals exact top-k: same length, same scores rank by rank, labels equal except within ties. */
function expectExact(got: ConstrainedHits, exact: { idx: number[]; score: number[] }, query: Float32Array): void {
  expect(got.itemIdx.length).toBe(exact.idx.length);
  exact.idx.forEach((id, r) => {
    expect(Math.abs((got.scores[r] as number) - (exact.score[r] as number))).toBeLessThan(TIE);
    // Only a near-tie may swap: what we got at rank r must score (exactly) what rank r scores.
    if (got.itemIdx[r] !== id) expect(Math.abs(exactScore(got.itemIdx[r] as number, query) - (exact.score[r] as number))).toBeLessThan(TIE);
  });
}

describe('constrained index: the offset trick', () => {
  const flat = ConstrainedIndex.build({ ...items, categories });

  it('derives M = 4 for unit vectors: twice the separation bound of 2, a power of two', () => {
    expect(flat.offset).toBe(4);
    expect(deriveOffset(1, 64, 12)).toBe(4);
    // Item norms up to 3 against unit queries: inner products up to 3, the bound 6, M the next power of two above 1.5 × 6.
    expect(deriveOffset(3, 64, 12)).toBe(16);
  });

  it.each([
    ['one query at a time (Faiss\'s sequential path)', 1],
    ['all queries in one batch (Faiss\'s BLAS path, >= 20 queries)', queries.length],
  ])('flat: returns exactly the brute-force top-K within every category, and overall with a zero category part: %s', (_, perCall) => {
    const k = 20;
    const wanted = [...categories, null];
    let compared = 0;
    for (let from = 0; from < queries.length; from += perCall) {
      const qs = queries.slice(from, from + perCall);
      const batch = flat.searchBatch(
        qs.flatMap((q) => wanted.map(() => q)),
        k,
        qs.flatMap(() => wanted),
      );
      qs.forEach((q, qi) => {
        wanted.forEach((c, ci) => {
          const got = batch[qi * wanted.length + ci] as ConstrainedHits;
          expectExact(got, exactTopK(unit, items.dim, q, k, (i) => c === null || items.itemCategories[i] === c), q);
          if (c !== null) for (const id of got.itemIdx) expect(items.itemCategories[id]).toBe(c);
          compared++;
        });
      });
    }
    expect(compared).toBe(queries.length * wanted.length);
  });

  it('ranks the worst same-category item above the best item of any other category', () => {
    // Antipodal vectors: the only 'a' item has inner product -1 with the query, the 'b' item +1.
    const idx = ConstrainedIndex.build({
      dim: 3,
      vectors: new Float32Array([-1, 0, 0, 1, 0, 0, 0, 1, 0]),
      itemIds: ['worst-a', 'best-b', 'mid-b'],
      itemCategories: ['a', 'b', 'b'],
    });
    const hits = idx.search(new Float32Array([1, 0, 0]), 3, 'a');
    expect(Array.from(hits.itemIdx)).toEqual([0]);
    expect(hits.scores[0]).toBeCloseTo(-1, 5);
    expect(Array.from(idx.search(new Float32Array([1, 0, 0]), 3, null).itemIdx)).toEqual([1, 2, 0]);
  });

  it('returns fewer than K when the category is smaller, reports the shortfall and never pads with other categories', () => {
    const hits = flat.search(queries[0] as Float32Array, 10, 'rare');
    expect(Array.from(hits.itemIdx).sort((a, b) => a - b)).toEqual([5, 17, 2900]);
    expect(hits.requested).toBe(10);
    expect(hits.shortfall).toBe(7);
    expect(flat.categorySize('rare')).toBe(3);
  });

  it("adds a large catalogue's lots in one call (300k ids, more than a call's arguments may spread)", () => {
    const grown = ConstrainedIndex.build({ ...items, categories });
    const n = 300_000;
    const vectors = new Float32Array(n * items.dim);
    // Every added lot points along the first axis except the last, which is the query itself.
    for (let i = 0; i < n; i++) vectors[i * items.dim] = 1;
    const query = queries[0] as Float32Array;
    vectors.set(query, (n - 1) * items.dim);
    grown.add({ vectors, itemIds: Array.from({ length: n }, (_, i) => `bulk-${i}`), itemCategories: Array.from({ length: n }, () => 'rare') });
    expect(grown.size).toBe(items.itemIds.length + n);
    expect(grown.categorySize('rare')).toBe(3 + n);
    const hit = grown.search(query, 1, 'rare').itemIdx[0] as number;
    expect(hit).toBe(items.itemIds.length + n - 1);
    expect(grown.itemIds[hit]).toBe(`bulk-${n - 1}`);
  });

  it('searches only among a subset (the live auctions) with an IDSelector, exactly', () => {
    const among = Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 7 === 3);
    const allowed = new Set(among);
    for (const q of queries.slice(0, 5)) {
      const c = 'jade';
      const got = flat.search(q, 15, c, { among: Float64Array.from(among) });
      expectExact(got, exactTopK(unit, items.dim, q, 15, (i) => allowed.has(i) && items.itemCategories[i] === c), q);
    }
  });

  it('searches a subset holding most of the items (over-fetch and filter, selector where short) exactly too', () => {
    // Every item but every 9th, and one of the three rare ones: dense enough for the over-fetch path.
    const among = Float64Array.from(Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 9 !== 4 && i !== 17));
    const allowed = new Set(among);
    for (const q of queries.slice(0, 8)) {
      for (const c of [null, 'jade', 'rare']) {
        for (const k of [5, 60, 400]) {
          const got = flat.search(q, k, c, { among });
          expectExact(got, exactTopK(unit, items.dim, q, k, (i) => allowed.has(i) && (c === null || items.itemCategories[i] === c)), q);
        }
      }
    }
    // The rare category keeps 2 eligible members: the answer is those 2, never padded.
    expect(Array.from(flat.search(queries[0] as Float32Array, 10, 'rare', { among }).itemIdx).sort((a, b) => a - b)).toEqual([5, 2900]);
  });

  it('answers many queries at once (each its own k, category and subset) exactly, as each alone', () => {
    // 25 queries x 3 kinds = 75 > Faiss's BLAS threshold: the batched paths run, not single scans.
    const sparse = Float64Array.from(Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 11 === 2 || i === 5));
    const dense = Float64Array.from(Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 9 !== 4));
    const specs = queries.flatMap((query, j) => [
      { query, k: 5 + j, category: null },
      { query, k: 20, category: j % 2 ? 'jade' : 'rare', among: sparse },
      { query, k: 3 + (j % 4), category: j % 3 ? null : 'tea', among: dense },
    ]);
    const got = flat.searchMany(specs);
    specs.forEach((s, q) => {
      const allowed = s.among ? new Set(s.among) : undefined;
      const exact = exactTopK(unit, items.dim, s.query, s.k, (i) => (allowed === undefined || allowed.has(i)) && (s.category === null || items.itemCategories[i] === s.category));
      expectExact(got[q] as ConstrainedHits, exact, s.query);
      expect(got[q]?.requested).toBe(s.k);
      expect(got[q]?.shortfall).toBe(s.k - exact.idx.length);
      const alone = flat.search(s.query, s.k, s.category, s.among ? { among: s.among } : {});
      expect(Array.from(got[q]?.itemIdx ?? [])).toEqual(Array.from(alone.itemIdx));
    });
  });

  it('orders lots of equal score by item_idx, alone and in a batch', () => {
    // Twins (the same attributes, the same vector): six copies of item 40's vector in its category.
    const twins = [2990, 40, 1500, 7, 2222, 903];
    const vectors = Float32Array.from(items.vectors);
    const itemCategories = [...items.itemCategories];
    for (const t of twins) {
      vectors.set(items.vectors.subarray(40 * items.dim, 41 * items.dim), t * items.dim);
      itemCategories[t] = items.itemCategories[40] as string;
    }
    const twinIndex = ConstrainedIndex.build({ ...items, vectors, itemCategories, categories });
    const q = vectors.slice(40 * items.dim, 41 * items.dim);
    const sorted = [...twins].sort((a, b) => a - b);
    expect(Array.from(twinIndex.search(q, 6, null).itemIdx)).toEqual(sorted);
    const batch = twinIndex.searchMany(Array.from({ length: 30 }, () => ({ query: q, k: 6, category: itemCategories[40] as string })));
    for (const h of batch) expect(Array.from(h.itemIdx)).toEqual(sorted);
  });

  it('IVF and HNSW answer the same queries approximately; recall against exact is reported', () => {
    const k = 20;
    const recallOf = (index: ConstrainedIndex) => {
      let hit = 0;
      let total = 0;
      for (const q of queries) {
        const batch = index.searchBatch(categories.map(() => q), k, categories);
        categories.forEach((c, ci) => {
          const exact = new Set(exactTopK(unit, items.dim, q, k, (i) => items.itemCategories[i] === c).idx);
          hit += Array.from((batch[ci] as ConstrainedHits).itemIdx).filter((i) => exact.has(i)).length;
          total += exact.size;
        });
      }
      return hit / total;
    };
    const ivf = ConstrainedIndex.build({ ...items, categories }, { factory: 'IVF32,Flat', searchParameters: { nprobe: 4 } });
    const hnsw = ConstrainedIndex.build({ ...items, categories }, { factory: 'HNSW32', searchParameters: { efSearch: 64 } });
    const r = { ivf: recallOf(ivf), hnsw: recallOf(hnsw) };
    console.log(`constrained top-20 recall against exact (3000 items, 13 categories): IVF32,Flat nprobe=4 ${r.ivf.toFixed(3)}, HNSW32 efSearch=64 ${r.hnsw.toFixed(3)}`);
    // The category dimensions dominate the geometry, so IVF cells follow categories and the probe stays in them.
    expect(r.ivf).toBeGreaterThan(0.9);
    expect(r.hnsw).toBeGreaterThan(0.9);
  });
});

describe('constrained index: search-time knobs', () => {
  it('sets nprobe through setSearchParameter: answers change, the index keeps it, and a saved copy reads it back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'curio-knob-'));
    try {
      const ivf = ConstrainedIndex.build({ ...items, categories }, { factory: 'IVF32,Flat', searchParameters: { nprobe: 1 } });
      const q = items.vectors.subarray(0, items.dim);
      const narrow = ivf.search(q, 50, null);
      ivf.setSearchParameter('nprobe', 32);
      expect(ivf.searchParameters).toEqual({ nprobe: 32 });
      // All 32 lists probed: the IVF answer is the exact one.
      const exact = ConstrainedIndex.build({ ...items, categories }).search(q, 50, null);
      const all = ivf.search(q, 50, null);
      expect(Array.from(all.itemIdx)).toEqual(Array.from(exact.itemIdx));
      expect(Array.from(narrow.itemIdx)).not.toEqual(Array.from(all.itemIdx));
      ivf.write(join(dir, 'ivf'));
      const back = ConstrainedIndex.read(join(dir, 'ivf'));
      expect(back.searchParameters).toEqual({ nprobe: 32 });
      expect(Array.from(back.search(q, 50, null).itemIdx)).toEqual(Array.from(all.itemIdx));
      expect(() => ivf.setSearchParameter('efSearch', 64)).toThrow(ConstrainedIndexError);
      expect(ivf.searchParameters).toEqual({ nprobe: 32 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('constrained index: IVF with per-category lists (the default for IVF<n>,Flat)', () => {
  const nlist = 40;
  const build = (extra: Record<string, unknown> = {}) => ConstrainedIndex.build({ ...items, categories }, { factory: `IVF${nlist},Flat`, ...extra });

  it('shares the lists by the square root of category size: one per category at least, one per 39 items at most while it can', () => {
    expect(Array.from(shareLists(10, Int32Array.of(400, 100, 0, 1600)) as Int32Array)).toEqual([3, 2, 0, 5]); // √: 20, 10, 40
    expect(Array.from(shareLists(12, Int32Array.of(3900, 39, 39)) as Int32Array)).toEqual([10, 1, 1]); // the small ones capped at 1
    expect(Array.from(shareLists(5, Int32Array.of(3, 2)) as Int32Array)).toEqual([3, 2]); // past 39 per list: at most one per item
    expect(shareLists(1, Int32Array.of(5, 5))).toBeUndefined(); // fewer lists than categories
    expect(shareLists(11, Int32Array.of(5, 5))).toBeUndefined(); // more lists than items
    const counts = Int32Array.from(categories.map((c) => items.itemCategories.filter((x) => x === c).length));
    const share = shareLists(nlist, counts) as Int32Array;
    expect(share.reduce((a, x) => a + x, 0)).toBe(nlist);
    categories.forEach((_, c) => expect(share[c]).toBeGreaterThanOrEqual(1));
  });

  it('with nprobe at least a category\'s lists, a constrained query is exact; every list holds one category', () => {
    const ivf = build({ searchParameters: { nprobe: nlist } });
    expect(ivf.partitionedLists).toBe(true);
    for (const q of queries.slice(0, 10)) {
      for (const c of [...categories, null]) {
        expectExact(ivf.search(q, 20, c), exactTopK(unit, items.dim, q, 20, (i) => c === null || items.itemCategories[i] === c), q);
      }
    }
    // One list probed: a constrained answer still holds only its category (and is mostly right).
    ivf.setSearchParameter('nprobe', 1);
    let hit = 0;
    for (const q of queries) {
      const got = ivf.search(q, 20, 'jade');
      for (const i of got.itemIdx) expect(items.itemCategories[i]).toBe('jade');
      const want = new Set(exactTopK(unit, items.dim, q, 20, (i) => items.itemCategories[i] === 'jade').idx);
      hit += Array.from(got.itemIdx).filter((i) => want.has(i)).length;
    }
    expect(hit / (20 * queries.length)).toBeGreaterThan(0.3);
    expect(hit / (20 * queries.length)).toBeLessThan(1);
  });

  it('answers a constrained query within a subset exactly, and finds later items of a category that had none', () => {
    const ivf = build({ searchParameters: { nprobe: nlist } });
    const among = Float64Array.from({ length: 1500 }, (_, j) => 2 * j);
    for (const q of queries.slice(0, 5)) {
      for (const c of ['jade', 'tea', null]) {
        expectExact(ivf.search(q, 15, c, { among }), exactTopK(unit, items.dim, q, 15, (i) => i % 2 === 0 && (c === null || items.itemCategories[i] === c)), q);
      }
    }
    const withEmpty = ConstrainedIndex.build({ ...items, categories: [...categories, 'zzz-new'] }, { factory: `IVF${nlist},Flat`, searchParameters: { nprobe: nlist } });
    const later = queries.slice(0, 3).map((q) => q.map((x, j) => x + (j === 0 ? 0.01 : 0)));
    withEmpty.add({ vectors: Float32Array.from(later.flatMap((q) => Array.from(q))), itemIds: ['n0', 'n1', 'n2'], itemCategories: ['zzz-new', 'zzz-new', 'jade'] });
    const hits = withEmpty.search(queries[0] as Float32Array, 5, 'zzz-new');
    expect(Array.from(hits.itemIdx).sort()).toEqual([3000, 3001]);
    expect(withEmpty.search(queries[2] as Float32Array, 1, 'jade').itemIdx[0]).toBe(3002);
  });

  it('is written and read back with its lists\' categories and the same answers; joint lists keep the offset layout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'curio-cidx-ivf-'));
    try {
      const ivf = build({ searchParameters: { nprobe: 3 } });
      ivf.write(join(dir, 'ivf'));
      const back = ConstrainedIndex.read(join(dir, 'ivf'));
      expect(back.partitionedLists).toBe(true);
      const cats = ['jade', null, 'rare', 'tea'];
      expect(back.searchBatch(queries.slice(0, 4), 10, cats)).toEqual(ivf.searchBatch(queries.slice(0, 4), 10, cats));
      const map = JSON.parse(readFileSync(join(dir, 'ivf', MAP_FILE), 'utf8')) as { ivfListCategory: number[] };
      expect(map.ivfListCategory).toHaveLength(nlist);
      writeFileSync(join(dir, 'ivf', MAP_FILE), JSON.stringify({ ...map, ivfListCategory: map.ivfListCategory.slice(1) }));
      expect(() => ConstrainedIndex.read(join(dir, 'ivf'))).toThrow(/names the categories of 39 IVF lists; .* has 40/);
      const joint = build({ ivfLists: 'joint', searchParameters: { nprobe: nlist } });
      expect(joint.partitionedLists).toBe(false);
      const q = queries[0] as Float32Array;
      expectExact(joint.search(q, 20, 'jade'), exactTopK(unit, items.dim, q, 20, (i) => items.itemCategories[i] === 'jade'), q);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('constrained index: artifacts', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'curio-cidx-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes Faiss\'s own file plus a JSON id map, and reads them back with the same answers', () => {
    const index = ConstrainedIndex.build({ ...items, categories });
    const { indexFile, mapFile } = index.write(join(dir, 'flat'));
    expect(indexFile.endsWith(INDEX_FILE)).toBe(true);
    expect(mapFile.endsWith(MAP_FILE)).toBe(true);
    const back = ConstrainedIndex.read(join(dir, 'flat'));
    expect(back.offset).toBe(index.offset);
    expect(back.categories).toEqual(categories);
    expect(back.itemIds[42]).toBe('it42');
    const q = queries.slice(0, 4);
    const cats = ['jade', null, 'rare', 'tea'];
    expect(back.searchBatch(q, 10, cats)).toEqual(index.searchBatch(q, 10, cats));
  });

  it('keeps at most 16 sub-indexes, refilling an evicted one for a new subset, with the same answers as the selector', () => {
    // A read index without its item vectors searches subsets through Faiss's selector: the reference.
    ConstrainedIndex.build({ ...items, categories }).write(join(dir, 'pool'));
    const exact = ConstrainedIndex.read(join(dir, 'pool'));
    const pooled = ConstrainedIndex.build({ ...items, categories });
    // 40 live sets, as an A/B replaying 40 moments sees them; then the first again (evicted by now).
    const subsets = Array.from({ length: 40 }, (_, s) => Float64Array.from(Array.from({ length: 3000 }, (_, i) => i).filter((i) => (i * 7 + s) % 11 === 0)));
    for (const among of [...subsets, subsets[0] as Float64Array]) {
      const specs = queries.slice(0, 3).flatMap((query) => [null, 'jade'].map((category) => ({ query, k: 25, category, among })));
      const viaSelector = specs.map((x) => exact.search(x.query, x.k, x.category, { among: x.among }));
      const viaPool = pooled.searchMany(specs);
      specs.forEach((_, q) => expect(Array.from(viaPool[q]?.itemIdx ?? [])).toEqual(Array.from(viaSelector[q]?.itemIdx ?? [])));
      expect(pooled.subIndexCount).toBeLessThanOrEqual(16);
    }
    expect(pooled.subIndexCount).toBe(16);
    expect(exact.subIndexCount).toBe(0);
  });

  it('builds a sub-index from runs of consecutive ids, unordered or repeated ids, and names an id outside the index', () => {
    ConstrainedIndex.build({ ...items, categories }).write(join(dir, 'runs'));
    const exact = ConstrainedIndex.read(join(dir, 'runs'));
    const pooled = ConstrainedIndex.build({ ...items, categories });
    // Blocks of lots listed together, single lots between them, the last item; then the same ids shuffled with repeats.
    const blocks = [...Array.from({ length: 200 }, (_, i) => 100 + i), 450, 452, ...Array.from({ length: 90 }, (_, i) => 1000 + i), 2999];
    const shuffled = [...blocks].reverse().concat([450, 100, 2999]);
    for (const among of [Float64Array.from(blocks), Float64Array.from(shuffled)]) {
      const specs = queries.slice(0, 4).flatMap((query) => [null, 'jade', 'rare'].map((category) => ({ query, k: 40, category, among })));
      const viaPool = pooled.searchMany(specs);
      specs.forEach((x, q) => expect(Array.from(viaPool[q]?.itemIdx ?? [])).toEqual(Array.from(exact.search(x.query, x.k, x.category, { among: x.among }).itemIdx)));
    }
    const outside = (ids: number[]) => () => pooled.searchMany([{ query: queries[0] as Float32Array, k: 5, category: null, among: Float64Array.from(ids) }]);
    expect(outside([5, 2998, 2999, 3000, 3001])).toThrow(/subset item_idx 3000 is not in the index \(0\.\.2999\)/);
    expect(outside([7, 3100])).toThrow(/subset item_idx 3100 is not in the index/);
  });

  it('searches a sparse subset of a read index through a sub-index of its rows once given its item vectors, with the same answers', () => {
    const index = ConstrainedIndex.build({ ...items, categories });
    index.write(join(dir, 'rows'));
    const selector = ConstrainedIndex.read(join(dir, 'rows'));
    const sub = ConstrainedIndex.read(join(dir, 'rows'));
    sub.useItemVectors(items.vectors);
    const among = Float64Array.from(Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 13 === 1));
    const specs = queries.flatMap((query) => [null, 'jade', 'rare'].map((category) => ({ query, k: 30, category, among })));
    const a = selector.searchMany(specs);
    const b = sub.searchMany(specs);
    specs.forEach((_, q) => {
      expect(Array.from(b[q]?.itemIdx ?? [])).toEqual(Array.from(a[q]?.itemIdx ?? []));
      (b[q]?.scores ?? []).forEach((x, r) => expect(Math.abs(x - (a[q]?.scores[r] as number))).toBeLessThan(TIE));
    });
    // Other vectors than the index holds are refused, not searched.
    const shuffled = Float32Array.from(items.vectors);
    shuffled.copyWithin(0, items.dim, 2 * items.dim);
    expect(() => ConstrainedIndex.read(join(dir, 'rows')).useItemVectors(shuffled)).toThrow(/not the ones the index holds/);
    expect(() => sub.useItemVectors(items.vectors.subarray(items.dim))).toThrow(ConstrainedIndexError);
  });

  it("Python's faiss reads the index and, with queries formed from the id map, gets the same results", () => {
    const index = ConstrainedIndex.build({ ...items, categories });
    index.write(join(dir, 'py'));
    const q = queries.slice(0, 6);
    const cats = ['jade', 'coin', null, 'rare', 'seal', 'beads'];
    const expected = index.searchBatch(q, 10, cats).map((h) => Array.from(h.itemIdx, (i) => index.itemIds[i]));
    writeFileSync(join(dir, 'py', 'queries.json'), JSON.stringify({ queries: q.map((v) => Array.from(v)), categories: cats }));
    const script = [
      'import json, sys, faiss, numpy as np',
      'd = sys.argv[1]',
      'index = faiss.read_index(d + "/items.faiss")',
      'm = json.load(open(d + "/items.idmap.json"))',
      'req = json.load(open(d + "/queries.json"))',
      'out = []',
      'for v, c in zip(req["queries"], req["categories"]):',
      '    q = np.zeros((1, m["dim"] + len(m["categories"])), dtype="float32")',
      '    v = np.array(v, dtype="float64"); q[0, :m["dim"]] = v / np.linalg.norm(v)',
      '    if c is not None: q[0, m["dim"] + m["categories"].index(c)] = 1.0',
      '    D, I = index.search(q, 10)',
      '    keep = [int(i) for i in I[0] if i >= 0 and (c is None or m["categories"][m["itemCategory"][i]] == c)]',
      '    out.append([m["itemIds"][i] for i in keep])',
      'print(json.dumps({"ntotal": index.ntotal, "d": index.d, "results": out}))',
    ].join('\n');
    const py = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, join(dir, 'py')], { encoding: 'utf8' })) as {
      ntotal: number;
      d: number;
      results: string[][];
    };
    expect(py.ntotal).toBe(3000);
    expect(py.d).toBe(16 + categories.length);
    expect(py.results).toEqual(expected);
    expect(py.results[3]).toHaveLength(3);
  });

  it('names the missing file when the index or its map is absent', () => {
    expect(() => ConstrainedIndex.read(join(dir, 'nowhere'))).toThrow(/nowhere\/items\.faiss does not exist/);
    const index = ConstrainedIndex.build({ ...items, categories });
    index.write(join(dir, 'half'));
    rmSync(join(dir, 'half', MAP_FILE));
    expect(() => ConstrainedIndex.read(join(dir, 'half'))).toThrow(/items\.idmap\.json does not exist/);
  });
});

describe('constrained index: bad input', () => {
  const base = { dim: 2, vectors: new Float32Array([1, 0, 0, 1]), itemIds: ['x', 'y'], itemCategories: ['a', 'b'] };
  const build = (over: Partial<typeof base> & { categories?: string[] }) => () => ConstrainedIndex.build({ ...base, ...over });

  it('rejects vectors of the wrong dimension, at build and at query time', () => {
    expect(build({ vectors: new Float32Array([1, 0, 0, 1, 0, 0]) })).toThrow(ConstrainedIndexError);
    expect(build({ vectors: new Float32Array([1, 0, 0, 1, 0, 0]) })).toThrow(/dimension mismatch: 2 items of dimension 2 need 4 values, got 6 \(dimension 3\?\)/);
    const idx = ConstrainedIndex.build(base);
    expect(() => idx.search(new Float32Array([1, 0, 0]), 1, 'a')).toThrow(/query 0: dimension mismatch: expected 2, got 3/);
  });

  it('rejects NaN, infinite and zero vectors, naming the item', () => {
    expect(build({ vectors: new Float32Array([1, 0, NaN, 1]) })).toThrow(/item 1 \(y\) contains NaN \(column 0\)/);
    expect(build({ vectors: new Float32Array([Infinity, 0, 0, 1]) })).toThrow(/item 0 \(x\) contains Infinity/);
    expect(build({ vectors: new Float32Array([0, 0, 0, 1]) })).toThrow(/item 0 \(x\) is the zero vector/);
    const idx = ConstrainedIndex.build(base);
    expect(() => idx.search(new Float32Array([NaN, 1]), 1, null)).toThrow(/query 0 contains NaN/);
  });

  it('rejects items with an unknown or missing category, and queries for an unknown one', () => {
    expect(build({ categories: ['a'] })).toThrow(/item 1 \(y\) has unknown category 'b' \(known: a\)/);
    expect(build({ itemCategories: ['a', ''] })).toThrow(/item 1 \(y\) has no category/);
    expect(build({ itemCategories: ['a'] })).toThrow(/2 item ids but 1 item categories/);
    const idx = ConstrainedIndex.build(base);
    expect(() => idx.search(new Float32Array([1, 0]), 1, 'c')).toThrow(/unknown category 'c' \(known: a, b\)/);
    expect(() => idx.search(new Float32Array([1, 0]), 0, 'a')).toThrow(/k must be a positive integer/);
  });
});
