import { dot } from './rng';

/**
 * The synthetic marketplace's ground-truth click model, shared by the generator (which logs clicks)
 * and the A/B simulator (which decides clicks on feeds that were never logged):
 *
 *   P(click | user u, item i, position p, active interests A)
 *     = positionBias(p) × sigmoid(beta0 + beta1 × affinity) × (qualityFloor + (1 − qualityFloor) × quality_i ^ gamma_u)
 *   affinity = max over a in A of cos(topicVector_a, latent_i)
 *   positionBias(p) = 1 / (1 + p) ^ positionExponent        (p is 0-based)
 *
 * Experts have a larger gamma: they click mostly on good pieces.
 */
export interface ClickModelParams {
  beta0: number;
  beta1: number;
  positionExponent: number;
  qualityFloor: number;
  gammaByExpertise: Record<Expertise, number>;
}

export type Expertise = 'beginner' | 'intermediate' | 'expert';

export const CLICK_MODEL: ClickModelParams = {
  beta0: -5.5,
  beta1: 8,
  positionExponent: 0.6,
  qualityFloor: 0.35,
  gammaByExpertise: { beginner: 0.5, intermediate: 1, expert: 2.5 },
};

export function positionBias(position: number, params = CLICK_MODEL): number {
  return 1 / Math.pow(1 + position, params.positionExponent);
}

export function affinity(activeTopicVectors: readonly Float32Array[], itemLatent: Float32Array): number {
  let best = -1;
  for (const v of activeTopicVectors) best = Math.max(best, dot(v, itemLatent));
  return best;
}

export function clickProbability(
  affinityValue: number,
  quality: number,
  expertise: Expertise,
  position: number,
  params = CLICK_MODEL,
): number {
  const interest = 1 / (1 + Math.exp(-(params.beta0 + params.beta1 * affinityValue)));
  const q = params.qualityFloor + (1 - params.qualityFloor) * Math.pow(Math.max(0, Math.min(1, quality)), params.gammaByExpertise[expertise]);
  return positionBias(position, params) * interest * q;
}
