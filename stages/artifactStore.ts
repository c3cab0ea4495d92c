import { randomUUID } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CurioError } from '../platform/errors';
import { folderDigest, readManifest } from './artifacts';

/**
 * The artifact store: the folder every worker writes its stage folders into (CURIO_ARTIFACTS_DIR).
 * Across hosts it must be ONE shared filesystem, mounted at the same path on every worker host (a
 * stage reads its inputs at the paths their producers wrote): an NFS export, a cloud file share, or
 * a bucket mounted as a filesystem. The store names itself once, in `.curio-store.json`; every stage
 * reference carries that id, and a stage first checks that each input folder is there, is the store
 * its producer wrote to, and still holds what it published. A worker on a host that does not share
 * the store fails the stage with a non-retryable ArtifactStoreError that says so, instead of reading
 * a folder of the same name that a different store holds, or retrying a missing one until timeout.
 */

export const STORE_FILE = '.curio-store.json';

export interface StoreIdentity {
  format: 'curio.artifact-store';
  id: string;
  createdAt: string;
  /** The host that created the store (for messages only). */
  createdOn: string;
}

/** The store cannot be used (unwritable, unshared, or a folder changed under a reference): a retry cannot fix it. */
export class ArtifactStoreError extends CurioError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { type: 'ArtifactStoreError', retryable: false, cause: options?.cause });
  }
}

/**
 * Opens the store at `root`: creates the folder and its identity when new (two workers starting at
 * once agree on one id: the identity is published by an exclusive hard link), and proves the folder
 * writable with a probe file. A worker calls this at start, so a host without the shared mount (or
 * with a read-only one) fails before it takes any work.
 */
export function openArtifactStore(root: string): StoreIdentity {
  try {
    mkdirSync(root, { recursive: true });
    const probe = join(root, `.probe-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`);
    writeFileSync(probe, 'curio');
    if (readFileSync(probe, 'utf8') !== 'curio') throw new Error(`${probe} did not read back what was written`);
    rmSync(probe);
  } catch (err) {
    throw new ArtifactStoreError(`the artifact store ${root} is not writable from ${hostname()}: ${(err as Error).message}`, { cause: err });
  }
  const file = join(root, STORE_FILE);
  if (!existsSync(file)) {
    const identity: StoreIdentity = { format: 'curio.artifact-store', id: randomUUID(), createdAt: new Date().toISOString(), createdOn: hostname() };
    const tmp = `${file}.tmp-${randomUUID().slice(0, 8)}`;
    writeFileSync(tmp, JSON.stringify(identity, null, 2));
    try {
      linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ArtifactStoreError(`cannot create ${file}: ${(err as Error).message}`, { cause: err });
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  return readIdentity(file);
}

function readIdentity(file: string): StoreIdentity {
  let parsed: Partial<StoreIdentity>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<StoreIdentity>;
  } catch (err) {
    throw new ArtifactStoreError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (parsed.format !== 'curio.artifact-store' || typeof parsed.id !== 'string' || !parsed.id) throw new ArtifactStoreError(`${file} is not a curio artifact-store identity`);
  return parsed as StoreIdentity;
}

/** What a stage reference must hold for its folder to be checked (workflows/types.ts StageRef). */
interface RefLike {
  stage: string;
  key: string;
  dir: string;
  digest: string;
  store?: string;
}

function isRef(v: unknown): v is RefLike {
  if (!v || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  return typeof r.stage === 'string' && typeof r.key === 'string' && typeof r.dir === 'string' && typeof r.digest === 'string';
}

/** Every stage reference in an activity's input, however deep (a sweep passes a list of trials). */
export function inputRefs(input: unknown): RefLike[] {
  const out: RefLike[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 6 || !v || typeof v !== 'object') return;
    if (isRef(v)) {
      out.push(v);
      return;
    }
    for (const x of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) walk(x, depth + 1);
  };
  walk(input, 0);
  return out;
}

/**
 * Checks that this host sees every input folder as its producer published it: in this store (when
 * the reference names one; references from before store ids name none), present, and with the
 * digest the reference holds. Throws an ArtifactStoreError naming the stage, the folder and the fix.
 */
export function checkInputRefs(input: unknown, store: StoreIdentity, root: string): void {
  for (const ref of inputRefs(input)) {
    const where = `stage ${ref.stage}'s folder ${ref.dir}`;
    if (ref.store !== undefined && ref.store !== store.id) {
      throw new ArtifactStoreError(
        `${where} was written to artifact store ${ref.store}, but this worker (${hostname()}) has store ${store.id} at ${root}: every worker host must mount the same shared folder at the same path (CURIO_ARTIFACTS_DIR)`,
      );
    }
    let manifest;
    try {
      manifest = readManifest(ref.dir);
    } catch (err) {
      throw new ArtifactStoreError(`${where} cannot be read on ${hostname()}: ${(err as Error).message}`, { cause: err });
    }
    if (!manifest) {
      throw new ArtifactStoreError(`${where} is not visible on ${hostname()} (no manifest.json there): the workers do not share one artifact store; mount the same shared folder at the same path on every worker host (CURIO_ARTIFACTS_DIR)`);
    }
    const digest = folderDigest(manifest);
    if (digest !== ref.digest) throw new ArtifactStoreError(`${where} holds digest ${digest}, not the ${ref.digest} its producer published: it was replaced after the workflow read it`);
  }
}
