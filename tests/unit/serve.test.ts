import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Rng } from '../../data/generator/rng';
import { DEFAULT_HISTORY_CLUSTERS, historyClusterModel } from '../../models/historyClusters';
import { ConstrainedIndex } from '../../retrieval/constrainedIndex';
import { fillFeed, PopularItems } from '../../retrieval/popularFallback';
import { DEFAULT_RECALL, recallFromInterests } from '../../retrieval/recall';
import type { Catalogue } from '../../retrieval/types';
import { RecallEngine, type EngineParts } from '../../serve/engine';
import { buildServer } from '../../serve/server';
import { RecallBatcher } from '../../serve/batcher';
import { LiveItems } from '../../retrieval/liveItems';

/**
 * The recall API over real HTTP, on a bundle built in memory: seeded random item vectors in a real
 * Faiss constrained index, and the history-clustering user model (the real one, no TensorFlow). The
 * answers are checked against the offline recall code the A/B's arm B runs.
 */

const N = 600;
const DIM = 16;
const NOW = Date.UTC(2026, 0, 10);
const DAY = 86_400_000;
const CATEGORIES = ['bronze', 'ceramics', 'paintings', 'scrolls'];

function bundle(version = 'curio-recall/1'): EngineParts {
  const rng = new Rng(5, 1);
  const vectors = new Float32Array(N * DIM);
  for (let i = 0; i < N; i++) {
    let norm = 0;
    for (let d = 0; d < DIM; d++) {
      const x = rng.normal() + (d === i % CATEGORIES.length ? 2 : 0);
      vectors[i * DIM + d] = x;
      norm += x * x;
    }
    for (let d = 0; d < DIM; d++) vectors[i * DIM + d] = (vectors[i * DIM + d] as number) / Math.sqrt(norm);
  }
  // Every tenth lot ended yesterday; every seventh is listed only tomorrow.
  const catalogue: Catalogue = {
    itemIds: Array.from({ length: N }, (_, i) => `lot${String(i).padStart(4, '0')}`),
    categories: Array.from({ length: N }, (_, i) => CATEGORIES[i % CATEGORIES.length] as string),
    listedAt: Float64Array.from({ length: N }, (_, i) => (i % 7 === 3 ? NOW + DAY : NOW - 3 * DAY)),
    endsAt: Float64Array.from({ length: N }, (_, i) => (i % 10 === 9 ? NOW - DAY : NOW + 5 * DAY)),
  };
  const popularity = Float64Array.from({ length: N }, (_, i) => (i * 37) % 101);
  return { version, catalogue, vectors: { dim: DIM, vectors }, model: historyClusterModel(vectors, DIM, DEFAULT_HISTORY_CLUSTERS), popularity };
}

describe('the recall API', () => {
  const parts = bundle();
  const engine = RecallEngine.build(parts);
  let current: RecallEngine | undefined = engine;
  let app: FastifyInstance;
  let base: string;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  beforeAll(async () => {
    app = buildServer({ engine: () => current, now: () => NOW, maxK: 100 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  it('answers with the same top-K as the offline recall code for the same inputs', async () => {
    const history = ['lot0004', 'lot0008', 'lot0012', 'lot0001', 'lot0005'];
    const session = ['lot0016'];
    const res = await post('/v1/recall', { history, session, k: 30 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { version: string; items: { id: string; score: number; route: string; interest: number }[] };
    expect(body.version).toBe('curio-recall/1');

    // The offline code, by hand: the same model, index, live set, seen set, config and fallback.
    const { catalogue, vectors } = parts;
    const idx = (ids: string[]) => Int32Array.from(ids.map((id) => catalogue.itemIds.indexOf(id)));
    const index = ConstrainedIndex.build({ dim: DIM, vectors: vectors.vectors, itemIds: catalogue.itemIds, itemCategories: catalogue.categories });
    const live = Int32Array.from({ length: N }, (_, i) => i).filter((i) => (catalogue.listedAt[i] as number) <= NOW && NOW < (catalogue.endsAt[i] as number));
    const longTerm = idx(history);
    const shortTerm = idx(session);
    const seen = new Set([...longTerm, ...shortTerm]);
    const cand = recallFromInterests(parts.model.interests(longTerm, shortTerm), index, { live, seen }, { ...DEFAULT_RECALL, size: 30 });
    const feed = fillFeed(cand, 30, new PopularItems(parts.popularity, catalogue.listedAt), live, (i) => seen.has(i));
    expect(body.items.map((x) => [x.id, x.route, x.interest])).toEqual(feed.items.map((c) => [catalogue.itemIds[c.itemIdx], c.route, c.interest]));
    expect(body.items.map((x) => x.score)).toEqual(feed.items.map((c) => Math.fround(c.score)).map((s) => expect.closeTo(s, 6)));
    // Never a clicked lot, an ended auction or one not listed yet.
    for (const x of body.items) {
      const i = catalogue.itemIds.indexOf(x.id);
      expect(seen.has(i)).toBe(false);
      expect(i % 10 === 9 || i % 7 === 3).toBe(false);
    }
  });

  it('answers concurrent requests in batches, each as it would be answered alone', async () => {
    const rng = new Rng(17, 1);
    const queries = Array.from({ length: 24 }, (_, j) => ({
      history: Array.from({ length: 1 + (j % 6) }, () => parts.catalogue.itemIds[Math.floor(rng.next() * N)] as string),
      session: j % 3 ? [] : [parts.catalogue.itemIds[j] as string],
      k: 10 + j,
      ...(j % 4 === 1 ? { category: CATEGORIES[j % CATEGORIES.length] as string } : {}),
      ...(j === 5 ? { exclude: ['lot0001', 'lot0002'] } : {}),
    }));
    const alone = queries.map((q) => engine.recall({ ...q, now: NOW }));
    // In-process: one engine call (24 requests x 3 interests: the index's batched paths run).
    expect(engine.recallMany(queries.map((q) => ({ ...q, now: NOW }))).map((a) => a.items.map((x) => [x.id, x.route, x.interest]))).toEqual(alone.map((a) => a.items.map((x) => [x.id, x.route, x.interest])));
    // Over HTTP, all at once.
    const answers = (await Promise.all(queries.map(async (q) => (await post('/v1/recall', q)).json()))) as { items: { id: string; route: string; interest: number }[] }[];
    expect(answers.map((a) => a.items.map((x) => [x.id, x.route, x.interest]))).toEqual(alone.map((a) => a.items.map((x) => [x.id, x.route, x.interest])));
    // The batcher: requests queued in one turn are answered by one engine call, at one moment.
    const sizes: number[] = [];
    let moments = 0;
    const batcher = new RecallBatcher(() => (moments++, NOW), { maxBatch: 8, onBatch: (n) => sizes.push(n) });
    const batched = await Promise.all(queries.slice(0, 10).map((q) => batcher.recall(engine, q)));
    expect(sizes).toEqual([8, 2]);
    expect(moments).toBe(1);
    expect(batched.map((a) => a.items.map((x) => [x.id, x.route, x.interest]))).toEqual(alone.slice(0, 10).map((a) => a.items.map((x) => [x.id, x.route, x.interest])));
    // Scores agree to float32 rounding: a batch is scored by one matrix product, a request alone by single scans.
    expect(batched.map((a) => a.items.map((x) => x.score))).toEqual(alone.slice(0, 10).map((a) => a.items.map((x) => expect.closeTo(x.score, 5))));
    // A request that fails fails alone; the others of its batch are answered.
    const bad = engine.recallMany.bind(engine);
    const failing = Object.create(engine) as RecallEngine;
    failing.recallMany = (qs) => (qs.length > 1 ? (() => { throw new Error('batch failed'); })() : bad(qs));
    failing.recall = (q) => (q.k === 11 ? (() => { throw new Error('k 11 fails'); })() : engine.recall(q));
    const settled = await Promise.allSettled(queries.slice(0, 3).map((q) => batcher.recall(failing, q)));
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('sends every field of the answer as the engine gives it (the response schemas drop nothing)', async () => {
    const query = { history: ['lot0004', 'no-such-lot', 'lot0012'], session: ['lot0016'], k: 12, exclude: ['lot0020'] };
    const http = await (await post('/v1/recall', query)).json();
    expect(http).toEqual(engine.recall({ ...query, now: NOW }));
    expect((http as { unknown: string[] }).unknown).toEqual(['no-such-lot']);
    const similar = await (await fetch(`${base}/v1/items/lot0004/similar?k=5&category=${CATEGORIES[0]}`)).json();
    expect(similar).toEqual(engine.similar('lot0004', 5, NOW, CATEGORIES[0]));
  });

  it('keeps a category constraint exactly, and serves unknown users the popular lots', async () => {
    const constrained = (await (await post('/v1/recall', { history: ['lot0004', 'lot0008'], k: 40, category: 'scrolls' })).json()) as { items: { id: string }[] };
    expect(constrained.items).toHaveLength(40);
    for (const x of constrained.items) expect(parts.catalogue.categories[parts.catalogue.itemIds.indexOf(x.id)]).toBe('scrolls');

    const cold = (await (await post('/v1/recall', { user_id: 'never-seen', k: 10 })).json()) as { items: { id: string; route: string }[] };
    expect(cold.items.map((x) => x.route)).toEqual(Array(10).fill('popular'));
    const clicks = cold.items.map((x) => parts.popularity[parts.catalogue.itemIds.indexOf(x.id)] as number);
    expect([...clicks].sort((a, b) => b - a)).toEqual(clicks);
  });

  it('recalls from the clicks the events route kept for a user', async () => {
    const events = ['lot0002', 'lot0006', 'lot0010'].map((item_id) => ({ user_id: 'u1', item_id }));
    expect(await (await post('/v1/events', { events })).json()).toEqual({ accepted: 3 });
    const byUser = (await (await post('/v1/recall', { user_id: 'u1', k: 15 })).json()) as { items: unknown[] };
    const byHistory = (await (await post('/v1/recall', { history: ['lot0002', 'lot0006', 'lot0010'], k: 15 })).json()) as { items: unknown[] };
    expect(byUser.items).toEqual(byHistory.items);
  });

  it('finds similar live lots, within a category when asked, and 404s an unknown lot', async () => {
    const res = (await (await fetch(`${base}/v1/items/lot0003/similar?k=12&category=scrolls`)).json()) as { items: { id: string }[] };
    expect(res.items).toHaveLength(12);
    expect(res.items.every((x) => x.id !== 'lot0003' && parts.catalogue.categories[parts.catalogue.itemIds.indexOf(x.id)] === 'scrolls')).toBe(true);
    expect((await fetch(`${base}/v1/items/nope/similar`)).status).toBe(404);
  });

  it('refuses every malformed request with 400, the field and the reason', async () => {
    const cases: [unknown, string][] = [
      [{ history: ['lot0001'] }, 'k'],
      [{ k: 0 }, 'k'],
      [{ k: 101 }, 'k'],
      [{ k: 2.5 }, 'k'],
      [{ k: 5, history: 'lot0001' }, 'history'],
      [{ k: 5, history: [''] }, 'history.0'],
      [{ k: 5, colour: 'red' }, 'colour'],
    ];
    for (const [body, field] of cases) {
      const res = await post('/v1/recall', body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      const answer = (await res.json()) as { field: string; reason: string };
      expect({ body, field: answer.field }).toEqual({ body, field });
      expect(answer.reason.length).toBeGreaterThan(0);
    }
    const notJson = await fetch(`${base}/v1/recall`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"k": 5' });
    expect(notJson.status).toBe(400);
    expect((await post('/v1/events', { events: [{ user_id: 'u' }] })).status).toBe(400);
    expect((await fetch(`${base}/v1/items/lot0001/similar?k=1000`)).status).toBe(400);
  });

  it('is healthy at once, ready only with a bundle, and exports Prometheus metrics', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ ready: true, version: 'curio-recall/1', items: N });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/curio_recall_request_seconds_bucket\{le="0\.01",route="\/v1\/recall",status="200"\} \d+/);
    expect(metrics).toContain(`curio_index_items ${N}`);
    expect(metrics).toContain('curio_bundle_info{version="curio-recall/1"} 1');
    current = undefined;
    try {
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      expect((await post('/v1/recall', { k: 5 })).status).toBe(503);
    } finally {
      current = engine;
    }
  });

  it('needs the bearer token on /v1 routes when one is set', async () => {
    const guarded = buildServer({ engine: () => engine, token: 's3cret', now: () => NOW });
    await guarded.listen({ port: 0, host: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${(guarded.server.address() as AddressInfo).port}`;
      const call = (auth?: string) => fetch(`${url}/v1/recall`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, body: JSON.stringify({ k: 3 }) });
      expect((await call()).status).toBe(401);
      expect((await call('Bearer wrong!')).status).toBe(401);
      expect((await call('Bearer s3cret')).status).toBe(200);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it('adds lots listed after the retrain (searchable at once, in the user model too), ends them at their end time, refuses a category the index lacks', () => {
    const own = bundle('fresh/1');
    const e = RecallEngine.build(own);
    const twin = own.catalogue.itemIds.indexOf('lot0000');
    const vector = own.vectors.vectors.slice(twin * DIM, (twin + 1) * DIM);
    const lots = (endsAt: number, category = 'bronze') => ({ itemIds: ['new-1'], categories: [category], listedAt: [NOW - 1000], endsAt: [endsAt], vectors: vector });
    expect(e.addLots(lots(NOW + DAY))).toEqual({ added: 1, updated: 0 });
    expect(e.size).toBe(N + 1);
    const near = e.similar('lot0000', 5, NOW, 'bronze');
    expect(near.items[0]).toMatchObject({ id: 'new-1' });
    expect(near.items[0]?.score).toBeCloseTo(1, 5);
    // A click on the new lot is understood, and its neighbours are recalled.
    const r = e.recall({ history: ['new-1'], session: [], k: 10, now: NOW });
    expect(r.unknown).toEqual([]);
    expect(r.items.map((x) => x.id)).toContain('lot0000');
    // Not live before its listing, and gone from its end time on.
    expect(e.similar('lot0004', N, NOW - 2000).items.map((x) => x.id)).not.toContain('new-1');
    expect(e.addLots(lots(NOW))).toEqual({ added: 0, updated: 1 });
    expect(e.similar('lot0000', N, NOW).items.map((x) => x.id)).not.toContain('new-1');
    expect(e.similar('lot0000', N, NOW - 1).items.map((x) => x.id)).toContain('new-1');
    expect(() => e.addLots({ ...lots(NOW + DAY, 'furniture'), itemIds: ['new-2'] })).toThrow(/category 'furniture' is not in the index/);
    expect(e.size).toBe(N + 1);
  });

  it('takes new lots over POST /v1/items, and names the lot and field of a bad one', async () => {
    const seen: unknown[] = [];
    const withLots = buildServer({ engine: () => engine, now: () => NOW, lots: async (l) => (seen.push(...l), { added: l.length, updated: 0, version: engine.version, tags: l.map(() => []) }) });
    await withLots.listen({ port: 0, host: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${(withLots.server.address() as AddressInfo).port}`;
      const send = async (items: unknown[]) => {
        const r = await fetch(`${url}/v1/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items }) });
        return { status: r.status, body: (await r.json()) as Record<string, unknown> };
      };
      const lot = { item_id: 'n1', title: 'a jade pendant', seller_id: 's1', start_price: 120, listed_at: '2026-01-10T00:00:00Z', ends_at: NOW + DAY };
      expect(await send([lot])).toMatchObject({ status: 200, body: { added: 1 } });
      expect(seen).toEqual([{ itemId: 'n1', title: 'a jade pendant', sellerId: 's1', startPrice: 120, category: undefined, listedAt: Date.UTC(2026, 0, 10), endsAt: NOW + DAY }]);
      expect(await send([lot, { ...lot, listed_at: 'next tuesday' }])).toMatchObject({ status: 400, body: { field: 'items.1.listed_at' } });
      expect(await send([{ ...lot, ends_at: '2026-01-09T00:00:00Z' }])).toMatchObject({ status: 400, body: { field: 'items.0.ends_at', reason: 'must be after listed_at' } });
      const { title: _title, ...untitled } = lot;
      expect(await send([untitled])).toMatchObject({ status: 400, body: { field: 'items.0.title' } });
      expect(await send([{ ...lot, start_price: -1 }])).toMatchObject({ status: 400, body: { field: 'items.0.start_price' } });
      expect(seen).toHaveLength(1);
    } finally {
      await withLots.close();
    }
  });
});

describe('live lots', () => {
  it('are the same array until the next listing or end, and change exactly at those moments', () => {
    const catalogue: Catalogue = {
      itemIds: ['a', 'b', 'c'],
      categories: ['x', 'x', 'x'],
      listedAt: Float64Array.from([0, 100, 50]),
      endsAt: Float64Array.from([200, 300, 80]),
    };
    const live = new LiveItems(catalogue);
    const at10 = live.at(10);
    expect(Array.from(at10)).toEqual([0]);
    expect(live.at(49)).toBe(at10);
    expect(Array.from(live.at(50))).toEqual([0, 2]);
    expect(live.at(79)).toBe(live.at(50));
    expect(Array.from(live.at(80))).toEqual([0]);
    expect(Array.from(live.at(100))).toEqual([0, 1]);
    expect(Array.from(live.at(200))).toEqual([1]);
    expect(Array.from(live.at(300))).toEqual([]);
    // Asking for an earlier moment again is answered afresh.
    expect(Array.from(live.at(60))).toEqual([0, 2]);
  });
});
