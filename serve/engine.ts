import { servedFeeds, type ArmBServing } from '../evaluation/abFeeds';
import { ConstrainedIndex, type ConstrainedIndexOptions } from '../retrieval/constrainedIndex';
import { LiveItems } from '../retrieval/liveItems';
import { fillFeed, PopularItems } from '../retrieval/popularFallback';
import { DEFAULT_RECALL, type MultiInterestRecallConfig } from '../retrieval/recall';
import type { Catalogue, InterestModel, ItemVectors, Route } from '../retrieval/types';

/**
 * What the recall service answers with: one loaded bundle's catalogue, item vectors, constrained
 * index and user model, behind arm B's feed function of the A/B (evaluation/abFeeds.ts servedFeed:
 * the same recall, merge and serving blend), with the popular-items fallback for users without
 * behaviour. Lots listed after the retrain are appended (addLots); lots end at their end time.
 * Plain code: the HTTP layer (serve/server.ts) validates requests and hands them here. Every method
 * is synchronous, so a request never sees an engine half way through an update.
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
  /** The offline validation's serving choice (merge, weighting, blends); default the recall config's merge alone. */
  served?: ArmBServing;
  /** Clicks of a history the user model reads (the A/B's maxLongTerm); default 50. */
  maxLongTerm?: number;
  /** The bundle's own index (its item_idx must be the catalogue's), or options to build one from the vectors. */
  index?: ConstrainedIndex | ConstrainedIndexOptions;
  dispose?: () => void;
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

/** Lots to add or update: ids, index categories, auction windows (epoch ms) and item-tower vectors. */
export interface LotBatch {
  itemIds: readonly string[];
  categories: readonly string[];
  listedAt: readonly number[];
  endsAt: readonly number[];
  vectors: Float32Array;
}

export class UnknownItemError extends Error {}
export class UnknownCategoryError extends Error {}

interface State {
  catalogue: Catalogue;
  vectors: ItemVectors;
  live: LiveItems;
  popular: PopularItems;
}

export class RecallEngine {
  private readonly byId: Map<string, number>;
  private state: State;
  private readonly recallConfig: Omit<MultiInterestRecallConfig, 'size'>;
  private readonly categories: ReadonlySet<string>;
  private popularity: Float64Array;

  private constructor(
    readonly version: string,
    private readonly parts: EngineParts,
    private readonly index: ConstrainedIndex,
  ) {
    this.byId = new Map(parts.catalogue.itemIds.map((id, i) => [id, i]));
    this.popularity = parts.popularity;
    this.state = {
      catalogue: parts.catalogue,
      vectors: parts.vectors,
      live: new LiveItems(parts.catalogue),
      popular: new PopularItems(parts.popularity, parts.catalogue.listedAt),
    };
    this.categories = new Set(index.categories);
    this.recallConfig = parts.recall ?? { perRoute: DEFAULT_RECALL.perRoute, categoriesPerInterest: DEFAULT_RECALL.categoriesPerInterest, categoryProbe: DEFAULT_RECALL.categoryProbe, maxCategoryShare: DEFAULT_RECALL.maxCategoryShare };
  }

  static build(parts: EngineParts): RecallEngine {
    const { catalogue, vectors } = parts;
    if (vectors.vectors.length !== catalogue.itemIds.length * vectors.dim) {
      throw new Error(`${vectors.vectors.length / vectors.dim} item vectors for ${catalogue.itemIds.length} catalogue items`);
    }
    let index: ConstrainedIndex;
    if (parts.index instanceof ConstrainedIndex) {
      index = parts.index;
      const bad = catalogue.itemIds.findIndex((id, i) => index.itemIds[i] !== id);
      if (bad >= 0 || index.size !== catalogue.itemIds.length) throw new Error(`the index's items are not the catalogue's (first difference at item_idx ${bad}; ${index.size} vs ${catalogue.itemIds.length})`);
      if (index.dim !== vectors.dim) throw new Error(`the index has dimension ${index.dim}, the item vectors ${vectors.dim}`);
      // The live lots are a few percent of the catalogue: searched through a sub-index of their rows.
      index.useItemVectors(vectors.vectors);
    } else {
      index = ConstrainedIndex.build({ dim: vectors.dim, vectors: vectors.vectors, itemIds: catalogue.itemIds, itemCategories: catalogue.categories }, parts.index ?? {});
    }
    return new RecallEngine(parts.version, parts, index);
  }

  /** Items in the index (the bundle's and those added since). */
  get size(): number {
    return this.state.catalogue.itemIds.length;
  }

  /** The categories the index can constrain to. */
  get indexCategories(): ReadonlySet<string> {
    return this.categories;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The index category of a lot the engine holds. */
  categoryOf(id: string): string {
    const i = this.byId.get(id);
    if (i === undefined) throw new UnknownItemError(`item ${id} is not in bundle ${this.version}`);
    return this.state.catalogue.categories[i] as string;
  }

  /**
   * Adds lots listed after the retrain (appended to the index and the user model's item table) and
   * updates the auction window of lots it already holds (e.g. an auction closed early); an updated
   * lot keeps its vector. Returns how many were added and updated.
   */
  addLots(batch: LotBatch): { added: number; updated: number } {
    const { dim } = this.state.vectors;
    const n = batch.itemIds.length;
    if (batch.categories.length !== n || batch.listedAt.length !== n || batch.endsAt.length !== n || batch.vectors.length !== n * dim) throw new Error(`a lot batch of ${n} lots with ${batch.vectors.length / dim} vectors`);
    const unknownCategory = batch.categories.find((c) => !this.categories.has(c));
    if (unknownCategory !== undefined) throw new UnknownCategoryError(`category '${unknownCategory}' is not in the index`);
    const old = this.state.catalogue;
    const fresh: number[] = [];
    const listedAt = Float64Array.from(old.listedAt);
    const endsAt = Float64Array.from(old.endsAt);
    let updated = 0;
    batch.itemIds.forEach((id, r) => {
      const i = this.byId.get(id);
      if (i === undefined) fresh.push(r);
      else {
        listedAt[i] = batch.listedAt[r] as number;
        endsAt[i] = batch.endsAt[r] as number;
        updated++;
      }
    });
    const m = fresh.length;
    const ids = [...old.itemIds, ...fresh.map((r) => batch.itemIds[r] as string)];
    const cats = [...old.categories, ...fresh.map((r) => batch.categories[r] as string)];
    const newVectors = new Float32Array(m * dim);
    fresh.forEach((r, k) => newVectors.set(batch.vectors.subarray(r * dim, (r + 1) * dim), k * dim));
    const vectors = new Float32Array(old.itemIds.length * dim + m * dim);
    vectors.set(this.state.vectors.vectors);
    vectors.set(newVectors, old.itemIds.length * dim);
    const grow = (a: Float64Array, extra: number[]) => {
      const out = new Float64Array(a.length + extra.length);
      out.set(a);
      out.set(extra, a.length);
      return out;
    };
    const catalogue: Catalogue = { itemIds: ids, categories: cats, listedAt: grow(listedAt, fresh.map((r) => batch.listedAt[r] as number)), endsAt: grow(endsAt, fresh.map((r) => batch.endsAt[r] as number)) };
    if (m > 0) {
      this.index.add({ vectors: newVectors, itemIds: fresh.map((r) => batch.itemIds[r] as string), itemCategories: fresh.map((r) => batch.categories[r] as string) });
      this.parts.model.withItemVectors?.(vectors);
      fresh.forEach((r, k) => this.byId.set(batch.itemIds[r] as string, old.itemIds.length + k));
      this.popularity = grow(this.popularity, new Array<number>(m).fill(0)) as Float64Array;
    }
    this.state = { catalogue, vectors: { dim, vectors }, live: new LiveItems(catalogue), popular: new PopularItems(this.popularity, catalogue.listedAt) };
    return { added: m, updated };
  }

  recall(q: RecallQuery): RecallAnswer {
    return this.recallMany([q])[0] as RecallAnswer;
  }

  /**
   * Several requests at once (the service's concurrent ones): one user-model call and two index
   * calls for all of them (servedFeeds); each answer is the one the request would get alone.
   */
  recallMany(queries: readonly RecallQuery[]): RecallAnswer[] {
    const { popular, vectors } = this.state;
    const prepared = queries.map((q) => {
      const unknown: string[] = [];
      const idx = (ids: readonly string[]) =>
        ids.flatMap((id) => {
          const i = this.byId.get(id);
          if (i === undefined) unknown.push(id);
          return i === undefined ? [] : [i];
        });
      const history = idx(q.history);
      const session = idx(q.session);
      const seen = new Set<number>([...history, ...session, ...idx(q.exclude ?? [])]);
      return { q, unknown, history, session, seen, live: this.liveAt(q.now, q.category) };
    });
    const warm = prepared.filter((p) => p.history.length + p.session.length > 0);
    const feeds = new Map(
      servedFeeds(
        { ...this.parts.served, itemVectors: vectors },
        this.index,
        this.parts.model,
        warm.map((p) => ({
          request: { longTerm: Int32Array.from(p.history.slice(-(this.parts.maxLongTerm ?? 50))), shortTerm: Int32Array.from(p.session), live: p.live, seen: p.seen },
          options: { recall: this.recallConfig, size: p.q.k, popular, clicks: [...p.history, ...p.session] },
        })),
      ).map((feed, j) => [warm[j], feed]),
    );
    return prepared.map((p) => {
      const feed = feeds.get(p) ?? fillFeed([], p.q.k, popular, p.live, (i) => p.seen.has(i));
      return { version: this.version, items: feed.items.map((c) => this.item(c.itemIdx, c.score, c.route, c.interest)), unknown: p.unknown };
    });
  }

  /** The live items nearest to one item (its own vector as the query), optionally within a category. */
  similar(id: string, k: number, now: number, category?: string): RecallAnswer {
    const i = this.byId.get(id);
    if (i === undefined) throw new UnknownItemError(`item ${id} is not in bundle ${this.version}`);
    const { dim, vectors } = this.state.vectors;
    const live = this.liveAt(now, category);
    const among = Float64Array.from(live.filter((x) => x !== i));
    const hits = among.length ? this.index.search(vectors.subarray(i * dim, (i + 1) * dim), Math.min(k, among.length), category ?? null, { among }) : { itemIdx: new Int32Array(), scores: new Float32Array() };
    const items: RecalledItem[] = [];
    hits.itemIdx.forEach((x, r) => {
      if (x >= 0) items.push(this.item(x, hits.scores[r] as number, category ? 'category' : 'open', -1));
    });
    return { version: this.version, items, unknown: [] };
  }

  dispose(): void {
    this.parts.dispose?.();
  }

  /** The live lots (of a category); the same array while the set is unchanged (LiveItems.at), so the index keeps what it derives from it. */
  private liveAt(now: number, category: string | undefined): Int32Array {
    const live = this.state.live.at(now);
    if (category === undefined) return live;
    let byCategory = this.liveByCategory.get(live);
    if (!byCategory) {
      byCategory = new Map();
      this.liveByCategory.set(live, byCategory);
    }
    let inCategory = byCategory.get(category);
    if (!inCategory) {
      const cats = this.state.catalogue.categories;
      inCategory = live.filter((i) => cats[i] === category);
      byCategory.set(category, inCategory);
    }
    return inCategory;
  }

  private readonly liveByCategory = new WeakMap<Int32Array, Map<string, Int32Array>>();

  private item(itemIdx: number, score: number, route: Route, interest: number): RecalledItem {
    return { id: this.state.catalogue.itemIds[itemIdx] as string, score, route, interest };
  }
}
