import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFeatureSql, DEFAULT_FEATURE_PARAMS } from '../../data/features';
import { generateMarketplace } from '../../data/generator/generate';
import { loadDataset } from '../../data/loadDataset';
import { evaluateSessions, loadClickTimes, loadSessionSet, pairedSessionLift, pickOnValidation, type SessionSet } from '../../evaluation/nextSession';
import {
  DAY_MS,
  DailyItemCf,
  itemCfRanker,
  lastClicksRanker,
  popularityRanker,
  TopN,
  WindowedClickCounts,
  type RankContext,
} from '../../evaluation/rankers';
import { evaluateNextClick, loadNextClickPairs, nextClickPopularity } from '../../evaluation/nextClick';
import type { DiversityContext } from '../../evaluation/userEval';
import { attachDatabase, openDatabase, type Database } from '../../platform/duckdb';

/**
 * The next-session protocol on a hand-made marketplace whose every session is known, and its
 * invariants on a generated one: the history stops at the session, candidates are the lots on sale
 * then that the user has not clicked, and daily statistics never see the day they serve.
 */

const ITEMS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const noDiversity = (n: number): DiversityContext => ({ categoryOf: () => 'x', vectors: new Float32Array(n * 2).fill(0.5), dim: 2 });

function contextFor(set: SessionSet, caseNo: number, liveItems: number[]): RankContext {
  const c = set.cases[caseNo];
  const clicked = new Set(c?.history ?? []);
  const candidates = Int32Array.from(liveItems.filter((i) => !clicked.has(i)).sort((x, y) => x - y));
  const isCandidate = new Uint8Array(set.listedAt.length);
  for (const i of candidates) isCandidate[i] = 1;
  return { candidates, isCandidate };
}

describe('next-session protocol on a hand-made marketplace', () => {
  let root: string;
  let db: Database;
  let set: SessionSet;
  let idx: Map<string, number>;
  const day = (d: number, hh = '00:00') => `2026-06-0${d} ${hh}:00`;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'curio-ns-'));
    const dir = join(root, 'data');
    mkdirSync(dir);
    const window: Record<string, [string, string]> = {
      d: [day(1), day(3, '12:00')], // ended before the scored session
      e: [day(5), day(9)], // listed after it
    };
    writeFileSync(
      join(dir, 'items.csv'),
      ['item_id,title,seller_id,start_price,listed_at,auction_ends_at', ...ITEMS.map((i) => `${i},lot ${i},s1,10,${window[i]?.[0] ?? day(1)},${window[i]?.[1] ?? day(9)}`)].join('\n') + '\n',
    );
    const ev = ['user_id,item_id,event_type,ts,source'];
    const click = (u: string, i: string, ts: string) => ev.push(`${u},${i},click,${ts},feed`);
    // Filler users make the early days the train period; they only touch g and h.
    for (let w = 0; w < 9; w++) for (let k = 0; k < 6; k++) click(`w${w}`, k % 2 ? 'g' : 'h', day(1 + (k % 3), `0${k}:0${w}`));
    click('t', 'a', day(2, '09:00'));
    click('y', 'a', day(3, '09:00'));
    click('y', 'f', day(3, '09:05'));
    // Day 4: x co-clicks a and c early in the morning, then t's scored session.
    click('x', 'a', day(4, '08:00'));
    click('x', 'c', day(4, '08:05'));
    click('t', 'a', day(4, '10:00'));
    click('t', 'b', day(4, '10:02'));
    click('t', 'd', day(4, '10:04'));
    click('t', 'e', day(4, '10:06'));
    writeFileSync(join(dir, 'events.csv'), ev.join('\n') + '\n');
    await loadDataset({ dir, out: join(root, 'ds.duckdb') });
    // Everyone is a test user; the test period starts at the 57th of the 63 clicks (y's last, day 3),
    // so it holds x's and t's day-4 sessions.
    await runFeatureSql(join(root, 'ds.duckdb'), join(root, 'f.duckdb'), { ...DEFAULT_FEATURE_PARAMS, validUserFrac: 0, testUserFrac: 0.999999, trainEndFrac: 0.5, validEndFrac: 0.9 });
    db = await openDatabase(':memory:');
    await attachDatabase(db.connection, join(root, 'f.duckdb'), 'feat');
    set = await loadSessionSet(db.connection, 'test');
    const rows = (await db.connection.runAndReadAll('SELECT item_id, item_idx FROM feat.item_index')).getRowObjectsJS();
    idx = new Map(rows.map((r) => [String(r.item_id), Number(r.item_idx)]));
  });
  afterAll(() => {
    db?.close();
    rmSync(root, { recursive: true, force: true });
  });
  const ids = (xs: ArrayLike<number>) => Array.from(xs, (i) => ITEMS.find((n) => idx.get(n) === i));

  it('scores each test-period session once: history before it, targets its clicked candidates', () => {
    expect(set.cases.map((c) => c.sessionKey.startsWith('g:'))).toEqual([true, true]);
    const [x, t] = set.cases;
    expect(ids(x?.history ?? [])).toEqual([]);
    expect(ids(x?.targets ?? []).sort()).toEqual(['a', 'c']);
    // t: a was clicked on day 2 (a re-click), d had closed and e was not listed yet.
    expect(ids(t?.history ?? [])).toEqual(['a']);
    expect(ids(t?.targets ?? [])).toEqual(['b']);
    expect(set.clicks).toEqual({ targets: 3, clickedBefore: 1, notOnSale: 2 });
    expect(t?.day).toBe(Math.floor(Date.parse('2026-06-04T10:00:00Z') / DAY_MS));
  });

  it('offers every method the lots on sale at the start that the user has not clicked', async () => {
    const seen = new Map<string, number[][]>();
    const clicks = await loadClickTimes(db.connection);
    const pop = popularityRanker('popularity', clicks, set.listedAt, { windowDays: null });
    await evaluateSessions(set, [pop], pop, noDiversity(ITEMS.length), undefined, (c, method, list, ctx) => {
      seen.set(`${c.caseNo}`, [Array.from(ctx.candidates), [...list]]);
    });
    const [cands, list] = seen.get('1') as number[][];
    expect(ids(cands ?? []).sort()).toEqual(['b', 'c', 'f', 'g', 'h']);
    expect(new Set(list)).toEqual(new Set(cands));
  });

  it('recomputes item-CF and popularity from the clicks before the day only', async () => {
    const t = set.cases[1];
    if (!t) throw new Error('no case');
    const ctx = contextFor(set, 1, ['a', 'b', 'c', 'f', 'g', 'h'].map((n) => idx.get(n) as number));
    const daily = new DailyItemCf(db.connection, Date.parse('2026-06-01T00:00:00Z'), 10);
    const cf = itemCfRanker('item_cf', daily, { lookbackDays: null, topK: 10, recentClicks: 5 });
    await cf.startDay?.(t.day);
    // y's a~f (day 3) is known; x's a~c of the same morning is not.
    expect(ids(cf.rank(t, ctx, 50))).toEqual(['f']);
    const clicks = await loadClickTimes(db.connection);
    const counts = new WindowedClickCounts(clicks.items, clicks.times, ITEMS.length, Infinity);
    counts.advanceTo(t.day);
    expect(counts.counts[idx.get('a') as number]).toBe(2);
    const lastDay = new WindowedClickCounts(clicks.items, clicks.times, ITEMS.length, DAY_MS);
    lastDay.advanceTo(t.day);
    expect(lastDay.counts[idx.get('a') as number]).toBe(1);
    expect(() => lastDay.advanceTo(t.day - 1)).toThrow(/forward/);
  });

  it('scores next-click recall among the lots on sale at the click, for vectors and popularity alike', async () => {
    const pairs = await loadNextClickPairs(join(root, 'f.duckdb'));
    // y: a→f (day 3); x: a→c; t: a→b, b→d (d had closed), d→e (e not listed yet).
    expect(pairs.prev.length).toBe(5);
    const same = new Float32Array(ITEMS.length * 2).fill(0.7);
    const r = evaluateNextClick(same, 2, pairs);
    expect(r.recallAll).toBeCloseTo(3 / 5, 10);
    const pop = nextClickPopularity(pairs, await loadClickTimes(db.connection), ITEMS.length);
    expect(pop.recallAll).toBeCloseTo(3 / 5, 10);
  });

  it('tops short lists up with the fallback and reports the share it filled', async () => {
    const daily = new DailyItemCf(db.connection, Date.parse('2026-06-01T00:00:00Z'), 10);
    const cf = itemCfRanker('item_cf', daily, { lookbackDays: null, topK: 10, recentClicks: 5 });
    const clicks = await loadClickTimes(db.connection);
    const pop = popularityRanker('popularity', clicks, set.listedAt, { windowDays: null });
    const lists: number[][] = [];
    const {
      metrics: [m],
    } = await evaluateSessions(set, [cf], pop, noDiversity(ITEMS.length), undefined, (_c, _m, list) => lists.push([...list]));
    // x has no history: all fallback; t: f from item-CF, then the popular rest.
    expect(lists[1]?.[0]).toBe(idx.get('f'));
    expect(ids(lists[1] ?? []).slice(1, 3).sort()).toEqual(['g', 'h']);
    const filled = (lists[0]?.length ?? 0) + (lists[1]?.length ?? 0) - 1;
    expect(m?.fallback_share_at_50).toBeCloseTo(filled / (2 * 50), 10);
  });
});

describe('next-session protocol on a generated marketplace (tiny)', () => {
  let root: string;
  let db: Database;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'curio-ns-syn-'));
    await generateMarketplace({ scale: 'tiny', seed: 5, out: join(root, 'data') });
    await loadDataset({ dir: join(root, 'data'), out: join(root, 'ds.duckdb') });
    await runFeatureSql(join(root, 'ds.duckdb'), join(root, 'f.duckdb'));
    db = await openDatabase(':memory:');
    await attachDatabase(db.connection, join(root, 'f.duckdb'), 'feat');
  });
  afterAll(() => {
    db?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('ranks only candidates, never twice, for valid users in the validation period and test users in the test period', async () => {
    const [p] = (await db.connection.runAndReadAll('SELECT epoch_ms(train_end)::DOUBLE AS t, epoch_ms(valid_end)::DOUBLE AS v FROM feat.periods')).getRowObjectsJS();
    const splits = new Map((await db.connection.runAndReadAll('SELECT user_idx, user_split FROM feat.user_index')).getRowObjectsJS().map((r) => [Number(r.user_idx), String(r.user_split)]));
    const clicks = await loadClickTimes(db.connection);
    for (const split of ['valid', 'test'] as const) {
      const set = await loadSessionSet(db.connection, split);
      expect(set.cases.length).toBeGreaterThan(5);
      for (const c of set.cases) {
        expect(splits.get(c.userIdx)).toBe(split);
        if (split === 'valid') expect(c.startedAt).toBeLessThan(Number(p?.v));
        expect(c.startedAt).toBeGreaterThanOrEqual(Number(split === 'valid' ? p?.t : p?.v));
      }
      const n = set.listedAt.length;
      const vectors = Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 12.9898) % 1);
      const daily = new DailyItemCf(db.connection, 0, 100);
      const pop = popularityRanker('popularity', clicks, set.listedAt, { windowDays: 7 });
      const rankers = [itemCfRanker('item_cf', daily, { lookbackDays: 30, topK: 100, recentClicks: 20 }), lastClicksRanker('item_knn', vectors, 4, 3), pop];
      let checked = 0;
      const { metrics, recallAt50 } = await evaluateSessions(set, rankers, pop, noDiversity(n), undefined, (c, _method, list, ctx) => {
        const cands = new Set(ctx.candidates);
        expect(list.every((i) => cands.has(i))).toBe(true);
        expect(new Set(list).size).toBe(list.length);
        expect(list.length).toBe(Math.min(50, cands.size));
        for (const h of c.history) expect(cands.has(h)).toBe(false);
        for (const t of c.targets) expect(cands.has(t)).toBe(true);
        checked++;
      });
      expect(checked).toBe(set.cases.length * rankers.length);
      for (const m of metrics) {
        expect(m.recall_at_50).toBeGreaterThanOrEqual(m.recall_at_20);
        expect(m.recall_at_50_ci[0]).toBeLessThanOrEqual(m.recall_at_50);
        expect(m.recall_at_50_ci[1]).toBeGreaterThanOrEqual(m.recall_at_50);
      }
      const cf = recallAt50.get('item_cf') as Float64Array;
      const knn = recallAt50.get('item_knn') as Float64Array;
      const same = pairedSessionLift(set, cf, cf);
      expect([same.lift, ...same.ci]).toEqual([0, 0, 0]);
      const mean = (x: Float64Array) => x.reduce((a, b) => a + b, 0) / x.length;
      expect(pairedSessionLift(set, cf, knn).lift).toBeCloseTo(mean(knn) / mean(cf) - 1, 10);
    }
  });

  it('picks a setting on validation by Recall@50, the first on ties', () => {
    const m = (r: number) => ({ recall_at_50: r }) as never;
    expect(pickOnValidation([{ config: 'a', metrics: m(0.1) }, { config: 'b', metrics: m(0.3) }, { config: 'c', metrics: m(0.3) }]).chosen).toBe('b');
  });

  it('keeps the n best of a stream, ties by the tie-breaker then the lower id', () => {
    const top = new TopN(3);
    for (const [item, score, tie] of [[5, 1, 0], [2, 3, 0], [9, 3, 1], [1, 1, 0], [7, 0.5, 9]] as const) top.push(item, score, tie);
    expect(top.result()).toEqual([9, 2, 1]);
  });
});
