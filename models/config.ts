import { z } from 'zod';
import { ConfigError, flag, nonNegativeInt, nonNegativeNumber, oneOf, parseConfig, positiveInt, positiveNumber, section, type SectionShape } from '../platform/schema';
/**
 * Model configurations with their defaults, each choice named and explained where it is made.
 * Every field is logged as an MLflow param; the schemas below reject impossible values at the
 * retrain's validate stage, before any training starts.
 */

export interface ItemUnitConfig {
  /** Output dimension of the item vector shared by all three models. */
  dim: number;
  tagEmbeddingDim: number;
  sellerEmbeddingDim: number;
  priceEmbeddingDim: number;
  categoryEmbeddingDim: number;
  hiddenUnits: number;
  /** At most this many tags per item enter the bag (the highest-weighted ones). */
  maxTags: number;
  /** Sellers with fewer items in the training period share one out-of-vocabulary embedding. */
  minSellerItems: number;
  /**
   * Periods (days) of the listing-time encoding; empty turns it off. Auctions are short, so items on
   * sale at the same time are the ones clicked together: the encoding lets item vectors carry that,
   * and it extrapolates to items listed after training (unlike an id or a per-week embedding).
   */
  timePeriods: number[];
  /**
   * Loss: binary cross-entropy on the skip-gram pairs from the feature SQL (positives and their
   * unigram^0.75 negatives), i.e. word2vec's negative-sampling objective. The pairs already carry
   * their negatives, so no softmax over the catalogue is needed.
   */
  loss: 'bce';
  /** Cosine similarities are multiplied by this before the sigmoid (item vectors are L2-normalised). */
  logitScale: number;
  epochs: number;
  /**
   * At most this many skip-gram pairs an epoch (0: all of them), each epoch a different shuffled
   * share: the item tower's cost then stops growing with the event log (large has ~10x medium's pairs).
   */
  pairsPerEpoch: number;
  batchSize: number;
  learningRate: number;
  seed: number;
}

export interface Item2VecConfig {
  dim: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  logitScale: number;
  seed: number;
  /**
   * The ID-only baseline is trained only for catalogues of at most this many items (0: never). It
   * costs about as much as the item tower (7 of medium's 29 training minutes) and is a reference,
   * not a model Curio serves; where it runs it is reported as before. Above the size the stage
   * says it was not run (report, MLflow param `item2vec.not_run`), and evaluation leaves it out.
   */
  maxItems: number;
}

/**
 * Negatives of the keyword model's sampled softmax. Drawn once per batch and shared by all its rows
 * (the item tower then runs once per distinct candidate): the ratio of negatives to positives is
 * (random + popular) per positive, plus batchSize − 1 with in-batch negatives; `popular` and
 * `popularityPower` set their hardness.
 */
export interface NegativeSampling {
  /** Uniformly random catalogue items per batch. */
  random: number;
  /** Items drawn by click popularity^power per batch ("hard" negatives: what most people click). */
  popular: number;
  popularityPower: number;
  /** Use the other positives of the batch as negatives too. */
  inBatch: boolean;
}

export interface KeywordConfig {
  dim: number;
  tokenEmbeddingDim: number;
  hiddenUnits: number;
  maxTokens: number;
  /** Hash buckets for tokens outside the training vocabulary. */
  oovBuckets: number;
  minTokenCount: number;
  /** Initialise the item tower from the pretrained item-unit network. */
  transfer: boolean;
  /** With transfer: epochs the item tower stays frozen before it is fine-tuned with the query tower. */
  frozenEpochs: number;
  negatives: NegativeSampling;
  /** Title→item pairs per search→click pair in each epoch (titles are plentiful, searches scarce). */
  titlePairRatio: number;
  logitScale: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
}

export interface MultiInterestConfig {
  /** Interests per user (K). */
  interests: number;
  /**
   * How the K long-term interests are extracted from the long-term sequence:
   * 'self_attentive' (ComiRec-SA: A = softmax(tanh((H + P) W1) W2), interests = Aᵀ H) or
   * 'dynamic_routing' (MIND / ComiRec-DR capsules; routing logits start from one seeded random draw).
   */
  extraction: 'self_attentive' | 'dynamic_routing';
  /**
   * 'joint': the user model fine-tunes the item-unit tower its vectors came from (attribute inputs,
   * so new lots still get vectors), as ComiRec and MIND train item embeddings with the user model;
   * the index and the A/B then serve the co-trained vectors. 'frozen': it reads the item-unit vectors.
   */
  itemTower: 'joint' | 'frozen';
  /** Hidden units of the self-attentive pooling; ComiRec-SA uses 4 × d. */
  attentionHidden: number;
  /** Routing iterations of 'dynamic_routing' (ComiRec-DR: 3). */
  routingIterations: number;
  /**
   * The capsules' maps from item to interest space: 'shared' (MIND: one S), or 'per_interest' (one
   * S_k per capsule, ComiRec's bilinear_type 1): with one shared map and routing logits that start
   * from a fixed positional draw, every capsule is a differently weighted mean of the same mapped
   * history, which is one source of the interests' collapse.
   */
  routingMaps: 'shared' | 'per_interest';
  maxLong: number;
  maxShort: number;
  /**
   * How the short-term (session) behaviour enters:
   * - 'sigmoid_gate': one candidate tanh(s Ws) for all K interests, mixed in by an element-wise gate
   *   over [l_k, s, l_k ⊙ s] (GRU-style update gate). It adds the same vector to every interest, so
   *   it pulls them together, and with an empty session (a session's first request) it still adds
   *   tanh(bs), one constant for every user.
   * - 'interest_attention': each interest attends over the session's items and is gated towards
   *   the ones like it (its own candidate); an empty session leaves the interests as they are.
   * - 'session_channel': the session is an interest of its own (K + 1 outputs); with an empty
   *   session it is the last long-term clicks, so a request at a session's start still has one.
   * - 'none': long-term interests only.
   */
  fusion: 'sigmoid_gate' | 'interest_attention' | 'session_channel' | 'none';
  /** With 'session_channel' and an empty session: how many of the last long-term clicks stand in for it. */
  sessionFallbackClicks: number;
  /**
   * Selection gate: 'hard' trains only the interest most similar to the target item (argmax, as the
   * method says "picks"); 'soft' weights interests by softmax(selectionTemperature × similarity).
   */
  selection: 'hard' | 'soft';
  selectionTemperature: number;
  /** λ: weight of the metric-learning loss that keeps the interests apart. */
  lambda: number;
  /**
   * The metric loss on a user's normalised interests: mean pairwise cosine ('cosine'), its square, or
   * a hinge that only penalises pairs more similar than `metricMargin` (EasyRec's relu(sim − 0.75):
   * a plain penalty pushes interests apart even when they are already distinct, and costs hit rate).
   */
  metricLoss: 'cosine' | 'squared_cosine' | 'hinge';
  metricMargin: number;
  /** Shared sampled-softmax negatives per batch, drawn from training-item popularity^0.75. */
  sampledNegatives: number;
  /** Also use the batch's other targets as negatives (their own sampling distribution: click frequency). */
  inBatchNegatives: boolean;
  /**
   * Subtract log Q (the probability the sampler draws an item) from every logit: without it, the
   * softmax learns the sampler's popularity bias instead of the user's preference (Bengio & Senécal;
   * Yi et al. 2019). The positive is corrected with the same Q as the negatives.
   */
  logQCorrection: boolean;
  logitScale: number;
  epochs: number;
  /**
   * At most this many (history, target) examples an epoch (0: all), each epoch a different shuffled
   * share. Bounds each of the four user-model trainings (stage and λ trials) as the log grows.
   */
  examplesPerEpoch: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /**
   * The multi_interest stage trains the single-vector baseline (YouTube DNN) beside the model only
   * for catalogues of at most this many items (0: never), for the same reason as item2vec.maxItems;
   * evaluation then compares without it. λ trials never train it.
   */
  singleVectorBaselineMaxItems: number;
}

export const DEFAULT_ITEM_UNIT: ItemUnitConfig = {
  dim: 64,
  tagEmbeddingDim: 32,
  sellerEmbeddingDim: 16,
  priceEmbeddingDim: 8,
  categoryEmbeddingDim: 8,
  hiddenUnits: 128,
  maxTags: 16,
  minSellerItems: 2,
  timePeriods: [1, 3, 7, 15, 31],
  loss: 'bce',
  logitScale: 5,
  epochs: 4,
  // Off: a budget trades quality for time, not yet measured on validation (README, "Scale").
  pairsPerEpoch: 0,
  // Large batches: per-step overhead dominates on CPU, and the tower runs once per distinct item.
  batchSize: 4096,
  learningRate: 0.003,
  seed: 7,
};

export const DEFAULT_ITEM2VEC: Item2VecConfig = {
  dim: 64,
  epochs: 4,
  batchSize: 4096,
  learningRate: 0.01,
  logitScale: 5,
  seed: 7,
  maxItems: 50_000,
};

export const DEFAULT_KEYWORD: KeywordConfig = {
  dim: 64,
  tokenEmbeddingDim: 48,
  hiddenUnits: 128,
  maxTokens: 8,
  oovBuckets: 512,
  minTokenCount: 2,
  transfer: true,
  frozenEpochs: 2,
  negatives: { random: 128, popular: 128, popularityPower: 0.75, inBatch: true },
  titlePairRatio: 1,
  logitScale: 10,
  epochs: 4,
  batchSize: 256,
  learningRate: 0.003,
  seed: 7,
};

/**
 * Defaults chosen on the next-session validation sessions of the small synthetic marketplace (seed 1)
 * with `npm run bench:user-models`; the README's ablation table has every row. Capsule routing with
 * per-interest session attention beat the self-attentive extractor with the shared sigmoid gate by
 * about 15 points of validation Recall@50, and is the only learned variant that beat the history-
 * clustering baseline there; four interests, 1,024 shared negatives with log-Q correction and
 * lr 5e-3 follow ComiRec-DR. Joint training added about 3 points of validation and 8 of test recall.
 */
export const DEFAULT_MULTI_INTEREST: MultiInterestConfig = {
  interests: 4,
  itemTower: 'joint',
  extraction: 'dynamic_routing',
  attentionHidden: 64,
  routingIterations: 3,
  routingMaps: 'shared',
  maxLong: 50,
  maxShort: 10,
  fusion: 'interest_attention',
  sessionFallbackClicks: 3,
  selection: 'hard',
  selectionTemperature: 10,
  lambda: 0.1,
  metricLoss: 'cosine',
  metricMargin: 0.75,
  sampledNegatives: 1024,
  inBatchNegatives: false,
  logQCorrection: true,
  logitScale: 10,
  epochs: 5,
  // Off: at medium (`npm run bench:user-models -- --variants default_joint,default_joint_budget100k
  // --merges max_score`, one thread each) a 100k budget trained in 268 s
  // instead of 1,070 s but lost 1.9 pt of validation R@50 (27.0% vs 28.9%); quality wins the default.
  // Set it for a retrain that must fit a time budget (README, "Scale").
  examplesPerEpoch: 0,
  batchSize: 256,
  learningRate: 0.005,
  seed: 7,
  singleVectorBaselineMaxItems: 50_000,
};

const ITEM_UNIT_SHAPE: SectionShape<ItemUnitConfig> = {
  dim: positiveInt(),
  tagEmbeddingDim: positiveInt(),
  sellerEmbeddingDim: positiveInt(),
  priceEmbeddingDim: positiveInt(),
  categoryEmbeddingDim: positiveInt(),
  hiddenUnits: positiveInt(),
  maxTags: positiveInt(),
  minSellerItems: nonNegativeInt(),
  timePeriods: z.array(positiveNumber(), { error: 'must be a list of positive numbers of days' }),
  loss: z.literal('bce', { error: "must be 'bce'" }),
  logitScale: positiveNumber(),
  epochs: positiveInt(),
  pairsPerEpoch: nonNegativeInt(),
  batchSize: positiveInt(),
  learningRate: positiveNumber(),
  seed: z.int({ error: 'must be an integer' }),
};
export const ItemUnitSchema = section(ITEM_UNIT_SHAPE, DEFAULT_ITEM_UNIT);

export const Item2VecSchema = section<Item2VecConfig>(
  { dim: positiveInt(), epochs: positiveInt(), batchSize: positiveInt(), learningRate: positiveNumber(), logitScale: positiveNumber(), seed: z.int({ error: 'must be an integer' }), maxItems: nonNegativeInt() },
  DEFAULT_ITEM2VEC,
);

const NegativesSchema = section<NegativeSampling>(
  { random: nonNegativeInt(), popular: nonNegativeInt(), popularityPower: nonNegativeNumber(), inBatch: flag() },
  DEFAULT_KEYWORD.negatives,
).refine((n) => n.random + n.popular > 0 || n.inBatch, { error: 'need at least one kind of negative' });

export const KeywordSchema = section<KeywordConfig>(
  {
    dim: positiveInt(),
    tokenEmbeddingDim: positiveInt(),
    hiddenUnits: positiveInt(),
    maxTokens: positiveInt(),
    oovBuckets: positiveInt(),
    minTokenCount: positiveInt(),
    transfer: flag(),
    frozenEpochs: nonNegativeInt(),
    negatives: NegativesSchema,
    titlePairRatio: nonNegativeNumber(),
    logitScale: positiveNumber(),
    epochs: positiveInt(),
    batchSize: positiveInt(),
    learningRate: positiveNumber(),
    seed: z.int({ error: 'must be an integer' }),
  },
  DEFAULT_KEYWORD,
).refine((k) => k.frozenEpochs <= k.epochs, { error: 'must be in [0, epochs]', path: ['frozenEpochs'] });

export const MultiInterestSchema = section<MultiInterestConfig>(
  {
    interests: z.int({ error: '(K) must be >= 1' }).min(1, { error: '(K) must be >= 1' }),
    extraction: oneOf(['self_attentive', 'dynamic_routing']),
    itemTower: oneOf(['joint', 'frozen']),
    attentionHidden: positiveInt(),
    routingIterations: positiveInt(),
    routingMaps: oneOf(['shared', 'per_interest']),
    maxLong: positiveInt(),
    maxShort: positiveInt(),
    fusion: oneOf(['sigmoid_gate', 'interest_attention', 'session_channel', 'none']),
    sessionFallbackClicks: positiveInt(),
    selection: oneOf(['hard', 'soft']),
    selectionTemperature: positiveNumber(),
    lambda: z.number({ error: '(λ) must be >= 0' }).min(0, { error: '(λ) must be >= 0' }),
    metricLoss: oneOf(['cosine', 'squared_cosine', 'hinge']),
    metricMargin: z.number({ error: 'must be in (−1, 1)' }).gt(-1, { error: 'must be in (−1, 1)' }).lt(1, { error: 'must be in (−1, 1)' }),
    sampledNegatives: positiveInt(),
    inBatchNegatives: flag(),
    logQCorrection: flag(),
    logitScale: positiveNumber(),
    epochs: positiveInt(),
    examplesPerEpoch: nonNegativeInt(),
    batchSize: positiveInt(),
    learningRate: positiveNumber(),
    seed: z.int({ error: 'must be an integer' }),
    singleVectorBaselineMaxItems: nonNegativeInt(),
  },
  DEFAULT_MULTI_INTEREST,
).refine((c) => c.sessionFallbackClicks <= c.maxLong, { error: 'must be an integer in [1, maxLong]', path: ['sessionFallbackClicks'] });

/** The keyword model's item tower is initialised from the item-unit tower only when their dimensions agree. */
export function checkKeywordTransfer(keyword: KeywordConfig, itemDim: number): void {
  if (keyword.transfer && keyword.dim !== itemDim) {
    throw new ConfigError(`invalid configuration: keyword.dim must equal the item-unit dimension ${itemDim} to transfer its tower, got ${keyword.dim}`);
  }
}

// For code that builds a config by hand (benchmarks, tests): the same schemas the validate stage uses.
export const validateItemUnit = (c: ItemUnitConfig): ItemUnitConfig => parseConfig('itemUnit', ItemUnitSchema, c);
export const validateItem2Vec = (c: Item2VecConfig): Item2VecConfig => parseConfig('item2vec', Item2VecSchema, c);
export const validateMultiInterest = (c: MultiInterestConfig): MultiInterestConfig => parseConfig('multiInterest', MultiInterestSchema, c);
export function validateKeyword(c: KeywordConfig, itemDim?: number): KeywordConfig {
  const parsed = parseConfig('keyword', KeywordSchema, c);
  if (itemDim !== undefined) checkKeywordTransfer(parsed, itemDim);
  return parsed;
}

/** Flattens a config into MLflow params (`prefix.field`). */
export function configParams(prefix: string, config: object): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(`${p}.${k}`, x);
    else out[p] = String(v);
  };
  walk(prefix, config);
  return out;
}
