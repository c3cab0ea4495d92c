import { Journal, JournalCorruptError, type StagedFile } from './journal';
import type { RunWriter } from './runWriter';
import { errorMessage, isTransient, ParamConflictError, type FlushResult, type LogResult, type TrackingOp, type TrackingProblem } from './trackingOps';

/**
 * The durable local buffer: operations that could not reach MLflow wait in a journal on disk, in
 * order, and a flush (in the background, or on demand) replays them once the server answers.
 */
export class TrackingBuffer {
  /** Set when MLflow stopped answering; new operations go to the journal until a flush empties it. */
  offline = false;
  private flushChain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private background: Promise<void> | undefined;
  private closed = false;

  constructor(
    readonly journal: Journal<TrackingOp>,
    private readonly writer: RunWriter,
    private readonly report: (problem: TrackingProblem) => void,
    private readonly settings: { trackingUri: string; autoFlush: boolean; retryIntervalMs: number },
  ) {}

  /** Operations waiting in the local journal. */
  async pending(): Promise<number> {
    return this.journal.count();
  }
  /**
   * Replays the journal in order. Safe from several processes at once: one holds the flush lock
   * and the others wait up to `waitMs` (then answer busy). Stops at the first "unreachable".
   */
  flush(options: { waitMs?: number } = {}): Promise<FlushResult> {
    const run = async (): Promise<FlushResult> => {
      const res = await this.journal.withLock(() => this.drain(), { waitMs: options.waitMs ?? 30_000 });
      if (!res.acquired) return { applied: 0, failed: 0, remaining: await this.journal.count(), busy: true };
      return res.value;
    };
    // One flush at a time within this process too; a caller always gets a flush that started after its call.
    const next = this.flushChain.then(run, run);
    this.flushChain = next.catch(() => undefined);
    return next;
  }
  /** Stops background retries and waits for one in progress. Buffered operations stay on disk. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.background;
  }
  async backlog(): Promise<boolean> {
    try {
      return (await this.journal.count()) > 0;
    } catch {
      return false;
    }
  }
  async buffer(op: TrackingOp, at: number, staged: StagedFile[]): Promise<LogResult> {
    try {
      // Buffered artifact ops refer to their private copies, never to the caller's files.
      const stored: TrackingOp = op.type === 'logArtifacts' ? { ...op, files: op.files.map((f) => ({ path: f.path })) } : op;
      await this.journal.append(stored, { at, files: staged });
      this.scheduleFlush(this.offline ? this.settings.retryIntervalMs : 0);
      return { status: 'buffered', written: 0, skipped: 0 };
    } catch (err) {
      const message = `could not buffer ${op.type} for ${op.run.key} in ${this.journal.dir}: ${errorMessage(err)}`;
      this.report({ kind: 'buffer', message, runKey: op.run.key, op: op.type });
      return { status: 'failed', written: 0, skipped: 0, error: message };
    }
  }
  goOffline(err: unknown): void {
    if (!this.offline) {
      this.report({ kind: 'offline', message: `MLflow at ${this.settings.trackingUri} is unreachable (${errorMessage(err)}); buffering to ${this.journal.dir}` });
    }
    this.offline = true;
  }
  private scheduleFlush(delayMs: number): void {
    if (!this.settings.autoFlush || this.closed || this.timer || this.background) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.background = this.flush({ waitMs: 0 }).then(
        (r) => {
          this.background = undefined;
          if (r.remaining > 0) this.scheduleFlush(this.settings.retryIntervalMs);
        },
        (err: unknown) => {
          this.background = undefined;
          this.report({ kind: 'flush', message: `background flush failed: ${errorMessage(err)}` });
          this.scheduleFlush(this.settings.retryIntervalMs);
        },
      );
    }, delayMs);
    this.timer.unref();
  }
  private async drain(): Promise<FlushResult> {
    let applied = 0;
    let failed = 0;
    // New entries may arrive while we replay; keep going until the journal is empty.
    for (let pass = 0; pass < 1000; pass++) {
      const ids = await this.journal.ids();
      if (ids.length === 0) break;
      for (const id of ids) {
        let entry;
        try {
          entry = await this.journal.read(id);
        } catch (err) {
          if (!(err instanceof JournalCorruptError)) throw err;
          await this.journal.deadLetter(id, err.message);
          this.report({ kind: 'rejected', message: err.message });
          failed++;
          continue;
        }
        if (!entry) continue;
        try {
          const res = await this.writer.apply(entry.op, entry.at, this.journal.blobDir(id));
          if (res.conflicts?.length) {
            this.report({ kind: 'conflict', message: new ParamConflictError(entry.op.run.key, res.conflicts).message, runKey: entry.op.run.key, op: entry.op.type });
          }
          await this.journal.remove(id);
          applied++;
        } catch (err) {
          if (isTransient(err)) {
            this.offline = true;
            return { applied, failed, remaining: await this.journal.count(), busy: false, error: errorMessage(err) };
          }
          const message = `${entry.op.type} on ${entry.op.run.key}: ${errorMessage(err)}`;
          await this.journal.deadLetter(id, message);
          this.report({ kind: 'rejected', message: `buffered ${message} (kept in ${this.journal.dir}/failed)`, runKey: entry.op.run.key, op: entry.op.type });
          failed++;
        }
      }
    }
    this.offline = false;
    await this.journal.sweepOrphans().catch(() => {});
    return { applied, failed, remaining: await this.journal.count(), busy: false };
  }
}
