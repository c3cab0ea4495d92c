import { ConstrainedIndex } from '../../retrieval/constrainedIndex';
import { defaultIndexFactory, EXACT_BELOW_ITEMS } from '../../retrieval/indexFactory';
import { categorisedItems, randomQueries } from '../helpers/retrievalFixtures';

const nlistOf = (factory: string): number => Number(/^IVF(\d+),Flat$/.exec(factory)?.[1] ?? NaN);
// 1, 1.25, 1.6, 2, ... × 10^j up to 10^8: every band boundary is crossed.
const sizes = Array.from({ length: 81 }, (_, i) => Math.round(10 ** (i / 10)));

describe('defaultIndexFactory', () => {
  it.each([20_000, 100_000, 500_000])('its choice at %i items builds a ConstrainedIndex that answers constrained and open queries', (n) => {
    const choice = defaultIndexFactory(n);
    // A small sample, but at least two training points per IVF list (Faiss needs one, warns below 39).
    const rows = Math.max(2000, 2 * (nlistOf(choice.factory) || 0));
    const items = categorisedItems(rows, 8, 5);
    const index = ConstrainedIndex.build(items, choice);
    expect(index.factory).toBe(choice.factory);
    expect(index.searchParameters).toEqual(choice.searchParameters);
    const [query] = randomQueries(1, 8, 6) as [Float32Array];
    const category = items.itemCategories[0] as string;
    const constrained = index.search(query, 10, category);
    expect(constrained.itemIdx.length).toBeGreaterThan(0);
    for (const i of constrained.itemIdx) expect(index.categoryOf(i)).toBe(category);
    expect(index.search(query, 10, null).itemIdx.length).toBeGreaterThan(0);
  });

  it('picks exact search for small catalogues and IVF with the measured nprobe at medium and large', () => {
    expect(defaultIndexFactory(20_000)).toEqual({ factory: 'Flat', searchParameters: {} });
    expect(defaultIndexFactory(EXACT_BELOW_ITEMS - 1).factory).toBe('Flat');
    expect(defaultIndexFactory(EXACT_BELOW_ITEMS).factory).toMatch(/^IVF\d+,Flat$/);
    // The measured points of bench:ann (retrieval/indexFactory.ts's table).
    expect(defaultIndexFactory(100_000)).toEqual({ factory: 'IVF1265,Flat', searchParameters: { nprobe: 96 } });
    expect(defaultIndexFactory(500_000)).toEqual({ factory: 'IVF2828,Flat', searchParameters: { nprobe: 192 } });
  });

  it('is monotone in the catalogue size: once IVF, always IVF; nlist and nprobe never shrink', () => {
    let prev: { ivf: boolean; nlist: number; nprobe: number } | undefined;
    for (const n of sizes) {
      const { factory, searchParameters } = defaultIndexFactory(n);
      const ivf = factory !== 'Flat';
      const nlist = ivf ? nlistOf(factory) : 0;
      const nprobe = ivf ? (searchParameters.nprobe as number) : 0;
      if (ivf) {
        expect(Number.isInteger(nlist) && nlist >= 1).toBe(true);
        expect(Number.isInteger(nprobe) && nprobe >= 1 && nprobe <= nlist).toBe(true);
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
    for (const bad of [-1, 1.5, NaN, Infinity]) expect(() => defaultIndexFactory(bad)).toThrow(/items/);
    expect(defaultIndexFactory(0).factory).toBe('Flat');
  });
});
