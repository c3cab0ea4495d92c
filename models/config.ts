/**
 * Model configurations with their defaults, each choice named and explained where it is made.
 * Every field is logged as an MLflow param; `validateConfig` rejects impossible values before any
 * training starts.
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
  /** Hidden units of the self-attentive pooling that extracts interests from the long-term sequence. */
  attentionHidden: number;
  maxLong: number;
  maxShort: number;
  /**
   * Fusion gate form: an element-wise sigmoid gate over [long_k, short, long_k ⊙ short] mixes each
   * long-term interest with the session representation (GRU-style update gate).
   */
  fusion: 'sigmoid_gate';
  /**
   * Selection gate: 'hard' trains only the interest most similar to the target item (argmax, as the
   * method says "picks"); 'soft' weights interests by softmax(selectionTemperature × similarity).
   */
  selection: 'hard' | 'soft';
  selectionTemperature: number;
  /** λ: weight of the metric-learning loss that keeps the interests apart. */
  lambda: number;
  /** The metric loss: mean pairwise cosine of a user's normalised interests ('cosine'), or its square. */
  metricLoss: 'cosine' | 'squared_cosine';
  /** Shared sampled-softmax negatives per batch, drawn from training-item popularity^0.75. */
  sampledNegatives: number;
  logitScale: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
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

export const DEFAULT_MULTI_INTEREST: MultiInterestConfig = {
  interests: 3,
  attentionHidden: 64,
  maxLong: 50,
  maxShort: 10,
  fusion: 'sigmoid_gate',
  selection: 'hard',
  selectionTemperature: 10,
  lambda: 0.1,
  metricLoss: 'cosine',
  sampledNegatives: 256,
  logitScale: 10,
  epochs: 5,
  batchSize: 256,
  learningRate: 0.003,
  seed: 7,
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Rule = [field: string, ok: boolean, why: string];

function check(model: string, rules: Rule[]): void {
  const bad = rules.filter(([, ok]) => !ok).map(([f, , why]) => `${model}.${f} ${why}`);
  if (bad.length) throw new ConfigError(`impossible configuration: ${bad.join('; ')}`);
}

const posInt = (v: number) => Number.isInteger(v) && v >= 1;
const posNum = (v: number) => Number.isFinite(v) && v > 0;

export function validateItemUnit(c: ItemUnitConfig): void {
  check('itemUnit', [
    ['dim', posInt(c.dim), `must be a positive integer, got ${c.dim}`],
    ['tagEmbeddingDim', posInt(c.tagEmbeddingDim), `must be a positive integer, got ${c.tagEmbeddingDim}`],
    ['sellerEmbeddingDim', posInt(c.sellerEmbeddingDim), `must be a positive integer, got ${c.sellerEmbeddingDim}`],
    ['priceEmbeddingDim', posInt(c.priceEmbeddingDim), `must be a positive integer, got ${c.priceEmbeddingDim}`],
    ['categoryEmbeddingDim', posInt(c.categoryEmbeddingDim), `must be a positive integer, got ${c.categoryEmbeddingDim}`],
    ['hiddenUnits', posInt(c.hiddenUnits), `must be a positive integer, got ${c.hiddenUnits}`],
    ['maxTags', posInt(c.maxTags), `must be a positive integer, got ${c.maxTags}`],
    ['minSellerItems', Number.isInteger(c.minSellerItems) && c.minSellerItems >= 0, `must be a non-negative integer, got ${c.minSellerItems}`],
    ['timePeriods', Array.isArray(c.timePeriods) && c.timePeriods.every((p) => Number.isFinite(p) && p > 0), `must be a list of positive numbers of days, got ${JSON.stringify(c.timePeriods)}`],
    ['loss', c.loss === 'bce', `must be 'bce', got ${String(c.loss)}`],
    ['logitScale', posNum(c.logitScale), `must be > 0, got ${c.logitScale}`],
    ['epochs', posInt(c.epochs), `must be a positive integer, got ${c.epochs}`],
    ['batchSize', posInt(c.batchSize), `must be a positive integer, got ${c.batchSize}`],
    ['learningRate', posNum(c.learningRate), `must be > 0, got ${c.learningRate}`],
  ]);
}

export function validateItem2Vec(c: Item2VecConfig): void {
  check('item2vec', [
    ['dim', posInt(c.dim), `must be a positive integer, got ${c.dim}`],
    ['epochs', posInt(c.epochs), `must be a positive integer, got ${c.epochs}`],
    ['batchSize', posInt(c.batchSize), `must be a positive integer, got ${c.batchSize}`],
    ['learningRate', posNum(c.learningRate), `must be > 0, got ${c.learningRate}`],
    ['logitScale', posNum(c.logitScale), `must be > 0, got ${c.logitScale}`],
  ]);
}

export function validateKeyword(c: KeywordConfig, itemDim?: number): void {
  check('keyword', [
    ['dim', posInt(c.dim), `must be a positive integer, got ${c.dim}`],
    ['dim', itemDim === undefined || !c.transfer || c.dim === itemDim, `must equal the item-unit dimension ${itemDim} to transfer its tower, got ${c.dim}`],
    ['tokenEmbeddingDim', posInt(c.tokenEmbeddingDim), `must be a positive integer, got ${c.tokenEmbeddingDim}`],
    ['hiddenUnits', posInt(c.hiddenUnits), `must be a positive integer, got ${c.hiddenUnits}`],
    ['maxTokens', posInt(c.maxTokens), `must be a positive integer, got ${c.maxTokens}`],
    ['oovBuckets', posInt(c.oovBuckets), `must be a positive integer, got ${c.oovBuckets}`],
    ['frozenEpochs', Number.isInteger(c.frozenEpochs) && c.frozenEpochs >= 0 && c.frozenEpochs <= c.epochs, `must be in [0, epochs], got ${c.frozenEpochs}`],
    ['negatives', c.negatives.random >= 0 && c.negatives.popular >= 0 && Number.isInteger(c.negatives.random) && Number.isInteger(c.negatives.popular), 'counts must be non-negative integers'],
    ['negatives', c.negatives.random + c.negatives.popular > 0 || c.negatives.inBatch, 'need at least one kind of negative'],
    ['negatives.popularityPower', c.negatives.popularityPower >= 0, `must be >= 0, got ${c.negatives.popularityPower}`],
    ['titlePairRatio', c.titlePairRatio >= 0, `must be >= 0, got ${c.titlePairRatio}`],
    ['logitScale', posNum(c.logitScale), `must be > 0, got ${c.logitScale}`],
    ['epochs', posInt(c.epochs), `must be a positive integer, got ${c.epochs}`],
    ['batchSize', posInt(c.batchSize), `must be a positive integer, got ${c.batchSize}`],
    ['learningRate', posNum(c.learningRate), `must be > 0, got ${c.learningRate}`],
  ]);
}

export function validateMultiInterest(c: MultiInterestConfig): void {
  check('multiInterest', [
    ['interests', posInt(c.interests), `(K) must be >= 1, got ${c.interests}`],
    ['attentionHidden', posInt(c.attentionHidden), `must be a positive integer, got ${c.attentionHidden}`],
    ['maxLong', posInt(c.maxLong), `must be a positive integer, got ${c.maxLong}`],
    ['maxShort', posInt(c.maxShort), `must be a positive integer, got ${c.maxShort}`],
    ['fusion', c.fusion === 'sigmoid_gate', `must be 'sigmoid_gate', got ${String(c.fusion)}`],
    ['selection', c.selection === 'hard' || c.selection === 'soft', `must be 'hard' or 'soft', got ${String(c.selection)}`],
    ['selectionTemperature', posNum(c.selectionTemperature), `must be > 0, got ${c.selectionTemperature}`],
    ['lambda', Number.isFinite(c.lambda) && c.lambda >= 0, `(λ) must be >= 0, got ${c.lambda}`],
    ['metricLoss', c.metricLoss === 'cosine' || c.metricLoss === 'squared_cosine', `must be 'cosine' or 'squared_cosine', got ${String(c.metricLoss)}`],
    ['sampledNegatives', posInt(c.sampledNegatives), `must be a positive integer, got ${c.sampledNegatives}`],
    ['logitScale', posNum(c.logitScale), `must be > 0, got ${c.logitScale}`],
    ['epochs', posInt(c.epochs), `must be a positive integer, got ${c.epochs}`],
    ['batchSize', posInt(c.batchSize), `must be a positive integer, got ${c.batchSize}`],
    ['learningRate', posNum(c.learningRate), `must be > 0, got ${c.learningRate}`],
  ]);
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
