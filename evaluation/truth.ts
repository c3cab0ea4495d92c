import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Expertise } from '../data/generator/clickModel';
import { runSqlFile } from '../platform/duckdb';
import { meanPairwiseCosine } from './metrics';

/**
 * The synthetic marketplace's hidden world (truth/ of a generated dataset), aligned to the feature
 * DB's item_idx and user_idx. Only the simulator may look at it: it decides clicks, and it powers the
 * oracle model that checks the simulator. No model under test ever sees it.
 */
export interface Truth {
  latentDim: number;
  /** item_idx → latent vector (row-major, itemCount × latentDim). */
  itemLatent: Float32Array;
  itemQuality: Float64Array;
  itemTopic: Int32Array;
  /** topic_id → unit topic vector. */
  topicVectors: Float32Array[];
  /** user_idx → the user's interests; undefined for users the truth does not know. */
  users: (TruthUser | undefined)[];
}

export interface TruthUser {
  expertise: Expertise;
  /** Topic ids. */
  interests: number[];
  weights: number[];
}

const EXPERTISE = new Set<string>(['beginner', 'intermediate', 'expert']);

/** Reads truth/*.parquet under `datasetDir`; the feature DB must be attached as `feat`. */
export async function loadTruth(conn: DuckDBConnection, datasetDir: string, itemCount: number): Promise<Truth> {
  const path = (name: string) => {
    const p = join(datasetDir, 'truth', `${name}.parquet`);
    if (!existsSync(p)) throw new Error(`${p} does not exist: the A/B simulator needs a generated dataset's truth/ folder`);
    return p;
  };
  const topics = await runSqlFile(conn, 'retrieval/truth_topics', { path: path('topics') });
  const topicVectors = topics.map((r, i) => {
    if (Number(r.topic_id) !== i) throw new Error(`truth topics are not numbered 0..${topics.length - 1}`);
    return Float32Array.from(r.vector as number[]);
  });
  const latentDim = topicVectors[0]?.length ?? 0;
  if (latentDim === 0) throw new Error('truth holds no topics');

  const itemLatent = new Float32Array(itemCount * latentDim);
  const itemQuality = new Float64Array(itemCount);
  const itemTopic = new Int32Array(itemCount).fill(-1);
  for (const r of await runSqlFile(conn, 'retrieval/truth_items', { path: path('items') })) {
    const i = Number(r.item_idx);
    itemLatent.set(r.latent as number[], i * latentDim);
    itemQuality[i] = Number(r.quality);
    itemTopic[i] = Number(r.topic_id);
  }
  const missing = itemTopic.indexOf(-1);
  if (missing >= 0) throw new Error(`truth has no entry for item_idx ${missing}: the truth folder is not this dataset's`);

  const users: (TruthUser | undefined)[] = [];
  for (const r of await runSqlFile(conn, 'retrieval/truth_users', { path: path('users') })) {
    const expertise = String(r.expertise);
    if (!EXPERTISE.has(expertise)) throw new Error(`truth user ${String(r.user_idx)} has unknown expertise '${expertise}'`);
    users[Number(r.user_idx)] = {
      expertise: expertise as Expertise,
      interests: (r.interests as number[]).map(Number),
      weights: (r.interest_weights as number[]).map(Number),
    };
  }
  return { latentDim, itemLatent, itemQuality, itemTopic, topicVectors, users };
}

export function latentOf(truth: Truth, itemIdx: number): Float32Array {
  return truth.itemLatent.subarray(itemIdx * truth.latentDim, (itemIdx + 1) * truth.latentDim);
}

/**
 * The truth's interests in a model's item space: topic t becomes the normalised mean of the item
 * vectors of the items the generator made from t. Null for a topic without items.
 */
export function topicsInItemSpace(truth: Truth, vectors: Float32Array, dim: number): (Float32Array | null)[] {
  const sums = truth.topicVectors.map(() => new Float32Array(dim));
  const counts = new Int32Array(truth.topicVectors.length);
  truth.itemTopic.forEach((t, i) => {
    if (t < 0 || t >= sums.length) return;
    const s = sums[t] as Float32Array;
    for (let d = 0; d < dim; d++) s[d] = (s[d] as number) + (vectors[i * dim + d] as number);
    counts[t] = (counts[t] as number) + 1;
  });
  return sums.map((s, t) => {
    if (counts[t] === 0) return null;
    const n = Math.hypot(...s) || 1;
    return Float32Array.from(s, (x) => x / n);
  });
}

/**
 * The collapse reference: mean pairwise cosine of each user's truth interests in the model's item
 * space, averaged over the given users that have two or more. A learned model whose interests are
 * more alike than this has collapsed beyond what the users' real interests are.
 */
export function truthInterestCollapse(truth: Truth, vectors: Float32Array, dim: number, users: Iterable<number>): { collapse: number; users: number } {
  const topics = topicsInItemSpace(truth, vectors, dim);
  let sum = 0;
  let n = 0;
  for (const u of users) {
    const c = meanPairwiseCosine((truth.users[u]?.interests ?? []).map((t) => topics[t]).filter((v): v is Float32Array => !!v));
    if (c === null) continue;
    sum += c;
    n++;
  }
  return { collapse: n ? sum / n : 0, users: n };
}

/** Whether a dataset folder holds the generator's truth (and so supports the CTR simulation). */
export function hasTruth(datasetDir: string): boolean {
  return existsSync(join(datasetDir, 'truth', 'items.parquet'));
}
