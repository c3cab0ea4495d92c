/** The shapes a comparison of retrains is made of (experiments/compare.ts builds them, experiments/report.ts renders them). */

export interface RunSnapshot {
  runId: string;
  experimentId: string;
  name: string;
  key?: string;
  kind?: string;
  status: string;
  startTime?: number;
  params: Record<string, string>;
  /** Latest value of every metric. */
  metrics: Record<string, number>;
  /** Full histories of the metrics logged at more than one step. */
  histories: Record<string, { step: number; value: number }[]>;
  tags: Record<string, string>;
  children: RunSnapshot[];
}

/** A run with its tree flattened: `item_unit/loss`, `lambda=0.1/recall_at_50`, ... */
export interface FlatRun {
  label: string;
  snapshot: RunSnapshot;
  metrics: Map<string, number>;
  params: Map<string, string>;
  curves: Map<string, { step: number; value: number }[]>;
}

export interface Comparison {
  /** Oldest first. */
  runs: FlatRun[];
  metricRows: { name: string; values: (number | undefined)[] }[];
  /** Only the params whose values differ between runs (or exist in some only). */
  paramRows: { name: string; values: (string | undefined)[] }[];
  identicalParams: number;
}
