import { ConstrainedIndex, type ConstrainedIndexOptions } from '../retrieval/constrainedIndex';
import { LiveItems } from '../retrieval/liveItems';
import { fillFeed, PopularItems } from '../retrieval/popularFallback';
import { DEFAULT_RECALL, recallFromInterests, type MultiInterestRecallConfig } from '../retrieval/recall';
import type { Catalogue, InterestModel, ItemVectors, Route } from '../retrieval/types';

/**
 * What the recall service answers with: one loaded bundle's catalogue, item vectors, constrained
 * index and user model, behind the same recall and merge code the A/B's arm B uses
 * (retrieval/recall.ts), with the popular-items fallback for users without behaviour. Plain code:
 * the HTTP layer (serve/server.ts) validates requests and hands them here.
 */

export interface EngineParts {
  /** Names the bundle (the registry's model version); reported by every answer and /metrics. */
  version: string;
  catalogue: Catalogue;
  vectors: ItemVectors;
  model: InterestModel;
  /** item_idx → recent clicks: the fallback's ranking. */
  popularity: Float64Array;
  recall?: Omit<MultiInterestRecallConfig, 'size'>;
  index?: ConstrainedIndexOptions;
}

export interface RecallQuery {
  /** The user's earlier clicks, oldest first (item ids). */
  history: readonly string[];
  /** This session's clicks, oldest first. */
  session: readonly string[];
  k: number;
  /** Only items of this category. */
  category?: string;
  /** Items the feed must not show (besides the clicked ones). */
  exclude?: readonly string[];
  /** The request's moment (epoch ms): only auctions live then are recalled. */
  now: number;
}

export interface RecalledItem {
  id: string;
  score: number;
  /** 'category' / 'open' (interest n's routes), 'popular' (the fallback). */
  route: Route;
  /** The interest that retrieved it; -1 for the fallback. */
  interest: number;
}

export interface RecallAnswer {
  version: string;
  items: RecalledItem[];
  /** Item ids of the request the bundle does not know (ignored). */
  unknown: string[];
}

export class UnknownItemError extends Error {}

export class RecallEngine {
  private readonly byId: Map<string, number>;
  private readonly live: LiveItems;
  private readonly popular: PopularItems;
  private readonly recallConfig: Omit<MultiInterestRecallConfig, 'size'>;

  private constructor(
    readonly version: string,
    private readonly parts: EngineParts,
    private readonly index: ConstrainedIndex,
  ) {
    this.byId = new Map(parts.catalogue.itemIds.map((id, i) => [id, i]));
    this.live = new LiveItems(parts.catalogue);
    this.popular = new PopularItems(parts.popularity, parts.catalogue.listedAt);
    this.recallConfig = parts.recall ?? { perRoute: DEFAULT_RECALL.perRoute, categoriesPerInterest: DEFAULT_RECALL.categoriesPerInterest, categoryProbe: DEFAULT_RECALL.categoryProbe, maxCategoryShare: DEFAULT_RECALL.maxCategoryShare };
  }

  static build(parts: EngineParts): RecallEngine {
    const { catalogue, vectors } = parts;
    if (vectors.vectors.length !== catalogue.itemIds.length * vectors.dim) {
      throw new Error(`${vectors.vectors.length / vectors.dim} item vectors for ${catalogue.itemIds.length} catalogue items`);
    }
    const index = ConstrainedIndex.build({ dim: vectors.dim, vectors: vectors.vectors, itemIds: catalogue.itemIds, itemCategories: catalogue.categories }, parts.index ?? {});
    return new RecallEngine(parts.version, parts, index);
  }

  /** Items in the index. */
  get size(): number {
    return this.parts.catalogue.itemIds.length;
  }

  recall(q: RecallQuery): RecallAnswer {
    const unknown: string[] = [];
    const idx = (ids: readonly string[]) =>
      Int32Array.from(
        ids.flatMap((id) => {
          const i = this.byId.get(id);
          if (i === undefined) unknown.push(id);
          return i === undefined ? [] : [i];
        }),
      );
    const longTerm = idx(q.history);
    const shortTerm = idx(q.session);
    const seen = new Set<number>([...longTerm, ...shortTerm, ...idx(q.exclude ?? [])]);
    const live = this.liveAt(q.now, q.category);
    const request = { longTerm, shortTerm, live, seen };
    const interests = longTerm.length + shortTerm.length > 0 ? this.parts.model.interests(longTerm, shortTerm) : [];
    const candidates = recallFromInterests(interests, this.index, request, { ...this.recallConfig, size: q.k });
    const feed = fillFeed(candidates, q.k, this.popular, live, (i) => seen.has(i));
    return { version: this.version, items: feed.items.map((c) => this.item(c.itemIdx, c.score, c.route, c.interest)), unknown };
  }

  /** The live items nearest to one item (its own vector as the query), optionally within a category. */
  similar(id: string, k: number, now: number, category?: string): RecallAnswer {
    const i = this.byId.get(id);
    if (i === undefined) throw new UnknownItemError(`item ${id} is not in bundle ${this.version}`);
    const { dim, vectors } = this.parts.vectors;
    const live = this.liveAt(now, category);
    const among = Float64Array.from(live.filter((x) => x !== i));
    const hits = among.length ? this.index.search(vectors.subarray(i * dim, (i + 1) * dim), Math.min(k, among.length), category ?? null, { among }) : { itemIdx: new Int32Array(), scores: new Float32Array() };
    const items: RecalledItem[] = [];
    hits.itemIdx.forEach((x, r) => {
      if (x >= 0) items.push(this.item(x, hits.scores[r] as number, category ? 'category' : 'open', -1));
    });
    return { version: this.version, items, unknown: [] };
  }

  private liveAt(now: number, category: string | undefined): Int32Array {
    const live = this.live.at(now);
    if (category === undefined) return live;
    const cats = this.parts.catalogue.categories;
    return live.filter((i) => cats[i] === category);
  }

  private item(itemIdx: number, score: number, route: Route, interest: number): RecalledItem {
    return { id: this.parts.catalogue.itemIds[itemIdx] as string, score, route, interest };
  }
}
