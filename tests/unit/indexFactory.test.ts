import { ConstrainedIndex } from '../../retrieval/constrainedIndex';
import { defaultIndexFactory, EXACT_BELOW_ITEMS, nlistFor } from '../../retrieval/indexFactory';
import { categorisedItems, randomQueries } from '../helpers/retrievalFixtures';

const nlistOf = (factory: string): number => Number(/^IVF(\d+),Flat$/.exec(factory)?.[1] ?? NaN);
/** A catalogue of n items in 12 categories with the marketplace's skew (the largest 14%, the smallest 4%). */
const SHARES = [0.14, 0.12, 0.1, 0.1, 0.09, 0.09, 0.08, 0.07, 0.06, 0.06, 0.05, 0.04];
const sizesOf = (n: number): number[] => {
  const sizes = SHARES.map((s) => Math.floor(s * n));
  sizes[0] = (sizes[0] as number) + n - sizes.reduce((a, x) => a + x, 0);
  return sizes;
};
// 1, 1.25, 1.6, 2, ... × 10^j up to 10^8: every band boundary is crossed.
const sizes = Array.from({ length: 81 }, (_, i) => Math.round(10 ** (i / 10)));

describe('defaultIndexFactory', () => {
  it.each([10_000, 100_000, 500_000])('its choice at %i items builds a ConstrainedIndex that answers constrained and open queries', (n) => {
    const choice = defaultIndexFactory(sizesOf(n));
    // A small sample, but at least two training points per IVF list (Faiss needs one, warns below 39).
    const rows = Math.max(2000, 2 * (nlistOf(choice.factory) || 0));
    const items = categorisedItems(rows, 8, 5);
    const index = ConstrainedIndex.build(items, choice);
    expect(index.factory).toBe(choice.factory);
    expect(index.searchParameters).toEqual(choice.searchParameters);
    expect(index.partitionedLists).toBe(choice.factory !== 'Flat');
    const [query] = randomQueries(1, 8, 6) as [Float32Array];
    const category = items.itemCategories[0] as string;
    const constrained = index.search(query, 10, category);
    expect(constrained.itemIdx.length).toBeGreaterThan(0);
    for (const i of constrained.itemIdx) expect(index.categoryOf(i)).toBe(category);
    expect(index.search(query, 10, null).itemIdx.length).toBeGreaterThan(0);
  });

  it('picks exact search for small catalogues and per-category IVF lists with the measured nprobe from 20k items', () => {
    expect(defaultIndexFactory(sizesOf(EXACT_BELOW_ITEMS - 1))).toEqual({ factory: 'Flat', searchParameters: {} });
    expect(defaultIndexFactory(sizesOf(EXACT_BELOW_ITEMS)).factory).toMatch(/^IVF\d+,Flat$/);
    // nlist: the lists of one IVF per category, in all; nprobe: the measured share of the largest category's lists.
    const medium = sizesOf(100_000);
    const choice = defaultIndexFactory(medium);
    expect(nlistOf(choice.factory)).toBe(medium.reduce((a, n) => a + nlistFor(n), 0));
    expect(choice.searchParameters.nprobe).toBe(Math.ceil((192 / 357) * nlistFor(medium[0] as number) - 1e-9));
    // Empty categories get no lists.
    expect(defaultIndexFactory([...medium, 0])).toEqual(choice);
  });

  it('is monotone in the catalogue size: once IVF, always IVF; nlist and nprobe never shrink', () => {
    let prev: { ivf: boolean; nlist: number; nprobe: number } | undefined;
    for (const n of sizes) {
      const cats = sizesOf(n);
      const { factory, searchParameters } = defaultIndexFactory(cats);
      const ivf = factory !== 'Flat';
      const nlist = ivf ? nlistOf(factory) : 0;
      const nprobe = ivf ? (searchParameters.nprobe as number) : 0;
      if (ivf) {
        expect(Number.isInteger(nlist) && nlist >= 1).toBe(true);
        expect(Number.isInteger(nprobe) && nprobe >= 1 && nprobe <= nlistFor(Math.max(...cats))).toBe(true);
        // Faiss's k-means wants 39 training points per list.
        expect(nlist * 39).toBeLessThanOrEqual(n);
      } else {
        expect(searchParameters).toEqual({});
      }
      if (prev) {
        expect(ivf || !prev.ivf).toBe(true);
        expect(nlist).toBeGreaterThanOrEqual(prev.nlist);
        expect(nprobe).toBeGreaterThanOrEqual(prev.nprobe);
      }
      prev = { ivf, nlist, nprobe };
    }
  });

  it('rejects a size that is not a non-negative integer', () => {
    for (const bad of [-1, 1.5, NaN, Infinity]) expect(() => defaultIndexFactory([100, bad])).toThrow(/category sizes/);
    expect(defaultIndexFactory([]).factory).toBe('Flat');
  });
});
