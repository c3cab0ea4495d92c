import { WeightedSampler, Rng } from '../data/generator/rng';
import { tf } from '../platform/tf';
import type { MultiInterestConfig } from './config';
import { DynamicRouting, FirstInput, FusionGate, InterestSessionAttention, InterestStrength, L2Normalize, MaskedMean, SelfAttentivePooling, SessionChannel } from './layers';
import { itemInputs, type ItemFeatures } from './itemFeatures';
import type { MiExamples, Sequences } from './sequences';
import { EmptyTrainingSetError, fromOptions, train, trainableVariables, type TrainOptions, type TrainResult } from './training';

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
  const extractor =
    cfg.extraction === 'dynamic_routing'
      ? new DynamicRouting({ name: 'long_term_interests', interests: cfg.interests, iterations: cfg.routingIterations, seed: cfg.seed, maps: cfg.routingMaps })
      : new SelfAttentivePooling({ name: 'long_term_interests', interests: cfg.interests, hidden: cfg.attentionHidden, seed: cfg.seed });
  const longInterests = extractor.apply([longVecs, longMask]) as tf.SymbolicTensor;
  let fused: tf.SymbolicTensor;
  switch (cfg.fusion) {
    case 'sigmoid_gate': {
      const session = new MaskedMean({ name: 'session_pool' }).apply([shortVecs, shortMask]) as tf.SymbolicTensor;
      fused = new FusionGate({ name: 'fusion_gate', seed: cfg.seed + 10 }).apply([longInterests, session]) as tf.SymbolicTensor;
      break;
    }
    case 'interest_attention':
      fused = new InterestSessionAttention({ name: 'fusion_gate', seed: cfg.seed + 10, temperature: cfg.logitScale }).apply([longInterests, shortVecs, shortMask]) as tf.SymbolicTensor;
      break;
    case 'session_channel': {
      const channel = new SessionChannel({ name: 'session_channel', fallback: cfg.sessionFallbackClicks }).apply([longVecs, longMask, shortVecs, shortMask]) as tf.SymbolicTensor;
      fused = tf.layers.concatenate({ axis: 1, name: 'with_session' }).apply([longInterests, channel]) as tf.SymbolicTensor;
      break;
    }
    case 'none':
      fused = new FirstInput({ name: 'no_session' }).apply([longInterests, shortVecs, shortMask]) as tf.SymbolicTensor;
      break;
  }
  const out = new L2Normalize({ name: 'interests' }).apply(fused) as tf.SymbolicTensor;
  return tf.model({ name: 'multi_interest', inputs: [longVecs, longMask, shortVecs, shortMask], outputs: out });
}

/**
 * The long-term interests before the session enters (for the before/after-gate collapse report). It
 * shares the model's layers: dispose the model, not this view.
 */
export function longTermInterestModel(model: tf.LayersModel): tf.LayersModel {
  const layer = model.getLayer('long_term_interests');
  const out = new L2Normalize({ name: 'long_term_normalised' }).apply(layer.output as tf.SymbolicTensor) as tf.SymbolicTensor;
  return tf.model({ name: 'long_term_interests', inputs: model.inputs, outputs: out });
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

/**
 * The metric-learning loss on each user's interests (unit vectors), averaged over users: the mean
 * off-diagonal cosine, its square, or the hinge mean relu(cos − margin) that leaves pairs below the
 * margin alone.
 */
export function metricLoss(interests: tf.Tensor3D, kind: MultiInterestConfig['metricLoss'], margin = 0.75): tf.Scalar {
  const k = interests.shape[1];
  if (k < 2) return tf.scalar(0);
  const gram = tf.matMul(interests, interests, false, true); // (B, K, K)
  const g = kind === 'squared_cosine' ? tf.square(gram) : kind === 'hinge' ? tf.relu(tf.sub(gram, margin)) : gram;
  // Off-diagonal mean: (sum − trace) / (K (K − 1)).
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
  /** The user model's inputs, targets and negatives from the frozen table; absent in joint training. */
  inputs?: tf.Tensor[];
  target?: tf.Tensor2D;
  negatives?: tf.Tensor2D;
  /** Joint training: the batch's distinct items through the item tower, and where each input reads them. */
  joint?: JointBatch;
  /** 1 where a sampled negative is the row's own target (masked out of the softmax). */
  accidental: tf.Tensor2D;
  /** log of each logit's expected count under its sampler (log-Q correction), or absent. */
  targetLogQ?: tf.Tensor2D;
  negativeLogQ?: tf.Tensor2D;
  inBatchLogQ?: tf.Tensor2D;
  /** B × B: 1 where another row's target is this row's target, or on the diagonal (not a negative). */
  inBatchSame?: tf.Tensor2D;
}

interface JointBatch {
  towerInputs: tf.Tensor[];
  /** Positions into [tower outputs; zero row]: the last row pads. */
  long: tf.Tensor1D;
  longMask: tf.Tensor2D;
  short: tf.Tensor1D;
  shortMask: tf.Tensor2D;
  target: tf.Tensor1D;
  negatives: tf.Tensor1D;
  rows: number;
}

export interface UserModelResult {
  model: tf.LayersModel;
  result: TrainResult;
}

/**
 * Joint training: the item-unit tower the item vectors came from, fine-tuned with the user model
 * (attribute inputs, so new lots still get vectors). Its co-trained vectors are computeItemVectors'.
 */
export interface JointItemTower {
  model: tf.LayersModel;
  features: ItemFeatures;
  timePeriods: readonly number[];
}

function jointBatch(tower: JointItemTower, seqs: Sequences, rows: ArrayLike<number>, target: Int32Array, negatives: Int32Array): JointBatch {
  const position = new Map<number, number>();
  const at = (i: number) => {
    let p = position.get(i);
    if (p === undefined) {
      p = position.size;
      position.set(i, p);
    }
    return p;
  };
  const b = rows.length;
  const pack = (src: Int32Array, width: number) => {
    const idx = new Int32Array(b * width);
    const mask = new Float32Array(b * width);
    for (let r = 0; r < b; r++) {
      for (let k = 0; k < width; k++) {
        const v = src[(rows[r] as number) * width + k] as number;
        idx[r * width + k] = v < 0 ? -1 : at(v);
        mask[r * width + k] = v < 0 ? 0 : 1;
      }
    }
    return { idx, mask };
  };
  const long = pack(seqs.long, seqs.maxLong);
  const short = pack(seqs.short, seqs.maxShort);
  const tgt = Int32Array.from(target, at);
  const neg = Int32Array.from(negatives, at);
  const pad = position.size;
  const fix = (idx: Int32Array) => idx.map((x) => (x < 0 ? pad : x));
  return {
    towerInputs: itemInputs(tower.features, Int32Array.from(position.keys()), tower.timePeriods),
    long: tf.tensor1d(fix(long.idx), 'int32'),
    longMask: tf.tensor2d(long.mask, [b, seqs.maxLong]),
    short: tf.tensor1d(fix(short.idx), 'int32'),
    shortMask: tf.tensor2d(short.mask, [b, seqs.maxShort]),
    target: tf.tensor1d(tgt, 'int32'),
    negatives: tf.tensor1d(neg, 'int32'),
    rows: b,
  };
}

/**
 * Sampled-softmax logits of a batch: the target first, then the shared negatives, then (optionally)
 * the batch's other targets; accidental hits masked out, each logit corrected by log Q when asked.
 */
export function sampledSoftmaxLoss(user: tf.Tensor2D, b: MiBatch & { target: tf.Tensor2D; negatives: tf.Tensor2D }, logitScale: number): tf.Scalar {
  let pos: tf.Tensor = tf.mul(tf.sum(tf.mul(user, b.target), 1, true), logitScale); // (B, 1)
  let neg: tf.Tensor = tf.mul(tf.matMul(user, b.negatives, false, true), logitScale); // (B, M)
  if (b.targetLogQ) pos = tf.sub(pos, b.targetLogQ);
  if (b.negativeLogQ) neg = tf.sub(neg, b.negativeLogQ);
  const parts = [pos, tf.sub(neg, tf.mul(b.accidental, 1e9))];
  if (b.inBatchSame) {
    let inBatch: tf.Tensor = tf.mul(tf.matMul(user, b.target, false, true), logitScale); // (B, B)
    if (b.inBatchLogQ) inBatch = tf.sub(inBatch, b.inBatchLogQ);
    parts.push(tf.sub(inBatch, tf.mul(b.inBatchSame, 1e9)));
  }
  const logits = tf.concat(parts, 1);
  return tf.neg(tf.mean(tf.slice(tf.logSoftmax(logits), [0, 0], [-1, 1]))) as tf.Scalar;
}

/**
 * Trains the multi-interest model (or, with `singleVector`, the YouTube-DNN baseline) on frozen item
 * vectors. Negatives: `sampledNegatives` items per batch, shared by its rows, drawn from the training
 * items' popularity^0.75 (the unigram^0.75 of the skip-gram negatives), and with `inBatchNegatives`
 * the batch's other targets; `logQCorrection` subtracts each sampler's log expected count.
 */
export async function trainUserModel(
  cfg: MultiInterestConfig,
  itemVectors: Float32Array,
  dim: number,
  examples: MiExamples,
  popularity: Float64Array,
  opts: TrainOptions & { singleVector?: boolean; jointTower?: JointItemTower } = {},
): Promise<UserModelResult> {
  const name = opts.singleVector ? 'youtube_dnn' : 'multi_interest';
  if (examples.count === 0) throw new EmptyTrainingSetError(name, 'no (history, target) examples: users need two clicks in the training period');
  const model = opts.singleVector ? buildSingleVectorModel(cfg, dim) : buildMultiInterestModel(cfg, dim);
  const table = vectorTable(itemVectors, dim);
  const items = Array.from({ length: popularity.length }, (_, i) => i).filter((i) => (popularity[i] as number) > 0);
  const weights = items.map((i) => Math.pow(popularity[i] as number, 0.75));
  const negSampler = new WeightedSampler(items, weights);
  const m = cfg.sampledNegatives;
  // Expected counts per batch: m draws from popularity^0.75; batch-size draws from the click frequency.
  const sharedLogQ = new Float32Array(popularity.length);
  const batchLogQ = new Float32Array(popularity.length);
  {
    const z = weights.reduce((a, x) => a + x, 0);
    const total = items.reduce((a, i) => a + (popularity[i] as number), 0);
    // An item the sampler never draws (a target without training clicks) gets the smallest Q there is.
    const floor = weights.reduce((m, w) => Math.min(m, w), Infinity) / z; // not Math.min(...weights): one argument per item overflows the stack at 500k lots
    for (let i = 0; i < popularity.length; i++) {
      const p = popularity[i] as number;
      sharedLogQ[i] = Math.log(m * (p > 0 ? Math.pow(p, 0.75) / z : floor));
      batchLogQ[i] = Math.log(cfg.batchSize * (p > 0 ? p / total : 1 / Math.max(total, 1)));
    }
  }
  const optimizer = tf.train.adam(cfg.learningRate);
  const tower = opts.jointTower;
  const vars = tower ? trainableVariables(model, tower.model) : trainableVariables(model);
  let result: TrainResult;
  try {
    result = await train<MiBatch>({
      name,
      examples: examples.count,
      epochs: cfg.epochs,
      examplesPerEpoch: cfg.examplesPerEpoch,
      batchSize: cfg.batchSize,
      seed: cfg.seed,
      optimizer,
      models: tower ? [model, tower.model] : [model],
      variables: () => vars,
      batch: (rows, epoch, step) => {
        const rng = new Rng(cfg.seed, 500_000 + epoch * 100_000 + step);
        const neg = Int32Array.from({ length: m }, () => negSampler.draw(rng));
        const tgt = Int32Array.from(rows, (r) => examples.target[r] as number);
        const b = rows.length;
        const accidental = new Float32Array(b * m);
        for (let r = 0; r < b; r++) for (let j = 0; j < m; j++) if (neg[j] === tgt[r]) accidental[r * m + j] = 1;
        const batch: MiBatch = tower
          ? { joint: jointBatch(tower, examples, rows, tgt, neg), accidental: tf.tensor2d(accidental, [b, m]) }
          : {
              inputs: sequenceInputs(table, examples, rows),
              target: tf.gather(table, tf.tensor1d(tgt, 'int32')) as tf.Tensor2D,
              negatives: tf.gather(table, tf.tensor1d(neg, 'int32')) as tf.Tensor2D,
              accidental: tf.tensor2d(accidental, [b, m]),
            };
        if (cfg.logQCorrection) {
          batch.targetLogQ = tf.tensor2d(Float32Array.from(tgt, (i) => sharedLogQ[i] as number), [b, 1]);
          batch.negativeLogQ = tf.tensor2d(Float32Array.from(neg, (i) => sharedLogQ[i] as number), [1, m]);
        }
        if (cfg.inBatchNegatives) {
          const same = new Float32Array(b * b);
          for (let r = 0; r < b; r++) for (let c = 0; c < b; c++) if (r === c || tgt[r] === tgt[c]) same[r * b + c] = 1;
          batch.inBatchSame = tf.tensor2d(same, [b, b]);
          if (cfg.logQCorrection) batch.inBatchLogQ = tf.tensor2d(Float32Array.from(tgt, (i) => batchLogQ[i] as number), [1, b]);
        }
        return batch;
      },
      loss: (b) => {
        let resolved: MiBatch & { inputs: tf.Tensor[]; target: tf.Tensor2D; negatives: tf.Tensor2D };
        if (b.joint && tower) {
          // The item vectors of this batch's distinct items, with gradients into the tower.
          const j = b.joint;
          const vecs = tower.model.apply(j.towerInputs, { training: true }) as tf.Tensor2D;
          const t = tf.concat([vecs, tf.zeros([1, dim])], 0);
          const seq = (idx: tf.Tensor1D, width: number) => tf.reshape(tf.gather(t, idx), [j.rows, width, dim]);
          resolved = { ...b, inputs: [seq(j.long, cfg.maxLong), j.longMask, seq(j.short, cfg.maxShort), j.shortMask], target: tf.gather(t, j.target) as tf.Tensor2D, negatives: tf.gather(t, j.negatives) as tf.Tensor2D };
        } else resolved = b as typeof resolved;
        const interests = model.apply(resolved.inputs, { training: true }) as tf.Tensor3D;
        const user = selectInterest(interests, resolved.target, cfg);
        const ce = sampledSoftmaxLoss(user, resolved, cfg.logitScale);
        if (opts.singleVector || cfg.lambda === 0) return ce;
        return tf.add(ce, tf.mul(metricLoss(interests, cfg.metricLoss, cfg.metricMargin), cfg.lambda)) as tf.Scalar;
      },
      disposeBatch: (b) => {
        b.inputs?.forEach((t) => t.dispose());
        if (b.joint) {
          b.joint.towerInputs.forEach((t) => t.dispose());
          tf.dispose([b.joint.long, b.joint.longMask, b.joint.short, b.joint.shortMask, b.joint.target, b.joint.negatives]);
        }
        for (const t of [b.target, b.negatives, b.accidental, b.targetLogQ, b.negativeLogQ, b.inBatchLogQ, b.inBatchSame]) t?.dispose();
      },
      ...fromOptions(opts),
    });
  } catch (err) {
    // A cancelled or failed training leaves nothing behind in a long-lived worker.
    model.dispose();
    throw err;
  } finally {
    table.dispose();
    optimizer.dispose();
  }
  return { model, result };
}

/**
 * A view of a user model that outputs each interest's strength: the length of its long-term interest
 * before normalisation — a capsule's length (routing: how strongly the behaviour supports it) or the
 * norm of an attention-weighted mean of unit vectors (self-attentive: how coherent what it attends to
 * is). Interests the fusion adds (the session channel) get the strongest one's. It shares the
 * model's layers: dispose the model, not this view.
 */
export function interestStrengthModel(model: tf.LayersModel): tf.LayersModel {
  const k = model.outputs[0]?.shape[1] as number;
  const out = new InterestStrength({ name: 'interest_strength', outputs: k }).apply(model.getLayer('long_term_interests').output as tf.SymbolicTensor) as tf.SymbolicTensor;
  return tf.model({ name: 'interest_strength', inputs: model.inputs, outputs: out });
}

/**
 * The model with a second output, its interests' strengths: one forward pass gives both (the
 * strength model alone would run the whole network again). Built once per model: building a
 * model costs more than a serving request's forward pass.
 */
const withStrengths = new WeakMap<tf.LayersModel, tf.LayersModel>();
function interestsWithStrengths(model: tf.LayersModel): tf.LayersModel {
  let both = withStrengths.get(model);
  if (!both) {
    const strength = interestStrengthModel(model);
    both = tf.model({ name: 'interests_with_strengths', inputs: model.inputs, outputs: [model.outputs[0] as tf.SymbolicTensor, strength.outputs[0] as tf.SymbolicTensor] });
    withStrengths.set(model, both);
  }
  return both;
}

/** Interest vectors (count × K × dim) of every row of a sequence set, with their strengths (count × K) when asked. */
export function computeInterests(
  model: tf.LayersModel,
  itemVectors: Float32Array,
  dim: number,
  seqs: Sequences,
  batch = 1024,
  sharedTable?: tf.Tensor2D,
  opts: { strengths?: boolean } = {},
): { k: number; vectors: Float32Array; strengths?: Float32Array } {
  const k = model.outputs[0]?.shape[1] as number;
  const out = new Float32Array(seqs.count * k * dim);
  const strengths = opts.strengths ? new Float32Array(seqs.count * k) : undefined;
  const both = opts.strengths && model.layers.some((l) => l.name === 'long_term_interests') ? interestsWithStrengths(model) : undefined;
  const table = sharedTable ?? vectorTable(itemVectors, dim);
  for (let from = 0; from < seqs.count; from += batch) {
    const rows = Array.from({ length: Math.min(batch, seqs.count - from) }, (_, i) => from + i);
    const inputs = sequenceInputs(table, seqs, rows);
    // apply, not predict: predict re-checks its inputs and cuts the batch into 32s, which cost as much
    // as the forward pass itself for a serving batch (4-5 ms against 2.7 ms on 2 cores).
    if (both) {
      const [v, w] = tf.tidy(() => both.apply(inputs, { training: false }) as tf.Tensor[]);
      out.set((v as tf.Tensor).dataSync() as Float32Array, from * k * dim);
      (strengths as Float32Array).set((w as tf.Tensor).dataSync() as Float32Array, from * k);
      v?.dispose();
      w?.dispose();
    } else {
      const v = tf.tidy(() => model.apply(inputs, { training: false }) as tf.Tensor);
      out.set(v.dataSync() as Float32Array, from * k * dim);
      v.dispose();
      strengths?.fill(1, from * k, (from + rows.length) * k);
    }
    inputs.forEach((t) => t.dispose());
  }
  if (!sharedTable) table.dispose();
  return { k, vectors: out, ...(strengths ? { strengths } : {}) };
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
