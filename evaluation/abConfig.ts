import { z } from 'zod';
import { flag, nonNegativeInt, oneOf, parseConfig, positiveInt, positiveNumber, section } from '../platform/schema';
import type { ConstrainedIndexOptions } from '../retrieval/constrainedIndex';
import { DEFAULT_RECALL, type MultiInterestRecallConfig } from '../retrieval/recall';

/** Settings of the A/B CTR simulation and the offline replay (evaluation/abTest.ts). */
export interface AbConfig {
  seed: number;
  /** Share of users in arm B. */
  shareB: number;
  /** Which users (features' user_split) take part. */
  userSplits: string[];
  pageSize: number;
  pagesPerSession: number;
  pageGapMs: number;
  /** Logged clicks the interest model sees as long-term history. */
  maxLongTerm: number;
  /** Recent clicks item-CF recalls from. */
  cfRecentClicks: number;
  cfTopK: number;
  cfLookbackDays: number;
  /** How often item-CF and popularity are recomputed (production: daily). */
  refreshHours: number;
  popularityWindowHours: number;
  bootstrapSamples: number;
  /** Also compute the offline replay estimate (feeds of both arms for every session). */
  replay: boolean;
  recall: Omit<MultiInterestRecallConfig, 'size'>;
  index: ConstrainedIndexOptions;
  /**
   * Diagnostics only: 'frozen' computes item-CF and popularity once, from the clicks before the test
   * start, instead of every refreshHours inside the test period (default 'periodic').
   */
  cfRefresh?: 'periodic' | 'frozen';
}

export const DEFAULT_AB: AbConfig = {
  seed: 1,
  shareB: 0.5,
  userSplits: ['train', 'valid', 'test'],
  pageSize: 10,
  pagesPerSession: 2,
  pageGapMs: 90_000,
  maxLongTerm: 50,
  cfRecentClicks: 20,
  cfTopK: 100,
  cfLookbackDays: 30,
  refreshHours: 24,
  popularityWindowHours: 48,
  bootstrapSamples: 2000,
  replay: true,
  recall: { perRoute: DEFAULT_RECALL.perRoute, categoriesPerInterest: 2, categoryProbe: 50, maxCategoryShare: 0.5 },
  index: { factory: 'Flat' },
};

type ArmBRecall = AbConfig['recall'];

const RecallSchema = section<ArmBRecall>(
  {
    perRoute: positiveInt(),
    categoriesPerInterest: nonNegativeInt(),
    categoryProbe: positiveInt(),
    maxCategoryShare: z.number().gt(0, { error: 'must be in (0, 1]' }).max(1, { error: 'must be in (0, 1]' }),
    merge: oneOf(['quota', 'score']).optional(),
  },
  DEFAULT_AB.recall,
);

const IndexSchema = section<ConstrainedIndexOptions>(
  {
    factory: z.string().regex(/^[A-Za-z0-9_,.]+$/, { error: "must be a Faiss factory string such as 'Flat', 'IVF256,Flat' or 'HNSW32'" }).optional(),
    searchParameters: z.record(z.string(), z.number()).optional(),
    trainRows: positiveInt().optional(),
    ivfLists: oneOf(['category', 'joint']).optional(),
  },
  DEFAULT_AB.index,
);

export const AbTestSchema = section<AbConfig>(
  {
    seed: z.int({ error: 'must be an integer' }),
    shareB: z.number().gt(0, { error: 'must be in (0, 1)' }).lt(1, { error: 'must be in (0, 1)' }),
    userSplits: z.array(oneOf(['train', 'valid', 'test'])).min(1, { error: 'must name at least one split' }),
    pageSize: positiveInt(),
    pagesPerSession: positiveInt(),
    pageGapMs: positiveNumber(),
    maxLongTerm: positiveInt(),
    cfRecentClicks: positiveInt(),
    cfTopK: positiveInt(),
    cfLookbackDays: positiveNumber(),
    refreshHours: positiveNumber(),
    popularityWindowHours: positiveNumber(),
    bootstrapSamples: positiveInt(),
    replay: flag(),
    recall: RecallSchema,
    index: IndexSchema,
    cfRefresh: oneOf(['periodic', 'frozen']).optional(),
  },
  DEFAULT_AB,
);

/** Fills what a partial or older settings object lacks and rejects impossible values (ConfigError). */
export function validateAbConfig(c: unknown): AbConfig {
  return parseConfig('abTest', AbTestSchema, c);
}
