import type { tf } from '../platform/tf';
import { computeItemVectors } from '../models/itemUnit';
import type { ItemFeatures } from '../models/itemFeatures';
import { UNCATEGORISED } from '../tagging/assignCategories';
import { buildCategorySynonyms, canonicalFormCategory, type CategorySynonyms } from '../tagging/formCategories';
import type { Lexicon } from '../tagging/lexicon';
import { LotTagger } from '../tagging/titleTags';
import type { ServingManifest } from './servingFiles';

/**
 * A lot listed after the retrain, as the recall service receives it (POST /v1/items, or a line of a
 * watched file). Times are epoch ms.
 */
export interface NewLot {
  itemId: string;
  title: string;
  sellerId: string;
  startPrice: number;
  /** The listing form's category, if the seller gave one. */
  category?: string | undefined;
  listedAt: number;
  endsAt: number;
}

export interface EmbeddedLots {
  vectors: Float32Array;
  /** The index category of each lot. */
  categories: string[];
  /** The tower's tags of each lot (names), for the answer and the log. */
  tags: string[][];
}

/** A lot whose category the bundle's index has no dimension for. */
export class LotCategoryError extends Error {
  constructor(
    readonly lot: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Tags a new lot with the retrain's tagging vocabulary and embeds it with the champion's item tower:
 * the same attribute ids (tags by weight, seller, price band, category, listing-time code) the
 * tower was trained on, so a lot nobody has clicked still lands near its kind.
 */
export class LotEmbedder {
  private readonly tagger: LotTagger;
  private readonly synonyms: CategorySynonyms;
  private readonly categoryInput: Map<string, number>;

  constructor(
    private readonly manifest: ServingManifest,
    lexicon: Lexicon,
    private readonly tower: tf.LayersModel,
    /** The categories the index has a dimension for. */
    private readonly indexCategories: ReadonlySet<string>,
  ) {
    this.tagger = new LotTagger(lexicon, manifest.tagging);
    this.synonyms = buildCategorySynonyms(manifest.tagging.categorySynonyms, manifest.tagging.lexiconInScope ? lexicon : undefined);
    this.categoryInput = new Map(manifest.itemTower.categories.map((c, i) => [c, i + 1]));
  }

  /** The index category a lot's form category maps to (synonyms applied); a lot without one is uncategorised. */
  categoryOf(lot: NewLot, position = 0): string {
    const c = canonicalFormCategory(lot.category, this.synonyms) ?? UNCATEGORISED;
    if (!this.indexCategories.has(c)) {
      throw new LotCategoryError(position, `category '${lot.category ?? ''}' (as '${c}') is not one of the bundle's ${this.indexCategories.size} categories; a new category needs a retrain`);
    }
    return c;
  }

  embed(lots: readonly NewLot[]): EmbeddedLots {
    const v = this.manifest.itemTower;
    const n = lots.length;
    const t = v.maxTags;
    const f: ItemFeatures = {
      n,
      maxTags: t,
      itemIds: lots.map((l) => l.itemId),
      tagIds: new Int32Array(n * t),
      tagWeights: new Float32Array(n * t),
      seller: new Int32Array(n),
      price: new Int32Array(n),
      category: new Int32Array(n),
      listedDay: new Float32Array(n),
      categoryCodes: [],
      categoryVocab: v.categories,
      vocab: { tags: 0, sellers: 0, prices: v.priceFloors.length, categories: v.categories.length + 1 },
    };
    const categories: string[] = [];
    const tags: string[][] = [];
    lots.forEach((lot, r) => {
      const category = this.categoryOf(lot, r);
      categories.push(category);
      // As models/item_attributes: the highest weights first, ties by tag id; unknown tags have no embedding.
      const known = this.tagger
        .tag(lot.title)
        .flatMap((p) => (v.tags[p.tag] === undefined ? [] : [{ tag: p.tag, id: v.tags[p.tag] as number, weight: p.weight }]))
        .sort((a, b) => b.weight - a.weight || a.id - b.id)
        .slice(0, t);
      tags.push(known.map((k) => k.tag));
      known.forEach((k, j) => {
        f.tagIds[r * t + j] = k.id + 1;
        f.tagWeights[r * t + j] = k.weight;
      });
      f.seller[r] = v.sellers[lot.sellerId] ?? 0;
      f.price[r] = priceBand(lot.startPrice, v.priceFloors);
      f.category[r] = this.categoryInput.get(category) ?? 0;
      f.listedDay[r] = (lot.listedAt - v.dataStartMs) / 86_400_000;
    });
    const vectors = n ? computeItemVectors(this.tower, f, v.timePeriods) : new Float32Array();
    return { vectors, categories, tags };
  }
}

/** The band whose floor is the highest not above the price (band 0 below every floor). */
export function priceBand(price: number, floors: readonly number[]): number {
  let band = 0;
  for (let b = 0; b < floors.length; b++) if ((floors[b] as number) <= price) band = b;
  return band;
}
