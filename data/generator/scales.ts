/** Size presets of the synthetic marketplace. Event counts are approximate: they follow from behaviour. */
export interface ScaleSpec {
  items: number;
  users: number;
  sellers: number;
  /** Latent interest topics (each belongs to one coarse category). */
  topics: number;
  /** Days of logged behaviour. */
  days: number;
  /** Mean sessions per user over the period (activity is log-normal around it). */
  sessionsPerUser: number;
  /** Share of feed pages whose impressions are logged (exposure logs are sampled, as on real platforms). */
  impressionLogRate: number;
  /** Users written per Parquet part; large scales stream events part by part. */
  usersPerPart: number;
}

export const SCALES = {
  tiny: { items: 2_000, users: 500, sellers: 120, topics: 24, days: 14, sessionsPerUser: 6, impressionLogRate: 0.2, usersPerPart: 500 },
  small: { items: 20_000, users: 5_000, sellers: 800, topics: 60, days: 30, sessionsPerUser: 7, impressionLogRate: 0.2, usersPerPart: 5_000 },
  medium: { items: 100_000, users: 20_000, sellers: 3_000, topics: 120, days: 45, sessionsPerUser: 11, impressionLogRate: 0.2, usersPerPart: 5_000 },
  large: { items: 500_000, users: 100_000, sellers: 12_000, topics: 200, days: 60, sessionsPerUser: 22, impressionLogRate: 0.2, usersPerPart: 5_000 },
} as const satisfies Record<string, ScaleSpec>;

export type ScaleName = keyof typeof SCALES;
export const SCALE_NAMES = Object.keys(SCALES) as ScaleName[];

export function isScaleName(s: string): s is ScaleName {
  return (SCALE_NAMES as string[]).includes(s);
}
