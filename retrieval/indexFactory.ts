/** Which index ConstrainedIndex.build gets by default, by catalogue size (defaultIndexFactory). */

export interface IndexFactoryChoice {
  /** A Faiss index_factory string for ConstrainedIndex.build. */
  factory: string;
  /** Its search-time knobs (ConstrainedIndexOptions.searchParameters). */
  searchParameters: Record<string, number>;
}

/** Below this many items the constrained index is exact ('Flat'). */
export const EXACT_BELOW_ITEMS = 20_000;

/**
 * The smallest nprobe (on bench/ann.ts's grid) that reached the target, and the largest category's
 * lists it is a share of, for the per-category lists bench/ann.ts builds (nlist_c = nlistFor(n_c)).
 */
const MEASURED: readonly { items: number; largestCategoryLists: number; nprobe: number }[] = [
  { items: 20_000, largestCategoryLists: 68, nprobe: 48 },
  { items: 100_000, largestCategoryLists: 357, nprobe: 192 },
  { items: 500_000, largestCategoryLists: 1059, nprobe: 512 },
];

/**
 * The default Faiss factory of the constrained index for a catalogue with these category sizes.
 *
 * From `npm run bench:ann -- --seconds 3` (bench/ann.ts, run of 4 Dec 04:20, 2 shared cores):
 * synthetic d=64 vectors in 12 categories with the marketplace's shares; one Faiss thread, as curio
 * serve runs; every knob at the smallest grid value with recall@50 ≥ 0.95 for the worst category AND
 * for mixed traffic (1/3 unconstrained), tuned on half of the held-out queries and reported on the
 * other half; 'any' traffic (a constrained query asks a category drawn by share, independent of its
 * vector: the harder kind). q/s, one query per call / 64 per call:
 *
 *   items  exact ('Flat', offset layout)    IVF with per-category lists                 constrained       mixed
 *   20k    con 1,089 / 8,044;  mix 1,075 / 13,520   IVF507,Flat  nprobe=48    con 8,709 / 9,667;  mix 7,777 / 9,023
 *   100k   con   188 / 1,875;  mix   218 /  3,205   IVF2559,Flat nprobe=192   con 2,339 / 2,842;  mix 2,125 / 2,506
 *   500k   con    48 /   676;  mix    48 /    671   IVF9603,Flat nprobe=512   con   589 /   676;  mix   581 /   663
 *
 * So:
 *   - from 20k items: 'IVF<Σ_c nlistFor(n_c)>,Flat', which ConstrainedIndex builds with one k-means
 *     per category (its default ivfLists), the lists shared out by √n_c: the lists one IVF per
 *     category would have, in one index. nprobe at the measured share of the largest category's
 *     lists (71% at 20k, 54% at 100k, 48% at 500k; interpolated in log n between, held outside):
 *     8x (20k), 12x (100k) and 12x (500k) exact search's one-query-per-call throughput; batched 64
 *     per call, as fast or faster on constrained queries, while on the mixed stream exact search
 *     (one BLAS product) stays faster up to 100k (13,520 against 9,023 q/s at 20k).
 *   - below 20k (not measured): 'Flat', exact, with no training and no recall to watch; a query
 *     costs about 1 ms at 20k.
 *   - never HNSW: under the offset trick it needs efSearch ≥ 768 where it works at all and misses
 *     0.95 from 100k on (bench:ann's HNSW rows).
 *
 * Caveats for whoever wires this in:
 *   - The figures are searches over the whole catalogue. curio serve searches the live lots only
 *     (`among`, a few percent of the items): a Flat index answers those from an exact sub-index of
 *     the live rows, an IVF index through Faiss's IDSelector over its lists, which is slower and
 *     loses recall (a side measurement before the per-category lists, same vectors, 5% live: 100k
 *     Flat 2517 q/s exact vs IVF 1836 q/s at recall 0.935). For the served index Flat stays the
 *     better choice while the live set is small; this choice is for searches over all items.
 *   - The shares are what synthetic vectors needed (queries far from their category's region need
 *     half its lists); check recall@50 on the real item vectors against an exact index first.
 */
export function defaultIndexFactory(categorySizes: readonly number[]): IndexFactoryChoice {
  for (const n of categorySizes) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`category sizes must be non-negative integers, got ${n}`);
  }
  const items = categorySizes.reduce((a, n) => a + n, 0);
  if (items < EXACT_BELOW_ITEMS) return { factory: 'Flat', searchParameters: {} };
  const lists = categorySizes.filter((n) => n > 0).map(nlistFor);
  const largest = Math.max(...lists);
  // The epsilon keeps a measured point exact (a measured share times its lists must give back its nprobe).
  const nprobe = Math.min(largest, Math.max(1, Math.ceil(probeShare(items) * largest - 1e-9)));
  return { factory: `IVF${lists.reduce((a, l) => a + l, 0)},Flat`, searchParameters: { nprobe } };
}

/** ≈ 4·√n lists (bench/ann.ts's rule), at most n/39 so that k-means has Faiss's 39 points per centroid. */
export function nlistFor(items: number): number {
  return Math.max(1, Math.min(Math.round(4 * Math.sqrt(items)), Math.floor(items / 39)));
}

/** nprobe / the largest category's lists as measured, interpolated in log(items) between the measured sizes, held flat outside them. */
function probeShare(items: number): number {
  const share = (m: (typeof MEASURED)[number]) => m.nprobe / m.largestCategoryLists;
  const first = MEASURED[0] as (typeof MEASURED)[number];
  if (items <= first.items) return share(first);
  for (let i = 1; i < MEASURED.length; i++) {
    const a = MEASURED[i - 1] as (typeof MEASURED)[number];
    const b = MEASURED[i] as (typeof MEASURED)[number];
    if (items <= b.items) return share(a) + (Math.log(items / a.items) / Math.log(b.items / a.items)) * (share(b) - share(a));
  }
  return share(MEASURED[MEASURED.length - 1] as (typeof MEASURED)[number]);
}
