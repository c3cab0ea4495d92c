import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFeatureSql, DEFAULT_FEATURE_PARAMS, type FeatureReport } from '../data/features';
import { generateMarketplace } from '../data/generator/generate';
import { loadDataset } from '../data/loadDataset';
import { openDatabase } from '../platform/duckdb';

async function rows<T = Record<string, unknown>>(db: string, sql: string): Promise<T[]> {
  const h = await openDatabase(db, { access_mode: 'READ_ONLY' });
  try {
    return (await h.connection.runAndReadAll(sql)).getRowObjectsJS() as T[];
  } finally {
    h.close();
  }
}

describe('feature SQL on a hand-made dataset', () => {
  let root: string;
  let feat: string;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'curio-feat-'));
    const dir = join(root, 'data');
    mkdirSync(dir);
    const items = ['item_id,title,seller_id,start_price,listed_at,auction_ends_at'];
    for (let i = 1; i <= 6; i++) items.push(`i${i},title ${i},s1,${i * 100},2026-06-01 00:00:00,2026-06-30 00:00:00`);
    writeFileSync(join(dir, 'items.csv'), items.join('\n') + '\n');
    // u1 has no session ids: a 31-minute gap starts a new session, a 29-minute gap does not.
    // u2's client logs session ids: they are used as given even across a long gap.
    writeFileSync(
      join(dir, 'events.csv'),
      [
        'user_id,item_id,event_type,ts,session_id,source,position,search_id',
        'u1,i1,click,2026-06-02 10:00:00,,feed,0,',
        'u1,i2,click,2026-06-02 10:29:00,,feed,1,',
        'u1,i3,click,2026-06-02 11:00:00,,feed,2,',
        'u1,i3,impression,2026-06-02 11:00:00,,feed,2,',
        'u2,i1,click,2026-06-02 10:00:00,A,feed,0,',
        'u2,i2,click,2026-06-02 12:00:00,A,feed,0,',
        'u2,i4,click,2026-06-25 12:00:00,B,feed,0,',
        'u3,i1,click,2026-06-03 09:00:00,,feed,0,',
        'u3,i2,click,2026-06-03 09:01:00,,feed,0,',
        'u3,i5,click,2026-06-28 09:00:00,,feed,0,',
      ].join('\n') + '\n',
    );
    await loadDataset({ dir, out: join(root, 'ds.duckdb') });
    feat = join(root, 'features.duckdb');
    // Everyone is a training user here, so every click feeds the training tables.
    await runFeatureSql(join(root, 'ds.duckdb'), feat, { ...DEFAULT_FEATURE_PARAMS, validUserFrac: 0, testUserFrac: 1e-9, window: 2 });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('cuts sessions at 30-minute gaps unless the client logged a session id', async () => {
    const s = await rows<{ user_id: string; item_id: string; session_key: string }>(
      feat,
      `SELECT u.user_id, i.item_id, e.session_key FROM events_enriched e JOIN user_index u USING (user_idx)
       JOIN item_index i USING (item_idx) WHERE e.event_type = 'click' ORDER BY u.user_id, e.ts`,
    );
    const key = (u: string, it: string) => s.find((r) => r.user_id === u && r.item_id === it)?.session_key;
    expect(key('u1', 'i1')).toBe(key('u1', 'i2'));
    expect(key('u1', 'i3')).not.toBe(key('u1', 'i2'));
    expect(key('u2', 'i1')).toBe('s:A');
    expect(key('u2', 'i2')).toBe('s:A');
    expect(key('u2', 'i4')).toBe('s:B');
  });

  it('splits time into train / valid / test at the configured shares of the events', async () => {
    const [p] = await rows<{ train_end: Date; valid_end: Date }>(feat, 'SELECT * FROM periods');
    const [share] = await rows<{ before_train_end: number; before_valid_end: number; n: number }>(
      feat,
      `SELECT count(*) FILTER (WHERE e.ts < p.train_end)::DOUBLE AS before_train_end,
              count(*) FILTER (WHERE e.ts < p.valid_end)::DOUBLE AS before_valid_end, count(*)::DOUBLE AS n
       FROM events_enriched e, periods p`,
    );
    // 10 events: the 0.8 and 0.9 quantiles are the 8th and 9th event times (u3's second click, u2's late one).
    expect(share?.n).toBe(10);
    expect(p!.train_end.toISOString()).toBe('2026-06-03T09:01:00.000Z');
    expect(share?.before_train_end).toBe(7);
    expect(share?.before_valid_end).toBe(8);
    const late = await rows<{ period: string }>(feat, "SELECT period FROM behaviours b JOIN item_index i USING (item_idx) WHERE i.item_id = 'i5'");
    expect(late.map((r) => r.period)).toEqual(['test']);
  });

  it('builds multi-interest examples from earlier sessions (long term) and the same session (short term)', async () => {
    const ex = await rows<{ user_id: string; target: string; long_term: string[]; short_term: string[] }>(
      feat,
      `SELECT u.user_id, t.item_id AS target,
              list_transform(m.long_term, x -> 'i' || (x + 1)) AS long_term,
              list_transform(m.short_term, x -> 'i' || (x + 1)) AS short_term
       FROM mi_examples m JOIN user_index u USING (user_idx) JOIN item_index t ON t.item_idx = m.target
       ORDER BY u.user_id, m.ts`,
    );
    // item_idx follows listing order then id, so item_idx = n - 1 for i<n> here.
    expect(ex).toContainEqual({ user_id: 'u1', target: 'i2', long_term: [], short_term: ['i1'] });
    expect(ex).toContainEqual({ user_id: 'u1', target: 'i3', long_term: ['i1', 'i2'], short_term: [] });
    // The first click of a user has no context and makes no example.
    expect(ex.find((e) => e.user_id === 'u1' && e.target === 'i1')).toBeUndefined();
  });

  it('scores item-CF (ComiRec protocol) by cosine-normalised, user-damped co-occurrence of the training users in every period', async () => {
    const cf = await rows<{ a: string; b: string; score: number }>(
      feat,
      `SELECT x.item_id AS a, y.item_id AS b, c.score FROM item_cf c
       JOIN item_index x ON x.item_idx = c.item_idx JOIN item_index y ON y.item_idx = c.neighbor_idx
       WHERE x.item_id = 'i1' ORDER BY b`,
    );
    // Every period: u1 {i1,i2,i3}, u2 {i1,i2,i4}, u3 {i1,i2,i5}: each user weighs 1/ln 4.
    // c(i1,i2) = 3/ln4, n(i1) = n(i2) = 3; c(i1,i3) = c(i1,i4) = c(i1,i5) = 1/ln4, n = 1.
    expect(cf.map((r) => r.b)).toEqual(['i2', 'i3', 'i4', 'i5']);
    expect(cf[0]?.score).toBeCloseTo(3 / Math.log(4) / 3, 6);
    for (const r of cf.slice(1)) expect(r.score).toBeCloseTo(1 / Math.log(4) / Math.sqrt(3), 6);
    const pop = await rows<{ item_id: string; clicks: number }>(feat, 'SELECT i.item_id, p.clicks FROM item_popularity p JOIN item_index i USING (item_idx) ORDER BY 1');
    expect(pop.map((r) => Number(r.clicks))).toEqual([3, 3, 1, 1, 1, 0]);
  });
});

describe('feature SQL on a synthetic marketplace (tiny)', () => {
  let root: string;
  let report: FeatureReport;
  let feat: string;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'curio-feat-syn-'));
    await generateMarketplace({ scale: 'tiny', seed: 3, out: join(root, 'data') });
    await loadDataset({ dir: join(root, 'data'), out: join(root, 'ds.duckdb') });
    feat = join(root, 'f.duckdb');
    report = await runFeatureSql(join(root, 'ds.duckdb'), feat);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reports every table and holds out users for evaluation with an 80/20 history/target split', async () => {
    for (const t of ['item_index', 'behaviours', 'mi_examples', 'eval_users', 'skipgram_positive', 'skipgram_negative', 'search_clicks', 'item_cf']) {
      expect(report.rows[t]).toBeGreaterThan(0);
    }
    const splits = await rows<{ user_split: string; n: bigint }>(feat, 'SELECT user_split, count(*) AS n FROM user_index GROUP BY 1');
    const total = splits.reduce((s, r) => s + Number(r.n), 0);
    const share = (k: string) => Number(splits.find((r) => r.user_split === k)?.n ?? 0) / total;
    expect(share('test')).toBeGreaterThan(0.05);
    expect(share('test')).toBeLessThan(0.15);
    const ev = await rows<{ h: number; t: number }>(feat, 'SELECT len(history) AS h, len(targets) AS t FROM eval_users');
    for (const r of ev) {
      expect(Number(r.t)).toBeGreaterThanOrEqual(1);
      expect(Number(r.h)).toBe(Math.max(1, Math.floor((Number(r.h) + Number(r.t)) * 0.8)));
    }
    // Training examples never come from held-out users or from after the train period.
    const leak = await rows<{ n: bigint }>(
      feat,
      `SELECT count(*) AS n FROM mi_examples m JOIN user_index u USING (user_idx), periods p
       WHERE u.user_split <> 'train' OR m.ts >= p.train_end`,
    );
    expect(Number(leak[0]?.n)).toBe(0);
  });

  it('draws skip-gram negatives from unigram^0.75: frequent items are drawn more, but less than in proportion', async () => {
    const r = await rows<{ pos: bigint; neg: bigint }>(
      feat,
      `SELECT (SELECT count(*) FROM skipgram_pairs WHERE label = 1) AS pos, (SELECT count(*) FROM skipgram_pairs WHERE label = 0) AS neg`,
    );
    expect(Number(r[0]?.neg)).toBe(5 * Number(r[0]?.pos));
    const [c] = await rows<{ corr_freq: number; slope: number }>(
      feat,
      `WITH neg AS (SELECT context AS item_idx, count(*) AS draws FROM skipgram_pairs WHERE label = 0 GROUP BY 1)
       SELECT corr(ln(n), ln(draws)) AS corr_freq, regr_slope(ln(draws), ln(n)) AS slope
       FROM item_freq JOIN neg USING (item_idx) WHERE n >= 3`,
    );
    expect(c?.corr_freq).toBeGreaterThan(0.7);
    expect(c?.slope).toBeGreaterThan(0.5);
    expect(c?.slope).toBeLessThan(1.0);
  });

  it('is a pure function of the data and the seed', async () => {
    const again = join(root, 'f2.duckdb');
    await runFeatureSql(join(root, 'ds.duckdb'), again);
    const sig = (db: string) =>
      rows<{ h: bigint }>(db, 'SELECT sum(hash(center, context, label)) AS h FROM skipgram_pairs').then((r) => String(r[0]?.h));
    expect(await sig(again)).toBe(await sig(feat));
    const other = join(root, 'f3.duckdb');
    await runFeatureSql(join(root, 'ds.duckdb'), other, { ...DEFAULT_FEATURE_PARAMS, seed: 99 });
    expect(await sig(other)).not.toBe(await sig(feat));
  });
});
