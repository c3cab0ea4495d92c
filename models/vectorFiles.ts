import { DuckDBDataChunk, DuckDBVector, FLOAT, INTEGER, LIST, listValue, VARCHAR, type DuckDBListValue, type DuckDBListVector } from '@duckdb/node-api';
import { attachDatabase, forEachChunk, openDatabase, runSqlFile } from '../platform/duckdb';

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
    // Appended a data chunk (2048 lots) at a time: the appender's per-row appendList built native
    // values one float at a time and held 2.7 GB at 100k lots (13 s); a chunk's vectors are flat arrays.
    const appender = await db.connection.createAppender('vectors');
    const rows = DuckDBVector.standardSize();
    const chunk = DuckDBDataChunk.create([INTEGER, VARCHAR, VARCHAR, LIST(FLOAT)], rows);
    for (let from = 0; from < v.ids.length; from += rows) {
      const n = Math.min(rows, v.ids.length - from);
      chunk.rowCount = n;
      const lots = Array.from({ length: n }, (_, r) => from + r);
      chunk.setColumnValues(0, lots);
      chunk.setColumnValues(1, lots.map((i) => v.ids[i] as string));
      chunk.setColumnValues(2, lots.map((i) => v.categories[i] ?? ''));
      chunk.setColumnValues(3, lots.map((i) => listValue(Array.from(v.vectors.subarray(i * v.dim, (i + 1) * v.dim)))));
      appender.appendDataChunk(chunk);
    }
    appender.closeSync();
    await runSqlFile(db.connection, 'models/write_vectors', { path });
  } finally {
    db.close();
  }
}

export async function readItemVectors(path: string): Promise<ItemVectors> {
  const db = await openDatabase(':memory:');
  try {
    // Streamed: the vectors' components go straight from DuckDB's list vectors into one Float32Array.
    const ids: string[] = [];
    const categories: string[] = [];
    let dim = -1;
    let vectors = new Float32Array(0);
    await forEachChunk(db.connection, 'models/read_vectors', { path }, (chunk, column) => {
      const [id, category] = [chunk.getColumnVector(column('item_id')), chunk.getColumnVector(column('category'))];
      const list = chunk.getColumnVector(column('vector')) as DuckDBListVector;
      const child = list.childVector;
      for (let r = 0; r < chunk.rowCount; r++) {
        const len = list.getItemVector(r) === null ? 0 : list.getEntryLength(r);
        if (dim < 0) dim = len;
        if (len !== dim) throw new Error(`${path}: row ${ids.length} has a vector of dimension ${len}, expected ${dim}`);
        const at = ids.length * dim;
        if (at + dim > vectors.length) {
          const grown = new Float32Array(Math.max(1 << 16, 2 * vectors.length, at + dim));
          grown.set(vectors);
          vectors = grown;
        }
        const off = list.getEntryOffset(r);
        for (let j = 0; j < dim; j++) vectors[at + j] = Number(child.getItem(off + j));
        ids.push(String(id.getItem(r)));
        categories.push(String(category.getItem(r) ?? ''));
      }
    });
    dim = Math.max(dim, 0);
    return { ids, categories, vectors: vectors.slice(0, ids.length * dim), dim };
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
    // In data chunks, as writeItemVectors does.
    const appender = await db.connection.createAppender('interests');
    const size = DuckDBVector.standardSize();
    const chunk = DuckDBDataChunk.create([INTEGER, VARCHAR, LIST(LIST(FLOAT))], size);
    for (let from = 0; from < users.length; from += size) {
      const n = Math.min(size, users.length - from);
      chunk.rowCount = n;
      const rows = Array.from({ length: n }, (_, x) => from + x);
      chunk.setColumnValues(0, rows.map((r) => users[r] as number));
      chunk.setColumnValues(1, rows.map(() => null));
      chunk.setColumnValues(
        2,
        rows.map((r) => {
          const lists: DuckDBListValue[] = [];
          for (let j = 0; j < k; j++) lists.push(listValue(Array.from(interests.subarray((r * k + j) * dim, (r * k + j + 1) * dim))));
          return listValue(lists);
        }),
      );
      appender.appendDataChunk(chunk);
    }
    appender.closeSync();
    await runSqlFile(db.connection, 'models/write_interests', { path });
  } finally {
    db.close();
  }
}
