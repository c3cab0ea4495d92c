import { CurioError } from '../platform/errors';
import { MlflowError, type Metric, type RunStatus } from './mlflowClient';
import type { RunRef } from './naming';

/**
 * What the tracker sends and reports: the idempotent operations (what the journal stores and the
 * writer applies), their results, the problems reported in non-strict mode, and the errors.
 */

/** One tracking operation: what the journal stores and what `apply` replays. Plain JSON. */
export type TrackingOp =
  | { type: 'ensureRun'; run: RunRef; tags: Record<string, string> }
  | { type: 'logParams'; run: RunRef; params: Record<string, string> }
  | { type: 'logMetrics'; run: RunRef; metrics: Metric[] }
  | { type: 'setTags'; run: RunRef; tags: Record<string, string> }
  /** `source` is an absolute local file online; buffered ops keep their copies in the entry's blob folder at `path`. */
  | { type: 'logArtifacts'; run: RunRef; files: { path: string; source?: string }[] }
  | { type: 'endRun'; run: RunRef; status: TerminalStatus };

export type TerminalStatus = Extract<RunStatus, 'FINISHED' | 'FAILED' | 'KILLED'>;

export interface ParamConflict {
  key: string;
  logged: string;
  attempted: string;
}

export interface LogResult {
  /** sent: on the server now; buffered: in the local journal, flushed later; failed: dropped (see problems). */
  status: 'sent' | 'buffered' | 'failed';
  /** Items written (metric points, params, tags, files). */
  written: number;
  /** Items already on the server (a retry's repeats): not written again. */
  skipped: number;
  conflicts?: ParamConflict[];
  error?: string;
}

export interface FlushResult {
  /** Journal entries applied to the server by this flush. */
  applied: number;
  /** Entries moved to failed/ because the server rejected them for good. */
  failed: number;
  /** Entries still waiting (the server went away again, or another process holds the lock). */
  remaining: number;
  /** True when another process held the flush lock for the whole wait. */
  busy: boolean;
  error?: string;
}

export type ProblemKind = 'offline' | 'conflict' | 'rejected' | 'invalid' | 'buffer' | 'flush';

export interface TrackingProblem {
  kind: ProblemKind;
  message: string;
  runKey?: string;
  op?: TrackingOp['type'];
}

export class TrackingError extends CurioError {
  constructor(
    message: string,
    transient = false,
    options?: { cause?: unknown; type?: string },
  ) {
    super(message, { type: options?.type ?? 'TrackingError', retryable: transient, cause: options?.cause });
  }

  /** Worth buffering and retrying (MLflow unreachable or failing): the same as `retryable`. */
  get transient(): boolean {
    return this.retryable;
  }
}

export class ParamConflictError extends TrackingError {
  constructor(
    readonly runKey: string,
    readonly conflicts: ParamConflict[],
  ) {
    super(
      `run ${runKey}: MLflow params cannot change once logged; ` +
        conflicts.map((c) => `${c.key} is '${c.logged}', attempted '${c.attempted}'`).join('; '),
      false,
      { type: 'ParamConflictError' },
    );
  }
}

/** Connection refused, timeouts, 5xx and 429: worth buffering and retrying. Anything else is final. */
export function isTransient(err: unknown): boolean {
  if (err instanceof MlflowError || err instanceof TrackingError) return err.retryable;
  const code = (err as { cause?: { code?: string } })?.cause?.code ?? (err as { code?: string })?.code;
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|UND_ERR)/.test(code)) return true;
  return err instanceof TypeError && /fetch failed|terminated|other side closed/i.test(err.message);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
