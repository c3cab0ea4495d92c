import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  blendLists,
  greedyDiverse,
  lastClicksRanker,
  mergeQueries,
  oncePerRequest,
  RequestSearchCache,
  secondServingPass,
  servedRanker,
  servingName,
  servingShares,
  SERVING_GRID,
  strongInterests,
  type Ranker,
  type RankRequest,
  type ServingConfig,
  type WeightedQueries,
} from '../evaluation/rankers';
import { ConstrainedIndex } from '../retrieval/constrainedIndex';
import { truthInterestCollapse, type Truth } from '../evaluation/truth';
import { DEFAULT_ITEM_UNIT, DEFAULT_MULTI_INTEREST, validateMultiInterest, type MultiInterestConfig } from '../models/config';
import { ConfigError } from '../platform/schema';
import type { ItemFeatures } from '../models/itemFeatures';
import { buildItemUnitModel, computeItemVectors } from '../models/itemUnit';
import { clusterHistory, DEFAULT_HISTORY_CLUSTERS } from '../models/historyClusters';
import { buildMultiInterestModel, computeInterests, interestStrengthModel, longTermInterestModel, metricLoss, trainUserModel, vectorTable, sequenceInputs } from '../models/multiInterest';
import type { MiExamples, Sequences } from '../models/sequences';
import { loadModel, saveModel } from '../models/modelFiles';
import { tf } from '../platform/tf';

/** Layers, losses, merges and the clustering baseline on hand-made inputs (no services needed). */

const DIM = 8;
const small: MultiInterestConfig = { ...DEFAULT_MULTI_INTEREST, maxLong: 6, maxShort: 3, attentionHidden: 16, interests: 3, epochs: 2, batchSize: 16, sampledNegatives: 32 };

/** 40 unit item vectors in 4 well-separated groups of 10 (a group = a direction plus noise). */
function groupedVectors(): Float32Array {
  const v = new Float32Array(40 * DIM);
  let s = 12345;
  const noise = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2;
  for (let i = 0; i < 40; i++) {
    const g = Math.floor(i / 10);
    let n = 0;
    for (let d = 0; d < DIM; d++) {
      const x = (d === g ? 1 : 0) + noise();
      v[i * DIM + d] = x;
      n += x * x;
    }
    for (let d = 0; d < DIM; d++) v[i * DIM + d] = (v[i * DIM + d] as number) / Math.sqrt(n);
  }
  return v;
}

function seqs(long: number[][], short: number[][], cfg = small): Sequences {
  const pack = (lists: number[][], w: number) => {
    const out = new Int32Array(lists.length * w).fill(-1);
    lists.forEach((l, i) => l.slice(-w).forEach((x, k, a) => (out[i * w + w - a.length + k] = x)));
    return out;
  };
  return { count: long.length, maxLong: cfg.maxLong, maxShort: cfg.maxShort, long: pack(long, cfg.maxLong), short: pack(short, cfg.maxShort) };
}

function examples(): MiExamples {
  // Users alternate between two groups; the target is from one of them.
  const long: number[][] = [];
  const short: number[][] = [];
  const target: number[] = [];
  for (let u = 0; u < 64; u++) {
    const a = u % 4;
    const b = (u + 1) % 4;
    long.push([a * 10 + (u % 10), b * 10 + ((u + 3) % 10), a * 10 + ((u + 5) % 10), b * 10 + ((u + 7) % 10)]);
    short.push(u % 3 === 0 ? [] : [b * 10 + ((u + 2) % 10)]);
    target.push((u % 2 ? a : b) * 10 + ((u + 1) % 10));
  }
  return { ...seqs(long, short), target: Int32Array.from(target) };
}

const popularity = Float64Array.from({ length: 40 }, (_, i) => 1 + (i % 5));
const variants: [string, Partial<MultiInterestConfig>, number][] = [
  ['self-attentive + sigmoid gate', {}, 3],
  ['self-attentive + interest attention', { fusion: 'interest_attention' }, 3],
  ['self-attentive + session channel', { fusion: 'session_channel' }, 4],
  ['self-attentive alone', { fusion: 'none' }, 3],
  ['dynamic routing + interest attention', { extraction: 'dynamic_routing', fusion: 'interest_attention' }, 3],
  ['dynamic routing, a map per capsule', { extraction: 'dynamic_routing', routingMaps: 'per_interest', fusion: 'interest_attention' }, 3],
];

describe('multi-interest layers', () => {
  const vectors = groupedVectors();

  it.each(variants)('%s: K unit interests per user, padding ignored', (_name, change, k) => {
    const cfg = { ...small, ...change };
    const model = buildMultiInterestModel(cfg, DIM);
    const table = vectorTable(vectors, DIM);
    const s = seqs([[1, 2, 13], [21, 22, 23, 31, 32, 33]], [[5], []]);
    const out = computeInterests(model, vectors, DIM, s, 8, table);
    expect(out.k).toBe(k);
    for (let r = 0; r < 2 * k; r++) {
      let n = 0;
      for (let d = 0; d < DIM; d++) n += (out.vectors[r * DIM + d] as number) ** 2;
      expect(Math.sqrt(n)).toBeCloseTo(1, 4);
    }
    // What sits under a zero mask must not matter: change the padding row of the table.
    const other = vectors.slice();
    const perturbedTable = tf.concat([tf.tensor2d(other, [40, DIM]), tf.fill([1, DIM], 0.7)]) as tf.Tensor2D;
    const again = computeInterests(model, vectors, DIM, s, 8, perturbedTable);
    expect(Array.from(again.vectors).every((x, i) => Math.abs(x - (out.vectors[i] as number)) < 1e-5)).toBe(true);
    perturbedTable.dispose();
    table.dispose();
    model.dispose();
  });

  it('interest attention leaves the interests alone when the session is empty; the sigmoid gate does not', () => {
    for (const [fusion, unchanged] of [
      ['interest_attention', true],
      ['sigmoid_gate', false],
    ] as const) {
      const model = buildMultiInterestModel({ ...small, fusion }, DIM);
      const s = seqs([[1, 12, 23, 34]], [[]]);
      const full = computeInterests(model, vectors, DIM, s);
      const longOnly = computeInterests(longTermInterestModel(model), vectors, DIM, s);
      const same = Array.from(full.vectors).every((x, i) => Math.abs(x - (longOnly.vectors[i] as number)) < 1e-5);
      expect(same).toBe(unchanged);
      model.dispose();
    }
  });

  it('the session channel of an empty session is the mean of the last clicks', () => {
    const model = buildMultiInterestModel({ ...small, fusion: 'session_channel', sessionFallbackClicks: 2 }, DIM);
    const out = computeInterests(model, vectors, DIM, seqs([[1, 12, 23, 34]], [[]]));
    const expected = Array.from({ length: DIM }, (_, d) => ((vectors[23 * DIM + d] as number) + (vectors[34 * DIM + d] as number)) / 2);
    const norm = Math.sqrt(expected.reduce((a, x) => a + x * x, 0));
    const channel = out.vectors.subarray(3 * DIM, 4 * DIM);
    expected.forEach((x, d) => expect(channel[d]).toBeCloseTo(x / norm, 4));
    model.dispose();
  });

  it.each(variants)('%s: gradients reach every weight and stay finite, even for a user with no long-term behaviour', (_name, change) => {
    const cfg = { ...small, ...change };
    const model = buildMultiInterestModel(cfg, DIM);
    const table = vectorTable(vectors, DIM);
    const s = seqs([[], [3, 14, 25]], [[7], []]);
    const inputs = sequenceInputs(table, s, [0, 1]);
    const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(inputs) as tf.Tensor, tf.randomNormal([2, model.outputs[0]?.shape[1] as number, DIM], 0, 1, 'float32', 3))) as tf.Scalar, weights);
    for (const w of weights) {
      const g = (grads[w.name] as tf.Tensor).dataSync();
      expect(Array.from(g).every(Number.isFinite)).toBe(true);
      // The session channel's correction and the capsules' fixed routing start are the exceptions that may not move here.
      if (!/correction|routing_init/.test(w.name)) expect(Array.from(g).some((x) => x !== 0)).toBe(true);
    }
    tf.dispose([...Object.values(grads), ...inputs, table]);
    model.dispose();
  });

  it.each(variants)('%s: strengths are the long-term interests\' lengths, one per served interest', (_name, change, k) => {
    const model = buildMultiInterestModel({ ...small, ...change }, DIM);
    const s = seqs([[1, 2, 3, 31], [11]], [[4], []]);
    const { strengths } = computeInterests(model, vectors, DIM, s, 8, undefined, { strengths: true });
    expect(strengths).toHaveLength(2 * k);
    const table = vectorTable(vectors, DIM);
    const inputs = sequenceInputs(table, s, [0, 1]);
    const raw = (model.getLayer('long_term_interests').apply(inputs.slice(0, 2)) as tf.Tensor).arraySync() as number[][][];
    raw.forEach((user, u) => user.forEach((v, j) => expect(strengths?.[u * k + j]).toBeCloseTo(Math.hypot(...v), 4)));
    // The session channel (an interest the fusion adds) gets the strongest long-term one's.
    if (k > raw[0]!.length) expect(strengths?.[k - 1]).toBeCloseTo(Math.max(...Array.from(strengths!.subarray(0, k - 1))), 5);
    expect(interestStrengthModel(model).outputs[0]?.shape).toEqual([null, k]);
    tf.dispose([...inputs, table]);
    model.dispose();
  });

  it('saves and loads with every new layer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'curio-mi-'));
    try {
      for (const [, change] of variants) {
        const model = buildMultiInterestModel({ ...small, ...change }, DIM);
        const s = seqs([[1, 12, 23]], [[4]]);
        const before = computeInterests(model, vectors, DIM, s).vectors;
        await saveModel(model, join(dir, 'm'));
        const loaded = await loadModel(join(dir, 'm'));
        const after = computeInterests(loaded, vectors, DIM, s).vectors;
        expect(Array.from(after).every((x, i) => Math.abs(x - (before[i] as number)) < 1e-6)).toBe(true);
        model.dispose();
        loaded.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('multi-interest training', () => {
  const vectors = groupedVectors();

  it.each([
    ['shared negatives', {}],
    ['1024 shared negatives with log-Q and in-batch negatives', { sampledNegatives: 1024, logQCorrection: true, inBatchNegatives: true }],
    ['hinge diversity loss', { metricLoss: 'hinge' as const, lambda: 1 }],
    ['capsule routing', { extraction: 'dynamic_routing' as const }],
  ])('%s: deterministic for a seed and the loss falls', async (_name, change) => {
    const cfg = { ...small, ...change, epochs: 3 };
    const a = await trainUserModel(cfg, vectors, DIM, examples(), popularity);
    const b = await trainUserModel(cfg, vectors, DIM, examples(), popularity);
    const s = seqs([[1, 12, 23]], [[4]]);
    expect(Array.from(computeInterests(a.model, vectors, DIM, s).vectors)).toEqual(Array.from(computeInterests(b.model, vectors, DIM, s).vectors));
    const losses = a.result.epochs.map((e) => e.loss);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] as number);
    a.model.dispose();
    b.model.dispose();
  });

  it('joint training moves the item tower (gradients reach it) and is deterministic for a seed', async () => {
    // 40 items: the tag is the group, so the tower can learn the groups from attributes.
    const n = 40;
    const features: ItemFeatures = {
      n,
      maxTags: 2,
      itemIds: Array.from({ length: n }, (_, i) => `i${i}`),
      tagIds: Int32Array.from({ length: 2 * n }, (_, k) => (k % 2 === 0 ? 1 + Math.floor(k / 2 / 10) : 0)),
      tagWeights: Float32Array.from({ length: 2 * n }, (_, k) => (k % 2 === 0 ? 1 : 0)),
      seller: Int32Array.from({ length: n }, (_, i) => i % 3),
      price: Int32Array.from({ length: n }, (_, i) => i % 2),
      category: Int32Array.from({ length: n }, () => 0),
      listedDay: Float32Array.from({ length: n }, (_, i) => i % 7),
      categoryCodes: Array.from({ length: n }, () => 'c'),
      categoryVocab: ['c'],
      vocab: { tags: 5, sellers: 3, prices: 2, categories: 1 },
    };
    const itemUnit = { ...DEFAULT_ITEM_UNIT, dim: DIM, tagEmbeddingDim: 4, sellerEmbeddingDim: 2, priceEmbeddingDim: 2, categoryEmbeddingDim: 2, hiddenUnits: 8, maxTags: 2, timePeriods: [7] };
    const run = async () => {
      const tower = buildItemUnitModel(itemUnit, features);
      const start = computeItemVectors(tower, features, itemUnit.timePeriods);
      const r = await trainUserModel({ ...small, epochs: 2 }, start, DIM, examples(), popularity, { jointTower: { model: tower, features, timePeriods: itemUnit.timePeriods } });
      const after = computeItemVectors(tower, features, itemUnit.timePeriods);
      r.model.dispose();
      tower.dispose();
      return { start, after };
    };
    const a = await run();
    const b = await run();
    expect(Array.from(a.after)).toEqual(Array.from(b.after));
    const moved = a.after.reduce((m, x, i) => Math.max(m, Math.abs(x - (a.start[i] as number))), 0);
    expect(moved).toBeGreaterThan(1e-3);
  });

  it('the hinge leaves interests below the margin alone and penalises the rest', () => {
    const apart = tf.tensor3d([[[1, 0], [0, 1]]]);
    const close = tf.tensor3d([[[1, 0], [0.96, 0.28]]]);
    expect(metricLoss(apart, 'hinge', 0.75).dataSync()[0]).toBe(0);
    expect(metricLoss(close, 'hinge', 0.75).dataSync()[0]).toBeCloseTo(0.96 - 0.75, 4);
    expect(metricLoss(apart, 'cosine').dataSync()[0]).toBe(0);
    tf.dispose([apart, close]);
  });

  it('rejects unknown choices, naming them', () => {
    expect(() => validateMultiInterest({ ...DEFAULT_MULTI_INTEREST, fusion: 'concat' as never })).toThrow(/multiInterest.fusion must be one of/);
    expect(() => validateMultiInterest({ ...DEFAULT_MULTI_INTEREST, metricLoss: 'l2' as never })).toThrow(ConfigError);
    expect(() => validateMultiInterest({ ...DEFAULT_MULTI_INTEREST, sessionFallbackClicks: 0 })).toThrow(/sessionFallbackClicks/);
  });
});

describe('history clustering baseline', () => {
  const vectors = groupedVectors();

  it('finds the groups of a history, most important first, deterministically', () => {
    const history = [1, 2, 3, 21, 22, 4, 5, 23, 6];
    const a = clusterHistory(history, vectors, DIM, { ...DEFAULT_HISTORY_CLUSTERS, interests: 2 });
    const b = clusterHistory(history, vectors, DIM, { ...DEFAULT_HISTORY_CLUSTERS, interests: 2 });
    expect(Array.from(a.vectors)).toEqual(Array.from(b.vectors));
    expect(a.k).toBe(2);
    // The first cluster (heavier: six of nine clicks, the last one among them) points along group 0.
    expect(a.vectors[0]).toBeGreaterThan(0.9);
    expect(a.vectors[DIM + 2]).toBeGreaterThan(0.9);
    expect(a.weights[0]).toBeGreaterThan(a.weights[1] as number);
    expect((a.weights[0] as number) + (a.weights[1] as number)).toBeCloseTo(1, 10);
  });

  it('never makes more interests than distinct items, and none from an empty history', () => {
    expect(clusterHistory([5, 5, 5], vectors, DIM, DEFAULT_HISTORY_CLUSTERS).k).toBe(1);
    expect(clusterHistory([], vectors, DIM, DEFAULT_HISTORY_CLUSTERS).k).toBe(0);
  });
});

describe('adaptive K and the collapse reference', () => {
  it('leaves out interests weaker than the threshold share of the strongest', () => {
    const q = { vectors: Float32Array.from([1, 0, 0, 1, 1, 1]), weights: [0.9, 0.3, 0.6] };
    expect(strongInterests(q, 2, 0).weights).toEqual([0.9, 0.3, 0.6]);
    const kept = strongInterests(q, 2, 0.5);
    expect(kept.weights).toEqual([0.9, 0.6]);
    expect(Array.from(kept.vectors[1] as Float32Array)).toEqual([1, 1]);
  });

  it('measures the truth interests\' pairwise cosine in an item space', () => {
    // Items 0, 1 from topic 0, item 2 from topic 1, item 3 from topic 2; user 0 has topics 0 and 1.
    const vectors = Float32Array.from([1, 0, 1, 0, 0, 1, 1, 1]);
    const truth = { itemTopic: Int32Array.from([0, 0, 1, 2]), topicVectors: [new Float32Array(2), new Float32Array(2), new Float32Array(2)], users: [{ interests: [0, 1], weights: [0.5, 0.5] }, { interests: [0, 2], weights: [1, 1] }, { interests: [1], weights: [1] }] } as unknown as Truth;
    expect(truthInterestCollapse(truth, vectors, 2, [0]).collapse).toBeCloseTo(0, 6);
    expect(truthInterestCollapse(truth, vectors, 2, [1]).collapse).toBeCloseTo(Math.SQRT1_2, 6);
    // A single-interest user has no pairs and is not counted.
    expect(truthInterestCollapse(truth, vectors, 2, [0, 1, 2])).toEqual({ collapse: expect.closeTo(Math.SQRT1_2 / 2, 6), users: 2 });
  });
});

describe('merges', () => {
  it('blends lists by share without duplicates, and others fill an exhausted list', () => {
    expect(blendLists([[1, 2, 3, 4], [9, 8, 7, 6]], [0.75, 0.25], 4)).toEqual([1, 2, 9, 3]);
    expect(blendLists([[1, 2], [1, 8, 7, 6]], [0.5, 0.5], 5)).toEqual([1, 8, 2, 7, 6]);
    expect(blendLists([[1, 2, 3]], [1], 10)).toEqual([1, 2, 3]);
  });

  it('quota gives each query its share; max-score lets the strongest take all', () => {
    const vectors = Float32Array.from([1, 0, 0.9, 0.1, 0.8, 0.2, 0, 1, 0.1, 0.9]); // items 0..4 in 2-d
    const queries = { vectors: Float32Array.from([1, 0, 0, 1]), weights: [0.5, 0.5] };
    const cands = Int32Array.from([0, 1, 2, 3, 4]);
    const byCat = () => 'x';
    expect(mergeQueries(queries, vectors, 2, cands, 2, { kind: 'max_score' }, byCat)).toEqual([0, 3]);
    expect(mergeQueries(queries, vectors, 2, cands, 4, { kind: 'quota' }, byCat)).toEqual([0, 3, 1, 4]);
    expect(mergeQueries({ ...queries, weights: [1, 0] }, vectors, 2, cands, 3, { kind: 'quota' }, byCat)).toEqual([0, 1, 2]);
  });

  it('the greedy step trades a little score for another category', () => {
    const pool = new Map([
      [1, 0.9],
      [2, 0.89],
      [3, 0.85],
    ]);
    const cat = (i: number) => (i === 3 ? 'b' : 'a');
    expect(greedyDiverse(pool, cat, 0, 3)).toEqual([1, 2, 3]);
    expect(greedyDiverse(pool, cat, 0.1, 3)).toEqual([1, 3, 2]);
  });
});

describe('the serving grid shares its searches', () => {
  it('ranks every choice as it would alone, searching each query once per request', () => {
    const vectors = groupedVectors();
    const categories = Array.from({ length: 40 }, (_, i) => `c${Math.floor(i / 10)}-${i % 2}`);
    const index = ConstrainedIndex.build({ dim: DIM, vectors, itemIds: categories.map((_, i) => `i${i}`), itemCategories: categories }, { factory: 'Flat' });
    const shared = new RequestSearchCache(index);
    const queriesFor = (req: RankRequest): WeightedQueries => {
      const q = new Float32Array(2 * DIM);
      q.set(vectors.subarray(req.caseNo * DIM, (req.caseNo + 1) * DIM), 0);
      q.set(vectors.subarray((39 - req.caseNo) * DIM, (40 - req.caseNo) * DIM), DIM);
      return { vectors: q, weights: [1, 0.4] };
    };
    const recent = lastClicksRanker('recent', vectors, DIM, 2);
    let recentCalls = 0;
    const countedRecent = oncePerRequest({ method: 'recent', rank: (req, ctx, n) => (recentCalls++, recent.rank(req, ctx, n)) });
    const popular: Ranker = { method: 'popular', rank: (_req, ctx, n) => Array.from(ctx.candidates).reverse().slice(0, n) };
    const grid = [...SERVING_GRID.slice(0, 12), { ...(SERVING_GRID[5] as ServingConfig), popularShare: 0.25 }];
    for (let caseNo = 0; caseNo < 3; caseNo++) {
      const req: RankRequest = { userIdx: caseNo, startedAt: 0, day: 0, history: Int32Array.from([caseNo, caseNo + 10]), caseNo };
      const candidates = Int32Array.from({ length: 40 }, (_, i) => i).filter((i) => !req.history.includes(i));
      const isCandidate = new Uint8Array(40);
      for (const i of candidates) isCandidate[i] = 1;
      const ctx = { candidates, isCandidate };
      for (const serving of grid) {
        const alone = servedRanker('alone', index, DIM, queriesFor, serving, recent, popular).rank(req, ctx, 12);
        const withShared = servedRanker('shared', shared, DIM, queriesFor, serving, countedRecent, popular).rank(req, ctx, 12);
        expect(withShared).toEqual(alone);
        if (serving.popularShare > 0) {
          const popularTop = popular.rank(req, ctx, 12);
          expect(alone.filter((i) => popularTop.slice(0, 3).includes(i))).toHaveLength(3);
        }
        withShared.push(-1); // callers extend lists: a shared list must not change
      }
    }
    expect(recentCalls).toBe(3);
    expect(servingShares({ recentShare: 0.5, popularShare: 0.25 })).toEqual([0.375, 0.375, 0.25]);
    // The second pass never repeats a choice, nor the first pass's best (by name, as reported).
    for (const best of SERVING_GRID) {
      const names = [best, ...secondServingPass(best)].map(servingName);
      expect(new Set(names).size).toBe(names.length);
    }
    expect(secondServingPass(SERVING_GRID[0] as ServingConfig)).toHaveLength(8); // score: 3 × 3 − best, weighting moot
    expect(secondServingPass(SERVING_GRID[4] as ServingConfig)).toHaveLength(17); // quota: 2 × 3 × 3 − best
    // Two open searches and (for categories = 2) up to four category searches per request, once each.
    expect(shared.searches).toBeLessThanOrEqual(3 * 6);
    expect(shared.reused).toBeGreaterThan(shared.searches * 4);
  });
});
