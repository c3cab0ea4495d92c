import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSkipGramPairs } from '../../models/itemUnit';
import { loadMiExamples, packSequences } from '../../models/sequences';
import { readItemVectors, writeInterests, writeItemVectors } from '../../models/vectorFiles';
import type { SessionSet } from '../../evaluation/nextSession';
import { readSessionQueries, writeSessionQueries } from '../../evaluation/sessionQueries';
import { loadItemCf, rankByItemCf } from '../../evaluation/itemCfTable';
import { forEachChunk, GrowableFloat32, GrowableInt32, openDatabase, runScript, SqlError } from '../../platform/duckdb';

/**
 * The training inputs read chunk by chunk into typed arrays (forEachChunk) hold exactly what the
 * whole-result reading held: several DuckDB chunks, lists longer and shorter than the padding width,
 * empty lists and NULL lists, and arrays grown past their first size.
 */

const ROWS = 9000; // more than four DuckDB chunks of 2048 rows, and past GrowableInt32's first 4096

let dir: string;
let featuresDb: string;

/** The list of example i: lengths 0..69 (some over maxLong 50), every 13th one NULL. */
function listOf(i: number, salt: number): number[] | null {
  if (i % 13 === 5) return null;
  return Array.from({ length: (i * 7 + salt) % 70 }, (_, k) => (i * 31 + k * 17 + salt) % 100_000);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'curio-streamed-'));
  featuresDb = join(dir, 'features.duckdb');
  const db = await openDatabase(featuresDb);
  try {
    await runScript(
      db.connection,
      `CREATE TABLE mi_examples AS
         SELECT i AS user_idx, i AS ts, (i * 3) % 1000 AS target,
                CASE WHEN i % 13 = 5 THEN NULL ELSE list_transform(range((i * 7 + 1) % 70), k -> ((i * 31 + k * 17 + 1) % 100000)::INTEGER) END AS long_term,
                CASE WHEN i % 13 = 5 THEN NULL ELSE list_transform(range((i * 7 + 2) % 70), k -> ((i * 31 + k * 17 + 2) % 100000)::INTEGER) END AS short_term
         FROM range(${ROWS}) t(i);
       CREATE TABLE skipgram_pairs AS
         SELECT (i % 5000)::INTEGER AS center, ((i * 7) % 5000)::INTEGER AS context, (i % 3 = 0)::TINYINT AS label FROM range(${ROWS}) t(i);`,
    );
  } finally {
    db.close();
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('examples streamed into typed arrays equal the lists packed whole (truncated, padded, NULL as empty)', async () => {
  const ex = await loadMiExamples(featuresDb, 50, 10);
  expect(ex.count).toBe(ROWS);
  const rows = Array.from({ length: ROWS }, (_, i) => i);
  expect(Array.from(ex.target)).toEqual(rows.map((i) => (i * 3) % 1000));
  expect(ex.long).toEqual(packSequences(rows.map((i) => listOf(i, 1)), 50));
  expect(ex.short).toEqual(packSequences(rows.map((i) => listOf(i, 2)), 10));
});

test('skip-gram pairs streamed into typed arrays keep every row in order', async () => {
  const p = await loadSkipGramPairs(featuresDb);
  expect(p.center.length).toBe(ROWS);
  const i = 8999;
  expect([p.center[i], p.context[i], p.label[i]]).toEqual([i % 5000, (i * 7) % 5000, i % 3 === 0 ? 1 : 0]);
  expect(p.label.reduce((a, b) => a + b, 0)).toBe(Math.ceil(ROWS / 3));
  expect(p.center instanceof Int32Array && p.label instanceof Float32Array).toBe(true);
});

test('a growable array returns exactly what was appended', () => {
  const a = new GrowableInt32();
  const f = new GrowableFloat32();
  for (let i = 0; i < 10_000; i++) {
    a.push(i);
    f.push(i / 2);
  }
  expect(a.toArray().length).toBe(10_000);
  expect(a.toArray()[9999]).toBe(9999);
  expect(f.toArray()[9999]).toBe(4999.5);
});

test('a column the query does not return is named in the error', async () => {
  const db = await openDatabase(':memory:');
  try {
    await runScript(db.connection, `ATTACH '${featuresDb}' AS feat (READ_ONLY)`);
    await expect(forEachChunk(db.connection, 'models/skipgram_pairs', {}, (_chunk, column) => void column('weight'))).rejects.toThrow(SqlError);
    await expect(forEachChunk(db.connection, 'models/skipgram_pairs', {}, (_chunk, column) => void column('weight'))).rejects.toThrow(/no column 'weight'/);
  } finally {
    db.close();
  }
});

test('item vectors written in data chunks read back exactly (a last chunk shorter than 2048)', async () => {
  const n = 5000;
  const dim = 7;
  const vectors = Float32Array.from({ length: n * dim }, (_, i) => Math.sin(i) * 3);
  const v = { ids: Array.from({ length: n }, (_, i) => `lot-${i}`), categories: Array.from({ length: n }, (_, i) => (i % 4 === 0 ? '' : `cat-${i % 9}`)), vectors, dim };
  const path = join(dir, 'vectors.parquet');
  await writeItemVectors(path, v);
  const back = await readItemVectors(path);
  expect(back.dim).toBe(dim);
  expect(back.ids).toEqual(v.ids);
  expect(back.categories).toEqual(v.categories);
  expect(back.vectors).toEqual(vectors);
});

test('interest vectors written in data chunks keep each user their K vectors, in order', async () => {
  const users = Int32Array.from({ length: 2100 }, (_, i) => i * 2);
  const [k, dim] = [3, 5];
  const interests = Float32Array.from({ length: users.length * k * dim }, (_, i) => i / 7);
  const path = join(dir, 'interests.parquet');
  const db = await openDatabase(featuresDb);
  try {
    await runScript(db.connection, `CREATE TABLE user_index AS SELECT (i * 2)::INTEGER AS user_idx, 'u' || i AS user_id FROM range(2100) t(i)`);
  } finally {
    db.close();
  }
  await writeInterests(path, featuresDb, users, interests, k, dim);
  const check = await openDatabase(':memory:');
  try {
    const rows = (await check.connection.runAndReadAll(`SELECT user_idx, user_id, interests FROM '${path}' ORDER BY user_idx`)).getRowObjectsJS();
    expect(rows.length).toBe(users.length);
    const last = rows[users.length - 1] as { user_idx: number; user_id: string; interests: number[][] };
    expect([last.user_idx, last.user_id]).toEqual([4198, 'u2099']);
    const r = users.length - 1;
    expect(last.interests.map((x) => x.map((y) => Math.fround(y)))).toEqual([0, 1, 2].map((j) => Array.from(interests.subarray((r * k + j) * dim, (r * k + j + 1) * dim))));
  } finally {
    check.close();
  }
});

test('session queries written in data chunks read back per case, with their strengths', async () => {
  const [k, dim] = [2, 3];
  const cases = Array.from({ length: 2500 }, (_, i) => ({ caseNo: i, userIdx: i % 97, sessionKey: `s${i}`, startedAt: 1_700_000_000_000 + i * 1000, day: 0, history: new Int32Array(0), targets: Int32Array.of(1) }));
  const set = { split: 'valid', cases } as unknown as SessionSet;
  const vectors = Float32Array.from({ length: cases.length * k * dim }, (_, i) => i / 3);
  const strengths = Float32Array.from({ length: cases.length * k }, (_, i) => i % 5);
  const path = join(dir, 'session_queries.parquet');
  await writeSessionQueries(path, [{ set, vectors, strengths, k, dim }]);
  const queriesOf = await readSessionQueries(path, set);
  for (const c of [0, 2047, 2048, 2499]) {
    expect(queriesOf(c).vectors).toEqual(vectors.slice(c * k * dim, (c + 1) * k * dim));
    expect(queriesOf(c).weights).toEqual(strengths.slice(c * k, (c + 1) * k));
  }
});

test("item-CF's neighbours as compressed rows rank as summed similarities, items without neighbours contributing nothing", async () => {
  const db = await openDatabase(featuresDb);
  try {
    // Items 0..2999 have neighbours (i+1, i+2, i+3 mod 3000, scores 3, 2, 1 scaled by i); 3000..3009 have none.
    await runScript(
      db.connection,
      `CREATE TABLE item_cf AS
         SELECT i::INTEGER AS item_idx, ((i + d) % 3000)::INTEGER AS neighbor_idx, ((4 - d) * (1 + i / 1000))::DOUBLE AS score
         FROM range(3000) t(i), range(1, 4) s(d);`,
    );
  } finally {
    db.close();
  }
  const cf = await loadItemCf(featuresDb);
  expect(cf.offsets.length).toBe(3001);
  expect(cf.neighbors.length).toBe(9000);
  const [ranked] = rankByItemCf(cf, [Int32Array.of(10, 11, 3005)], 3);
  // 12 gets 2*(1.010) from 10 and 3*(1.011) from 11; 11 gets 3*1.010; 13 gets 1*1.010 + 2*1.011; 14 gets 1*1.011.
  expect(ranked).toEqual([12, 13, 11]);
  expect(rankByItemCf(cf, [Int32Array.of(3005)])).toEqual([[]]);
});
