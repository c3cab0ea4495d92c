import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachDatabase, openDatabase, runSqlFile, type Database } from '../../platform/duckdb';
import { coClickNeighbours, ItemCf, nthSmallest } from '../../retrieval/itemCf';
import { PopularItems } from '../../retrieval/popularFallback';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 5, 1);
const day = (d: number, hour = 12) => T0 + d * DAY + hour * 3_600_000;

// Clicks (user, item, day): u0 {0,1,2}, u1 {0,1}, u2 {0,1} on day 1; u3 {0,3} on day 5.
const CLICKS: [number, number, number][] = [
  [0, 0, 1], [0, 1, 1], [0, 2, 1],
  [1, 0, 1], [1, 1, 1],
  [2, 0, 1], [2, 1, 1],
  [3, 0, 5], [3, 3, 5],
];

/** A features DB holding just the table the SQL reads, with these (user, item, epoch ms) clicks, attached as `feat`. */
async function clickLog(prefix: string, clicks: [number, number, number][]): Promise<{ root: string; db: Database }> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const feat = await openDatabase(join(root, 'feat.duckdb'));
  await feat.connection.run('CREATE TABLE behaviours (user_idx INTEGER, item_idx INTEGER, ts TIMESTAMP, session_key VARCHAR, period VARCHAR)');
  const values = clicks.map(([u, i, ts]) => `(${u}, ${i}, epoch_ms(${ts}::BIGINT), 's${u}', 'train')`);
  await feat.connection.run(`INSERT INTO behaviours VALUES ${values.join(', ')}`);
  feat.close();
  const db = await openDatabase(':memory:');
  await attachDatabase(db.connection, join(root, 'feat.duckdb'), 'feat');
  return { root, db };
}

describe('item-CF recomputed up to a moment (sql/retrieval/item_cf_until.sql)', () => {
  let root: string;
  let db: Database;
  beforeAll(async () => {
    ({ root, db } = await clickLog('curio-itemcf-', CLICKS.map(([u, i, d]) => [u, i, day(d)])));
  });
  afterAll(() => {
    db.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('scores cosine-normalised, user-damped co-occurrence from the clicks before $until only', async () => {
    const cf = await ItemCf.compute(db.connection, { since: T0, until: day(3), topK: 10 });
    // u0 clicked 3 items (weight 1/ln 4), u1 and u2 two each (1/ln 3); n(0) = n(1) = 3, n(2) = 1.
    const c01 = 1 / Math.log(4) + 2 / Math.log(3);
    const n0 = cf.neighboursOf(0);
    expect(n0.map((x) => x.itemIdx)).toEqual([1, 2]);
    expect(n0[0]?.score).toBeCloseTo(c01 / 3, 10);
    expect(n0[1]?.score).toBeCloseTo(1 / Math.log(4) / Math.sqrt(3), 10);
    // Symmetric, and item 3 (clicked on day 5) does not exist yet.
    expect(cf.neighboursOf(2).find((x) => x.itemIdx === 0)?.score).toBeCloseTo(n0[1]?.score as number, 10);
    expect(cf.neighboursOf(3)).toEqual([]);
    expect(cf.itemCount).toBe(3);
  });

  it('gives yesterday\'s new items neighbours once recomputed after their clicks, and honours $since and $top_k', async () => {
    const later = await ItemCf.compute(db.connection, { since: T0, until: day(6), topK: 10 });
    // u3 clicked 2 items: weight 1/ln 3; n(0) is now 4, n(3) = 1.
    expect(later.neighboursOf(3)).toEqual([{ itemIdx: 0, score: expect.closeTo(1 / Math.log(3) / Math.sqrt(4), 10) }]);
    expect(later.neighboursOf(0)[0]?.score).toBeCloseTo((1 / Math.log(4) + 2 / Math.log(3)) / Math.sqrt(4 * 3), 10);
    const recent = await ItemCf.compute(db.connection, { since: day(4, 0), until: day(6), topK: 10 });
    // Only u3 is left: c(0, 3) = 1/ln 3 and n(0) = n(3) = 1.
    expect(recent.neighboursOf(0)).toEqual([{ itemIdx: 3, score: expect.closeTo(1 / Math.log(3), 10) }]);
    const top1 = await ItemCf.compute(db.connection, { since: T0, until: day(3), topK: 1 });
    expect(top1.neighboursOf(0).map((x) => x.itemIdx)).toEqual([1]);
    await expect(ItemCf.compute(db.connection, { since: day(3), until: day(3), topK: 1 })).rejects.toThrow(/window is empty/);
  });

  it('recalls by summed similarity to the recent clicks, skipping the clicks themselves and ineligible items', async () => {
    const cf = await ItemCf.compute(db.connection, { since: T0, until: day(3), topK: 10 });
    const s = (i: number, j: number) => cf.neighboursOf(i).find((x) => x.itemIdx === j)?.score ?? 0;
    const both = cf.recall([0, 2, 0], { size: 5, eligible: () => true });
    expect(both).toEqual([{ itemIdx: 1, score: expect.closeTo(s(0, 1) + s(2, 1), 12), route: 'item-cf', interest: -1 }]);
    expect(cf.recall([0], { size: 5, eligible: (i) => i !== 1 }).map((c) => c.itemIdx)).toEqual([2]);
    expect(cf.recall([3], { size: 5, eligible: () => true })).toEqual([]);
  });

  it('counts clicks per item in the popularity window', async () => {
    const listedAt = new Float64Array(4);
    const pop = await PopularItems.compute(db.connection, 4, listedAt, day(4, 0), day(6));
    expect(pop.top(Int32Array.from([0, 1, 2, 3]), 4, () => false)).toEqual([0, 3, 1, 2]);
    const all = await PopularItems.compute(db.connection, 4, listedAt, T0, day(6));
    expect(all.top(Int32Array.from([0, 1, 2, 3]), 2, () => false)).toEqual([0, 1]);
  });
});

describe('item-CF in TypeScript against its specification, sql/retrieval/item_cf_until.sql', () => {
  let root: string;
  let db: Database;
  const since = T0;
  const until = day(20);
  beforeAll(async () => {
    // A random log with skewed item popularity, repeated clicks, light and heavy users, and clicks
    // on both sides of the window.
    let seed = 12345;
    const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const clicks: [number, number, number][] = [];
    for (let u = 0; u < 150; u++) {
      const count = 1 + Math.floor(rand() ** 2 * 25);
      for (let c = 0; c < count; c++) {
        const item = Math.floor(rand() ** 1.5 * 120);
        const d = Math.floor(rand() * 24) - 2;
        clicks.push([u, item, day(d, 1 + (c % 20))]);
      }
    }
    ({ root, db } = await clickLog('curio-itemcf-spec-', clicks));
  });
  afterAll(() => {
    db.close();
    rmSync(root, { recursive: true, force: true });
  });

  it.each([1000, 5])('gives every item the SQL\'s neighbours and scores (top %i)', async (topK) => {
    const spec = await runSqlFile(db.connection, 'retrieval/item_cf_until', { since_ms: since, until_ms: until, top_k: topK });
    const cf = await ItemCf.compute(db.connection, { since, until, topK });
    expect(spec.length).toBeGreaterThan(50);
    expect(cf.itemCount).toBe(spec.length);
    let exact = 0;
    for (const row of spec) {
      const ids = row.neighbors as number[];
      const scores = row.scores as number[];
      const got = cf.neighboursOf(Number(row.item_idx));
      expect(got).toHaveLength(ids.length);
      got.forEach((g, k) => {
        expect(Math.abs(g.score - (scores[k] as number))).toBeLessThan(1e-12);
        // The two sum in different orders: where two scores differ by a rounding error either may
        // come first. Elsewhere the neighbour itself must match.
        const nearTie = scores.some((x, m) => m !== k && Math.abs(x - (scores[k] as number)) < 1e-12);
        if (!nearTie) {
          expect(g.itemIdx).toBe(ids[k]);
          exact++;
        }
      });
    }
    expect(exact).toBeGreaterThan(100);
  });

  it('rejects input that is not distinct pairs sorted by user, then item', () => {
    expect(() => coClickNeighbours([0, 0, 1], [1, 2, 0], 5)).not.toThrow();
    expect(() => coClickNeighbours([1, 0], [0, 1], 5)).toThrow(/users are not sorted/);
    expect(() => coClickNeighbours([0, 0], [2, 1], 5)).toThrow(/not distinct and sorted/);
    expect(() => coClickNeighbours([0, 0], [1, 1], 5)).toThrow(/not distinct and sorted/);
    expect(() => coClickNeighbours([0], [0, 1], 5)).toThrow(/1 users but 2 items/);
    expect(() => coClickNeighbours([0], [0], 0)).toThrow(/positive integer/);
  });
});

describe('nthSmallest (the cut-off of the top-K selection)', () => {
  it('returns the value a sort puts at each index, with ties and sorted or reversed input', () => {
    let seed = 99;
    const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (const n of [1, 2, 3, 7, 50, 201]) {
      const inputs = [
        Float64Array.from({ length: n }, rand),
        Float64Array.from({ length: n }, () => Math.floor(rand() * 4)), // many ties
        Float64Array.from({ length: n }, (_, i) => i),
        Float64Array.from({ length: n }, (_, i) => n - i),
      ];
      for (const input of inputs) {
        const sorted = Float64Array.from(input).sort();
        for (let m = 0; m < n; m++) expect(nthSmallest(Float64Array.from(input), m)).toBe(sorted[m]);
      }
    }
    expect(() => nthSmallest(new Float64Array(3), 3)).toThrow(/outside 0..2/);
  });
});
