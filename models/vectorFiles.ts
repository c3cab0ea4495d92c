import { FLOAT, LIST, listValue, type DuckDBListValue } from '@duckdb/node-api';
import { attachDatabase, openDatabase, readColumns, runSqlFile } from '../platform/duckdb';

/** Item vectors on disk (Parquet: item_idx, item_id, category, vector). */
export interface ItemVectors {
  ids: string[];
  categories: string[];
  vectors: Float32Array;
  dim: number;
}

export async function writeItemVectors(path: string, v: ItemVectors): Promise<void> {
  const db = await openDatabase(':memory:');
  try {
    await runSqlFile(db.connection, 'models/create_vectors');
    const a = await db.connection.createAppender('vectors');
    const type = LIST(FLOAT);
    for (let i = 0; i < v.ids.length; i++) {
      a.appendInteger(i);
      a.appendVarchar(v.ids[i] as string);
      a.appendVarchar(v.categories[i] ?? '');
      a.appendList(Array.from(v.vectors.subarray(i * v.dim, (i + 1) * v.dim)), type);
      a.endRow();
    }
    a.closeSync();
    await runSqlFile(db.connection, 'models/write_vectors', { path });
  } finally {
    db.close();
  }
}

export async function readItemVectors(path: string): Promise<ItemVectors> {
  const db = await openDatabase(':memory:');
  try {
    const c = await readColumns(db.connection, 'models/read_vectors', { path });
    const ids = (c.item_id ?? []).map(String);
    const rows = (c.vector ?? []) as number[][];
    const dim = rows[0]?.length ?? 0;
    const vectors = new Float32Array(ids.length * dim);
    rows.forEach((r, i) => {
      if (r.length !== dim) throw new Error(`${path}: row ${i} has a vector of dimension ${r.length}, expected ${dim}`);
      vectors.set(r, i * dim);
    });
    return { ids, categories: (c.category ?? []).map(String), vectors, dim };
  } finally {
    db.close();
  }
}

/** Interest vectors of evaluation users (user_id + K × dim interests) as Parquet. */
export async function writeInterests(path: string, featuresDb: string, users: Int32Array, interests: Float32Array, k: number, dim: number): Promise<void> {
  const db = await openDatabase(':memory:');
  try {
    await attachDatabase(db.connection, featuresDb, 'feat');
    await runSqlFile(db.connection, 'models/create_interests');
    const a = await db.connection.createAppender('interests');
    const type = LIST(LIST(FLOAT));
    users.forEach((u, r) => {
      a.appendInteger(u);
      a.appendNull();
      const rows: DuckDBListValue[] = [];
      for (let j = 0; j < k; j++) rows.push(listValue(Array.from(interests.subarray((r * k + j) * dim, (r * k + j + 1) * dim))));
      a.appendList(rows, type);
      a.endRow();
    });
    a.closeSync();
    await runSqlFile(db.connection, 'models/write_interests', { path });
  } finally {
    db.close();
  }
}
