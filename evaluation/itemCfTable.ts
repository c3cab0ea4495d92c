import { attachDatabase, forEachChunk, GrowableInt32, openDatabase } from '../platform/duckdb';

/**
 * The ComiRec protocol's item-CF (sql/features/06_item_cf.sql's top neighbours per item) as
 * compressed rows: item i's neighbours are neighbors[offsets[i] .. offsets[i + 1]), best first. At
 * 500k lots the table has 41M rows; one object per neighbour (the Map of lists it was) would not fit
 * in V8's 4 GB heap, typed arrays take 16 bytes a row.
 */
export interface ItemCfTable {
  offsets: Int32Array;
  neighbors: Int32Array;
  scores: Float64Array;
}

export async function loadItemCf(featuresDb: string): Promise<ItemCfTable> {
  const db = await openDatabase(':memory:');
  try {
    await attachDatabase(db.connection, featuresDb, 'feat');
    const items = new GrowableInt32();
    const neighbors = new GrowableInt32();
    let scores = new Float64Array(1 << 12);
    let rows = 0;
    await forEachChunk(db.connection, 'models/item_cf', {}, (chunk, column) => {
      const [item, neighbor, score] = [chunk.getColumnVector(column('item_idx')), chunk.getColumnVector(column('neighbor_idx')), chunk.getColumnVector(column('score'))];
      if (rows + chunk.rowCount > scores.length) {
        const grown = new Float64Array(Math.max(2 * scores.length, rows + chunk.rowCount));
        grown.set(scores.subarray(0, rows));
        scores = grown;
      }
      for (let r = 0; r < chunk.rowCount; r++) {
        items.push(Number(item.getItem(r)));
        neighbors.push(Number(neighbor.getItem(r)));
        scores[rows++] = Number(score.getItem(r));
      }
    });
    // Rows come ordered by item_idx (the SQL's ORDER BY), so each item's rows are one run.
    const itemOf = items.toArray();
    let n = 0;
    for (const i of itemOf) if (i + 1 > n) n = i + 1;
    const offsets = new Int32Array(n + 1);
    for (const i of itemOf) offsets[i + 1] = (offsets[i + 1] as number) + 1;
    for (let i = 0; i < n; i++) offsets[i + 1] = (offsets[i + 1] as number) + (offsets[i] as number);
    for (let r = 1; r < itemOf.length; r++) if ((itemOf[r] as number) < (itemOf[r - 1] as number)) throw new Error(`sql/models/item_cf.sql: rows are not ordered by item_idx at row ${r}`);
    return { offsets, neighbors: neighbors.toArray(), scores: scores.slice(0, rows) };
  } finally {
    db.close();
  }
}

/** Item-based CF: score(j) = Σ over history items i of sim(i, j); top-n by score (ties: lower index first). */
export function rankByItemCf(cf: ItemCfTable, histories: Int32Array[], n = 50): number[][] {
  const items = cf.offsets.length - 1;
  return histories.map((h) => {
    const score = new Map<number, number>();
    for (const i of h) {
      if (i < 0 || i >= items) continue;
      for (let r = cf.offsets[i] as number; r < (cf.offsets[i + 1] as number); r++) {
        const j = cf.neighbors[r] as number;
        score.set(j, (score.get(j) ?? 0) + (cf.scores[r] as number));
      }
    }
    return [...score.entries()]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, n)
      .map(([j]) => j);
  });
}
