import { attachDatabase, forEachChunk, GrowableFloat32, GrowableInt32, openDatabase } from '../platform/duckdb';
import { tf } from '../platform/tf';
import type { Item2VecConfig, ItemUnitConfig } from './config';
import { itemInputs, type ItemFeatures } from './itemFeatures';
import { L2Normalize, WeightedBag } from './layers';
import { EmptyTrainingSetError, fromOptions, train, trainableVariables, type TrainOptions, type TrainResult } from './training';

/**
 * Item embeddings (DeepMF with an item-unit network): an item's vector is an MLP over its pooled
 * attribute embeddings — tags, seller, price band, category — trained on skip-gram pairs from user
 * behaviour. The same tower embeds both sides of a pair, so vectors are directly comparable.
 * Baseline in the same run: ID-only item2vec on the same pairs (one free vector per item id).
 */

export interface SkipGramPairs {
  center: Int32Array;
  context: Int32Array;
  label: Float32Array;
}

export async function loadSkipGramPairs(featuresDb: string): Promise<SkipGramPairs> {
  const db = await openDatabase(':memory:');
  try {
    await attachDatabase(db.connection, featuresDb, 'feat');
    // Streamed: at 500k lots the pairs are tens of millions of rows.
    const center = new GrowableInt32();
    const context = new GrowableInt32();
    const label = new GrowableFloat32();
    await forEachChunk(db.connection, 'models/skipgram_pairs', {}, (chunk, column) => {
      const [c, x, l] = [chunk.getColumnVector(column('center')), chunk.getColumnVector(column('context')), chunk.getColumnVector(column('label'))];
      for (let r = 0; r < chunk.rowCount; r++) {
        center.push(Number(c.getItem(r)));
        context.push(Number(x.getItem(r)));
        label.push(Number(l.getItem(r)));
      }
    });
    return { center: center.toArray(), context: context.toArray(), label: label.toArray() };
  } finally {
    db.close();
  }
}

export function buildItemUnitModel(cfg: ItemUnitConfig, f: ItemFeatures): tf.LayersModel {
  const s = cfg.seed;
  const tagIds = tf.input({ shape: [f.maxTags], dtype: 'int32', name: 'tag_ids' });
  const tagWeights = tf.input({ shape: [f.maxTags], name: 'tag_weights' });
  const seller = tf.input({ shape: [1], dtype: 'int32', name: 'seller' });
  const price = tf.input({ shape: [1], dtype: 'int32', name: 'price_band' });
  const category = tf.input({ shape: [1], dtype: 'int32', name: 'category' });
  const emb = (name: string, inputDim: number, outputDim: number, seed: number) =>
    tf.layers.embedding({ name, inputDim, outputDim, embeddingsInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.05, seed }) });
  const tagBag = new WeightedBag({ name: 'tag_bag' }).apply([emb('tag_embedding', f.vocab.tags, cfg.tagEmbeddingDim, s).apply(tagIds) as tf.SymbolicTensor, tagWeights]) as tf.SymbolicTensor;
  const flat = (name: string, x: tf.SymbolicTensor) => tf.layers.flatten({ name }).apply(x) as tf.SymbolicTensor;
  const sellerVec = flat('seller_flat', emb('seller_embedding', f.vocab.sellers, cfg.sellerEmbeddingDim, s + 1).apply(seller) as tf.SymbolicTensor);
  const priceVec = flat('price_flat', emb('price_embedding', f.vocab.prices, cfg.priceEmbeddingDim, s + 2).apply(price) as tf.SymbolicTensor);
  const catVec = flat('category_flat', emb('category_embedding', f.vocab.categories, cfg.categoryEmbeddingDim, s + 3).apply(category) as tf.SymbolicTensor);
  const parts = [tagBag, sellerVec, priceVec, catVec];
  const inputs = [tagIds, tagWeights, seller, price, category];
  if (cfg.timePeriods.length > 0) {
    const time = tf.input({ shape: [2 * cfg.timePeriods.length], name: 'listing_time' });
    inputs.push(time);
    parts.push(time);
  }
  const concat = tf.layers.concatenate({ name: 'attributes' }).apply(parts) as tf.SymbolicTensor;
  const hidden = tf.layers
    .dense({ name: 'hidden', units: cfg.hiddenUnits, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: s + 4 }) })
    .apply(concat) as tf.SymbolicTensor;
  const out = tf.layers.dense({ name: 'projection', units: cfg.dim, kernelInitializer: tf.initializers.glorotUniform({ seed: s + 5 }) }).apply(hidden) as tf.SymbolicTensor;
  const norm = new L2Normalize({ name: 'item_vector' }).apply(out) as tf.SymbolicTensor;
  return tf.model({ name: 'item_unit', inputs, outputs: norm });
}

/**
 * Binary cross-entropy of scaled cosine similarities: word2vec's negative-sampling objective. The
 * logits are offset by the log prior odds of a positive, so an untrained model (cosine 0) predicts
 * the base rate instead of 0.5 and the cosines only have to carry the signal.
 */
function pairLoss(a: tf.Tensor2D, b: tf.Tensor2D, labels: tf.Tensor1D, scale: number, offset: number): tf.Scalar {
  const logits = tf.add(tf.mul(tf.sum(tf.mul(a, b), 1), scale), offset);
  return tf.losses.sigmoidCrossEntropy(labels, logits) as tf.Scalar;
}

/** log(P(positive) / P(negative)) over the pairs. */
export function priorLogOdds(pairs: SkipGramPairs): number {
  let pos = 0;
  for (const l of pairs.label) pos += l;
  const neg = pairs.label.length - pos;
  return pos > 0 && neg > 0 ? Math.log(pos / neg) : 0;
}

/**
 * A batch of pairs. The tower runs once per distinct item of the batch (popular items recur in many
 * pairs), and `left`/`right` pick each pair's two vectors out of those.
 */
interface PairBatch {
  inputs: tf.Tensor[];
  left: tf.Tensor1D;
  right: tf.Tensor1D;
  labels: tf.Tensor1D;
  size: number;
}

function pairBatch(pairs: SkipGramPairs, rows: Int32Array, inputs: (items: Int32Array) => tf.Tensor[]): PairBatch {
  const b = rows.length;
  const slot = new Map<number, number>();
  const unique: number[] = [];
  const left = new Int32Array(b);
  const right = new Int32Array(b);
  const labels = new Float32Array(b);
  const slotOf = (item: number) => {
    let k = slot.get(item);
    if (k === undefined) {
      k = unique.length;
      slot.set(item, k);
      unique.push(item);
    }
    return k;
  };
  for (let r = 0; r < b; r++) {
    const i = rows[r] as number;
    left[r] = slotOf(pairs.center[i] as number);
    right[r] = slotOf(pairs.context[i] as number);
    labels[r] = pairs.label[i] as number;
  }
  return { inputs: inputs(Int32Array.from(unique)), left: tf.tensor1d(left, 'int32'), right: tf.tensor1d(right, 'int32'), labels: tf.tensor1d(labels), size: b };
}

const disposePairBatch = (p: PairBatch) => {
  p.inputs.forEach((t) => t.dispose());
  p.left.dispose();
  p.right.dispose();
  p.labels.dispose();
};

function batchLoss(model: tf.LayersModel, p: PairBatch, scale: number, offset: number): tf.Scalar {
  const v = model.apply(p.inputs, { training: true }) as tf.Tensor2D;
  return pairLoss(tf.gather(v, p.left), tf.gather(v, p.right), p.labels, scale, offset);
}

export async function trainItemUnit(
  cfg: ItemUnitConfig,
  f: ItemFeatures,
  pairs: SkipGramPairs,
  opts: TrainOptions = {},
): Promise<{ model: tf.LayersModel; result: TrainResult }> {
  if (pairs.label.length === 0) throw new EmptyTrainingSetError('item_unit', 'no skip-gram pairs: too few clicks in the training period');
  const model = buildItemUnitModel(cfg, f);
  return trainOnPairs('item_unit', model, cfg, pairs, (items) => itemInputs(f, items, cfg.timePeriods), opts);
}

/**
 * The skip-gram training both item models share: BCE on the pairs with the prior log-odds offset,
 * Adam, a checkpoint per epoch. `inputsOf` turns a batch's item indices into the model's inputs.
 */
async function trainOnPairs(
  name: string,
  model: tf.LayersModel,
  cfg: { epochs: number; pairsPerEpoch?: number; batchSize: number; seed: number; learningRate: number; logitScale: number },
  pairs: SkipGramPairs,
  inputsOf: (items: Int32Array) => tf.Tensor[],
  opts: TrainOptions,
): Promise<{ model: tf.LayersModel; result: TrainResult }> {
  const offset = priorLogOdds(pairs);
  const optimizer = tf.train.adam(cfg.learningRate);
  const vars = trainableVariables(model);
  let result: TrainResult;
  try {
    result = await train<PairBatch>({
      name,
      examples: pairs.label.length,
      epochs: cfg.epochs,
      examplesPerEpoch: cfg.pairsPerEpoch ?? 0,
      batchSize: cfg.batchSize,
      seed: cfg.seed,
      optimizer,
      models: [model],
      variables: () => vars,
      batch: (rows) => pairBatch(pairs, rows, inputsOf),
      loss: (p) => batchLoss(model, p, cfg.logitScale, offset),
      disposeBatch: disposePairBatch,
      ...fromOptions(opts),
    });
  } catch (err) {
    // A cancelled or failed training leaves nothing behind in a long-lived worker.
    model.dispose();
    throw err;
  } finally {
    optimizer.dispose();
  }
  return { model, result };
}

/** Vectors of every item (n × dim, L2-normalised), computed in batches. */
export function computeItemVectors(model: tf.LayersModel, f: ItemFeatures, timePeriods: readonly number[], batch = 4096): Float32Array {
  const dim = (model.outputs[0]?.shape[1] as number) ?? 0;
  const out = new Float32Array(f.n * dim);
  for (let from = 0; from < f.n; from += batch) {
    const ids = Int32Array.from({ length: Math.min(batch, f.n - from) }, (_, k) => from + k);
    const inputs = itemInputs(f, ids, timePeriods);
    const v = model.predict(inputs) as tf.Tensor;
    out.set(v.dataSync() as Float32Array, from * dim);
    v.dispose();
    inputs.forEach((t) => t.dispose());
  }
  return out;
}

// ---- ID-only item2vec baseline ------------------------------------------------------------

export function buildItem2VecModel(cfg: Item2VecConfig, items: number): tf.LayersModel {
  const id = tf.input({ shape: [1], dtype: 'int32', name: 'item_idx' });
  const e = tf.layers
    .embedding({ name: 'item_embedding', inputDim: items, outputDim: cfg.dim, embeddingsInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.1, seed: cfg.seed }) })
    .apply(id) as tf.SymbolicTensor;
  const v = new L2Normalize({ name: 'item_vector' }).apply(tf.layers.flatten().apply(e) as tf.SymbolicTensor) as tf.SymbolicTensor;
  return tf.model({ name: 'item2vec', inputs: id, outputs: v });
}

export async function trainItem2Vec(
  cfg: Item2VecConfig,
  items: number,
  pairs: SkipGramPairs,
  opts: TrainOptions = {},
): Promise<{ model: tf.LayersModel; result: TrainResult }> {
  if (pairs.label.length === 0) throw new EmptyTrainingSetError('item2vec', 'no skip-gram pairs');
  const model = buildItem2VecModel(cfg, items);
  return trainOnPairs('item2vec', model, cfg, pairs, (ids) => [tf.tensor2d(ids, [ids.length, 1], 'int32')], opts);
}

export function item2vecVectors(model: tf.LayersModel, items: number, batch = 8192): Float32Array {
  const dim = (model.outputs[0]?.shape[1] as number) ?? 0;
  const out = new Float32Array(items * dim);
  for (let from = 0; from < items; from += batch) {
    const n = Math.min(batch, items - from);
    const ids = tf.tensor2d(Int32Array.from({ length: n }, (_, k) => from + k), [n, 1], 'int32');
    const v = model.predict(ids) as tf.Tensor;
    out.set(v.dataSync() as Float32Array, from * dim);
    v.dispose();
    ids.dispose();
  }
  return out;
}
