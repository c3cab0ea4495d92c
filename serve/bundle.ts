import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromKeyValues, type MlflowClient, type ModelVersion } from '../experiments/mlflowClient';
import { VERSION_TAGS } from '../experiments/registry';
import { ConstrainedIndex } from '../retrieval/constrainedIndex';
import type { InterestModel } from '../retrieval/types';
import { loadLexicon } from '../tagging/lexicon';
import { RecallEngine } from './engine';
import type { LotEmbedder } from './lotEmbedder';
import { readServingFiles, ServingBundleError } from './servingFiles';

/**
 * The champion, from the registry to a loaded engine: the version behind an alias is found through
 * MLflow's registry API, its bundle downloaded through the artifact API into a cache folder named by
 * model and version (complete once its marker is written, so an interrupted download is redone),
 * and loaded: the bundle's Faiss index, the served user model on the served item vectors, and the
 * item tower that embeds lots listed later.
 */

export interface BundleRef {
  model: string;
  /** An alias (default 'champion') or a version number. */
  alias?: string;
  version?: string;
}

export interface DownloadedBundle {
  version: ModelVersion;
  /** The local folder, laid out like the registered bundle. */
  dir: string;
}

const COMPLETE = '.complete';

/** The version the reference names now (undefined when the alias is not set). */
export async function resolveVersion(client: MlflowClient, ref: BundleRef): Promise<ModelVersion | undefined> {
  if (ref.version) return client.getModelVersion(ref.model, ref.version);
  return client.getModelVersionByAlias(ref.model, ref.alias ?? 'champion');
}

export async function downloadBundle(client: MlflowClient, version: ModelVersion, cacheDir: string, onFile: (path: string) => void = () => {}): Promise<DownloadedBundle> {
  const dir = join(cacheDir, version.name, version.version);
  if (existsSync(join(dir, COMPLETE))) return { version, dir };
  if (!version.run_id) throw new ServingBundleError(`${version.name} version ${version.version} names no run; its bundle cannot be found`);
  const bundlePath = fromKeyValues(version.tags)[VERSION_TAGS.bundlePath] ?? 'bundle';
  const run = await client.getRun(version.run_id);
  const tmp = `${dir}.download-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const walk = async (folder: string): Promise<void> => {
    for (const f of await client.listArtifacts(run, folder)) {
      if (f.is_dir) await walk(f.path);
      else {
        await client.downloadArtifactToFile(run, f.path, join(tmp, f.path.slice(bundlePath.length + 1)));
        onFile(f.path);
      }
    }
  };
  await walk(bundlePath);
  writeFileSync(join(tmp, COMPLETE), JSON.stringify({ model: version.name, version: version.version, run: version.run_id, at: new Date().toISOString() }));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, '..'), { recursive: true });
  renameSync(tmp, dir);
  return { version, dir };
}

export interface LoadedBundle {
  engine: RecallEngine;
  embedder: LotEmbedder;
  /** `model/version`. */
  label: string;
  /** The moment the bundle's data ends (epoch ms): the clock of a service replaying a historic dataset. */
  dataEndMs: number;
}

/** Loads a downloaded bundle (TensorFlow is imported only here: the HTTP layer and its unit tests need none). */
export async function loadBundle(dir: string, label: string): Promise<LoadedBundle> {
  const files = await readServingFiles(dir);
  const { manifest } = files;
  const { loadModel } = await import('../models/modelFiles');
  const { LotEmbedder } = await import('./lotEmbedder');
  let model: InterestModel & { dispose(): void };
  if (manifest.served.method === 'history_clusters') {
    const { historyClusterModel, DEFAULT_HISTORY_CLUSTERS } = await import('../models/historyClusters');
    model = { ...historyClusterModel(files.vectors, manifest.dim, manifest.served.clusters ?? DEFAULT_HISTORY_CLUSTERS), dispose: () => {} };
  } else {
    const { trainedInterestModel } = await import('../models/trainedInterestModel');
    model = await trainedInterestModel(join(dir, 'user_model'), files.vectors, manifest.dim);
  }
  const tower = await loadModel(files.itemTowerDir);
  try {
    const index = ConstrainedIndex.read(join(dir, 'index'));
    const { method: _method, clusters: _clusters, ...served } = manifest.served;
    const engine = RecallEngine.build({
      version: label,
      catalogue: files.catalogue,
      vectors: { dim: manifest.dim, vectors: files.vectors },
      model,
      popularity: files.popularity,
      recall: manifest.recall,
      served,
      maxLongTerm: manifest.maxLongTerm,
      index,
      dispose: () => {
        model.dispose();
        tower.dispose();
      },
    });
    return { engine, embedder: new LotEmbedder(manifest, loadLexicon(), tower, engine.indexCategories), label, dataEndMs: manifest.popularity.until - 1 };
  } catch (err) {
    model.dispose();
    tower.dispose();
    throw err;
  }
}
