import { Rng } from '../data/generator/rng';
import type { InterestModel, InterestModelProvider, ItemVectors } from '../retrieval/types';
import type { Truth } from './truth';

/**
 * Models that cheat: they read the generator's truth. They exist to develop and test retrieval and to
 * check that the A/B simulator rewards good interests (the oracle must beat item-CF); the real
 * comparison always uses trained models.
 */

export interface OracleModels {
  itemVectors: ItemVectors;
  modelFor: InterestModelProvider;
  label: string;
}

/** Item vectors = truth latent vectors; a user's interests = their truth topic vectors, heaviest first. */
export function truthOracle(truth: Truth): OracleModels {
  return {
    itemVectors: { dim: truth.latentDim, vectors: truth.itemLatent },
    modelFor: (userIdx) => fixedInterests(truth.latentDim, userInterestVectors(truth, userIdx)),
    label: 'oracle (truth vectors)',
  };
}

/**
 * The oracle blurred: every item and interest vector gets isotropic Gaussian noise of expected norm
 * `sigma` (then retrieval normalises). sigma ≈ 0.5 still ranks well; sigma ≥ 1 mostly loses the
 * signal. Deterministic for a seed.
 */
export function noisyOracle(truth: Truth, sigma: number, seed: number): OracleModels {
  if (!(sigma >= 0)) throw new Error(`noise sigma must be >= 0, got ${sigma}`);
  const d = truth.latentDim;
  const perCoordinate = sigma / Math.sqrt(d);
  const itemRng = new Rng(seed, 31);
  const vectors = Float32Array.from(truth.itemLatent, (x) => x + perCoordinate * itemRng.normal());
  return {
    itemVectors: { dim: d, vectors },
    modelFor: (userIdx) => {
      const rng = new Rng(seed, 1_000_000 + userIdx);
      return fixedInterests(
        d,
        userInterestVectors(truth, userIdx).map((v) => Float32Array.from(v, (x) => x + perCoordinate * rng.normal())),
      );
    },
    label: `noisy oracle (sigma ${sigma})`,
  };
}

function userInterestVectors(truth: Truth, userIdx: number): Float32Array[] {
  const u = truth.users[userIdx];
  if (!u) return [];
  const order = u.interests.map((t, i) => ({ t, w: u.weights[i] ?? 0 })).sort((a, b) => b.w - a.w || a.t - b.t);
  return order.map(({ t }) => {
    const v = truth.topicVectors[t];
    if (!v) throw new Error(`truth user ${userIdx} has unknown topic ${t}`);
    return v;
  });
}

/** An InterestModel that ignores the history: the oracle already knows the answer. */
function fixedInterests(dim: number, vectors: Float32Array[]): InterestModel {
  return { dim, interests: () => vectors };
}
