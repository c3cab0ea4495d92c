import { createHash } from 'node:crypto';
import * as faiss from 'faiss-node';
import { MlflowClient } from '../experiments/mlflowClient';
import { openDatabase, runSqlFile } from '../platform/duckdb';

/** One small, checkable operation per component: the smoke workflow runs each as an activity. */

export interface DuckdbCheck {
  rowCount: number;
  priceSum: number;
  categories: number;
}

export async function checkDuckdb(n: number, categories: number, scale: number): Promise<DuckdbCheck> {
  const db = await openDatabase(':memory:');
  try {
    const [row] = await runSqlFile(db.connection, 'smoke', { n, categories, scale });
    if (!row) throw new Error('smoke.sql returned no rows');
    return { rowCount: Number(row.row_count), priceSum: Number(row.price_sum), categories: Number(row.categories) };
  } finally {
    db.close();
  }
}

export interface FaissCheck {
  ntotal: number;
  labels: number[];
  scores: number[];
}

/** Inner-product search over a few unit vectors: the nearest one must be the query's own direction. */
export function checkFaissSearch(query: number[]): FaissCheck {
  const d = query.length;
  const index = new faiss.IndexFlatIP(d);
  const vectors: number[] = [];
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) vectors.push(i === j ? 1 : 0);
  index.add(vectors);
  const res = index.search(query, Math.min(3, d));
  return { ntotal: index.ntotal(), labels: res.labels, scores: res.distances };
}

export interface MlflowCheck {
  experimentId: string;
  runId: string;
  artifactPath: string;
  artifactSha256: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
}

export async function checkMlflow(
  trackingUri: string,
  experimentName: string,
  params: Record<string, string>,
  metrics: Record<string, number>,
  artifact: unknown,
  tags: Record<string, string>,
): Promise<MlflowCheck> {
  const client = new MlflowClient(trackingUri);
  const experimentId = await client.getOrCreateExperiment(experimentName);
  const run = await client.createRun({ experimentId, runName: 'smoke', tags });
  const runId = run.info.run_id;
  try {
    await client.logParams(runId, params);
    await client.logMetrics(runId, metrics);
    const bytes = Buffer.from(JSON.stringify(artifact, null, 2));
    const artifactPath = 'smoke/result.json';
    await client.uploadArtifact(run, artifactPath, bytes);
    await client.updateRun(runId, 'FINISHED');
    return {
      experimentId,
      runId,
      artifactPath,
      artifactSha256: createHash('sha256').update(bytes).digest('hex'),
      params,
      metrics,
    };
  } catch (err) {
    await client.updateRun(runId, 'FAILED').catch(() => undefined);
    throw err;
  }
}
