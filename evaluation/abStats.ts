import { Rng } from '../data/generator/rng';

/**
 * The statistics of an A/B CTR comparison. Two views on the same question:
 * - the two-proportion z-test treats every impression as an independent trial (what dashboards
 *   usually show; too optimistic when one user's impressions are correlated);
 * - the bootstrap over users resamples whole users, so the correlation within a user is kept.
 * When the two disagree, trust the bootstrap.
 */

export interface ArmCounts {
  clicks: number;
  impressions: number;
}

export interface TwoProportionTest {
  ctrA: number;
  ctrB: number;
  /** ctrB − ctrA with its (unpooled) confidence interval. */
  diff: number;
  diffCi: [number, number];
  /** ctrB / ctrA − 1 with a confidence interval from the log ratio (Katz): exp(log r ± z·se) − 1. */
  lift: number;
  liftCi: [number, number];
  /** (ctrB − ctrA) / pooled standard error. */
  z: number;
  /** Two-sided. */
  pValue: number;
}

export interface BootstrapResult {
  /** The lift on the full data (the point estimate). */
  lift: number;
  /** Percentile interval of the resampled lifts. */
  ci: [number, number];
  /** Standard deviation of the resampled lifts. */
  se: number;
  samples: number;
}

/** Standard normal CDF through erfc (Numerical Recipes' Chebyshev fit; relative error < 1.2e-7). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Inverse of the standard normal CDF (Acklam's rational approximation; relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const poly = (k: number[], x: number) => k.reduce((s, v) => s * x + v, 0);
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

export function twoProportionZTest(a: ArmCounts, b: ArmCounts, confidence = 0.95): TwoProportionTest {
  for (const [name, arm] of [['A', a], ['B', b]] as const) {
    if (!(arm.impressions > 0) || arm.clicks < 0 || arm.clicks > arm.impressions) {
      throw new RangeError(`arm ${name}: need 0 <= clicks <= impressions and impressions > 0, got ${arm.clicks}/${arm.impressions}`);
    }
  }
  const zc = normalQuantile(0.5 + confidence / 2);
  const pA = a.clicks / a.impressions;
  const pB = b.clicks / b.impressions;
  const pooled = (a.clicks + b.clicks) / (a.impressions + b.impressions);
  const se0 = Math.sqrt(pooled * (1 - pooled) * (1 / a.impressions + 1 / b.impressions));
  const z = se0 > 0 ? (pB - pA) / se0 : 0;
  const se1 = Math.sqrt((pA * (1 - pA)) / a.impressions + (pB * (1 - pB)) / b.impressions);
  const diff = pB - pA;
  const lift = pB / pA - 1;
  const seLog = Math.sqrt((1 - pA) / a.clicks + (1 - pB) / b.clicks);
  const logR = Math.log(pB / pA);
  return {
    ctrA: pA,
    ctrB: pB,
    diff,
    diffCi: [diff - zc * se1, diff + zc * se1],
    lift,
    // Undefined (NaN) when an arm has no clicks: a ratio with a zero denominator has no interval.
    liftCi: a.clicks > 0 && b.clicks > 0 ? [Math.exp(logR - zc * seLog) - 1, Math.exp(logR + zc * seLog) - 1] : [NaN, NaN],
    z,
    // erfc directly rather than 2·(1 − Φ(|z|)), which cancels to 0 beyond z ≈ 8.
    pValue: erfc(Math.abs(z) / Math.SQRT2),
  };
}

/**
 * Percentile bootstrap of the relative CTR lift, resampling users (with replacement) within each
 * arm independently, as the arms are independent samples of users. Deterministic for a seed.
 */
export function bootstrapLift(
  usersA: readonly ArmCounts[],
  usersB: readonly ArmCounts[],
  opts: { samples?: number; seed?: number; confidence?: number } = {},
): BootstrapResult {
  const samples = opts.samples ?? 2000;
  const confidence = opts.confidence ?? 0.95;
  if (usersA.length === 0 || usersB.length === 0) throw new RangeError('bootstrap needs users in both arms');
  const rng = new Rng(opts.seed ?? 1, 77);
  const total = (us: readonly ArmCounts[]) => us.reduce((s, u) => ({ clicks: s.clicks + u.clicks, impressions: s.impressions + u.impressions }), { clicks: 0, impressions: 0 });
  const liftOf = (x: ArmCounts, y: ArmCounts) => y.clicks / y.impressions / (x.clicks / x.impressions) - 1;
  const resample = (us: readonly ArmCounts[]): ArmCounts => {
    let clicks = 0;
    let impressions = 0;
    for (let i = 0; i < us.length; i++) {
      const u = us[rng.int(us.length)] as ArmCounts;
      clicks += u.clicks;
      impressions += u.impressions;
    }
    return { clicks, impressions };
  };
  const lifts = new Float64Array(samples);
  for (let s = 0; s < samples; s++) lifts[s] = liftOf(resample(usersA), resample(usersB));
  return summariseBootstrap(liftOf(total(usersA), total(usersB)), lifts, confidence);
}

/**
 * Percentile bootstrap of the relative lift of B's rate over A's when both arms were measured on the
 * same units (the offline replay builds both arms' feeds for every session): units are resampled
 * with both their counts, so the pairing is kept and the interval is not needlessly wide.
 */
export function pairedBootstrapLift(
  pairs: readonly { a: ArmCounts; b: ArmCounts }[],
  opts: { samples?: number; seed?: number; confidence?: number } = {},
): BootstrapResult {
  const samples = opts.samples ?? 2000;
  if (pairs.length === 0) throw new RangeError('bootstrap needs at least one unit');
  const rng = new Rng(opts.seed ?? 1, 79);
  const liftOver = (draw: (i: number) => number) => {
    let ac = 0;
    let ai = 0;
    let bc = 0;
    let bi = 0;
    for (let i = 0; i < pairs.length; i++) {
      const p = pairs[draw(i)] as { a: ArmCounts; b: ArmCounts };
      ac += p.a.clicks;
      ai += p.a.impressions;
      bc += p.b.clicks;
      bi += p.b.impressions;
    }
    return bc / bi / (ac / ai) - 1;
  };
  const lifts = new Float64Array(samples);
  for (let s = 0; s < samples; s++) lifts[s] = liftOver(() => rng.int(pairs.length));
  return summariseBootstrap(liftOver((i) => i), lifts, opts.confidence ?? 0.95);
}

/** Point estimate, percentile interval and spread of resampled lifts (infinite ones, from a zero rate in A, are left out of the spread). */
function summariseBootstrap(lift: number, lifts: Float64Array, confidence: number): BootstrapResult {
  lifts.sort();
  const finite = lifts.filter((x) => Number.isFinite(x));
  const mean = finite.reduce((s, x) => s + x, 0) / Math.max(1, finite.length);
  const sd = Math.sqrt(finite.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, finite.length - 1));
  const alpha = (1 - confidence) / 2;
  return { lift, ci: [quantile(lifts, alpha), quantile(lifts, 1 - alpha)], se: sd, samples: lifts.length };
}

/** Linear-interpolation quantile of sorted values (R's type 7). */
export function quantile(sorted: Float64Array | readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}
