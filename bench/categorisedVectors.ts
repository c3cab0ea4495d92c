import { Rng } from '../data/generator/rng';

/**
 * Seeded item vectors grouped by category, for the retrieval benchmark and tests: each category is
 * a region of the space (a centre), with topics as sub-clusters inside it, as learned item vectors
 * make them. Category sizes follow the marketplace's skew, a long tail included.
 */
export interface CategorisedItems {
  dim: number;
  /** n × dim, not normalised. */
  vectors: Float32Array;
  itemIds: string[];
  itemCategories: string[];
}

/** The synthetic marketplace's category shares (data/generator/world.ts). */
export const CATEGORY_SHARES: Readonly<Record<string, number>> = {
  jade: 0.14, porcelain: 0.12, painting: 0.09, bronze: 0.06, tea: 0.09, coin: 0.1,
  stamp: 0.07, beads: 0.1, zisha: 0.08, wood: 0.06, amber: 0.05, seal: 0.04,
};

export interface CategorisedItemsOptions {
  shares?: Readonly<Record<string, number>>;
  /** Item noise around its topic, relative to the centre's unit length. */
  spread?: number;
  topicsPerCategory?: number;
}

export function categorisedItems(n: number, dim: number, seed: number, opts: CategorisedItemsOptions = {}): CategorisedItems {
  const shares = opts.shares ?? CATEGORY_SHARES;
  const spread = opts.spread ?? 0.8;
  const topicsPerCategory = opts.topicsPerCategory ?? 1;
  const rng = new Rng(seed, 1);
  const cats = Object.keys(shares);
  const total = Object.values(shares).reduce((s, x) => s + x, 0);
  // A topic = its category's centre plus its own offset, so categories overlap at their edges.
  const topics = new Map(
    cats.map((c) => {
      const centre = rng.unitVector(dim);
      return [c, Array.from({ length: topicsPerCategory }, () => {
        const own = rng.unitVector(dim);
        return topicsPerCategory === 1 ? centre : centre.map((x, j) => 0.7 * x + 0.5 * (own[j] as number));
      })] as const;
    }),
  );
  const vectors = new Float32Array(n * dim);
  const itemCategories: string[] = [];
  const noise = (3 * spread) / Math.sqrt(dim);
  for (let i = 0; i < n; i++) {
    let x = rng.next() * total;
    let cat = cats[cats.length - 1] as string;
    for (const c of cats) {
      x -= shares[c] as number;
      if (x < 0) {
        cat = c;
        break;
      }
    }
    itemCategories.push(cat);
    const topic = rng.pick(topics.get(cat) as Float32Array[]);
    for (let j = 0; j < dim; j++) vectors[i * dim + j] = (topic[j] as number) + noise * rng.normal();
  }
  return { dim, vectors, itemIds: Array.from({ length: n }, (_, i) => `it${i}`), itemCategories };
}

export function randomQueries(nq: number, dim: number, seed: number): Float32Array[] {
  const rng = new Rng(seed, 2);
  return Array.from({ length: nq }, () => rng.unitVector(dim));
}
