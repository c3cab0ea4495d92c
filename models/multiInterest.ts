import { WeightedSampler, Rng } from '../data/generator/rng';
import { tf } from '../platform/tf';
import type { MultiInterestConfig } from './config';
import { FusionGate, L2Normalize, MaskedMean, SelfAttentivePooling } from './layers';
import type { MiExamples, Sequences } from './sequences';
import { EmptyTrainingSetError, train, trainableVariables, type Progress, type TrainResult } from './training';

/**
 * The multi-interest user model. Inputs are item vectors (from the item-unit network), never item
 * ids, so the model keeps working as the catalogue turns over:
 *   long-term sequence → self-attentive pooling → K long-term interests
 *   short-term session → masked mean → session representation
 *   fusion gate(long_k, session) → K interests (L2-normalised)
 * Training: a selection gate picks the interest most relevant to the target item; loss = sampled-
 * softmax cross-entropy + λ × metric-learning loss (mean pairwise cosine of a user's interests).
 * The single-vector YouTube-DNN-style baseline (mean pooling) trains with the same loop and loss.
 */

export function buildMultiInterestModel(cfg: MultiInterestConfig, dim: number): tf.LayersModel {
  const longVecs = tf.input({ shape: [cfg.maxLong, dim], name: 'long_vectors' });
  const longMask = tf.input({ shape: [cfg.maxLong], name: 'long_mask' });
  const shortVecs = tf.input({ shape: [cfg.maxShort, dim], name: 'short_vectors' });
  const shortMask = tf.input({ shape: [cfg.maxShort], name: 'short_mask' });
  const longInterests = new SelfAttentivePooling({ name: 'long_term_interests', interests: cfg.interests, hidden: cfg.attentionHidden, seed: cfg.seed }).apply([
    longVecs,
    longMask,
  ]) as tf.SymbolicTensor;
  const session = new MaskedMean({ name: 'session_pool' }).apply([shortVecs, shortMask]) as tf.SymbolicTensor;
  const fused = new FusionGate({ name: 'fusion_gate', seed: cfg.seed + 10 }).apply([longInterests, session]) as tf.SymbolicTensor;
  const out = new L2Normalize({ name: 'interests' }).apply(fused) as tf.SymbolicTensor;
  return tf.model({ name: 'multi_interest', inputs: [longVecs, longMask, shortVecs, shortMask], outputs: out });
}

/** YouTube-DNN-style baseline: one user vector from the mean of all history vectors and an MLP. */
export function buildSingleVectorModel(cfg: MultiInterestConfig, dim: number): tf.LayersModel {
  const longVecs = tf.input({ shape: [cfg.maxLong, dim], name: 'long_vectors' });
  const longMask = tf.input({ shape: [cfg.maxLong], name: 'long_mask' });
  const shortVecs = tf.input({ shape: [cfg.maxShort, dim], name: 'short_vectors' });
  const shortMask = tf.input({ shape: [cfg.maxShort], name: 'short_mask' });
  const vecs = tf.layers.concatenate({ axis: 1, name: 'history' }).apply([longVecs, shortVecs]) as tf.SymbolicTensor;
  const mask = tf.layers.concatenate({ axis: 1, name: 'history_mask' }).apply([longMask, shortMask]) as tf.SymbolicTensor;
  const pooled = new MaskedMean({ name: 'mean_pool' }).apply([vecs, mask]) as tf.SymbolicTensor;
  const hidden = tf.layers.dense({ name: 'hidden', units: 2 * dim, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: cfg.seed }) }).apply(pooled) as tf.SymbolicTensor;
  const user = tf.layers.dense({ name: 'user', units: dim, kernelInitializer: tf.initializers.glorotUniform({ seed: cfg.seed + 1 }) }).apply(hidden) as tf.SymbolicTensor;
  const one = tf.layers.reshape({ targetShape: [1, dim], name: 'one_interest' }).apply(user) as tf.SymbolicTensor;
  const out = new L2Normalize({ name: 'interests' }).apply(one) as tf.SymbolicTensor;
  return tf.model({ name: 'youtube_dnn', inputs: [longVecs, longMask, shortVecs, shortMask], outputs: out });
}

/** Item vectors as a constant table with an extra zero row for padding (index n). */
export function vectorTable(vectors: Float32Array, dim: number): tf.Tensor2D {
  const n = vectors.length / dim;
  const padded = new Float32Array((n + 1) * dim);
  padded.set(vectors);
  return tf.tensor2d(padded, [n + 1, dim]);
}

/** The model inputs of some rows of a sequence set: gathered vectors and masks. */
export function sequenceInputs(table: tf.Tensor2D, seqs: Sequences, rows: ArrayLike<number>): tf.Tensor[] {
  const pad = table.shape[0] - 1;
  const b = rows.length;
  const pack = (src: Int32Array, width: number) => {
    const idx = new Int32Array(b * width);
    const mask = new Float32Array(b * width);
    for (let r = 0; r < b; r++) {
      const base = (rows[r] as number) * width;
      for (let k = 0; k < width; k++) {
        const v = src[base + k] as number;
        idx[r * width + k] = v < 0 ? pad : v;
        mask[r * width + k] = v < 0 ? 0 : 1;
      }
    }
    return [tf.tidy(() => tf.reshape(tf.gather(table, tf.tensor1d(idx, 'int32')), [b, width, table.shape[1]])), tf.tensor2d(mask, [b, width])];
  };
  return [...pack(seqs.long, seqs.maxLong), ...pack(seqs.short, seqs.maxShort)];
}

/** Mean pairwise cosine between the interests of each user (they are unit vectors), averaged. */
export function metricLoss(interests: tf.Tensor3D, kind: MultiInterestConfig['metricLoss']): tf.Scalar {
  const k = interests.shape[1];
  if (k < 2) return tf.scalar(0);
  const gram = tf.matMul(interests, interests, false, true); // (B, K, K)
  const g = kind === 'squared_cosine' ? tf.square(gram) : gram;
  // Off-diagonal mean: (sum − trace) / (K (K − 1)); the diagonal of unit vectors is 1.
  const offDiag = tf.sub(tf.sum(g, [1, 2]), tf.sum(tf.mul(g, tf.eye(k).expandDims(0)), [1, 2]));
  return tf.mean(tf.div(offDiag, k * (k - 1)));
}

/** Selection gate: the user vector that scores the target. */
export function selectInterest(interests: tf.Tensor3D, target: tf.Tensor2D, cfg: Pick<MultiInterestConfig, 'selection' | 'selectionTemperature'>): tf.Tensor2D {
  if (interests.shape[1] === 1) return tf.squeeze(interests, [1]) as tf.Tensor2D;
  const sims = tf.squeeze(tf.matMul(interests, tf.expandDims(target, 2)), [2]) as tf.Tensor2D; // (B, K)
  const weights =
    cfg.selection === 'hard'
      ? tf.oneHot(tf.argMax(sims, 1), interests.shape[1]).toFloat() // no gradient through the choice itself
      : tf.softmax(tf.mul(sims, cfg.selectionTemperature));
  return tf.sum(tf.mul(interests, tf.expandDims(weights, 2)), 1) as tf.Tensor2D;
}

interface MiBatch {
  inputs: tf.Tensor[];
  target: tf.Tensor2D;
  negatives: tf.Tensor2D;
  /** 1 where a sampled negative is the row's own target (masked out of the softmax). */
  accidental: tf.Tensor2D;
}

export interface UserModelResult {
  model: tf.LayersModel;
  result: TrainResult;
}

/**
 * Trains the multi-interest model (or, with `singleVector`, the YouTube-DNN baseline) on frozen item
 * vectors. Negatives: `sampledNegatives` items per batch, shared by its rows, drawn from the training
 * items' popularity^0.75 (the unigram^0.75 of the skip-gram negatives).
 */
export async function trainUserModel(
  cfg: MultiInterestConfig,
  itemVectors: Float32Array,
  dim: number,
  examples: MiExamples,
  popularity: Float64Array,
  opts: { singleVector?: boolean; checkpointDir?: string; onProgress?: (p: Progress) => void } = {},
): Promise<UserModelResult> {
  const name = opts.singleVector ? 'youtube_dnn' : 'multi_interest';
  if (examples.count === 0) throw new EmptyTrainingSetError(name, 'no (history, target) examples: users need two clicks in the training period');
  const model = opts.singleVector ? buildSingleVectorModel(cfg, dim) : buildMultiInterestModel(cfg, dim);
  const table = vectorTable(itemVectors, dim);
  const items = Array.from({ length: popularity.length }, (_, i) => i).filter((i) => (popularity[i] as number) > 0);
  const negSampler = new WeightedSampler(items, items.map((i) => Math.pow(popularity[i] as number, 0.75)));
  const optimizer = tf.train.adam(cfg.learningRate);
  const vars = trainableVariables(model);
  const m = cfg.sampledNegatives;
  const result = await train<MiBatch>({
    name,
    examples: examples.count,
    epochs: cfg.epochs,
    batchSize: cfg.batchSize,
    seed: cfg.seed,
    optimizer,
    models: [model],
    variables: () => vars,
    batch: (rows, epoch, step) => {
      const rng = new Rng(cfg.seed, 500_000 + epoch * 100_000 + step);
      const neg = Int32Array.from({ length: m }, () => negSampler.draw(rng));
      const tgt = Int32Array.from(rows, (r) => examples.target[r] as number);
      const accidental = new Float32Array(rows.length * m);
      for (let r = 0; r < rows.length; r++) for (let j = 0; j < m; j++) if (neg[j] === tgt[r]) accidental[r * m + j] = 1;
      return {
        inputs: sequenceInputs(table, examples, rows),
        target: tf.gather(table, tf.tensor1d(tgt, 'int32')) as tf.Tensor2D,
        negatives: tf.gather(table, tf.tensor1d(neg, 'int32')) as tf.Tensor2D,
        accidental: tf.tensor2d(accidental, [rows.length, m]),
      };
    },
    loss: (b) => {
      const interests = model.apply(b.inputs, { training: true }) as tf.Tensor3D;
      const user = selectInterest(interests, b.target, cfg);
      const pos = tf.sum(tf.mul(user, b.target), 1, true); // (B, 1)
      const neg = tf.sub(tf.matMul(user, b.negatives, false, true), tf.mul(b.accidental, 1e9)); // (B, M)
      const logits = tf.mul(tf.concat([pos, neg], 1), cfg.logitScale);
      const ce = tf.neg(tf.mean(tf.slice(tf.logSoftmax(logits), [0, 0], [-1, 1])));
      if (opts.singleVector || cfg.lambda === 0) return ce as tf.Scalar;
      return tf.add(ce, tf.mul(metricLoss(interests, cfg.metricLoss), cfg.lambda)) as tf.Scalar;
    },
    disposeBatch: (b) => {
      b.inputs.forEach((t) => t.dispose());
      b.target.dispose();
      b.negatives.dispose();
      b.accidental.dispose();
    },
    ...(opts.checkpointDir ? { checkpointDir: opts.checkpointDir } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  table.dispose();
  optimizer.dispose();
  return { model, result };
}

/** Interest vectors (count × K × dim) of every row of a sequence set. */
export function computeInterests(
  model: tf.LayersModel,
  itemVectors: Float32Array,
  dim: number,
  seqs: Sequences,
  batch = 1024,
  sharedTable?: tf.Tensor2D,
): { k: number; vectors: Float32Array } {
  const k = model.outputs[0]?.shape[1] as number;
  const out = new Float32Array(seqs.count * k * dim);
  const table = sharedTable ?? vectorTable(itemVectors, dim);
  for (let from = 0; from < seqs.count; from += batch) {
    const rows = Array.from({ length: Math.min(batch, seqs.count - from) }, (_, i) => from + i);
    const inputs = sequenceInputs(table, seqs, rows);
    const v = model.predict(inputs) as tf.Tensor;
    out.set(v.dataSync() as Float32Array, from * k * dim);
    v.dispose();
    inputs.forEach((t) => t.dispose());
  }
  if (!sharedTable) table.dispose();
  return { k, vectors: out };
}

/** Mean pairwise cosine between a user's interests (the interest-collapse measure), over users. */
export function interestCollapse(interests: Float32Array, users: number, k: number, dim: number): number {
  if (k < 2 || users === 0) return 0;
  let sum = 0;
  for (let u = 0; u < users; u++) {
    let s = 0;
    for (let a = 0; a < k; a++) {
      for (let b = a + 1; b < k; b++) {
        let dot = 0;
        const ia = (u * k + a) * dim;
        const ib = (u * k + b) * dim;
        for (let d = 0; d < dim; d++) dot += (interests[ia + d] as number) * (interests[ib + d] as number);
        s += dot;
      }
    }
    sum += s / ((k * (k - 1)) / 2);
  }
  return sum / users;
}
