/** Which index ConstrainedIndex.build gets by default, by catalogue size (defaultIndexFactory). */

export interface IndexFactoryChoice {
  /** A Faiss index_factory string for ConstrainedIndex.build. */
  factory: string;
  /** Its search-time knobs (ConstrainedIndexOptions.searchParameters). */
  searchParameters: Record<string, number>;
}

/** Below this many items the offset index is exact ('Flat'). */
export const EXACT_BELOW_ITEMS = 50_000;

/** The smallest nprobe (on bench/ann.ts's grid) that reached the target, at bench/ann.ts's nlist (round(4·√items), at most items/39). */
const MEASURED: readonly { items: number; nlist: number; nprobe: number }[] = [
  { items: 20_000, nlist: 512, nprobe: 64 },
  { items: 100_000, nlist: 1265, nprobe: 96 },
  { items: 500_000, nlist: 2828, nprobe: 192 },
];

/**
 * The default Faiss factory of the constrained (offset) index for a catalogue of `items` items.
 *
 * From `npm run bench:ann` (bench/ann.ts, run of 2 Dec 14:10, 2 shared
 * cores): synthetic d=64 vectors in 12 categories with the marketplace's shares; one Faiss thread,
 * as curio serve runs; every knob at the smallest grid value with recall@50 ≥ 0.95 for the worst
 * category AND for mixed traffic (1/3 unconstrained); 'any' traffic (a constrained query asks a
 * category drawn by share, independent of its vector: the harder kind). Mixed-stream q/s, one query
 * per call / 64 per call:
 *
 *   items   offset Flat (exact)   offset IVF, nlist = round(4·√n)           offset HNSW32
 *   20k     1868 / 17687          IVF512,Flat  nprobe=64    5963 / 9739     efSearch=768: 790 / 656
 *   100k     390 /  4236          IVF1265,Flat nprobe=96    1882 / 2484     misses 0.95 at efSearch=2048 (0.913)
 *   500k      67 /   764          IVF2828,Flat nprobe=192    583 /  663     misses 0.95 at efSearch=2048 (0.902): 70 / 63 q/s
 *                                                                           (--scales large --hnsw --ask any; built in 392 s)
 *
 * So:
 *   - below EXACT_BELOW_ITEMS: 'Flat'. At 20k an exact query costs ~0.5 ms, batched Flat (one BLAS
 *     product) has twice IVF's throughput, and exact search needs no training and no recall watch.
 *     The cut sits near the geometric middle of the measured 20k and 100k (Flat ~2.6 ms a query at 100k).
 *   - from there: 'IVF<round(4·√n)>,Flat' with nprobe at the measured share of nlist (12.5% at 20k,
 *     7.6% at 100k, 6.8% at 500k; interpolated in log n between, held outside): 4.8x (100k) and 8.7x
 *     (500k) Flat's one-query-per-call throughput at recall ≥ 0.95. (Batched 64 per call, Flat is
 *     still as fast or faster up to 500k.)
 *   - never HNSW: under the offset trick (categories ≥ 4·√2 apart in the extended space) it needs
 *     efSearch ≥ 768 where it works at all, misses 0.95 from 100k on, and is 8-15x slower than IVF.
 *
 * Caveats for whoever wires this in:
 *   - The figures are searches over the whole catalogue. curio serve searches the live lots only
 *     (`among`, a few percent of the items): a Flat index answers those from an exact sub-index of
 *     the live rows, an IVF index through Faiss's IDSelector over its full lists, which is slower
 *     and loses recall. A side measurement (not part of bench:ann; same vectors, 5% of the items
 *     live, own-category traffic with 1/3 unconstrained, one query per call): 100k items Flat
 *     2517 q/s exact vs IVF1265 nprobe=96 1836 q/s at recall 0.935; 500k Flat 1019 q/s vs IVF2828
 *     nprobe=192 249 q/s at 0.972. For the served index Flat stays the better choice while the
 *     live set is small; this choice is for searches over all items.
 *   - The nprobe values are the smallest that reach 0.95 on synthetic vectors; check recall@50 on the
 *     real item vectors against an exact index before relying on them.
 */
export function defaultIndexFactory(items: number): IndexFactoryChoice {
  if (!Number.isSafeInteger(items) || items < 0) throw new RangeError(`items must be a non-negative integer, got ${items}`);
  if (items < EXACT_BELOW_ITEMS) return { factory: 'Flat', searchParameters: {} };
  const nlist = nlistFor(items);
  // The epsilon keeps a measured point exact (96/1265 × 1265 is 96.00000000000001 in float).
  const nprobe = Math.min(nlist, Math.max(1, Math.ceil(probeShare(items) * nlist - 1e-9)));
  return { factory: `IVF${nlist},Flat`, searchParameters: { nprobe } };
}

/** ≈ 4·√n lists (bench/ann.ts's rule), at most n/39 so that k-means has Faiss's 39 points per centroid. */
export function nlistFor(items: number): number {
  return Math.max(1, Math.min(Math.round(4 * Math.sqrt(items)), Math.floor(items / 39)));
}

/** nprobe / nlist as measured, interpolated in log(items) between the measured sizes, held flat outside them. */
function probeShare(items: number): number {
  const share = (m: (typeof MEASURED)[number]) => m.nprobe / m.nlist;
  const first = MEASURED[0] as (typeof MEASURED)[number];
  if (items <= first.items) return share(first);
  for (let i = 1; i < MEASURED.length; i++) {
    const a = MEASURED[i - 1] as (typeof MEASURED)[number];
    const b = MEASURED[i] as (typeof MEASURED)[number];
    if (items <= b.items) return share(a) + (Math.log(items / a.items) / Math.log(b.items / a.items)) * (share(b) - share(a));
  }
  return share(MEASURED[MEASURED.length - 1] as (typeof MEASURED)[number]);
}
