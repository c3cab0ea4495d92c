import { DOUBLE, DuckDBDataChunk, DuckDBVector, FLOAT, INTEGER, LIST, listValue, VARCHAR, type DuckDBListValue } from '@duckdb/node-api';
import { openDatabase, readColumns, runSqlFile } from '../platform/duckdb';
import type { SessionCase, SessionSet } from './nextSession';

/**
 * A user model's query vectors per scored session, on disk between the training stage (which has
 * TensorFlow) and the evaluation stage (which ranks every method the same way and has none).
 */

export interface SessionQueries {
  set: SessionSet;
  /** count × k × dim. */
  vectors: Float32Array;
  /** count × k: each query's strength (models/multiInterest.ts interestStrengthModel); absent = 1. */
  strengths?: Float32Array;
  k: number;
  dim: number;
}

export async function writeSessionQueries(path: string, parts: readonly SessionQueries[]): Promise<void> {
  const db = await openDatabase(':memory:');
  try {
    await runSqlFile(db.connection, 'evaluation/create_session_queries');
    // In data chunks of 2048 sessions (per-row appendList built native values one float at a time: models/vectorFiles.ts).
    const appender = await db.connection.createAppender('session_queries');
    const size = DuckDBVector.standardSize();
    const chunk = DuckDBDataChunk.create([VARCHAR, INTEGER, INTEGER, DOUBLE, LIST(LIST(FLOAT)), LIST(FLOAT)], size);
    for (const { set, vectors, strengths, k, dim } of parts) {
      for (let from = 0; from < set.cases.length; from += size) {
        const n = Math.min(size, set.cases.length - from);
        chunk.rowCount = n;
        const rows = Array.from({ length: n }, (_, x) => from + x);
        const cases = rows.map((r) => set.cases[r] as SessionCase);
        chunk.setColumnValues(0, rows.map(() => set.split));
        chunk.setColumnValues(1, cases.map((c) => c.caseNo));
        chunk.setColumnValues(2, cases.map((c) => c.userIdx));
        chunk.setColumnValues(3, cases.map((c) => c.startedAt));
        chunk.setColumnValues(
          4,
          rows.map((r) => {
            const queries: DuckDBListValue[] = [];
            for (let j = 0; j < k; j++) queries.push(listValue(Array.from(vectors.subarray((r * k + j) * dim, (r * k + j + 1) * dim))));
            return listValue(queries);
          }),
        );
        chunk.setColumnValues(5, rows.map((r) => listValue(Array.from({ length: k }, (_, j) => strengths?.[r * k + j] ?? 1))));
        appender.appendDataChunk(chunk);
      }
    }
    appender.closeSync();
    await runSqlFile(db.connection, 'evaluation/write_session_queries', { path });
  } finally {
    db.close();
  }
}

/** A session's queries and their strengths. */
export interface CaseQueries {
  vectors: Float32Array;
  weights: Float32Array;
}

/** The queries of one split, checked against the session set they must describe. */
export async function readSessionQueries(path: string, set: SessionSet): Promise<(caseNo: number) => CaseQueries> {
  const db = await openDatabase(':memory:');
  try {
    const c = await readColumns(db.connection, 'evaluation/read_session_queries', { path, split: set.split });
    const rows = (c.queries ?? []) as number[][][];
    const strengths = (c.strengths ?? []) as number[][];
    if (rows.length !== set.cases.length) throw new Error(`${path}: ${rows.length} ${set.split} sessions, the protocol has ${set.cases.length}: the file was written for other data`);
    const out = rows.map((qs, r) => {
      const cs = set.cases[r];
      if (!cs || Number(c.user_idx?.[r]) !== cs.userIdx || Number(c.started_at?.[r]) !== cs.startedAt) {
        throw new Error(`${path}: ${set.split} session ${r} is not the protocol's session ${r}: the file was written for other data`);
      }
      const dim = qs[0]?.length ?? 0;
      const v = new Float32Array(qs.length * dim);
      qs.forEach((q, j) => v.set(q, j * dim));
      return { vectors: v, weights: Float32Array.from(strengths[r] ?? qs.map(() => 1)) };
    });
    return (caseNo) => out[caseNo] as CaseQueries;
  } finally {
    db.close();
  }
}
