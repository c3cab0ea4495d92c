import { attachDatabase, openDatabase, readColumns } from '../platform/duckdb';

/** Behaviour sequences as padded index arrays: the multi-interest model's training and evaluation inputs. */

export interface Sequences {
  count: number;
  maxLong: number;
  maxShort: number;
  /** count × maxLong item indices, −1 = padding (most recent last). */
  long: Int32Array;
  short: Int32Array;
}

export interface MiExamples extends Sequences {
  target: Int32Array;
}

export interface EvalUsers extends Sequences {
  users: Int32Array;
  history: Int32Array[];
  targets: Int32Array[];
}

/** Pads each list to `width` (−1), keeping its last `width` entries right-aligned. */
export function packSequences(lists: unknown[], width: number): Int32Array {
  const out = new Int32Array(lists.length * width).fill(-1);
  lists.forEach((l, i) => {
    const xs = (l ?? []) as number[];
    const tail = xs.slice(-width);
    // Right-aligned: the most recent item always sits in the last slot.
    tail.forEach((x, k) => (out[i * width + width - tail.length + k] = x));
  });
  return out;
}

export async function loadMiExamples(featuresDb: string, maxLong: number, maxShort: number): Promise<MiExamples> {
  const db = await openDatabase(':memory:');
  try {
    await attachDatabase(db.connection, featuresDb, 'feat');
    const c = await readColumns(db.connection, 'models/mi_examples');
    const target = Int32Array.from((c.target ?? []) as number[]);
    return { count: target.length, maxLong, maxShort, target, long: packSequences(c.long_term ?? [], maxLong), short: packSequences(c.short_term ?? [], maxShort) };
  } finally {
    db.close();
  }
}

export async function loadEvalUsers(featuresDb: string, split: 'valid' | 'test', maxLong: number, maxShort: number): Promise<EvalUsers> {
  const db = await openDatabase(':memory:');
  try {
    await attachDatabase(db.connection, featuresDb, 'feat');
    const c = await readColumns(db.connection, 'models/eval_inputs', { split, max_long: maxLong, max_short: maxShort });
    const users = Int32Array.from((c.user_idx ?? []) as number[]);
    return {
      count: users.length,
      maxLong,
      maxShort,
      users,
      long: packSequences(c.long_term ?? [], maxLong),
      short: packSequences(c.short_term ?? [], maxShort),
      history: (c.history ?? []).map((h) => Int32Array.from(h as number[])),
      targets: (c.targets ?? []).map((t) => Int32Array.from(t as number[])),
    };
  } finally {
    db.close();
  }
}

/**
 * Inputs for requests made at a session's start (the next-session protocol): the history's last
 * maxLong clicks are the long-term behaviour and there is no short-term behaviour yet, just as for
 * the first click of a session in training (sql/features/03_sequences.sql).
 */
export function sessionStartSequences(histories: readonly Int32Array[], maxLong: number, maxShort: number): Sequences {
  return {
    count: histories.length,
    maxLong,
    maxShort,
    long: packSequences(histories.map((h) => Array.from(h)), maxLong),
    short: new Int32Array(histories.length * maxShort).fill(-1),
  };
}
