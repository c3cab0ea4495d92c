/**
 * The tfjs side of `npm run bench:peer` (bench/peer.ts forks it with the thread settings in its
 * environment, which TensorFlow reads when it starts). It makes the synthetic inputs, writes them to
 * the data folder for the PyTorch reference (bench/peer/reference.py), then trains with the project's
 * own functions, trainItemUnit and trainUserModel (the real batch building, tape, Adam step and loop
 * of models/training.ts), and times computeInterests plus the evaluation's Faiss inner-product
 * search. Prints one JSON line.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { Rng, WeightedSampler } from '../../data/generator/rng';
import { ItemSearch } from '../../evaluation/fullRanking';
import { DEFAULT_ITEM_UNIT, DEFAULT_MULTI_INTEREST, validateItemUnit, validateMultiInterest, type ItemUnitConfig, type MultiInterestConfig } from '../../models/config';
import { itemInputs, type ItemFeatures } from '../../models/itemFeatures';
import { buildItemUnitModel, trainItemUnit, type SkipGramPairs } from '../../models/itemUnit';
import { buildMultiInterestModel, computeInterests, trainUserModel, type JointItemTower } from '../../models/multiInterest';
import type { MiExamples, Sequences } from '../../models/sequences';
import { epochOrder, type Progress } from '../../models/training';
import { createTensorsTypeOpAttr, type NodeJSKernelBackend } from '@tensorflow/tfjs-node/dist/nodejs_kernel_backend';
import { assertNativeBackend, tf } from '../../platform/tf';

export interface PeerSpec {
  items: number;
  tags: number;
  sellers: number;
  prices: number;
  categories: number;
  itemSteps: number;
  userSteps: number;
  users: number;
  threads: number;
  seed: number;
  /** Also profile one steady-state step of each training (kernel count and kernel time). */
  profile: boolean;
}

interface Arr {
  file: string;
  dtype: 'int32' | 'float32';
  shape: number[];
}

/** Stage timing as both sides report it. */
export interface StageResult {
  examples: number;
  steps: number;
  seconds: number;
  examplesPerSecond: number;
  /** CPU seconds over wall seconds of the run: how many cores it kept busy on average. */
  cores: number;
}

export interface StepProfile {
  /** Kernels dispatched in one steady-state step. */
  kernels: number;
  /** Their summed time (ms) as tfjs-node times each kernel call, in a tf.profile run (which inflates it). */
  kernelMs: number;
  /** The step's wall time in the timed run (ms). */
  stepMs: number;
  /** The kernels with the most time, per step. */
  top: { name: string; calls: number; ms: number }[];
  /** The same by kernel and input shapes. */
  topCalls: { name: string; calls: number; ms: number }[];
  /** Where the main thread's busy time goes (shares; V8's CPU profile): native TensorFlow calls, JS by package, GC. */
  mainThread: Record<string, number>;
  /** The main thread's busy time per step (ms) in that profile. */
  mainThreadMs: number;
}

export interface TfjsResult {
  backend: string;
  tfVersion: string;
  threads: { requested: number; intraOp: string; interOp: string; processThreads: number };
  stages: Record<string, StageResult>;
  /** Losses of the first two steps of each training from the same initial weights (for the reference's check). */
  checkLosses: Record<string, number[]>;
  /** JS-side batch building of one step (ms): itemInputs and friends, measured alone. */
  batchBuildMs: Record<string, number>;
  profiles: Record<string, StepProfile>;
  uniqueItemsPerStep: Record<string, number>;
  /** µs per call of the MICRO_OPS; the first is the fixed cost every kernel call pays. */
  microOps: Record<string, number>;
}

const threadCount = () => readdirSync('/proc/self/task').length;

/** µs per call of f: the mean of `reps` calls after a warm-up. */
function usPerCall(f: () => void, reps: number): number {
  for (let i = 0; i < Math.max(10, reps / 10); i++) f();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) f();
  return ((performance.now() - t0) * 1000) / reps;
}

/**
 * Single ops at the shapes of the bench's steps (reference.py times the same list): the fixed cost
 * of an op, the embedding lookup with and without tfjs-node's JS-side index check (its GatherV2
 * kernel reads the indices back and asserts each one), elementwise and matmul kernels, and one Adam
 * update of the tag table (tfjs: 14 kernels a variable).
 */
export const MICRO_OPS = [
  'add [1] (fixed cost of an op)',
  'gather [3123,32] by 75k ids (tag lookup)',
  '  the same, GatherV2 kernel alone',
  'add [256,50,64]',
  'mul [4700,16,32] x [4700,16,1]',
  'matMul [12800,64] x [64,64]',
  'relu backward [4700,128] (ReluGrad, platform/tfKernels.ts)',
  '  tfjs-core\'s formula dy * step(x), replaced',
  'Adam update of a [3123,32] table',
] as const;

function microOps(): Record<string, number> {
  const out: Record<string, number> = {};
  const [fixed, lookup, kernelOnly, add3, mulB, mm, reluGrad, reluGradCore, adamStep] = MICRO_OPS;
  const rng = new Rng(3, 3);
  const one = tf.tensor1d([1]);
  out[fixed] = usPerCall(() => tf.add(one, one).dispose(), 20_000);
  const table = tf.randomNormal([3123, 32], 0, 1, 'float32', 1);
  const ids = tf.tensor1d(Int32Array.from({ length: 75_000 }, () => rng.int(3123)), 'int32');
  out[lookup] = usPerCall(() => tf.gather(table, ids).dispose(), 200);
  const be = tf.backend() as unknown as NodeJSKernelBackend;
  const axis = tf.scalar(0, 'int32');
  const attrs = [
    { name: 'batch_dims', type: be.binding.TF_ATTR_INT, value: 0 },
    createTensorsTypeOpAttr('Tparams', 'float32'),
    createTensorsTypeOpAttr('Tindices', 'int32'),
    createTensorsTypeOpAttr('Taxis', 'int32'),
  ];
  out[kernelOnly] = usPerCall(() => tf.engine().makeTensorFromTensorInfo(be.executeSingleOutput('GatherV2', attrs, [table, ids, axis])).dispose(), 200);
  const a = tf.randomNormal([256, 50, 64]);
  const b = tf.randomNormal([256, 50, 64]);
  out[add3] = usPerCall(() => tf.add(a, b).dispose(), 500);
  const e = tf.randomNormal([4700, 16, 32]);
  const w = tf.randomNormal([4700, 16, 1]);
  out[mulB] = usPerCall(() => tf.mul(e, w).dispose(), 200);
  const x = tf.randomNormal([12800, 64]);
  const k = tf.randomNormal([64, 64]);
  out[mm] = usPerCall(() => tf.matMul(x, k).dispose(), 200);
  const h = tf.randomNormal([4700, 128]);
  const dy = tf.randomNormal([4700, 128]);
  out[reluGrad] = usPerCall(() => (tf.engine().runKernel('CurioReluGrad', { dy, x: h }) as tf.Tensor).dispose(), 200);
  out[reluGradCore] = usPerCall(() => tf.tidy(() => tf.mul(dy, tf.step(h))).dispose(), 200);
  const v = tf.variable(tf.randomNormal([3123, 32]));
  const g = tf.randomNormal([3123, 32]);
  const opt = tf.train.adam(0.003);
  out[adamStep] = usPerCall(() => opt.applyGradients([{ name: v.name, tensor: g }]), 200);
  opt.dispose();
  tf.dispose([one, table, ids, axis, a, b, e, w, x, k, h, dy, v, g]);
  return out;
}

class Writer {
  readonly arrays: Record<string, Arr> = {};
  constructor(private readonly dir: string) {}
  put(name: string, data: Int32Array | Float32Array, shape: number[]): void {
    const file = `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}.bin`;
    writeFileSync(join(this.dir, file), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.arrays[name] = { file, dtype: data instanceof Int32Array ? 'int32' : 'float32', shape };
  }
}

// ---- synthetic inputs with the small marketplace's sizes ----------------------------------------

function features(spec: PeerSpec, maxTags: number, rng: Rng): ItemFeatures {
  const n = spec.items;
  const tagIds = new Int32Array(n * maxTags);
  const tagWeights = new Float32Array(n * maxTags);
  for (let i = 0; i < n; i++) {
    // About 9 tags an item, as the tagging stage gives the small marketplace; 0 is padding.
    const count = Math.min(maxTags, 1 + rng.poisson(8));
    for (let k = 0; k < count; k++) {
      tagIds[i * maxTags + k] = 1 + Math.min(spec.tags - 2, Math.floor(Math.pow(rng.next(), 2) * (spec.tags - 1)));
      tagWeights[i * maxTags + k] = rng.uniform(0.2, 1);
    }
  }
  const vocab = Array.from({ length: spec.categories - 1 }, (_, c) => `c${c}`);
  const category = Int32Array.from({ length: n }, () => rng.int(spec.categories));
  return {
    n,
    maxTags,
    itemIds: Array.from({ length: n }, (_, i) => `it${i}`),
    tagIds,
    tagWeights,
    seller: Int32Array.from({ length: n }, () => rng.int(spec.sellers)),
    price: Int32Array.from({ length: n }, () => rng.int(spec.prices)),
    category,
    listedDay: Float32Array.from({ length: n }, () => rng.uniform(0, 30)),
    categoryCodes: Array.from(category, (c) => (c === 0 ? '' : (vocab[c - 1] as string))),
    categoryVocab: vocab,
    vocab: { tags: spec.tags, sellers: spec.sellers, prices: spec.prices, categories: spec.categories },
  };
}

/** Click counts: about half the catalogue clicked in training, heavy-tailed. */
function popularityOf(n: number, rng: Rng): Float64Array {
  return Float64Array.from({ length: n }, () => (rng.bool(0.55) ? 1 + Math.floor(rng.logNormal(2, 1.2)) : 0));
}

function clickSampler(pop: Float64Array, power: number): WeightedSampler<number> {
  const items = Array.from(pop.keys()).filter((i) => (pop[i] as number) > 0);
  return new WeightedSampler(items, items.map((i) => Math.pow(pop[i] as number, power)));
}

/** Skip-gram pairs as the feature SQL makes them: one positive per five unigram^0.75 negatives. */
function pairsOf(count: number, pop: Float64Array, rng: Rng): SkipGramPairs {
  const clicks = clickSampler(pop, 1);
  const neg = clickSampler(pop, 0.75);
  const center = new Int32Array(count);
  const context = new Int32Array(count);
  const label = new Float32Array(count);
  for (let r = 0; r < count; r++) {
    center[r] = clicks.draw(rng);
    const positive = r % 6 === 0;
    context[r] = positive ? clicks.draw(rng) : neg.draw(rng);
    label[r] = positive ? 1 : 0;
  }
  return { center, context, label };
}

/** Long/short sequences with the small marketplace's fill (about 11 of 50 and 2 of 10, a third of sessions empty). */
function sequencesOf(count: number, maxLong: number, maxShort: number, pop: Float64Array, rng: Rng): Sequences {
  const clicks = clickSampler(pop, 1);
  const fill = (width: number, len: number, out: Int32Array, row: number) => {
    for (let k = 0; k < width; k++) out[row * width + k] = k >= width - len ? clicks.draw(rng) : -1;
  };
  const long = new Int32Array(count * maxLong);
  const short = new Int32Array(count * maxShort);
  for (let r = 0; r < count; r++) {
    fill(maxLong, Math.min(maxLong, rng.geometric(11)), long, r);
    fill(maxShort, rng.bool(0.31) ? 0 : Math.min(maxShort, rng.geometric(2.6)), short, r);
  }
  return { count, maxLong, maxShort, long, short };
}

function unitVectors(n: number, dim: number, rng: Rng): Float32Array {
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) out.set(rng.unitVector(dim), i * dim);
  return out;
}

const slicePairs = (p: SkipGramPairs, n: number): SkipGramPairs => ({ center: p.center.slice(0, n), context: p.context.slice(0, n), label: p.label.slice(0, n) });
const sliceExamples = (e: MiExamples, n: number): MiExamples => ({
  count: n,
  maxLong: e.maxLong,
  maxShort: e.maxShort,
  long: e.long.slice(0, n * e.maxLong),
  short: e.short.slice(0, n * e.maxShort),
  target: e.target.slice(0, n),
});

/** The negatives trainUserModel draws for (epoch 1, step): the same sampler and Rng streams. */
function userNegatives(cfg: MultiInterestConfig, pop: Float64Array, steps: number): Int32Array {
  const sampler = clickSampler(pop, 0.75);
  const out = new Int32Array(steps * cfg.sampledNegatives);
  for (let s = 0; s < steps; s++) {
    const rng = new Rng(cfg.seed, 500_000 + 1 * 100_000 + s);
    for (let j = 0; j < cfg.sampledNegatives; j++) out[s * cfg.sampledNegatives + j] = sampler.draw(rng);
  }
  return out;
}

/** Weights by their original names (layer/weight), for the reference's check. */
function putWeights(w: Writer, prefix: string, model: tf.LayersModel): string[] {
  const names: string[] = [];
  for (const v of model.weights) {
    const name = `${prefix}.${v.originalName}`;
    w.put(name, v.read().dataSync() as Float32Array, v.shape as number[]);
    names.push(name);
  }
  return names;
}

// ---- timing --------------------------------------------------------------------------------------

function stage(examples: number, steps: number, seconds: number, cores: number): StageResult {
  return { examples, steps, seconds, examplesPerSecond: examples / seconds, cores };
}

/** Runs f, with the cores it kept busy (process CPU time over wall time). */
async function withCores<T>(f: () => Promise<T> | T): Promise<{ value: T; cores: number }> {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const used = process.cpuUsage(cpu);
  return { value, cores: (used.user + used.system) / 1000 / Math.max(1e-9, performance.now() - t0) };
}

function lossRecorder(): { losses: number[]; onProgress: (p: Progress) => void } {
  const losses: number[] = [];
  return { losses, onProgress: (p) => losses.push(p.loss) };
}

type Tally = Map<string, { calls: number; ms: number }>;

function add(t: Tally, key: string, calls: number, ms: number): void {
  const e = t.get(key) ?? { calls: 0, ms: 0 };
  e.calls += calls;
  e.ms += ms;
  t.set(key, e);
}

/** (b − a) / n per key, heaviest first. */
function perStep(a: Tally, b: Tally, n: number): { name: string; calls: number; ms: number }[] {
  const out: { name: string; calls: number; ms: number }[] = [];
  for (const [name, e] of b) {
    const x = a.get(name) ?? { calls: 0, ms: 0 };
    if (e.calls - x.calls > 0 || e.ms - x.ms > 0) out.push({ name, calls: (e.calls - x.calls) / n, ms: Math.max(0, e.ms - x.ms) / n });
  }
  return out.sort((p, q) => q.ms - p.ms);
}

/** tf.profile of a run: calls and ms by kernel name, and by kernel name with its input shapes. */
async function kernelsOf(run: () => Promise<unknown>): Promise<{ byName: Tally; byCall: Tally }> {
  const info = await tf.profile(async () => {
    await run();
    return tf.scalar(0);
  });
  const byName: Tally = new Map();
  const byCall: Tally = new Map();
  for (const k of info.kernels) {
    // 'name__op' entries are tfjs composite ops (customGrad) whose own kernels are listed too.
    if (k.name.endsWith('__op')) continue;
    const ms = Number(k.kernelTimeMs) || 0;
    add(byName, k.name, 1, ms);
    add(byCall, `${k.name} ${k.inputShapes.map((x) => (x ? `[${x.join(',')}]` : '-')).join(' ')}`, 1, ms);
  }
  return { byName, byCall };
}

/**
 * Steady-state steps: a (2 + R)-step run minus a 2-step run, per step (model building, the first
 * step's optimizer slots and the epoch's set-up cancel out); kernels with tf.profile, the main
 * thread with V8's sampling profiler (separate runs, so neither profiler distorts the other).
 */
async function stepProfile(run: (steps: number) => Promise<unknown>, stepMs: number, extra = 6): Promise<StepProfile> {
  const a = await kernelsOf(() => run(2));
  const b = await kernelsOf(() => run(2 + extra));
  const byName = perStep(a.byName, b.byName, extra);
  const ta = await mainThreadTimes(() => run(2));
  const tb = await mainThreadTimes(() => run(2 + extra));
  const main = perStep(ta, tb, extra).filter((x) => x.name !== 'idle');
  const mainMs = main.reduce((s, x) => s + x.ms, 0);
  return {
    kernels: byName.reduce((s, d) => s + d.calls, 0),
    kernelMs: byName.reduce((s, d) => s + d.ms, 0),
    stepMs,
    top: byName.slice(0, 8),
    topCalls: perStep(a.byCall, b.byCall, extra).slice(0, 6),
    mainThread: Object.fromEntries(main.map((x) => [x.name, x.ms / Math.max(1e-9, mainMs)])),
    mainThreadMs: mainMs,
  };
}

/** Where a V8 profile node runs: native code, GC, or JS by package. */
function category(fn: string, url: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'V8/native other';
  // The inspector's own message dispatch (this profiler).
  if (url === '' && fn === 'dispatch') return 'idle';
  if (url === '') return 'native calls (the TensorFlow binding)';
  if (url.includes('@tensorflow/tfjs-core/')) return 'JS tfjs-core (engine, tape, gradients, ops)';
  if (url.includes('@tensorflow/tfjs-node/')) return 'JS tfjs-node kernels';
  if (url.includes('@tensorflow/')) return 'JS tfjs (layers, bundled helpers)';
  if (url.includes('/dist/') && !url.includes('node_modules')) return 'JS Curio (batches, sampling, loop)';
  return 'JS other';
}

/** The main thread's self time (ms) by where it runs, from V8's sampling profiler over a run. */
async function mainThreadTimes(run: () => Promise<unknown>): Promise<Tally> {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((done, fail) => session.post(method, params ?? {}, (err, res) => (err ? fail(err) : done(res as T))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 250 });
  await post('Profiler.start');
  await run();
  const { profile } = await post<{ profile: { nodes: { id: number; callFrame: { functionName: string; url: string } }[]; samples: number[]; timeDeltas: number[] } }>('Profiler.stop');
  session.disconnect();
  const where = new Map<number, string>();
  for (const n of profile.nodes) {
    const { functionName: fn, url } = n.callFrame;
    where.set(n.id, category(fn, url));
  }
  const t: Tally = new Map();
  profile.samples.forEach((id, i) => add(t, where.get(id) ?? 'JS other', 1, (profile.timeDeltas[i] ?? 0) / 1000));
  return t;
}

async function main(): Promise<void> {
  const dir = process.argv[2] as string;
  const spec = JSON.parse(process.argv[3] as string) as PeerSpec;
  assertNativeBackend();
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);
  const itemCfg: ItemUnitConfig = validateItemUnit({ ...DEFAULT_ITEM_UNIT, epochs: 1 });
  const miCfg: MultiInterestConfig = validateMultiInterest({ ...DEFAULT_MULTI_INTEREST, epochs: 1 });
  const frozenCfg: MultiInterestConfig = { ...miCfg, itemTower: 'frozen' };
  const dim = itemCfg.dim;
  const rng = new Rng(spec.seed, 1);
  const f = features(spec, itemCfg.maxTags, rng.fork(1));
  const pop = popularityOf(spec.items, rng.fork(2));
  const itemBatch = itemCfg.batchSize;
  const userBatch = miCfg.batchSize;
  const pairs = pairsOf(spec.itemSteps * itemBatch, pop, rng.fork(3));
  const seqs = sequencesOf(spec.userSteps * userBatch, miCfg.maxLong, miCfg.maxShort, pop, rng.fork(4));
  const tr = rng.fork(5);
  const clicks = clickSampler(pop, 1);
  const examples: MiExamples = { ...seqs, target: Int32Array.from({ length: seqs.count }, () => clicks.draw(tr)) };
  const evalSeqs = sequencesOf(spec.users, miCfg.maxLong, miCfg.maxShort, pop, rng.fork(6));
  const vectors = unitVectors(spec.items, dim, rng.fork(7));

  // The inputs, batch orders and negatives, so the reference trains on the very same batches.
  const w = new Writer(dir);
  const t = f.maxTags;
  w.put('tag_ids', f.tagIds, [f.n, t]);
  w.put('tag_weights', f.tagWeights, [f.n, t]);
  w.put('seller', f.seller, [f.n]);
  w.put('price', f.price, [f.n]);
  w.put('category', f.category, [f.n]);
  w.put('listed_day', f.listedDay, [f.n]);
  w.put('popularity', Float32Array.from(pop), [f.n]);
  w.put('pair_center', pairs.center, [pairs.label.length]);
  w.put('pair_context', pairs.context, [pairs.label.length]);
  w.put('pair_label', pairs.label, [pairs.label.length]);
  w.put('pair_order', epochOrder(pairs.label.length, itemCfg.seed, 1), [pairs.label.length]);
  w.put('pair_check_order', epochOrder(2 * itemBatch, itemCfg.seed, 1), [2 * itemBatch]);
  w.put('mi_long', examples.long, [examples.count, examples.maxLong]);
  w.put('mi_short', examples.short, [examples.count, examples.maxShort]);
  w.put('mi_target', examples.target, [examples.count]);
  w.put('mi_order', epochOrder(examples.count, miCfg.seed, 1), [examples.count]);
  w.put('mi_check_order', epochOrder(2 * userBatch, miCfg.seed, 1), [2 * userBatch]);
  w.put('mi_negatives', userNegatives(miCfg, pop, spec.userSteps), [spec.userSteps, miCfg.sampledNegatives]);
  w.put('eval_long', evalSeqs.long, [evalSeqs.count, evalSeqs.maxLong]);
  w.put('eval_short', evalSeqs.short, [evalSeqs.count, evalSeqs.maxShort]);
  w.put('item_vectors', vectors, [f.n, dim]);
  // Initial weights: the trainers build their models with the same seeded initialisers.
  putWeights(w, 'item_unit', buildItemUnitModel(itemCfg, f));
  const evalModel = buildMultiInterestModel(miCfg, dim);

  const checkLosses: Record<string, number[]> = {};
  const stages: Record<string, StageResult> = {};
  const tower = (): JointItemTower => ({ model: buildItemUnitModel(itemCfg, f), features: f, timePeriods: itemCfg.timePeriods });

  // 1. Item tower on skip-gram pairs. The 2-step run is the warm-up and the reference's check.
  const runItem = async (steps: number, onProgress?: (p: Progress) => void) => {
    const r = await trainItemUnit(itemCfg, f, slicePairs(pairs, steps * itemBatch), onProgress ? { onProgress } : {});
    r.model.dispose();
    return r.result;
  };
  {
    const rec = lossRecorder();
    await runItem(2, rec.onProgress);
    checkLosses.item_tower = rec.losses;
    const r = await withCores(() => runItem(spec.itemSteps));
    stages.item_tower = stage(spec.itemSteps * itemBatch, spec.itemSteps, r.value.epochs[0]?.seconds ?? NaN, r.cores);
  }

  // 2. The user model, default configuration: joint with the item tower. 3. The same on frozen vectors.
  const runUser = async (cfg: MultiInterestConfig, steps: number, onProgress?: (p: Progress) => void, initial?: { mi: string; tower: string }) => {
    const jt = cfg.itemTower === 'joint' ? tower() : undefined;
    if (initial && jt) {
      putWeights(w, initial.tower, jt.model);
      putWeights(w, initial.mi, buildMultiInterestModel(cfg, dim));
    }
    const r = await trainUserModel(cfg, vectors, dim, sliceExamples(examples, steps * userBatch), pop, { ...(onProgress ? { onProgress } : {}), ...(jt ? { jointTower: jt } : {}) });
    r.model.dispose();
    jt?.model.dispose();
    return r.result;
  };
  for (const [name, cfg] of [
    ['user_joint', miCfg],
    ['user_frozen', frozenCfg],
  ] as const) {
    const rec = lossRecorder();
    await runUser(cfg, 2, rec.onProgress, name === 'user_joint' ? { mi: 'multi_interest', tower: 'tower' } : undefined);
    checkLosses[name] = rec.losses;
    const r = await withCores(() => runUser(cfg, spec.userSteps));
    stages[name] = stage(spec.userSteps * userBatch, spec.userSteps, r.value.epochs[0]?.seconds ?? NaN, r.cores);
  }

  // 4. Evaluation scoring: the interests of many users (computeInterests, batches of 1024), then the
  // exact inner-product top-50 of every interest over the whole catalogue, in tfjs (matMul + topk, 1024
  // queries a block) and, as the evaluation does it, with Faiss's flat IP index (evaluation/fullRanking.ts).
  computeInterests(evalModel, vectors, dim, { ...evalSeqs, count: Math.min(1024, evalSeqs.count) }); // warm-up
  let t0 = performance.now();
  const fwd = await withCores(() => computeInterests(evalModel, vectors, dim, evalSeqs));
  const interests = fwd.value;
  const forwardS = (performance.now() - t0) / 1000;
  const itemTable = tf.tensor2d(vectors, [spec.items, dim]);
  const top50 = (q: Float32Array): Int32Array => {
    const rows = q.length / dim;
    const out = new Int32Array(rows * 50);
    for (let from = 0; from < rows; from += 1024) {
      const n = Math.min(1024, rows - from);
      const idx = tf.tidy(() => tf.topk(tf.matMul(tf.tensor2d(q.subarray(from * dim, (from + n) * dim), [n, dim]), itemTable, false, true), 50).indices);
      out.set(idx.dataSync() as Int32Array, from * 50);
      idx.dispose();
    }
    return out;
  };
  top50(interests.vectors.subarray(0, 64 * dim)); // warm-up
  t0 = performance.now();
  const scored = await withCores(() => top50(interests.vectors));
  const top = scored.value;
  const searchS = (performance.now() - t0) / 1000;
  itemTable.dispose();
  const search = new ItemSearch(vectors, dim);
  search.search(interests.vectors.subarray(0, 64 * dim), 50); // warm-up
  t0 = performance.now();
  const faiss = await withCores(() => search.search(interests.vectors, 50));
  const faissS = (performance.now() - t0) / 1000;
  const evalSteps = Math.ceil(spec.users / 1024);
  const mix = (a: number, sa: number, b: number, sb: number) => (a * sa + b * sb) / (sa + sb);
  stages.eval_interests = stage(spec.users, evalSteps, forwardS, fwd.cores);
  stages.eval_scoring = stage(spec.users, evalSteps, forwardS + searchS, mix(fwd.cores, forwardS, scored.cores, searchS));
  stages.eval_scoring_faiss = stage(spec.users, evalSteps, forwardS + faissS, mix(fwd.cores, forwardS, faiss.cores, faissS));
  w.put('check_interests', interests.vectors.slice(0, 16 * interests.k * dim), [16, interests.k, dim]);
  w.put('check_top', top.slice(0, 16 * interests.k * 50), [16 * interests.k, 50]);

  // Where the time goes: JS batch building alone, and (with --profile) the kernels of one step.
  const batchBuildMs: Record<string, number> = {};
  const uniqueItemsPerStep: Record<string, number> = {};
  {
    const rows = epochOrder(pairs.label.length, itemCfg.seed, 1).subarray(0, itemBatch);
    const unique = new Set<number>();
    for (const r of rows) unique.add(pairs.center[r] as number).add(pairs.context[r] as number);
    uniqueItemsPerStep.item_tower = unique.size;
    const order = epochOrder(examples.count, miCfg.seed, 1).subarray(0, userBatch);
    const negs = userNegatives(miCfg, pop, 1);
    const u = new Set<number>(negs);
    for (const r of order) {
      u.add(examples.target[r] as number);
      for (let k = 0; k < miCfg.maxLong; k++) if ((examples.long[r * miCfg.maxLong + k] as number) >= 0) u.add(examples.long[r * miCfg.maxLong + k] as number);
      for (let k = 0; k < miCfg.maxShort; k++) if ((examples.short[r * miCfg.maxShort + k] as number) >= 0) u.add(examples.short[r * miCfg.maxShort + k] as number);
    }
    uniqueItemsPerStep.user_joint = u.size;
    for (const [name, ids] of [
      ['item_tower', Int32Array.from(unique)],
      ['user_joint', Int32Array.from(u)],
    ] as const) {
      const reps = 20;
      t0 = performance.now();
      for (let i = 0; i < reps; i++) itemInputs(f, ids, itemCfg.timePeriods).forEach((x) => x.dispose());
      batchBuildMs[name] = (performance.now() - t0) / reps;
    }
  }
  const profiles: Record<string, StepProfile> = {};
  if (spec.profile) {
    const ms = (s: StageResult) => (1000 * s.seconds) / s.steps;
    profiles.item_tower = await stepProfile((n) => runItem(n), ms(stages.item_tower as StageResult));
    profiles.user_joint = await stepProfile((n) => runUser(miCfg, n), ms(stages.user_joint as StageResult));
    profiles.user_frozen = await stepProfile((n) => runUser(frozenCfg, n), ms(stages.user_frozen as StageResult));
  }

  const manifest = {
    arrays: w.arrays,
    itemUnit: itemCfg,
    multiInterest: miCfg,
    dim,
    vocab: f.vocab,
    itemSteps: spec.itemSteps,
    userSteps: spec.userSteps,
    users: spec.users,
    checkLosses,
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  const result: TfjsResult = {
    backend: tf.getBackend(),
    tfVersion: `tfjs-node ${String((tf.version as Record<string, string>)['tfjs-node'])}, libtensorflow ${String((tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding?.TF_Version ?? '?')}`,
    threads: {
      requested: spec.threads,
      intraOp: process.env.TF_NUM_INTRAOP_THREADS ?? '(TensorFlow default: the schedulable cores)',
      interOp: process.env.TF_NUM_INTEROP_THREADS ?? '(TensorFlow default: the schedulable cores)',
      processThreads: threadCount(),
    },
    stages,
    checkLosses,
    batchBuildMs,
    profiles,
    uniqueItemsPerStep,
    microOps: microOps(),
  };
  console.log(JSON.stringify(result));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
