import { bootstrapLift, normalCdf, normalQuantile, pairedBootstrapLift, quantile, twoProportionZTest, type ArmCounts } from '../../evaluation/abStats';
import { categoryMix } from '../../evaluation/abArms';

const users = (n: number, clicks: number, impressions: number): ArmCounts[] => Array.from({ length: n }, () => ({ clicks, impressions }));

describe('A/B statistics on known numbers', () => {
  it('normal CDF and quantile match reference values', () => {
    // Python: statistics.NormalDist().cdf(1.96), .inv_cdf(0.975)
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517796, 6);
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980316301, 7);
    expect(normalQuantile(0.975)).toBeCloseTo(1.9599639845400536, 8);
    expect(normalQuantile(0.005)).toBeCloseTo(-2.5758293035489004, 8);
    expect(() => normalQuantile(1)).toThrow(RangeError);
  });

  it('two-proportion z-test: 100/1000 against 130/1000', () => {
    // R: prop.test(c(130, 100), c(1000, 1000), correct = FALSE) → X-squared = 4.4215 (= z²), p-value = 0.03549.
    const t = twoProportionZTest({ clicks: 100, impressions: 1000 }, { clicks: 130, impressions: 1000 });
    expect(t.ctrA).toBe(0.1);
    expect(t.ctrB).toBe(0.13);
    expect(t.z).toBeCloseTo(2.102740605622114, 8);
    expect(t.z * t.z).toBeCloseTo(4.4215, 3);
    expect(t.pValue).toBeCloseTo(0.03548845046647475, 6);
    expect(t.diff).toBeCloseTo(0.03, 12);
    expect(t.diffCi[0]).toBeCloseTo(0.0020679344393763725, 7);
    expect(t.diffCi[1]).toBeCloseTo(0.05793206556062362, 7);
    expect(t.lift).toBeCloseTo(0.3, 12);
    // Katz log-ratio interval: exp(ln 1.3 ± 1.96·sqrt((1−pA)/cA + (1−pB)/cB)) − 1.
    expect(t.liftCi[0]).toBeCloseTo(0.01698427097104549, 7);
    expect(t.liftCi[1]).toBeCloseTo(0.6617759470226021, 7);
  });

  it('z-test edge cases: no clicks in an arm has no lift interval; bad counts are refused', () => {
    const t = twoProportionZTest({ clicks: 0, impressions: 100 }, { clicks: 5, impressions: 100 });
    expect(t.lift).toBe(Infinity);
    expect(t.liftCi.every(Number.isNaN)).toBe(true);
    expect(() => twoProportionZTest({ clicks: 5, impressions: 0 }, { clicks: 1, impressions: 10 })).toThrow(/arm A/);
    expect(() => twoProportionZTest({ clicks: 1, impressions: 10 }, { clicks: 11, impressions: 10 })).toThrow(/arm B/);
  });

  it('bootstrap over users: identical users give a zero-width interval at the true lift', () => {
    const b = bootstrapLift(users(50, 1, 10), users(70, 2, 10), { samples: 200, seed: 3 });
    expect(b.lift).toBeCloseTo(1, 12);
    expect(b.ci[0]).toBeCloseTo(1, 12);
    expect(b.ci[1]).toBeCloseTo(1, 12);
    expect(b.se).toBeCloseTo(0, 12);
  });

  it('bootstrap over users agrees with the z-test when every user has one independent impression', () => {
    const arm = (n: number, clicks: number) => Array.from({ length: n }, (_, i) => ({ clicks: i < clicks ? 1 : 0, impressions: 1 }));
    const a = arm(2000, 200);
    const b = arm(2000, 260);
    const boot = bootstrapLift(a, b, { samples: 2000, seed: 11 });
    const z = twoProportionZTest({ clicks: 200, impressions: 2000 }, { clicks: 260, impressions: 2000 });
    expect(boot.lift).toBeCloseTo(0.3, 12);
    expect(Math.abs(boot.ci[0] - z.liftCi[0])).toBeLessThan(0.03);
    expect(Math.abs(boot.ci[1] - z.liftCi[1])).toBeLessThan(0.03);
  });

  it('bootstrap over users is wider than the z-test when clicks cluster within users', () => {
    // Half the users click 20% of what they see, half nothing: 5000 impressions are really 100 users.
    const clustered = (n: number, ctr: number) => Array.from({ length: n }, (_, i) => ({ clicks: i % 2 === 0 ? Math.round(50 * ctr * 2) : 0, impressions: 50 }));
    const a = clustered(100, 0.1);
    const b = clustered(100, 0.13);
    const boot = bootstrapLift(a, b, { samples: 1000, seed: 5 });
    const z = twoProportionZTest({ clicks: 500, impressions: 5000 }, { clicks: 650, impressions: 5000 });
    expect(boot.ci[1] - boot.ci[0]).toBeGreaterThan(2 * (z.liftCi[1] - z.liftCi[0]));
  });

  it('bootstrap is deterministic for a seed', () => {
    const a = Array.from({ length: 40 }, (_, i) => ({ clicks: i % 3, impressions: 10 }));
    const b = Array.from({ length: 40 }, (_, i) => ({ clicks: i % 4, impressions: 10 }));
    expect(bootstrapLift(a, b, { samples: 300, seed: 9 })).toEqual(bootstrapLift(a, b, { samples: 300, seed: 9 }));
    expect(bootstrapLift(a, b, { samples: 300, seed: 9 }).ci).not.toEqual(bootstrapLift(a, b, { samples: 300, seed: 10 }).ci);
  });

  it('paired bootstrap keeps the pairing: a steady lift on heterogeneous users gets a tight interval', () => {
    // Users differ in how many of their logged clicks A finds (5% .. 50%), but B always finds 20% more.
    const pairs = Array.from({ length: 60 }, (_, i) => {
      const targets = 10 * (1 + (i % 7));
      const found = targets * 0.05 * (1 + (i % 10));
      return { a: { clicks: found, impressions: targets }, b: { clicks: found * 1.2, impressions: targets } };
    });
    const paired = pairedBootstrapLift(pairs, { samples: 500, seed: 3 });
    expect(paired.lift).toBeCloseTo(0.2, 12);
    expect(paired.ci[0]).toBeCloseTo(0.2, 6);
    expect(paired.ci[1]).toBeCloseTo(0.2, 6);
    // Resampling the same users as independent arms loses that and sees mostly user heterogeneity.
    const unpaired = bootstrapLift(pairs.map((p) => p.a), pairs.map((p) => p.b), { samples: 500, seed: 3 });
    expect(unpaired.ci[1] - unpaired.ci[0]).toBeGreaterThan(0.1);
    expect(pairedBootstrapLift(pairs, { samples: 200, seed: 4 })).toEqual(pairedBootstrapLift(pairs, { samples: 200, seed: 4 }));
    expect(() => pairedBootstrapLift([])).toThrow(RangeError);
  });

  it('quantiles interpolate linearly (R type 7) and feed diversity is distinct categories and entropy', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 12);
    expect(categoryMix(['jade', 'jade', 'tea', 'coin'])).toEqual({ distinct: 3, entropyBits: 1.5 });
    expect(categoryMix(['jade', 'jade'])).toEqual({ distinct: 1, entropyBits: 0 });
  });
});
