import { openStageDatabases } from '../models/itemFeatures';
import { readColumns } from '../platform/duckdb';

/** Clicks per item of the train period's training users: the models' negative-sampling popularity. */
export async function loadPopularity(featuresDb: string, n: number): Promise<Float64Array> {
  return readPopularity(featuresDb, 'models/item_freq', 'n', n);
}

export async function readPopularity(featuresDb: string, sql: string, column: string, n: number): Promise<Float64Array> {
  const db = await openStageDatabases(featuresDb);
  try {
    const c = await readColumns(db.connection, sql);
    const pop = new Float64Array(n);
    (c.item_idx ?? []).forEach((i, k) => (pop[i as number] = Number(c[column]?.[k] ?? 0)));
    return pop;
  } finally {
    db.close();
  }
}
