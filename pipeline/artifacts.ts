import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

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

/**
 * Runs `produce` into a temporary sibling folder and renames it into place with a manifest, unless
 * the folder is already complete. `scratch` (e.g. checkpoints) lives beside it and survives a crash,
 * so a retried attempt can resume from it; it is removed once the stage completes.
 */
export async function produceStage<R>(
  root: string,
  stage: string,
  key: string,
  produce: (work: { out: string; scratch: string }) => Promise<R>,
): Promise<{ dir: string; manifest: Manifest<R>; reused: boolean }> {
  const dir = stageDir(root, stage, key);
  const done = readManifest<R>(dir);
  if (done) return { dir, manifest: done, reused: true };
  const tmp = `${dir}.tmp-${process.pid}`;
  const scratch = `${dir}.scratch`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  mkdirSync(scratch, { recursive: true });
  try {
    const report = await produce({ out: tmp, scratch });
    const files: Record<string, string> = {};
    for (const f of listFiles(tmp)) files[relative(tmp, f)] = await sha256File(f);
    const manifest: Manifest<R> = { stage, key, createdAt: new Date().toISOString(), files, report };
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2));
    mkdirSync(dirname(dir), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    rmSync(scratch, { recursive: true, force: true });
    return { dir, manifest, reused: false };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

export function folderBytes(dir: string): number {
  return listFiles(dir).reduce((s, f) => s + statSync(f).size, 0);
}
