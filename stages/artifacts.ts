import { createHash, randomUUID } from 'node:crypto';
import { cpSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';

/**
 * Content-addressed stage outputs: a stage writes into `<root>/<stage>/<key>/`, where the key is a
 * hash of everything the output depends on (input references and config). A finished folder holds
 * `manifest.json`; a retry or re-run that finds it skips the work. Folders appear atomically.
 */

export interface Manifest<R = unknown> {
  stage: string;
  key: string;
  createdAt: string;
  /** sha256 of every file in the folder (except the manifest), by relative path. */
  files: Record<string, string>;
  report: R;
}

/** A stable hash of a JSON-able value (object keys sorted). */
export function contentKey(value: unknown): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])])) : v;
  return createHash('sha256').update(JSON.stringify(canon(value))).digest('hex').slice(0, 20);
}

export function stageDir(root: string, stage: string, key: string): string {
  return join(root, stage, key);
}

export function readManifest<R>(dir: string): Manifest<R> | undefined {
  const p = join(dir, 'manifest.json');
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, 'utf8')) as Manifest<R>;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Content hash of a finished folder: the hash of its manifest's file hashes. */
export function folderDigest(m: Manifest): string {
  return contentKey(m.files);
}

export interface ProduceOptions {
  /**
   * Names this attempt's output and scratch folders (the stage runner: the Temporal attempt and a
   * random suffix; default: this process and a random suffix). Two attempts never share either.
   */
  attempt?: string;
}

/** The newest modification time among a folder and the folders under it. */
function newestChange(dir: string): number {
  let newest = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) newest = Math.max(newest, newestChange(join(dir, e.name)));
  return newest;
}

/**
 * A new attempt starts from a copy of the scratch of the attempt that changed last (a retry resumes
 * from its checkpoints), never from the folder itself: a timed-out attempt whose worker is still
 * alive keeps writing its own. Half-written checkpoints (`*.tmp-*`) are left out; when the copy
 * races with that attempt's pruning, the new attempt starts fresh instead of from half a copy.
 */
function seedScratch(scratchRoot: string, scratch: string): void {
  mkdirSync(scratchRoot, { recursive: true });
  if (existsSync(scratch)) return;
  const previous = readdirSync(scratchRoot, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => ({ path: join(scratchRoot, e.name), changed: newestChange(join(scratchRoot, e.name)) }))
    .sort((x, y) => y.changed - x.changed)[0];
  if (previous) {
    try {
      cpSync(previous.path, scratch, { recursive: true, filter: (src) => !/\.tmp-/.test(basename(src)) });
      return;
    } catch {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  mkdirSync(scratch, { recursive: true });
}

/**
 * Moves a finished attempt's folder into place, unless another attempt got there first (then the
 * caller discards its own: both hold the same content, and the first one may already be read).
 */
function publish(tmp: string, dir: string, attempt: string): boolean {
  mkdirSync(dirname(dir), { recursive: true });
  if (readManifest(dir)) return false;
  if (existsSync(dir)) {
    // A folder without a manifest is no stage output (a copy interrupted by hand): set it aside first.
    const stale = `${dir}.stale-${attempt}`;
    renameSync(dir, stale);
    rmSync(stale, { recursive: true, force: true });
  }
  try {
    renameSync(tmp, dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && readManifest(dir)) return false;
    throw err;
  }
}

/**
 * Runs `produce` into this attempt's temporary sibling folder and renames it into place with a
 * manifest, unless the folder is already complete. `scratch` (e.g. checkpoints) is this attempt's
 * own, seeded from the previous attempt's, and survives a crash, so a retried attempt resumes; the
 * stage's scratch goes once the stage completes.
 */
export async function produceStage<R>(
  root: string,
  stage: string,
  key: string,
  produce: (work: { out: string; scratch: string }) => Promise<R>,
  opts: ProduceOptions = {},
): Promise<{ dir: string; manifest: Manifest<R>; reused: boolean }> {
  const dir = stageDir(root, stage, key);
  const done = readManifest<R>(dir);
  if (done) return { dir, manifest: done, reused: true };
  const attempt = opts.attempt ?? `local-${process.pid}-${randomUUID().slice(0, 8)}`;
  const tmp = `${dir}.tmp-${attempt}`;
  const scratchRoot = `${dir}.scratch`;
  const scratch = join(scratchRoot, attempt);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  seedScratch(scratchRoot, scratch);
  try {
    const report = await produce({ out: tmp, scratch });
    const files: Record<string, string> = {};
    for (const f of listFiles(tmp)) files[relative(tmp, f)] = await sha256File(f);
    const manifest: Manifest<R> = { stage, key, createdAt: new Date().toISOString(), files, report };
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2));
    if (!publish(tmp, dir, attempt)) {
      rmSync(tmp, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
      if (existsSync(scratchRoot) && readdirSync(scratchRoot).length === 0) rmSync(scratchRoot, { recursive: true, force: true });
      return { dir, manifest: readManifest<R>(dir) as Manifest<R>, reused: true };
    }
    rmSync(scratchRoot, { recursive: true, force: true });
    return { dir, manifest, reused: false };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

export function folderBytes(dir: string): number {
  return listFiles(dir).reduce((s, f) => s + statSync(f).size, 0);
}
