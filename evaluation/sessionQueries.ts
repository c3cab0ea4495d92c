import { FLOAT, LIST, listValue, type DuckDBListValue } from '@duckdb/node-api';
import { openDatabase, readColumns, runSqlFile } from '../platform/duckdb';
import type { SessionSet } from './nextSession';

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
    const a = await db.connection.createAppender('session_queries');
    const type = LIST(LIST(FLOAT));
    for (const { set, vectors, strengths, k, dim } of parts) {
      set.cases.forEach((c, r) => {
        a.appendVarchar(set.split);
        a.appendInteger(c.caseNo);
        a.appendInteger(c.userIdx);
        a.appendDouble(c.startedAt);
        const rows: DuckDBListValue[] = [];
        for (let j = 0; j < k; j++) rows.push(listValue(Array.from(vectors.subarray((r * k + j) * dim, (r * k + j + 1) * dim))));
        a.appendList(rows, type);
        a.appendList(listValue(Array.from({ length: k }, (_, j) => strengths?.[r * k + j] ?? 1)), LIST(FLOAT));
        a.endRow();
      });
    }
    a.closeSync();
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
