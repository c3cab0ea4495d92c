/**
 * Types shared by the retrain workflow, its activities and its clients. Pure types and constants:
 * workflow code imports them, so nothing here may touch Node APIs.
 */

export const SCALES = ['tiny', 'small', 'medium', 'large'] as const;
export type Scale = (typeof SCALES)[number];

/**
 * The one JSON object a retrain takes (the Temporal UI's Start Workflow form sends exactly this).
 * Everything but the data source is optional; defaults are the documented model defaults.
 */
export interface RetrainInput {
  /** Where the data comes from: a folder following docs/data-contract.md, or the synthetic marketplace. */
  data: { dir?: string; generate?: { scale: Scale; seed?: number; lang?: 'zh' | 'en' | 'mixed' }; quarantine?: boolean };
  /** MLflow experiment (default 'curio-retrain'). */
  experimentName?: string;
  /** Overrides of the feature SQL, tagging and model configs (see models/config.ts and data/features.ts). */
  features?: Record<string, unknown>;
  tagging?: Record<string, unknown>;
  itemUnit?: Record<string, unknown>;
  item2vec?: Record<string, unknown>;
  keyword?: Record<string, unknown>;
  multiInterest?: Record<string, unknown>;
  /** The λ grid of the metric-loss sweep (one child workflow each). */
  lambdaGrid?: number[];
  /** How many sweep trials run at once. */
  sweepParallelism?: number;
  /**
   * The goal ratio of multi-interest next-session Recall@50 over item-CF's, and the registry's
   * primary metric (default next_session_recall_at_50).
   */
  evaluation?: { goalRatio?: number; primaryMetric?: string };
  /** Faiss factory string of the constrained index (default 'Flat'). */
  index?: { factory?: string };
  /** A/B simulation settings. */
  abTest?: Record<string, unknown>;
  /** Registered model name (default 'curio-recall'). */
  registry?: { modelName?: string };
  /**
   * How fast a dead worker is noticed: a training attempt without a heartbeat for this long is
   * retried (from its last checkpoint) on another training worker. Default 60 s.
   */
  timeouts?: { trainingHeartbeatSeconds?: number };
}

/** A finished stage's output, as Temporal carries it: a reference, never the data itself. */
export interface StageRef {
  stage: string;
  /** Content key of the stage's inputs and config (names its folder). */
  key: string;
  dir: string;
  /** Content hash of the folder's files. */
  digest: string;
  reused: boolean;
  /** The artifact store the folder is in (stages/artifactStore.ts); absent in references from before store ids. */
  store?: string;
  /** A few headline numbers for the progress table and the UI. */
  summary: Record<string, number | string>;
  mlflowRunId?: string;
}

export type StageStatus = 'pending' | 'running' | 'done' | 'failed' | 'waiting_for_retry' | 'skipped';

export interface StageRow {
  stage: string;
  status: StageStatus;
  attempt: number;
  startedAt?: string;
  durationMs?: number;
  mlflowRunId?: string;
  error?: string;
  errorType?: string;
  summary?: Record<string, number | string>;
}

export interface RetrainResult {
  datasetDigest: string;
  stages: StageRow[];
  bestLambda: number;
  /** Next-session Recall@50 on the test period (the protocol decisions use), model and item-CF. */
  recallAt50: number;
  itemCfRecallAt50: number;
  /** The same under the ComiRec protocol, for comparison with the literature. */
  comirecRecallAt50: number;
  itemCfComirecRecallAt50: number;
  ctrLift?: number;
  /** The offline replay's lift of the model's feed over item-CF's (logged clicks in feed). */
  replayLift?: number;
  /** The registry's decision and why (champion: '' when there is none yet). */
  registry?: { decision: string; reason: string; version: string; champion: string };
  mlflowRunId?: string;
  mlflowRunUrl?: string;
}

/** Signals and queries of the retrain workflow. */
export const RETRY_STAGE_SIGNAL = 'retryStage';
/** The same request as an Update: refused (with the reason) unless a stage waits and the overrides resolve. */
export const RETRY_STAGE_UPDATE = 'retryStageUpdate';
export const ABORT_SIGNAL = 'abort';
export const PROGRESS_QUERY = 'progress';

/** What an accepted retryStage Update answers. */
export interface RetryStageAccepted {
  stage: string;
  /** Every override the run now carries, oldest first. */
  overrides: Record<string, unknown>[];
}

export interface RetryStageArgs {
  /** The failed stage to run again (default: whichever is waiting). */
  stage?: string;
  /** Config overrides merged into the run's config before the retry, e.g. {"multiInterest": {"learningRate": 0.001}}. */
  overrides?: Record<string, unknown>;
}

export const STAGES = [
  'validate',
  'load',
  'features',
  'tagging',
  'item_embedding',
  'keyword',
  'multi_interest',
  'lambda_sweep',
  'evaluation',
  'index',
  'ab_test',
  'registration',
] as const;
export type StageName = (typeof STAGES)[number];
