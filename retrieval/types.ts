/**
 * The contract between the trained models (models/) and retrieval. Retrieval only ever sees item
 * vectors and interest vectors; how they were learned is the models' business.
 */

/**
 * Maps a user's behaviour to K interest vectors in the item space. `longTerm` is the user's earlier
 * clicks (oldest first), `shortTerm` the clicks of the current session (oldest first); both hold
 * item_idx values of the features' item_index. K may differ between users (e.g. an oracle that
 * knows a user has two interests returns two vectors).
 */
export interface InterestModel {
  readonly dim: number;
  interests(longTerm: Int32Array, shortTerm: Int32Array): Float32Array[];
  /** The same interests with each one's strength (how much of the behaviour supports it), where the model has one. */
  weightedInterests?(longTerm: Int32Array, shortTerm: Int32Array): { vectors: Float32Array[]; weights: number[] };
  /**
   * Reads item vectors from this table from now on: the recall service appends the vectors of lots
   * listed after training (their item_idx follow the trained ones), so a click on one is understood.
   */
  withItemVectors?(vectors: Float32Array): void;
  /**
   * `interests` (or, with `weighted`, `weightedInterests`) of several requests in one call, where
   * the model gains by batching (one forward pass): the recall service's concurrent requests.
   */
  interestsMany?(requests: readonly { longTerm: Int32Array; shortTerm: Int32Array }[], weighted: boolean): { vectors: Float32Array[]; weights?: number[] }[];
}

/**
 * One vector per item_idx (row i is item_idx i), for every item including those never seen in
 * training: item vectors come from attributes, so brand-new auctions have one too.
 */
export interface ItemVectors {
  readonly dim: number;
  /** count * dim, row-major. */
  readonly vectors: Float32Array;
}

/** Which model answers for a user. Trained models answer for everyone; the truth oracle needs the user. */
export type InterestModelProvider = (userIdx: number) => InterestModel;

/** The items a feed may show, as the features database describes them. */
export interface Catalogue {
  /** item_idx → item_id. */
  readonly itemIds: readonly string[];
  /** item_idx → coarse category (tagging's item_category). */
  readonly categories: readonly string[];
  /** item_idx → listing time, epoch ms. */
  readonly listedAt: Float64Array;
  /** item_idx → auction end, epoch ms. An item is live at t when listedAt <= t < endsAt. */
  readonly endsAt: Float64Array;
}

/** How a candidate reached the feed. */
export type Route = 'category' | 'open' | 'item-cf' | 'popular';

export interface Candidate {
  itemIdx: number;
  /** The retrieval score (inner product, or summed item-CF similarity); comparable within a route only. */
  score: number;
  route: Route;
  /** Which interest retrieved it (multi-interest recall), else -1. */
  interest: number;
}

/** A ranked list of distinct items for one request, position 0 first. */
export interface Feed {
  items: Candidate[];
  /** Slots that the popular-items fallback had to fill because the recaller found too few. */
  fallbackFilled: number;
}
