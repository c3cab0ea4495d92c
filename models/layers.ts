import { tf } from '../platform/tf';

/**
 * Custom tfjs layers of Curio's models. Each is registered for (de)serialisation, so models save
 * in the tfjs format (model.json + weights) and load back with tf.loadLayersModel.
 */

type Kwargs = Record<string, unknown>;
type LayerArgs = ConstructorParameters<typeof tf.layers.Layer>[0];

function first(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
}

/** Scales vectors to unit length along the last axis (cosine geometry for retrieval). */
export class L2Normalize extends tf.layers.Layer {
  static className = 'CurioL2Normalize';
  constructor(args: LayerArgs = {}) {
    super(args);
  }
  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      return tf.div(x, tf.add(tf.norm(x, 'euclidean', -1, true), 1e-8));
    });
  }
}

/**
 * Weighted mean of a bag of embeddings: inputs [embeddings (B, T, E), weights (B, T)] → (B, E).
 * Zero weights mark padding; an all-zero row gives a zero vector.
 */
export class WeightedBag extends tf.layers.Layer {
  static className = 'CurioWeightedBag';
  constructor(args: LayerArgs = {}) {
    super(args);
  }
  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (shape as tf.Shape[])[0] as tf.Shape;
    return [s[0] ?? null, s[2] ?? null];
  }
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const [emb, w] = inputs as tf.Tensor[];
      const w3 = tf.expandDims(w as tf.Tensor, -1);
      const sum = tf.sum(tf.mul(emb as tf.Tensor, w3), 1);
      return tf.div(sum, tf.maximum(tf.sum(w3, 1), 1e-6));
    });
  }
}

/**
 * Self-attentive pooling (ComiRec-SA style) that extracts K interests from the long-term sequence:
 * A = softmax_L(tanh((H + P) W1) W2) with padding masked out, interests = Aᵀ H.
 * Inputs [vectors (B, L, d), mask (B, L)] → (B, K, d).
 */
export class SelfAttentivePooling extends tf.layers.Layer {
  static className = 'CurioSelfAttentivePooling';
  private readonly interests: number;
  private readonly hidden: number;
  private readonly seed: number;
  private w1!: tf.LayerVariable;
  private w2!: tf.LayerVariable;
  private pos!: tf.LayerVariable;

  constructor(args: LayerArgs & { interests: number; hidden: number; seed: number }) {
    super(args);
    this.interests = args.interests;
    this.hidden = args.hidden;
    this.seed = args.seed;
  }

  override build(shape: tf.Shape | tf.Shape[]): void {
    const s = (shape as tf.Shape[])[0] as tf.Shape;
    const len = s[1] as number;
    const d = s[2] as number;
    this.w1 = this.addWeight('w1', [d, this.hidden], 'float32', tf.initializers.glorotUniform({ seed: this.seed }));
    this.w2 = this.addWeight('w2', [this.hidden, this.interests], 'float32', tf.initializers.glorotUniform({ seed: this.seed + 1 }));
    // Learned position embeddings: recent behaviour can weigh differently from old behaviour.
    this.pos = this.addWeight('position', [len, d], 'float32', tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: this.seed + 2 }));
    this.built = true;
  }

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (shape as tf.Shape[])[0] as tf.Shape;
    return [s[0] ?? null, this.interests, s[2] ?? null];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const [h, mask] = inputs as [tf.Tensor3D, tf.Tensor2D];
      const [b, l, d] = h.shape;
      const hp = tf.add(h, this.pos.read());
      const hidden = tf.tanh(tf.matMul(tf.reshape(hp, [b * l, d]), this.w1.read() as tf.Tensor2D));
      const scores = tf.reshape(tf.matMul(hidden, this.w2.read() as tf.Tensor2D), [b, l, this.interests]);
      const masked = tf.add(scores, tf.mul(tf.sub(1, tf.expandDims(mask, -1)), -1e9));
      const att = tf.softmax(tf.transpose(masked, [0, 2, 1])); // (B, K, L), softmax over L
      return tf.matMul(att, h); // (B, K, d)
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), interests: this.interests, hidden: this.hidden, seed: this.seed };
  }
}

/** Masked mean over a sequence: inputs [vectors (B, S, d), mask (B, S)] → (B, d). */
export class MaskedMean extends tf.layers.Layer {
  static className = 'CurioMaskedMean';
  constructor(args: LayerArgs = {}) {
    super(args);
  }
  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (shape as tf.Shape[])[0] as tf.Shape;
    return [s[0] ?? null, s[2] ?? null];
  }
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const [x, mask] = inputs as tf.Tensor[];
      const m = tf.expandDims(mask as tf.Tensor, -1);
      return tf.div(tf.sum(tf.mul(x as tf.Tensor, m), 1), tf.maximum(tf.sum(m, 1), 1));
    });
  }
}

/**
 * The fusion gate: mixes each long-term interest with the short-term (session) representation,
 * g_k = sigmoid([l_k, s, l_k ⊙ s] Wg + bg), u_k = g_k ⊙ l_k + (1 − g_k) ⊙ tanh(s Ws + bs).
 * Inputs [long interests (B, K, d), session (B, d)] → (B, K, d).
 */
export class FusionGate extends tf.layers.Layer {
  static className = 'CurioFusionGate';
  private readonly seed: number;
  private wg!: tf.LayerVariable;
  private bg!: tf.LayerVariable;
  private ws!: tf.LayerVariable;
  private bs!: tf.LayerVariable;

  constructor(args: LayerArgs & { seed: number }) {
    super(args);
    this.seed = args.seed;
  }

  override build(shape: tf.Shape | tf.Shape[]): void {
    const d = ((shape as tf.Shape[])[0] as tf.Shape)[2] as number;
    this.wg = this.addWeight('gate_kernel', [3 * d, d], 'float32', tf.initializers.glorotUniform({ seed: this.seed }));
    this.bg = this.addWeight('gate_bias', [d], 'float32', tf.initializers.zeros());
    this.ws = this.addWeight('session_kernel', [d, d], 'float32', tf.initializers.glorotUniform({ seed: this.seed + 1 }));
    this.bs = this.addWeight('session_bias', [d], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
    return (shape as tf.Shape[])[0] as tf.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const [l, s] = inputs as [tf.Tensor3D, tf.Tensor2D];
      const [b, k, d] = l.shape;
      const sk = tf.tile(tf.expandDims(s, 1), [1, k, 1]);
      const feats = tf.reshape(tf.concat([l, sk, tf.mul(l, sk)], -1), [b * k, 3 * d]);
      const gate = tf.reshape(tf.sigmoid(tf.add(tf.matMul(feats, this.wg.read() as tf.Tensor2D), this.bg.read())), [b, k, d]);
      const cand = tf.expandDims(tf.tanh(tf.add(tf.matMul(s, this.ws.read() as tf.Tensor2D), this.bs.read())), 1);
      return tf.add(tf.mul(gate, l), tf.mul(tf.sub(1, gate), cand));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed };
  }
}

for (const cls of [L2Normalize, WeightedBag, SelfAttentivePooling, MaskedMean, FusionGate]) {
  tf.serialization.registerClass(cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
}
