import type { DuckDBListVector } from '@duckdb/node-api';
import { attachDatabase, forEachChunk, GrowableInt32, openDatabase, readColumns } from '../platform/duckdb';

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

/** Appends row `row` of a list column as packSequences packs it: its last `width` entries right-aligned after −1 padding (a NULL list is empty). */
function appendPadded(out: GrowableInt32, list: DuckDBListVector, row: number, width: number): void {
  out.reserve(width);
  const raw = out.raw;
  const at = out.length;
  raw.fill(-1, at, at + width);
  if (list.getItemVector(row) !== null) {
    const n = Math.min(list.getEntryLength(row), width);
    const from = list.getEntryOffset(row) + list.getEntryLength(row) - n;
    const child = list.childVector;
    for (let k = 0; k < n; k++) raw[at + width - n + k] = Number(child.getItem(from + k));
  }
  out.length += width;
}

export async function loadMiExamples(featuresDb: string, maxLong: number, maxShort: number): Promise<MiExamples> {
  const db = await openDatabase(':memory:');
  try {
    await attachDatabase(db.connection, featuresDb, 'feat');
    // Streamed and packed chunk by chunk: at 500k lots there are millions of examples, each with up to maxLong items.
    const target = new GrowableInt32();
    const long = new GrowableInt32();
    const short = new GrowableInt32();
    await forEachChunk(db.connection, 'models/mi_examples', {}, (chunk, column) => {
      const t = chunk.getColumnVector(column('target'));
      const l = chunk.getColumnVector(column('long_term')) as DuckDBListVector;
      const s = chunk.getColumnVector(column('short_term')) as DuckDBListVector;
      for (let r = 0; r < chunk.rowCount; r++) {
        target.push(Number(t.getItem(r)));
        appendPadded(long, l, r, maxLong);
        appendPadded(short, s, r, maxShort);
      }
    });
    return { count: target.length, maxLong, maxShort, target: target.toArray(), long: long.toArray(), short: short.toArray() };
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
