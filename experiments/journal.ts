import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { CurioError } from '../platform/errors';

/**
 * A durable, append-only journal of tracking operations for when MLflow is unreachable.
 *
 * Layout under `dir`:
 *   entries/<name>.json   one committed operation per file, replayed in name order
 *   blobs/<name>/...      private copies of the artifact files an operation uploads
 *   tmp/                  writes in progress (an entry appears in entries/ only complete)
 *   failed/               operations that failed for good, with the error next to them
 *   flush.lock            held by the one process replaying the journal
 *
 * One file per entry, written to tmp/ and renamed into entries/, means a crash never leaves a
 * torn entry and no appender can race a flusher over a shared file's tail. Names start with a
 * per-process monotonic timestamp and counter, so name order is append order within a process and
 * time order across processes. Replays may repeat an entry (a crash between applying and deleting
 * it), so the operations themselves must be idempotent; tracking.ts makes them so.
 */

export interface JournalEntry<T> {
  /** The entry's file name without `.json`; also names its blob folder. */
  id: string;
  /** When the caller performed the operation (epoch ms). */
  at: number;
  pid: number;
  host: string;
  op: T;
}

/** A local file to copy into the entry's blob folder at `rel`. */
export interface StagedFile {
  source: string;
  rel: string;
}

export class JournalCorruptError extends CurioError {
  constructor(message: string) {
    super(message, { type: 'JournalCorruptError', retryable: false });
  }
}

interface LockInfo {
  token: string;
  pid: number;
  host: string;
  since: number;
}

let lastStamp = 0;
let sequence = 0;

/** Monotonic within this process even if the wall clock steps back. */
function stamp(): { ts: number; seq: number } {
  lastStamp = Math.max(Date.now(), lastStamp);
  sequence = (sequence + 1) % 1e9;
  return { ts: lastStamp, seq: sequence };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface JournalOptions {
  /** A lock whose holder stopped refreshing it this long ago is taken over. */
  lockStaleMs?: number;
}

export class Journal<T> {
  readonly dir: string;
  private readonly entriesDir: string;
  private readonly blobsDir: string;
  private readonly tmpDir: string;
  private readonly failedDir: string;
  private readonly lockPath: string;
  private readonly lockStaleMs: number;
  private ready: Promise<void> | undefined;

  constructor(dir: string, options: JournalOptions = {}) {
    this.dir = dir;
    this.entriesDir = join(dir, 'entries');
    this.blobsDir = join(dir, 'blobs');
    this.tmpDir = join(dir, 'tmp');
    this.failedDir = join(dir, 'failed');
    this.lockPath = join(dir, 'flush.lock');
    this.lockStaleMs = options.lockStaleMs ?? 60_000;
  }

  private ensureDirs(): Promise<void> {
    this.ready ??= (async () => {
      for (const d of [this.entriesDir, this.blobsDir, this.tmpDir, this.failedDir]) await mkdir(d, { recursive: true });
    })();
    return this.ready;
  }

  /** Durably records one operation (and private copies of its files) before returning. */
  async append(op: T, options: { at?: number; files?: StagedFile[] } = {}): Promise<JournalEntry<T>> {
    await this.ensureDirs();
    const { ts, seq } = stamp();
    const id = `${String(ts).padStart(15, '0')}-${String(seq).padStart(9, '0')}-${process.pid}-${randomBytes(4).toString('hex')}`;
    const entry: JournalEntry<T> = { id, at: options.at ?? Date.now(), pid: process.pid, host: hostname(), op };
    if (options.files?.length) {
      // Copies, not references: the caller's temp folder may be gone by the time we replay.
      for (const f of options.files) {
        const dest = join(this.blobsDir, id, f.rel);
        await mkdir(dirname(dest), { recursive: true });
        await copyFile(f.source, dest, fsConstants.COPYFILE_FICLONE);
        await fsyncPath(dest);
      }
    }
    const tmp = join(this.tmpDir, `${id}.json`);
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(JSON.stringify(entry));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.entriesDir, `${id}.json`));
    await fsyncPath(this.entriesDir);
    return entry;
  }

  /** Entry ids in replay order. */
  async ids(): Promise<string[]> {
    await this.ensureDirs();
    const names = await readdir(this.entriesDir);
    return names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).sort();
  }

  async count(): Promise<number> {
    return (await this.ids()).length;
  }

  async read(id: string): Promise<JournalEntry<T> | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.entriesDir, `${id}.json`), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // taken by another flusher
      throw err;
    }
    try {
      const entry = JSON.parse(text) as JournalEntry<T>;
      if (typeof entry !== 'object' || entry === null || entry.id !== id || typeof entry.at !== 'number') {
        throw new Error('not a journal entry');
      }
      return entry;
    } catch (err) {
      throw new JournalCorruptError(`journal entry ${id} is unreadable: ${(err as Error).message}`);
    }
  }

  /** Where the files staged with an entry lie. */
  blobDir(id: string): string {
    return join(this.blobsDir, id);
  }

  /** Drops an applied entry and its files. */
  async remove(id: string): Promise<void> {
    await rm(join(this.entriesDir, `${id}.json`), { force: true });
    await rm(this.blobDir(id), { recursive: true, force: true });
  }

  /** Moves an entry that can never apply into failed/, with the reason, so it stops blocking the queue. */
  async deadLetter(id: string, reason: string): Promise<void> {
    await this.ensureDirs();
    await writeFile(join(this.failedDir, `${id}.error.txt`), `${new Date().toISOString()} ${reason}\n`);
    try {
      await rename(join(this.entriesDir, `${id}.json`), join(this.failedDir, `${id}.json`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await rm(this.blobDir(id), { recursive: true, force: true });
  }

  async failedIds(): Promise<string[]> {
    await this.ensureDirs();
    return (await readdir(this.failedDir)).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).sort();
  }

  /** Removes blob folders left by an append that crashed before committing its entry. */
  async sweepOrphans(maxAgeMs = 24 * 3600_000): Promise<void> {
    await this.ensureDirs();
    const live = new Set(await this.ids());
    for (const id of await readdir(this.blobsDir)) {
      if (live.has(id)) continue;
      const s = await stat(join(this.blobsDir, id)).catch(() => undefined);
      if (s && Date.now() - s.mtimeMs > maxAgeMs) await rm(join(this.blobsDir, id), { recursive: true, force: true });
    }
    for (const name of await readdir(this.tmpDir)) {
      const s = await stat(join(this.tmpDir, name)).catch(() => undefined);
      if (s && Date.now() - s.mtimeMs > maxAgeMs) await rm(join(this.tmpDir, name), { force: true });
    }
  }

  // ---- the flush lock ------------------------------------------------------------------

  /**
   * Runs `fn` holding the journal's flush lock (an O_EXCL lock file, refreshed while held).
   * Waits up to `waitMs` for another holder; answers `{ acquired: false }` if it never frees.
   */
  async withLock<R>(fn: () => Promise<R>, options: { waitMs?: number } = {}): Promise<{ acquired: true; value: R } | { acquired: false }> {
    await this.ensureDirs();
    const deadline = Date.now() + (options.waitMs ?? 0);
    let token: string | undefined;
    for (;;) {
      token = await this.tryAcquire();
      if (token || Date.now() >= deadline) break;
      await sleep(100);
    }
    if (!token) return { acquired: false };
    const heartbeat = setInterval(() => {
      const now = new Date();
      utimes(this.lockPath, now, now).catch(() => {});
    }, Math.max(250, Math.floor(this.lockStaleMs / 4)));
    heartbeat.unref();
    try {
      return { acquired: true, value: await fn() };
    } finally {
      clearInterval(heartbeat);
      await this.release(token);
    }
  }

  private async tryAcquire(): Promise<string | undefined> {
    const info: LockInfo = { token: randomBytes(8).toString('hex'), pid: process.pid, host: hostname(), since: Date.now() };
    try {
      const fh = await open(this.lockPath, 'wx');
      try {
        await fh.writeFile(JSON.stringify(info));
      } finally {
        await fh.close();
      }
      return info.token;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await this.readLock(this.lockPath);
    const age = await stat(this.lockPath).then(
      (s) => Date.now() - s.mtimeMs,
      () => undefined,
    );
    if (age === undefined) return undefined; // released meanwhile: the caller's next try takes it
    // A lock is stale when its holder crashed (same host, pid gone) or stopped refreshing it.
    const dead = holder !== undefined && holder.host === hostname() && !pidAlive(holder.pid);
    if (dead || age > this.lockStaleMs || holder === undefined) {
      if (holder === undefined && age < 2000) return undefined; // being written right now
      await this.breakLock(holder?.token);
    }
    return undefined;
  }

  /**
   * Moves a stale lock aside. If what we moved is not the lock we judged stale (someone took it
   * over in between), we put it back with link(), which never overwrites a newer lock.
   */
  private async breakLock(staleToken: string | undefined): Promise<void> {
    const aside = `${this.lockPath}.broken-${randomBytes(4).toString('hex')}`;
    try {
      await rename(this.lockPath, aside);
    } catch {
      return;
    }
    const moved = await this.readLock(aside);
    if (moved?.token !== staleToken) await link(aside, this.lockPath).catch(() => {});
    await unlink(aside).catch(() => {});
  }

  private async release(token: string): Promise<void> {
    const holder = await this.readLock(this.lockPath);
    if (holder?.token === token) await unlink(this.lockPath).catch(() => {});
  }

  private async readLock(path: string): Promise<LockInfo | undefined> {
    try {
      const info = JSON.parse(await readFile(path, 'utf8')) as LockInfo;
      return typeof info.token === 'string' && typeof info.pid === 'number' ? info : undefined;
    } catch {
      return undefined;
    }
  }
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
