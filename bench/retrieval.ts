/**
 * npm run bench:retrieval [-- small medium large] [--ann] [--k 50]
 *
 * Four ways to answer "top-K within category c", measured side by side on the same vectors
 * (d = 64, 12 categories with the marketplace's skew; small 20k, medium 100k, large 500k items):
 *   offset      the offset trick: ONE flat inner-product index over [x̂ ; M·e_c] (retrieval/constrainedIndex.ts)
 *   per-cat     one flat index per category (the Faiss maintainers' usual answer)
 *   over-fetch  one plain flat index; fetch ceil(2K / share_c) and keep category c (approximate: may find < K)
 *   idselector  one plain flat index; search only category c's ids through a Faiss IDSelector
 * plus, with --ann (default for small and medium), the offset trick on IVF and HNSW indexes.
 * Per method: build time, index size (the file Faiss writes), queries per second in batches and one
 * at a time, and recall@K against an exact float64 brute force on a sample of queries.
 * Faiss runs with its default threads (OpenMP and OpenBLAS: all cores); to see single-threaded
 * figures run with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 (both are read when Faiss loads).
 * Item vectors: seeded, 8 topic clusters per category (bench/categorisedVectors.ts); queries: an
 * item's vector plus noise, each asking for a uniformly drawn category (tail categories included).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../data/generator/rng';
import { VectorIndex } from '../platform/faiss';
import { ConstrainedIndex, normaliseRows } from '../retrieval/constrainedIndex';
import { CATEGORY_SHARES, categorisedItems } from './categorisedVectors';
import { printTable } from './textTable';
import { seconds } from './timing';

const DIM = 64;
const SCALES: Record<string, { items: number; batch: number; single: number; ann: boolean }> = {
  small: { items: 20_000, batch: 2000, single: 300, ann: true },
  medium: { items: 100_000, batch: 1000, single: 150, ann: true },
  large: { items: 500_000, batch: 400, single: 60, ann: false },
};

interface Query {
  vector: Float32Array;
  category: string;
}

/** Answers a batch of (query, category) with top-k item ids per query, best first. */
type Answer = (queries: readonly Query[], k: number) => number[][];

interface Method {
  name: string;
  buildSeconds: number;
  bytes: number;
  answer: Answer;
}

interface Row {
  scale: string;
  method: string;
  buildSeconds: number;
  megabytes: number;
  batchQps: number;
  singleQps: number;
  recall: number;
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
}

/** Queries for which category-constrained search matters: near some item, asking for any category. */
function makeQueries(unit: Float32Array, n: number, count: number, seed: number, categories: string[]): Query[] {
  const rng = new Rng(seed, 9);
  return Array.from({ length: count }, () => {
    const i = rng.int(n);
    const v = Float32Array.from(unit.subarray(i * DIM, (i + 1) * DIM), (x) => x + 0.05 * rng.normal());
    return { vector: v, category: rng.pick(categories) };
  });
}

function groupByCategory(queries: readonly Query[]): Map<string, number[]> {
  const g = new Map<string, number[]>();
  queries.forEach((q, i) => g.set(q.category, [...(g.get(q.category) ?? []), i]));
  return g;
}

function labelsOf(labels: Float64Array, row: number, k: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < k; r++) {
    const l = labels[row * k + r] as number;
    if (l >= 0) out.push(l);
  }
  return out;
}

function buildMethods(unit: Float32Array, ids: string[], cats: string[], categories: string[], workDir: string, ann: boolean): Method[] {
  const n = ids.length;
  const byCategory = new Map(categories.map((c) => [c, [] as number[]]));
  cats.forEach((c, i) => byCategory.get(c)?.push(i));
  const methods: Method[] = [];
  const share = new Map(categories.map((c) => [c, (byCategory.get(c)?.length ?? 0) / n]));

  const offsetMethod = (name: string, factory: string, searchParameters: Record<string, number>) => {
    const [index, buildSeconds] = seconds(() => ConstrainedIndex.build({ dim: DIM, vectors: unit, itemIds: ids, itemCategories: cats, categories }, { factory, searchParameters }));
    const dir = join(workDir, name.replace(/[^a-z0-9]+/gi, '_'));
    index.write(dir);
    methods.push({
      name,
      buildSeconds,
      bytes: dirBytes(dir),
      answer: (qs, k) => index.searchBatch(qs.map((q) => q.vector), k, qs.map((q) => q.category)).map((h) => Array.from(h.itemIdx)),
    });
  };
  offsetMethod('offset (Flat)', 'Flat', {});

  {
    const [perCat, buildSeconds] = seconds(() =>
      new Map(
        categories.map((c) => {
          const members = byCategory.get(c) as number[];
          const idx = VectorIndex.flatIP(DIM);
          const m = new Float32Array(members.length * DIM);
          members.forEach((g, r) => m.set(unit.subarray(g * DIM, (g + 1) * DIM), r * DIM));
          idx.add(m);
          return [c, { idx, members }] as const;
        }),
      ),
    );
    const dir = join(workDir, 'percat');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [c, { idx }] of perCat) idx.write(join(dir, `${c}.faiss`));
    methods.push({
      name: 'per-category (12 Flat)',
      buildSeconds,
      bytes: dirBytes(dir),
      answer: (qs, k) => {
        const out: number[][] = new Array<number[]>(qs.length);
        for (const [c, rows] of groupByCategory(qs)) {
          const { idx, members } = perCat.get(c) as { idx: VectorIndex; members: number[] };
          const res = idx.search(rows.map((r) => normalised((qs[r] as Query).vector)), k);
          rows.forEach((r, j) => (out[r] = labelsOf(res.labels, j, k).map((l) => members[l] as number)));
        }
        return out;
      },
    });
  }

  const [plain, plainSeconds] = seconds(() => {
    const idx = VectorIndex.flatIP(DIM);
    idx.add(unit);
    return idx;
  });
  const plainDir = join(workDir, 'plain');
  mkdirSync(plainDir, { recursive: true });
  plain.write(join(plainDir, 'plain.faiss'));
  const plainBytes = dirBytes(plainDir);

  methods.push({
    name: 'over-fetch 2K/share + filter',
    buildSeconds: plainSeconds,
    bytes: plainBytes,
    answer: (qs, k) => {
      const out: number[][] = new Array<number[]>(qs.length);
      for (const [c, rows] of groupByCategory(qs)) {
        const fetch = Math.min(n, Math.ceil((2 * k) / (share.get(c) as number)));
        const res = plain.search(rows.map((r) => normalised((qs[r] as Query).vector)), fetch);
        rows.forEach((r, j) => (out[r] = labelsOf(res.labels, j, fetch).filter((l) => cats[l] === c).slice(0, k)));
      }
      return out;
    },
  });

  const selectorIds = new Map(categories.map((c) => [c, Float64Array.from(byCategory.get(c) as number[])]));
  methods.push({
    name: 'IDSelector (searchSubset)',
    buildSeconds: plainSeconds,
    bytes: plainBytes,
    answer: (qs, k) => {
      const out: number[][] = new Array<number[]>(qs.length);
      for (const [c, rows] of groupByCategory(qs)) {
        const res = plain.searchSubset(rows.map((r) => normalised((qs[r] as Query).vector)), k, selectorIds.get(c) as Float64Array);
        rows.forEach((r, j) => (out[r] = labelsOf(res.labels, j, k)));
      }
      return out;
    },
  });

  if (ann) {
    const nlist = n >= 100_000 ? 1024 : 256;
    const nprobe = nlist / 16;
    offsetMethod(`offset (IVF${nlist},Flat nprobe=${nprobe})`, `IVF${nlist},Flat`, { nprobe });
    offsetMethod('offset (HNSW32 efSearch=128)', 'HNSW32', { efSearch: 128 });
  }
  return methods;
}

function normalised(v: Float32Array): Float32Array {
  return normaliseRows(v, DIM);
}

/** Exact top-k within the query's category by float64 brute force. */
function exact(unit: Float32Array, cats: string[], q: Query, k: number): number[] {
  const v = normalised(q.vector);
  const scored: { i: number; s: number }[] = [];
  for (let i = 0; i < cats.length; i++) {
    if (cats[i] !== q.category) continue;
    let s = 0;
    for (let j = 0; j < DIM; j++) s += (unit[i * DIM + j] as number) * (v[j] as number);
    scored.push({ i, s });
  }
  scored.sort((a, b) => b.s - a.s || a.i - b.i);
  return scored.slice(0, k).map((x) => x.i);
}

function benchScale(scale: string, k: number, forceAnn: boolean | undefined): Row[] {
  const spec = SCALES[scale];
  if (!spec) throw new Error(`unknown scale ${scale} (small, medium, large)`);
  const workDir = mkdtempSync(join(tmpdir(), `curio-bench-retrieval-${scale}-`));
  try {
    const [items, genSeconds] = seconds(() => categorisedItems(spec.items, DIM, 7, { topicsPerCategory: 8, spread: 0.4 }));
    const unit = normaliseRows(items.vectors, DIM);
    const categories = Object.keys(CATEGORY_SHARES);
    console.error(`[${scale}] ${spec.items} items generated in ${genSeconds.toFixed(1)} s`);
    const methods = buildMethods(unit, items.itemIds, items.itemCategories, categories, workDir, forceAnn ?? spec.ann);
    const batch = makeQueries(unit, spec.items, spec.batch, 11, categories);
    const single = makeQueries(unit, spec.items, spec.single, 12, categories);
    const [truth, exactSeconds] = seconds(() => single.map((q) => exact(unit, items.itemCategories, q, k)));
    console.error(`[${scale}] exact top-${k} for ${single.length} queries in ${exactSeconds.toFixed(1)} s`);
    return methods.map((m) => {
      m.answer(batch.slice(0, 20), k); // warm-up: first calls pay for page faults and thread start-up
      const [, batchSeconds] = seconds(() => m.answer(batch, k));
      const [answers, singleSeconds] = seconds(() => single.map((q) => m.answer([q], k)[0] as number[]));
      let hit = 0;
      let total = 0;
      answers.forEach((got, i) => {
        const want = new Set(truth[i]);
        hit += got.filter((x) => want.has(x)).length;
        total += want.size;
      });
      const row: Row = {
        scale,
        method: m.name,
        buildSeconds: m.buildSeconds,
        megabytes: m.bytes / 2 ** 20,
        batchQps: batch.length / batchSeconds,
        singleQps: single.length / singleSeconds,
        recall: hit / total,
      };
      console.error(`[${scale}] ${m.name}: batch ${row.batchQps.toFixed(0)} q/s, single ${row.singleQps.toFixed(0)} q/s, recall ${row.recall.toFixed(4)}`);
      return row;
    });
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

function printResults(rows: Row[], k: number): void {
  const head = ['scale', 'method', 'build s', 'index MB', 'batch q/s', 'single q/s', `recall@${k}`];
  const cells = rows.map((r) => [
    r.scale,
    r.method,
    r.buildSeconds.toFixed(2),
    r.megabytes.toFixed(1),
    r.batchQps.toFixed(0),
    r.singleQps.toFixed(0),
    r.recall.toFixed(4),
  ]);
  printTable(head, cells, 2);
}

function main(): void {
  const args = process.argv.slice(2);
  const kAt = args.indexOf('--k');
  const k = kAt >= 0 ? Number(args[kAt + 1]) : 50;
  if (!Number.isInteger(k) || k < 1) throw new Error(`--k must be a positive integer`);
  const ann = args.includes('--ann') ? true : args.includes('--no-ann') ? false : undefined;
  const scales = args.filter((a, i) => !a.startsWith('--') && !(kAt >= 0 && i === kAt + 1));
  const rows: Row[] = [];
  for (const scale of scales.length ? scales : ['small', 'medium', 'large']) rows.push(...benchScale(scale, k, ann));
  const threads = `OMP_NUM_THREADS=${process.env.OMP_NUM_THREADS ?? 'default'}, OPENBLAS_NUM_THREADS=${process.env.OPENBLAS_NUM_THREADS ?? 'default'}`;
  console.log(`\n== retrieval benchmark: top-${k} within a category, d=${DIM}, 12 categories (shares 4%..14%); ${threads} ==`);
  printResults(rows, k);
}

main();
