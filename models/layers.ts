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
      // rsqrt of a floored squared norm: the gradient of a norm is NaN at a zero vector (a user
      // with no behaviour on one side), this one is finite everywhere.
      return tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-12)));
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

/**
 * Returns its first input and ignores the others: keeps every model input connected (a saved model
 * drops inputs nothing reads), so all user models take the same four inputs.
 */
export class FirstInput extends tf.layers.Layer {
  static className = 'CurioFirstInput';
  constructor(args: LayerArgs = {}) {
    super(args);
  }
  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
    return (shape as tf.Shape[])[0] as tf.Shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.clone(first(inputs));
  }
}

/**
 * Each interest's length, (B, K', d) → (B, K): the strengths of the K' long-term interests, padded to
 * K outputs with the strongest one's (interests a fusion adds, such as the session channel).
 */
export class InterestStrength extends tf.layers.Layer {
  static className = 'CurioInterestStrength';
  private readonly outputs: number;
  constructor(args: LayerArgs & { outputs: number }) {
    super(args);
    this.outputs = args.outputs;
  }
  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray((shape as tf.Shape[])[0]) ? (shape as tf.Shape[])[0] : shape) as tf.Shape;
    return [s[0] ?? null, this.outputs];
  }
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const norms = tf.sqrt(tf.sum(tf.square(first(inputs)), -1)) as tf.Tensor2D; // (B, K')
      const extra = this.outputs - (norms.shape[1] as number);
      if (extra <= 0) return norms;
      return tf.concat([norms, tf.tile(tf.max(norms, 1, true), [1, extra])], 1);
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), outputs: this.outputs };
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

/** The identity with no gradient: routing's intermediate iterations only steer the last one. */
const stopGradient = tf.customGrad(((x: tf.Tensor) => ({ value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]) as (
  x: tf.Tensor,
) => tf.Tensor;

/**
 * Capsule routing (MIND's behaviour-to-interest routing, ComiRec-DR): item vectors are mapped by a
 * shared bilinear matrix, û_j = e_j S, then for a few iterations each item's routing weights over
 * the K capsules are softmax_k(b_kj), z_k = Σ_j w_kj û_j, v_k = squash(z_k), b_kj += v_k · û_j.
 * Routing logits start from a fixed seeded draw (K × L, not trained) instead of a fresh draw per
 * request, so a user's interests are the same each time they are computed; the draw is what makes
 * the capsules differ from the first iteration. Inputs [vectors (B, L, d), mask (B, L)] → (B, K, d).
 */
export class DynamicRouting extends tf.layers.Layer {
  static className = 'CurioDynamicRouting';
  private readonly interests: number;
  private readonly iterations: number;
  private readonly seed: number;
  private readonly maps: 'shared' | 'per_interest';
  private bilinear!: tf.LayerVariable;
  private routingInit!: tf.LayerVariable;

  constructor(args: LayerArgs & { interests: number; iterations: number; seed: number; maps?: 'shared' | 'per_interest' }) {
    super(args);
    this.interests = args.interests;
    this.iterations = args.iterations;
    this.seed = args.seed;
    // tfjs's deserialiser camel-cases string values from a saved config ('per_interest' → 'perInterest').
    const maps = String(args.maps ?? 'shared').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (maps !== 'shared' && maps !== 'per_interest') throw new Error(`routing maps must be 'shared' or 'per_interest', got ${String(args.maps)}`);
    this.maps = maps;
  }

  override build(shape: tf.Shape | tf.Shape[]): void {
    const s = (shape as tf.Shape[])[0] as tf.Shape;
    const len = s[1] as number;
    const d = s[2] as number;
    // 'shared': MIND's one map S for every capsule. 'per_interest': one map per capsule (ComiRec's
    // bilinear_type 1), kept as a (d, K·d) kernel so all capsules map the history in one matmul.
    this.bilinear = this.addWeight('bilinear', this.maps === 'shared' ? [d, d] : [d, this.interests * d], 'float32', tf.initializers.glorotUniform({ seed: this.seed }));
    this.routingInit = this.addWeight('routing_init', [this.interests, len], 'float32', tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: this.seed + 1 }), undefined, false);
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
      if (this.maps === 'per_interest') return this.routePerInterest(h, mask, b, l, d);
      const uHat = tf.reshape(tf.matMul(tf.reshape(h, [b * l, d]), this.bilinear.read() as tf.Tensor2D), [b, l, d]);
      let logits: tf.Tensor = tf.tile(tf.expandDims(this.routingInit.read(), 0), [b, 1, 1]); // (B, K, L)
      let v: tf.Tensor = tf.zeros([b, this.interests, d]);
      for (let it = 0; it < this.iterations; it++) {
        // Softmax over capsules per item, padding items routed nowhere.
        const w = tf.mul(tf.softmax(tf.transpose(logits, [0, 2, 1])), tf.expandDims(mask, -1)); // (B, L, K)
        const last = it === this.iterations - 1;
        const u = last ? uHat : stopGradient(uHat);
        const z = tf.matMul(w, u, true, false); // (B, K, d)
        const sq = tf.sum(tf.square(z), -1, true);
        v = tf.mul(tf.div(sq, tf.add(sq, 1)), tf.div(z, tf.sqrt(tf.add(sq, 1e-9))));
        if (!last) logits = tf.add(logits, tf.matMul(v, u, false, true));
      }
      return v;
    });
  }

  /** The same routing with capsule k reading the history through its own map: û_kj = S_k h_j. */
  private routePerInterest(h: tf.Tensor3D, mask: tf.Tensor2D, b: number, l: number, d: number): tf.Tensor {
    const k = this.interests;
    const uHat = tf.transpose(tf.reshape(tf.matMul(tf.reshape(h, [b * l, d]), this.bilinear.read() as tf.Tensor2D), [b, l, k, d]), [0, 2, 1, 3]); // (B, K, L, d)
    let logits: tf.Tensor = tf.tile(tf.expandDims(this.routingInit.read(), 0), [b, 1, 1]); // (B, K, L)
    let v: tf.Tensor = tf.zeros([b, k, d]);
    for (let it = 0; it < this.iterations; it++) {
      const w = tf.mul(tf.transpose(tf.softmax(tf.transpose(logits, [0, 2, 1])), [0, 2, 1]), tf.expandDims(mask, 1)); // softmax over capsules per item
      const last = it === this.iterations - 1;
      const u = last ? uHat : stopGradient(uHat);
      const z = tf.sum(tf.mul(tf.expandDims(w, -1), u), 2); // (B, K, d)
      const sq = tf.sum(tf.square(z), -1, true);
      v = tf.mul(tf.div(sq, tf.add(sq, 1)), tf.div(z, tf.sqrt(tf.add(sq, 1e-9))));
      if (!last) logits = tf.add(logits, tf.sum(tf.mul(tf.expandDims(v, 2), u), -1));
    }
    return v;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), interests: this.interests, iterations: this.iterations, seed: this.seed, maps: this.maps };
  }
}

/**
 * Session fusion without collapse: each long-term interest attends over the session's items and is
 * gated towards its own summary of them, c_k = Σ_j softmax_j(τ l_k · s_j) s_j,
 * g_k = sigmoid([l_k, c_k, l_k ⊙ c_k] Wg + bg), u_k = g_k ⊙ l_k + (1 − g_k) ⊙ c_k. An interest is
 * pulled only by the session items like it, and an empty session leaves every interest as it is.
 * Inputs [long interests (B, K, d), session vectors (B, S, d), session mask (B, S)] → (B, K, d).
 */
export class InterestSessionAttention extends tf.layers.Layer {
  static className = 'CurioInterestSessionAttention';
  private readonly seed: number;
  private readonly temperature: number;
  private wg!: tf.LayerVariable;
  private bg!: tf.LayerVariable;

  constructor(args: LayerArgs & { seed: number; temperature: number }) {
    super(args);
    this.seed = args.seed;
    this.temperature = args.temperature;
  }

  override build(shape: tf.Shape | tf.Shape[]): void {
    const d = ((shape as tf.Shape[])[0] as tf.Shape)[2] as number;
    this.wg = this.addWeight('gate_kernel', [3 * d, d], 'float32', tf.initializers.glorotUniform({ seed: this.seed }));
    this.bg = this.addWeight('gate_bias', [d], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
    return (shape as tf.Shape[])[0] as tf.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const [l, s, mask] = inputs as [tf.Tensor3D, tf.Tensor3D, tf.Tensor2D];
      const [b, k, d] = l.shape;
      const sims = tf.mul(tf.matMul(l, s, false, true), this.temperature); // (B, K, S)
      const att = tf.mul(tf.softmax(tf.add(sims, tf.mul(tf.sub(1, tf.expandDims(mask, 1)), -1e9))), tf.expandDims(mask, 1));
      const c = tf.matMul(att, s); // (B, K, d); zero for an empty session
      const feats = tf.reshape(tf.concat([l, c, tf.mul(l, c)], -1), [b * k, 3 * d]);
      const gate = tf.reshape(tf.sigmoid(tf.add(tf.matMul(feats, this.wg.read() as tf.Tensor2D), this.bg.read())), [b, k, d]);
      const hasSession = tf.reshape(tf.minimum(tf.sum(mask, 1), 1), [b, 1, 1]);
      return tf.add(l, tf.mul(hasSession, tf.mul(tf.sub(1, gate), tf.sub(c, l))));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed, temperature: this.temperature };
  }
}

/**
 * The session as an interest of its own: the mean of the session's items, or, for a request at a
 * session's start (empty session), of the last `fallback` long-term clicks; then a learned
 * correction s + s W (W starts at zero). Inputs [long vectors (B, L, d), long mask (B, L),
 * session vectors (B, S, d), session mask (B, S)] → (B, 1, d).
 */
export class SessionChannel extends tf.layers.Layer {
  static className = 'CurioSessionChannel';
  private readonly fallback: number;
  private w!: tf.LayerVariable;

  constructor(args: LayerArgs & { fallback: number }) {
    super(args);
    this.fallback = args.fallback;
  }

  override build(shape: tf.Shape | tf.Shape[]): void {
    const d = ((shape as tf.Shape[])[0] as tf.Shape)[2] as number;
    this.w = this.addWeight('correction', [d, d], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (shape as tf.Shape[])[0] as tf.Shape;
    return [s[0] ?? null, 1, s[2] ?? null];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const [lv, lm, sv, sm] = inputs as [tf.Tensor3D, tf.Tensor2D, tf.Tensor3D, tf.Tensor2D];
      const [b, l, d] = lv.shape;
      const f = Math.min(this.fallback, l);
      const mean = (x: tf.Tensor3D, m: tf.Tensor2D) => tf.div(tf.sum(tf.mul(x, tf.expandDims(m, -1)), 1), tf.maximum(tf.sum(m, 1, true), 1));
      const session = mean(sv, sm);
      const tail = mean(tf.slice(lv, [0, l - f, 0], [-1, f, -1]) as tf.Tensor3D, tf.slice(lm, [0, l - f], [-1, f]) as tf.Tensor2D);
      const has = tf.minimum(tf.sum(sm, 1, true), 1);
      const x = tf.add(tf.mul(has, session), tf.mul(tf.sub(1, has), tail)) as tf.Tensor2D;
      return tf.reshape(tf.add(x, tf.matMul(x, this.w.read() as tf.Tensor2D)), [b, 1, d]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), fallback: this.fallback };
  }
}

for (const cls of [L2Normalize, WeightedBag, SelfAttentivePooling, FirstInput, InterestStrength, MaskedMean, FusionGate, DynamicRouting, InterestSessionAttention, SessionChannel]) {
  tf.serialization.registerClass(cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
}
